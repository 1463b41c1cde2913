/**
 * SIGTERM drains in-flight requests: a real server process (`node --import tsx src/main.ts`, embedded
 * database in a temporary DATA_DIR) gets SIGTERM while a request is in flight (its body held half
 * sent, so it cannot finish early). It stops accepting connections at once, still answers that
 * request properly (the secret is really created), and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from './support/constants.js';
import { ROOT, serverEnv } from './support/scenarios/processes.js';

interface Started {
  child: ChildProcess;
  url: string;
  /** Parsed JSON lines from stdout, in order (logs, and the first-start bootstrap line). */
  lines: Record<string, any>[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line (already written or still to come) that passes `test`. */
  waitFor(test: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
}

const children: ChildProcess[] = [];
const dataDir = mkdtempSync(path.join(tmpdir(), 'graceful-shutdown-'));

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function startServer(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    // The embedded database in its own directory, whatever database the suite runs on.
    env: serverEnv({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', DATABASE_URL: undefined }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, any>[] = [];
  const stderr: string[] = [];
  const waiters: {
    test: (line: Record<string, any>) => boolean;
    resolve: (line: Record<string, any>) => void;
  }[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const text of complete.filter(Boolean)) {
      let line: Record<string, any>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (test: (line: Record<string, any>) => boolean, timeoutMs = 90_000) => {
    const found = lines.find(test);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, any>>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no such log line in ${timeoutMs} ms:\n${[...lines.map((l) => JSON.stringify(l)), ...stderr].slice(-20).join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(({ code, signal }) =>
        reject(new Error(`server exited (${code ?? signal}):\n${[...stderr].slice(-20).join('\n')}`)),
      );
    });
  };
  const listening = await waitFor((line) => line.msg === 'listening');
  return { child, url: listening.url, lines, stderr, exited, waitFor };
}

/** Resolves true once a TCP connection to `port` is refused, false while connections still succeed. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function readResponse(
  response: IncomingMessage,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: any }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('error', reject);
    response.once('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({
        status: response.statusCode!,
        headers: response.headers,
        body: text ? JSON.parse(text) : undefined,
      });
    });
  });
}

describe('graceful shutdown', () => {
  it('on SIGTERM: refuses new connections, finishes the in-flight request, exits 0', async () => {
    const server = await startServer();
    const owner = server.lines.find((line) => typeof line.api_key === 'string');
    expect(owner, 'the first start prints the owner key').toBeDefined();
    const { port } = new URL(server.url);

    // A keep-alive client, like a load balancer's: the drained connection must not hold the exit up.
    const agent = new Agent({ keepAlive: true });
    const body = Buffer.from(
      JSON.stringify({
        name: 'in-flight-at-sigterm',
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: { access_key_id: 'AKIAINFLIGHT', secret_access_key: 'in-flight-secret' },
      }),
    );
    const inFlight = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/v1/teams/${owner!.team_id}/secrets`,
      agent,
      headers: {
        authorization: `Bearer ${owner!.api_key}`,
        'content-type': 'application/json',
        'content-length': String(body.length),
        'x-request-id': 'in-flight-at-sigterm',
      },
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      inFlight.once('response', resolve);
      inFlight.once('error', reject);
    }).then(readResponse);
    inFlight.write(body.subarray(0, body.length >> 1));
    await sleep(300); // the server has the headers and half the body: the request is being handled

    server.child.kill('SIGTERM');
    await server.waitFor((line) => line.msg === 'shutting down: draining in-flight requests', 10_000);
    // The listening socket closes at once: poll briefly for the refusal (the log line precedes it).
    let closed = false;
    for (let i = 0; i < 40 && !closed; i++) {
      closed = await refused(Number(port));
      if (!closed) await sleep(50);
    }
    expect(closed, 'new connections are refused after SIGTERM').toBe(true);
    expect(server.child.exitCode, 'still running while a request is in flight').toBeNull();

    await sleep(500); // still draining: the request is held open on purpose
    expect(server.child.exitCode).toBeNull();
    inFlight.end(body.subarray(body.length >> 1));

    const response = await answered;
    expect(response.status).toBe(201);
    expect(response.headers['x-request-id']).toBe('in-flight-at-sigterm');
    expect(response.body).toMatchObject({ name: 'in-flight-at-sigterm', secret_type: 's3' });
    expect(JSON.stringify(response.body)).not.toContain('in-flight-secret');

    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    agent.destroy();
    expect(server.lines.some((line) => line.msg === 'stopped')).toBe(true);
    const logged = server.lines.find(
      (line) => line.msg === 'request' && line.reqId === 'in-flight-at-sigterm',
    );
    expect(logged).toMatchObject({ status: 201, method: 'POST' });

    // The request really committed: a restart on the same data directory serves the secret.
    const again = await startServer();
    try {
      const read = await fetch(`${again.url}/v1/teams/${owner!.team_id}/secrets/${response.body.id}`, {
        headers: { authorization: `Bearer ${owner!.api_key}` },
      });
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id: response.body.id, name: 'in-flight-at-sigterm' });
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toEqual({ code: 0, signal: null });
    }
  }, 180_000);
});
