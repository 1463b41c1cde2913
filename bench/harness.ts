/** Process, database and load-generation plumbing shared by bench/run.ts and bench/profile.ts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type RequestSpec } from 'autocannon';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const LOG_DIR = path.join(RESULTS_DIR, 'logs');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Seconds of load before anything is measured (env `BENCH_WARMUP` overrides): V8 is still optimising
 * the server's code for several seconds under load (bench/README, "What runs").
 */
export const WARMUP_S = 10;

// ---------------------------------------------------------------------------------------------
// Database
// ---------------------------------------------------------------------------------------------

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The benchmark's own database on the DATABASE_URL server (the test suite wipes the `public` schema of
 * DATABASE_URL's database, so the benchmark never uses that one): BENCH_DATABASE_URL, else the same
 * server with the database name `bench`.
 */
export function benchDatabaseUrl(env: NodeJS.ProcessEnv = process.env): { server: string; bench: string } {
  const server = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  if (env.BENCH_DATABASE_URL) return { server, bench: env.BENCH_DATABASE_URL };
  const url = new URL(server);
  url.pathname = '/bench';
  return { server, bench: url.toString() };
}

const BENCH_LOCK = 4_242_001;

/** Waits for other benchmark runs on the server, then creates the bench database if missing, connecting through the server URL's database (or `postgres`). */
export async function ensureDatabase(serverUrl: string, benchUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(benchUrl).pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Unexpected bench database name: ${name}`);
  const candidates = [serverUrl, withDatabase(serverUrl, 'postgres')];
  let lastError: unknown;
  for (const url of candidates) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
    } catch (error) {
      lastError = error;
      continue;
    }
    // Runs on one server take turns: they would wipe each other's schema and disturb each other's timing.
    // The lock is held by this connection until the process exits.
    const { rows: free } = await client.query('select pg_try_advisory_lock($1) as ok', [BENCH_LOCK]);
    if (!free[0].ok) {
      process.stderr.write('[bench] another benchmark run is using this server; waiting for it to finish\n');
      await client.query('select pg_advisory_lock($1)', [BENCH_LOCK]);
    }
    const { rows } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rows.length === 0) await client.query(`create database "${name}"`);
    const held = client as unknown as {
      on(event: 'error', f: () => void): void;
      connection: { stream: { unref(): void } };
    };
    held.on('error', () => {});
    held.connection.stream.unref();
    return;
  }
  throw lastError;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs statements on the bench database (its own connection). */
export async function sql(url: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string; fsync: string; sc: string }>(
      "select current_setting('server_version') as v, current_setting('fsync') as fsync, current_setting('synchronous_commit') as sc",
    );
    return `${rows[0].v} (fsync=${rows[0].fsync}, synchronous_commit=${rows[0].sc})`;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** Last lines written to stdout/stderr (for diagnostics). */
  tail(): string[];
  /** Resolves once a stdout line contains `text` (rejects if the process exits first or after `timeoutMs`). */
  waitForLine(text: string, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: boolean;
}

const running = new Set<Child>();
const API_KEY = /dr_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/g;

/** The node flags of `npm start` (package.json's start script: `node <flags> scripts/start.mjs`), in `root`. */
export function startFlags(root = ROOT): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  return scripts.start.split(/\s+/).filter((word) => word.startsWith('--'));
}

/**
 * The product server as `npm start` runs it (compiled, see scripts/start.mjs, with its node flags), or
 * from its sources through tsx when a preload needs them (profiling).
 */
export function startProduct(
  name: string,
  env: Record<string, string | undefined>,
  options: { nodeArgs?: string[]; imports?: string[]; root?: string } = {},
): Child {
  const nodeArgs = [...startFlags(options.root), ...(options.nodeArgs ?? [])];
  return options.imports?.length
    ? startNode(name, 'src/main.ts', env, { ...options, nodeArgs })
    : startNode(name, 'scripts/start.mjs', env, { nodeArgs, tsx: false, root: options.root });
}

/** Starts `node [nodeArgs] <script>` from the project root (or `root`: another checkout), logging to bench/results/logs/<name>.log. */
export function startNode(
  name: string,
  script: string,
  env: Record<string, string | undefined>,
  {
    nodeArgs = [],
    imports = [],
    args = [],
    tsx = true,
    root = ROOT,
  }: { nodeArgs?: string[]; imports?: string[]; args?: string[]; tsx?: boolean; root?: string } = {},
): Child {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const log = createWriteStream(logFile);
  const importArgs = [...(tsx ? ['tsx'] : []), ...imports].flatMap((specifier) => ['--import', specifier]);
  const child = spawn(process.execPath, [...nodeArgs, ...importArgs, script, ...args], {
    cwd: root,
    env: cleanEnv({ ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ text: string; resolve: (line: string) => void }> = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      // A first start on an empty embedded database prints its owner API key: keep it out of the logs.
      log.write(`${line.replace(API_KEY, 'dr_[redacted]')}\n`);
      lines.push(line);
      if (lines.length > 50) lines.shift();
      for (const w of [...waiters]) {
        if (line.includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(`[stderr] ${line}`);
      if (lines.length > 50) lines.shift();
    }
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      running.delete(handle);
      log.end();
      resolve(code);
    }),
  );
  const handle: Child = {
    name,
    pid: child.pid!,
    process: child,
    logFile,
    tail: () => [...lines],
    get exited() {
      return exited;
    },
    waitForLine(text, timeoutMs) {
      const existing = lines.find((l) => l.includes(text));
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${name}: no "${text}" within ${timeoutMs} ms\n${lines.slice(-15).join('\n')}`));
        }, timeoutMs);
        waiters.push({
          text,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exit.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before "${text}"\n${lines.slice(-15).join('\n')}`));
        });
      });
    },
    async stop(graceMs = 15_000) {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exit;
        clearTimeout(killer);
        return code;
      }
      return exit;
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every child this process started (on exit, error or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(5_000)));
}

function cleanEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Polls `url` until it answers 200 (or `timeoutMs` passes, or the child exits). */
export async function waitHealthy(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`${child.name} exited during start-up\n${child.tail().join('\n')}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} not healthy at ${url} within ${timeoutMs} ms\n${child.tail().join('\n')}`);
}

/** Resident set size of a process in MB (VmRSS from /proc), or null once it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples VmRSS every `everyMs`; `max` is the largest sample so far. */
export class RssSampler {
  max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 200,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): number | null {
    const value = rssMb(this.pid);
    if (value !== null && value > this.max) this.max = value;
    return value;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.max;
  }
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  /** Fixed offered rate (autocannon `overallRate`); omitted: saturation (closed loop). */
  overallRate?: number;
  /** Builds each request (a different secret each time). */
  request: RequestSpec;
  /** Is a 2xx response really a success? (GraphQL answers 200 with errors in the body.) */
  bodyOk?: (body: string) => boolean;
  /** Responses to requests sent in the first `discardMs` are left out of the percentiles and the rate. */
  discardMs?: number;
  /**
   * With `overallRate`: spread the connections' start phases evenly over the second. Without it,
   * autocannon 8 starts every connection's per-second budget on the same tick, so the "fixed rate"
   * arrives as one burst of `connections` concurrent requests per second.
   */
  stagger?: boolean;
}

export interface LoadResult {
  durationS: number;
  /** 2xx responses (that also passed `bodyOk`) per second over the whole run. */
  rps: number;
  /** Offered-rate runs: all responses per second over the measured window. */
  achievedRps: number;
  ok: number;
  non2xx: number;
  bodyErrors: number;
  socketErrors: number;
  timeouts: number;
  /** non2xx + bodyErrors + socketErrors (timeouts are counted in socketErrors by autocannon). */
  errors: number;
  statusCodes: Record<string, number>;
  /** Successful-response latency in ms, exact (sub-millisecond), measured window only. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number; samples: number };
  /** The first few distinct failures (status and a body excerpt). */
  errorSamples: string[];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const errorSamples = new Map<string, number>();
  let bodyErrors = 0;
  let measuredResponses = 0;
  const started = performance.now();
  const discardUntil = started + (options.discardMs ?? 0);
  let lastResponseAt = started;

  const noteError = (key: string) => {
    if (errorSamples.size < 8 || errorSamples.has(key))
      errorSamples.set(key, (errorSamples.get(key) ?? 0) + 1);
  };

  const request: RequestSpec = {
    ...options.request,
    onResponse(status, body) {
      const is2xx = status >= 200 && status < 300;
      if (!is2xx) noteError(`${status} ${body.slice(0, 160)}`);
      else if (options.bodyOk && !options.bodyOk(body)) {
        bodyErrors++;
        noteError(`${status} (error payload) ${body.slice(0, 160)}`);
      }
    },
  };

  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    overallRate: options.overallRate,
    // autocannon's correction uses ceil(1/rate) = 1 ms as the "expected interval" and would fill the
    // histogram with synthetic samples; the percentiles here come from our own exact samples anyway.
    ignoreCoordinatedOmission: options.overallRate ? true : undefined,
    timeout: 10,
    requests: [request],
    setupClient:
      options.overallRate && options.stagger !== false ? staggerClients(options.connections) : undefined,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    const now = performance.now();
    lastResponseAt = now;
    // By send time: the t = 0 burst (see staggerClients) is left out however long it takes to drain.
    if (now - responseTime < discardUntil) return;
    measuredResponses++;
    if (status >= 200 && status < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const measuredS = Math.max(0.001, (lastResponseAt - Math.max(started, discardUntil)) / 1000);

  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]
      : 0;
  const ok = result['2xx'] - bodyErrors;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    durationS: result.duration,
    rps: ok / result.duration,
    achievedRps: measuredResponses / measuredS,
    ok,
    non2xx: result.non2xx,
    bodyErrors,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    errors: result.non2xx + bodyErrors + result.errors,
    statusCodes,
    latency: {
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      max: latencies.length ? latencies[latencies.length - 1] : 0,
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
      samples: latencies.length,
    },
    errorSamples: [...errorSamples].map(([key, count]) => `${count}× ${key}`),
  };
}

/**
 * Re-phases each autocannon 8.0.0 client's per-second request budget: client i of n starts its budget
 * at i/n of the second (uses the client's internal `rate`, `rateInterval`, `reqsMadeThisSecond`,
 * `paused`, `_doRequest`, `destroyed`; checked against lib/httpClient.js of 8.0.0). Each connection
 * still sends its budget back to back, but the budgets are spread evenly over the second instead of
 * all starting on the same tick. The first request of every connection still goes out at t=0: use
 * `discardMs` to leave it out.
 */
function staggerClients(connections: number): (client: any) => void {
  let index = 0;
  return (client: any) => {
    const offsetMs = ((index++ % connections) / connections) * 1000;
    queueMicrotask(() => {
      if (!client.rate || client.destroyed) return;
      clearInterval(client.rateInterval);
      client.reqsMadeThisSecond = client.rate; // hold after the initial request until this client's phase
      const tick = () => {
        if (client.destroyed) {
          clearInterval(client.rateInterval);
          return;
        }
        client.reqsMadeThisSecond = 0;
        if (client.paused) {
          client.paused = false;
          client._doRequest();
        }
      };
      setTimeout(() => {
        if (client.destroyed) return;
        tick();
        client.rateInterval = setInterval(tick, 1000);
      }, offsetMs);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (from /proc; Linux only)
// ---------------------------------------------------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ; 100 on every mainstream Linux

/** utime + stime of a process in seconds, or 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the PostgreSQL server processes that work for `database`: its backends plus the
 * shared background processes (WAL writer, checkpointer, ...). Backends of other databases (other
 * users of the same server, such as a concurrent test run) are left out. Uses the process titles
 * (`postgres: <user> <database> <host>(<port>) <state>`).
 */
export function postgresCpuSeconds(database: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const backend = /^postgres: \S+ (\S+) (?:\S+\(\d+\)|\[local\])/.exec(title);
      if (backend && backend[1] !== database) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Busy CPU seconds of the whole machine (all cores; /proc/stat minus idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return (total - ticks[3] - ticks[4]) / CLOCK_TICKS;
}

export interface CpuReading {
  /** Each as % of one core over the span. */
  server: number;
  postgres: number;
  loadgen: number;
  helpers: number;
  /** Everything else on the machine (other processes competing for the cores). */
  other: number;
  machine: number;
  /** Raw CPU seconds of the server and its PostgreSQL over `wallS`. */
  serverS: number;
  postgresS: number;
  wallS: number;
}

/** Measures CPU use (as % of one core) of the server, its PostgreSQL, helpers, this process and the rest. */
export class CpuMeter {
  private readonly t0 = performance.now();
  private readonly server0: number;
  private readonly pg0: number;
  private readonly machine0 = machineBusySeconds();
  private readonly helpers0: number;
  private readonly self0 = process.cpuUsage();
  constructor(
    private readonly serverPid: number,
    private readonly database: string,
    private readonly helperPids: number[] = [],
  ) {
    this.server0 = cpuSeconds(serverPid);
    this.pg0 = postgresCpuSeconds(database);
    this.helpers0 = helperPids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  }
  read(): CpuReading {
    const wall = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0);
    const pct = (seconds: number) => Math.round((100 * seconds) / wall);
    const server = cpuSeconds(this.serverPid) - this.server0;
    const postgres = postgresCpuSeconds(this.database) - this.pg0;
    const loadgen = (self.user + self.system) / 1e6;
    const helpers = this.helperPids.reduce((n, pid) => n + cpuSeconds(pid), 0) - this.helpers0;
    const machine = machineBusySeconds() - this.machine0;
    return {
      server: pct(server),
      postgres: pct(postgres),
      loadgen: pct(loadgen),
      helpers: pct(helpers),
      other: Math.max(0, pct(machine - server - postgres - loadgen - helpers)),
      machine: pct(machine),
      serverS: server,
      postgresS: postgres,
      wallS: wall,
    };
  }
}

/**
 * Waits (up to `maxWaitMs`) until the rest of the machine is quiet: less than `thresholdPct` of one
 * core busy over a one-second sample. Returns the last sample (% of one core).
 */
export async function waitForQuiet(maxWaitMs: number, thresholdPct: number, onWait: (pct: number) => void) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = machineBusySeconds();
    await sleep(1000);
    const pct = Math.round((machineBusySeconds() - before) * 100);
    if (pct < thresholdPct || Date.now() >= deadline) return pct;
    onWait(pct);
    await sleep(2000);
  }
}

export function percentOf(value: number, total: number): string {
  return total ? `${((100 * value) / total).toFixed(1)}%` : '-';
}
