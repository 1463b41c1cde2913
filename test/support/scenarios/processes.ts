/**
 * Real server processes for the integrity scripts and tests: `node --import tsx src/main.ts`, so the
 * pid is the server itself (a SIGKILL hits it, not a wrapper), on a free port, with JSON logs kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** stdout lines (JSON logs; on a first embedded start, the bootstrap line with the owner key). */
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill9(): Promise<void>;
}

/** The base environment every spawned server gets; `env` adds to it (DATABASE_URL, DATA_DIR, ...). */
export function serverEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Vitest's own variables must not leak into a server (it would think it runs under vitest).
  for (const key of Object.keys(base)) if (key.startsWith('VITEST')) delete base[key];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

/**
 * Starts one server and resolves once `/healthz` answers. Retries on another port if the chosen one
 * was taken meanwhile. Rejects (with its stderr/stdout tail) if the process exits first.
 */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  options: { readyTimeoutMs?: number; attempts?: number } = {},
): Promise<ServerProcess> {
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await startOnce(env, options.readyTimeoutMs ?? 60_000);
    } catch (error) {
      lastError = error;
      if (!String(error).includes('EADDRINUSE')) throw error;
    }
  }
  throw lastError;
}

/** Servers still running: killed if this process exits first, so no server outlives its driver. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
  // Under vitest the runner owns signals; a script (tsx scripts/...) kills its servers on Ctrl-C too.
  if (process.env.VITEST) return;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const child of running) child.kill('SIGKILL');
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

async function startOnce(env: Record<string, string | undefined>, readyTimeoutMs: number) {
  installExitHook();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: serverEnv({ ...env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stdout: string[] = [];
  const stderr: string[] = [];
  collectLines(child.stdout!, stdout);
  collectLines(child.stderr!, stderr);
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitedFlag) {
      const { code, signal } = await exited;
      throw new Error(
        `server exited (${code ?? signal}) before it was ready:\n${[...stderr, ...stdout].slice(-20).join('\n')}`,
      );
    }
    const res = await request(url, { method: 'GET', path: '/healthz', timeoutMs: 2_000 });
    if (res.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after ${readyTimeoutMs} ms:\n${stderr.slice(-20).join('\n')}`);
    }
    await sleep(50);
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    url,
    stdout,
    stderr,
    exited,
    async stop(graceMs = 10_000) {
      if (exitedFlag) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (exitedFlag) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function collectLines(stream: NodeJS.ReadableStream, into: string[]): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) if (line) into.push(line);
  });
  stream.on('end', () => {
    if (buffer) into.push(buffer);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
