/**
 * CPU profile of one workload's server under saturation load (default: REST rename).
 *
 * `tsx bench/profile.ts [--workload=rest-rename] [--smoke]`
 * Env: DATABASE_URL / BENCH_DATABASE_URL (as bench/run.ts), BENCH_PROFILE_DURATION (s, default 15),
 *      BENCH_WARMUP (s, default 10), BENCH_CONNECTIONS (64), BENCH_TEAMS (10), BENCH_SECRETS (100).
 *
 * The server runs with `node --cpu-prof` and a preload that counts SQL statements (bench/sql-trace.ts).
 * After a warm-up, the load window's wall-clock bounds are recorded; the summary (bench/summarize-profile.ts)
 * only counts samples inside that window, so start-up and shutdown do not dilute it.
 * Writes bench/results/profile/<workload>.{cpuprofile,summary.txt,summary.json,sql.json}.
 */
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  benchDatabaseUrl,
  CpuMeter,
  ensureDatabase,
  RESULTS_DIR,
  runLoad,
  sql,
  stopAll,
  WARMUP_S,
} from './harness.js';
import { seed } from './seed.js';
import { startServer } from './servers.js';
import { formatSummary, summarize } from './summarize-profile.js';
import { WORKLOADS } from './workloads.js';

const argv = process.argv.slice(2);
const smoke = argv.includes('--smoke');
const workloadId = argv.find((a) => a.startsWith('--workload='))?.split('=')[1] ?? 'rest-rename';
const num = (name: string, full: number, short: number) =>
  process.env[name] ? Number(process.env[name]) : smoke ? short : full;
const durationS = num('BENCH_PROFILE_DURATION', 15, 3);
const warmupS = num('BENCH_WARMUP', WARMUP_S, 1);
const connections = num('BENCH_CONNECTIONS', 64, 64);
const teams = num('BENCH_TEAMS', 10, 3);
const secretsPerTeam = num('BENCH_SECRETS', 100, 20);

const log = (message: string) =>
  process.stderr.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

async function main() {
  const profDir = mkdtempSync(path.join(tmpdir(), 'bench-prof-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-data-'));
  try {
    await profile(profDir, dataDir);
  } finally {
    rmSync(profDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function profile(profDir: string, dataDir: string) {
  const workload = WORKLOADS.find((w) => w.id === workloadId);
  if (!workload) throw new Error(`Unknown workload ${workloadId}`);
  const outDir = path.join(RESULTS_DIR, 'profile');
  mkdirSync(outDir, { recursive: true });
  const sqlFile = path.join(outDir, `${workload.id}.sql.json`);

  const { server: serverUrl, bench: databaseUrl } = benchDatabaseUrl();
  await ensureDatabase(serverUrl, databaseUrl);
  await sql(databaseUrl, 'drop schema if exists public cascade', 'create schema public');
  const credentialKey = randomBytes(32).toString('base64');
  log(`seeding ${teams} × ${secretsPerTeam}`);
  const fixture = await seed({ databaseUrl, dataDir, credentialKey, teams, secretsPerTeam });

  const { server, helpers, url } = await startServer(workload, {
    databaseUrl,
    dataDir,
    credentialKey,
    poolMax: 10,
    name: `profile-${workload.id}`,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
    imports: ['./bench/sql-trace.ts'],
    env: { SQL_TRACE_FILE: sqlFile },
  });
  const tag = Date.now().toString(36);
  let window: { fromUs: number; toUs: number };
  let measured: Awaited<ReturnType<typeof runLoad>>;
  let cpu: ReturnType<CpuMeter['read']>;
  try {
    log(`warm-up ${warmupS}s`);
    await runLoad({
      url,
      connections,
      durationS: warmupS,
      request: workload.request(fixture, `${workload.id}-pw-${tag}`),
      bodyOk: workload.bodyOk,
    });
    log(`profiling ${durationS}s at ${connections} connections`);
    server.process.kill('SIGUSR2'); // start counting SQL
    const meter = new CpuMeter(server.pid, new URL(databaseUrl).pathname.slice(1), []);
    const fromUs = monotonicUs();
    measured = await runLoad({
      url,
      connections,
      durationS,
      request: workload.request(fixture, `${workload.id}-pm-${tag}`),
      bodyOk: workload.bodyOk,
    });
    window = { fromUs, toUs: monotonicUs() };
    cpu = meter.read();
    server.process.kill('SIGUSR2'); // stop counting SQL
  } finally {
    await server.stop(); // SIGTERM: main.ts exits through process.exit, which writes the profile
    for (const helper of helpers) await helper.stop();
  }

  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader
  // hooks run in a worker thread of their own and get a profile too).
  const mainThread = new RegExp(`\\.${server.pid}\\.0\\.\\d+\\.cpuprofile$`);
  const produced = readdirSync(profDir).filter((f) => mainThread.test(f));
  if (produced.length !== 1) {
    throw new Error(`expected one main-thread .cpuprofile in ${profDir}, found ${produced.length}`);
  }
  const profileFile = path.join(outDir, `${workload.id}.cpuprofile`);
  renameSync(path.join(profDir, produced[0]), profileFile);

  const summary = summarize(profileFile, { top: 30, ...window });
  const responses = measured.ok + measured.non2xx + measured.bodyErrors;
  const trace = JSON.parse(readFileSync(sqlFile, 'utf8')) as {
    requests: number;
    total: number;
    statements: { count: number; sql: string }[];
  };
  // Per request: divided by the requests the server received in the window (its own count).
  const perRequest = trace.statements.map((s) => `  ${(s.count / trace.requests).toFixed(2)}/req  ${s.sql}`);
  const busyPerRequestMs = summary.busyMs / responses;
  const header = [
    `Workload ${workload.id} under ${connections} connections for ${durationS}s with --cpu-prof (profiler overhead included):`,
    `${measured.rps.toFixed(0)} req/s, ${measured.errors} errors, p50 ${measured.latency.p50.toFixed(1)} ms, p99 ${measured.latency.p99.toFixed(1)} ms; ` +
      `CPU (% of one core): server ${cpu.server}, postgres ${cpu.postgres}, load generator ${cpu.loadgen}, other ${cpu.other}.`,
    `Server process CPU per response (from /proc, all threads): ${((1000 * cpu.serverS) / responses).toFixed(2)} ms; PostgreSQL ${((1000 * cpu.postgresS) / responses).toFixed(2)} ms.`,
    `Main-thread busy time per request: ${busyPerRequestMs.toFixed(2)} ms (${summary.busyMs} ms busy / ${responses} responses).`,
    `SQL statements per request: ${(trace.total / trace.requests).toFixed(2)} (${trace.total} statements / ${trace.requests} requests received in the window)`,
    ...perRequest,
    '',
  ].join('\n');
  const text = `${header}\n${formatSummary(summary)}\n`;
  writeFileSync(path.join(outDir, `${workload.id}.summary.txt`), text);
  writeFileSync(
    path.join(outDir, `${workload.id}.summary.json`),
    `${JSON.stringify({ workload: workload.id, load: measured, cpu, window, sql: trace, summary }, null, 2)}\n`,
  );
  console.log(text);
  log(`wrote bench/results/profile/${workload.id}.{cpuprofile,summary.txt,summary.json,sql.json}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
