/**
 * `npm run bench` — throughput and latency of the product against a bare node:http + pg ceiling,
 * plus the embedded database's cold/warm start. See bench/README.md.
 *
 * Flags: --smoke (short runs, few seeds), --only=id,id (workload ids; the ceiling is always added),
 *        --skip-startup, --no-stagger.
 * Env:   DATABASE_URL (server; the benchmark uses database `bench` on it), BENCH_DATABASE_URL,
 *        BENCH_DURATION, BENCH_RATE_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_RATE,
 *        BENCH_TEAMS, BENCH_SECRETS, BENCH_STARTUP_RUNS.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import {
  benchDatabaseUrl,
  CpuMeter,
  type CpuReading,
  cpuSeconds,
  ensureDatabase,
  type LoadResult,
  machineBusySeconds,
  postgresVersion,
  RESULTS_DIR,
  ROOT,
  RssSampler,
  rssMb,
  runLoad,
  sleep,
  sql,
  startProduct,
  stopAll,
  WARMUP_S,
  waitForQuiet,
} from './harness.js';
import { seed } from './seed.js';
import { startServer } from './servers.js';
import { WORKLOADS, type Workload } from './workloads.js';

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const smoke = flag('smoke');
const num = (name: string, full: number, short: number) => {
  const value = process.env[name];
  return value !== undefined && value !== '' ? Number(value) : smoke ? short : full;
};

const settings = {
  mode: smoke ? 'smoke' : 'full',
  durationS: num('BENCH_DURATION', 10, 2),
  rateDurationS: num('BENCH_RATE_DURATION', 10, 2),
  warmupS: num('BENCH_WARMUP', WARMUP_S, 1),
  connections: num('BENCH_CONNECTIONS', 64, 64),
  rate: num('BENCH_RATE', 200, 200),
  teams: num('BENCH_TEAMS', 10, 3),
  secretsPerTeam: num('BENCH_SECRETS', 100, 20),
  startupRuns: flag('skip-startup') ? 0 : num('BENCH_STARTUP_RUNS', 2, 1),
  stagger: !flag('no-stagger'),
  /** Requests sent in the first second of a fixed-rate run are left out (see harness.runLoad). */
  rateDiscardMs: 1000,
  /** Longest wait for other processes to go quiet before each workload. */
  quietWaitS: num('BENCH_QUIET_WAIT', 30, 10),
  productPoolMax: 10,
};

const TARGETS = { p99Factor: 4, rssMb: 250, coldMs: 1500, warmMs: 1200 };

const only = option('only')?.split(',').filter(Boolean);
const selected = WORKLOADS.filter((w) => !only || only.includes(w.id) || w.reference);
if (only) {
  const unknown = only.filter((id) => !WORKLOADS.some((w) => w.id === id));
  if (unknown.length) throw new Error(`Unknown workload(s): ${unknown.join(', ')}`);
}
// The ceiling first: the reference exists before anything is compared with it.
const order = [...selected.filter((w) => w.reference), ...selected.filter((w) => !w.reference)];

const credentialKey = randomBytes(32).toString('base64');
const runTag = Date.now().toString(36);
const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ---------------------------------------------------------------------------------------------
// One workload
// ---------------------------------------------------------------------------------------------

interface WorkloadResult {
  id: string;
  label: string;
  server: Workload['server'];
  store: string | null;
  saturation: LoadResult & {
    cpuPercent: CpuReading;
    /**
     * CPU milliseconds per response of the server process and of PostgreSQL. Much less sensitive to
     * other processes competing for the cores than req/s: the number to compare across noisy runs.
     */
    cpuMsPerRequest: { server: number; postgres: number };
  };
  /** % of one core used by other processes just before the workload (after waiting for quiet). */
  otherCpuBeforePct: number;
  rate: LoadResult;
  warmupErrors: number;
  rssIdleMb: number;
  rssMaxMb: number;
  serverLogProblems: string[];
  ratio?: number;
  /**
   * Server CPU per request relative to the ceiling's (e.g. 8 = eight times the ceiling's CPU per
   * request). Robust to other processes competing for the cores, unlike `ratio`.
   */
  cpuPerRequestVsCeiling?: number;
}

async function runWorkload(
  workload: Workload,
  fixture: Awaited<ReturnType<typeof seed>>,
  databaseUrl: string,
) {
  // The machine is shared: give other processes' bursts (a test run, a compiler) a chance to end first.
  const otherCpuBeforePct = await waitForQuiet(settings.quietWaitS * 1000, 30, (pct) =>
    log(`${workload.id}: waiting for the machine to quieten (other processes use ${pct}% of a core)`),
  );
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-data-'));
  // Dead tuples from the previous workload's updates must not slow this one down, nor the writing of
  // the pages they and the vacuum dirtied.
  await sql(databaseUrl, 'vacuum analyze', 'checkpoint');
  const { server, helpers, url } = await startServer(workload, {
    databaseUrl,
    dataDir,
    credentialKey,
    poolMax: settings.productPoolMax,
  });
  try {
    const rss = new RssSampler(server.pid);
    const rssIdleMb = rss.sample() ?? 0;
    const load = (phase: string, extra: Partial<Parameters<typeof runLoad>[0]>) =>
      runLoad({
        url,
        connections: settings.connections,
        durationS: settings.durationS,
        request: workload.request(fixture, `${workload.id}-${phase}-${runTag}`),
        bodyOk: workload.bodyOk,
        ...extra,
      });

    log(`${workload.id}: warm-up ${settings.warmupS}s`);
    const warmup = await load('w', { durationS: settings.warmupS });
    log(`${workload.id}: saturation ${settings.durationS}s at ${settings.connections} connections`);
    const cpu = new CpuMeter(
      server.pid,
      databaseName(databaseUrl),
      helpers.map((h) => h.pid),
    );
    const saturationLoad = await load('s', {});
    const cpuPercent = cpu.read();
    const responses = Math.max(1, saturationLoad.ok + saturationLoad.non2xx + saturationLoad.bodyErrors);
    const saturation = {
      ...saturationLoad,
      cpuPercent,
      cpuMsPerRequest: {
        server: (1000 * cpuPercent.serverS) / responses,
        postgres: (1000 * cpuPercent.postgresS) / responses,
      },
    };
    log(
      `${workload.id}: ${saturation.rps.toFixed(0)} req/s, p99 ${saturation.latency.p99.toFixed(1)} ms, errors ${saturation.errors}; ` +
        `CPU (% of one core) server ${saturation.cpuPercent.server}, postgres ${saturation.cpuPercent.postgres}, ` +
        `load generator ${saturation.cpuPercent.loadgen}, helpers ${saturation.cpuPercent.helpers}, other processes ${saturation.cpuPercent.other}; ` +
        `CPU per request: server ${saturation.cpuMsPerRequest.server.toFixed(2)} ms, postgres ${saturation.cpuMsPerRequest.postgres.toFixed(2)} ms`,
    );
    log(`${workload.id}: fixed rate ${settings.rate} req/s for ${settings.rateDurationS}s`);
    const rate = await load('r', {
      durationS: settings.rateDurationS + settings.rateDiscardMs / 1000,
      overallRate: settings.rate,
      discardMs: settings.rateDiscardMs,
      stagger: settings.stagger,
    });
    log(
      `${workload.id}: achieved ${rate.achievedRps.toFixed(0)} req/s, p50 ${rate.latency.p50.toFixed(2)} ms, p99 ${rate.latency.p99.toFixed(2)} ms`,
    );
    const rssMaxMb = rss.stop();
    return {
      id: workload.id,
      label: workload.label,
      server: workload.server,
      store: workload.store ?? null,
      saturation,
      rate,
      warmupErrors: warmup.errors,
      otherCpuBeforePct,
      rssIdleMb,
      rssMaxMb,
      serverLogProblems: [] as string[],
    } satisfies WorkloadResult;
  } finally {
    await server.stop();
    for (const helper of helpers) await helper.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The server's warn/error log lines, grouped by level, message and error message (with counts). Lines
 * like `unexpected error ... aborted (ECONNRESET)` come from autocannon closing its connections with
 * requests in flight at the end of each run.
 */
function logProblems(child: string): string[] {
  let text: string;
  try {
    text = readFileSync(path.join(RESULTS_DIR, 'logs', `${child}.log`), 'utf8');
  } catch {
    return [];
  }
  const groups = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let key: string;
    try {
      const entry = JSON.parse(line) as {
        level?: string;
        msg?: string;
        error?: { message?: string; code?: string };
      };
      if (!['warn', 'error', 'fatal'].includes(entry.level ?? '')) continue;
      key = `${entry.level}: ${entry.msg ?? ''}${entry.error ? ` (${entry.error.message ?? ''}${entry.error.code ? ` ${entry.error.code}` : ''})` : ''}`;
    } catch {
      key = `output: ${line.slice(0, 160)}`;
    }
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, count]) => `${count}× ${key}`);
}

// ---------------------------------------------------------------------------------------------
// Embedded database start-up
// ---------------------------------------------------------------------------------------------

interface StartupSample {
  ms: number;
  rssMb: number | null;
  /** CPU seconds the server used to get there, and what other processes used meanwhile (% of a core). */
  cpuS: number;
  otherCpuPct: number;
  /** SIGTERM to exit, and the exit code (null: killed after 30 s). */
  stopMs: number;
  exitCode: number | null;
}

async function timeStartup(label: string, dataDir: string): Promise<StartupSample> {
  await waitForQuiet(settings.quietWaitS * 1000, 30, (pct) =>
    log(`${label}: waiting for the machine to quieten (other processes use ${pct}% of a core)`),
  );
  const busy0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const child = startProduct(label, {
    DATABASE_URL: undefined,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CREDENTIAL_KEY: undefined,
    CREDENTIAL_STORE: 'local',
    LOG_LEVEL: 'info',
  });
  try {
    await child.waitForLine('"msg":"listening"', 180_000);
    const ms = performance.now() - t0;
    const cpuS = cpuSeconds(child.pid);
    const self = process.cpuUsage(self0);
    const other = machineBusySeconds() - busy0 - cpuS - (self.user + self.system) / 1e6;
    const sample = {
      ms,
      rssMb: rssMb(child.pid),
      cpuS,
      otherCpuPct: Math.max(0, Math.round((100 * other) / (ms / 1000))),
      stopMs: 0,
      exitCode: null as number | null,
    };
    // src/main.ts installs its SIGTERM handler just after logging "listening": a signal sent at once
    // can win that race on a busy machine and kill it outright. Give it a moment.
    await sleep(500);
    const stopping = performance.now();
    sample.exitCode = await child.stop(30_000);
    sample.stopMs = performance.now() - stopping;
    return sample;
  } finally {
    await child.stop();
  }
}

async function measureStartups(runs: number) {
  const cold: StartupSample[] = [];
  const warm: StartupSample[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
    try {
      log(`start-up: cold #${i + 1} (empty DATA_DIR)`);
      cold.push(await timeStartup(`startup-cold-${i + 1}`, dataDir));
      log(`start-up: cold ${cold.at(-1)!.ms.toFixed(0)} ms; warm restart #${i + 1}`);
      warm.push(await timeStartup(`startup-warm-${i + 1}`, dataDir));
      log(`start-up: warm ${warm.at(-1)!.ms.toFixed(0)} ms`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { cold, warm };
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function tableRows(results: WorkloadResult[], ceiling: WorkloadResult | undefined): string[][] {
  const header = [
    'Workload',
    'req/s @64c',
    '× ceiling',
    `served of ${settings.rate}/s`,
    `p50 @${settings.rate}/s (ceiling)`,
    `p99 @${settings.rate}/s (ceiling)`,
    'errors (sat / rate)',
    'RSS max MB',
    'CPU ms/req srv (pg)',
    'srv CPU/req ÷ ceiling',
    'CPU% srv/pg/loadgen/other',
  ];
  const rows = results.map((r) => [
    r.label,
    r.saturation.rps.toFixed(0),
    r.ratio !== undefined ? r.ratio.toFixed(2) : '-',
    // Below the offered rate the "fixed rate" run was really a saturation run: its latencies are queueing.
    `${r.rate.achievedRps.toFixed(0)}${r.rate.achievedRps < 0.95 * settings.rate ? ' ⚠' : ''}`,
    `${ms(r.rate.latency.p50)} ms (${ceiling ? ms(ceiling.rate.latency.p50) : '-'})`,
    `${ms(r.rate.latency.p99)} ms (${ceiling ? ms(ceiling.rate.latency.p99) : '-'})`,
    `${r.saturation.errors} / ${r.rate.errors}`,
    r.rssMaxMb.toFixed(0),
    `${r.saturation.cpuMsPerRequest.server.toFixed(2)} (${r.saturation.cpuMsPerRequest.postgres.toFixed(2)})`,
    r.cpuPerRequestVsCeiling !== undefined ? `${r.cpuPerRequestVsCeiling.toFixed(1)}×` : '-',
    `${r.saturation.cpuPercent.server}/${r.saturation.cpuPercent.postgres}/${r.saturation.cpuPercent.loadgen}/${r.saturation.cpuPercent.other}`,
  ]);
  return [header, ...rows];
}

function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function markdownTable(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [
    line(rows[0]),
    `|${rows[0].map((_, c) => (c === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

function targetChecks(
  results: WorkloadResult[],
  ceiling: WorkloadResult | undefined,
  startup: { cold: StartupSample[]; warm: StartupSample[] },
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const r of results) {
    const spec = w(r);
    if (spec.targetRatio !== undefined && r.ratio !== undefined) {
      checks.push({
        what: `${r.label}: throughput`,
        target: `≥ ${spec.targetRatio.toFixed(2)} × ceiling`,
        measured: `${r.ratio.toFixed(2)} ×`,
        met: r.ratio >= spec.targetRatio,
      });
    }
  }
  for (const r of results) {
    if (w(r).server !== 'product' || !ceiling) continue;
    const limit = TARGETS.p99Factor * ceiling.rate.latency.p99;
    checks.push({
      what: `${r.label}: p99 at ${settings.rate}/s`,
      target: `≤ ${TARGETS.p99Factor} × ceiling p99 (${ms(limit)} ms)`,
      measured: `${ms(r.rate.latency.p99)} ms`,
      met: r.rate.latency.p99 <= limit,
    });
  }
  for (const r of results) {
    if (w(r).server !== 'product') continue;
    checks.push({
      what: `${r.label}: RSS`,
      target: `≤ ${TARGETS.rssMb} MB`,
      measured: `${r.rssMaxMb.toFixed(0)} MB`,
      met: r.rssMaxMb <= TARGETS.rssMb,
    });
  }
  if (startup.cold.length) {
    const cold = median(startup.cold.map((s) => s.ms));
    const warm = median(startup.warm.map((s) => s.ms));
    checks.push({
      what: 'Embedded cold start (median)',
      target: `≤ ${TARGETS.coldMs / 1000} s`,
      measured: `${(cold / 1000).toFixed(2)} s`,
      met: cold <= TARGETS.coldMs,
    });
    checks.push({
      what: 'Embedded warm restart (median)',
      target: `≤ ${TARGETS.warmMs / 1000} s`,
      measured: `${(warm / 1000).toFixed(2)} s`,
      met: warm <= TARGETS.warmMs,
    });
  }
  return checks;
}

const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

const w = (r: WorkloadResult) => WORKLOADS.find((x) => x.id === r.id)!;

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${commit} (src modified)` : commit;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const { server: serverUrl, bench: databaseUrl } = benchDatabaseUrl();
  const redacted = databaseUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  log(`mode ${settings.mode}; bench database ${redacted}`);
  await ensureDatabase(serverUrl, databaseUrl);
  // What `npm start` runs (and the embedded database's template), built before anything is timed.
  log('npm run build');
  execFileSync(process.execPath, ['scripts/start.mjs', '--build'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Our own database: start every run from an empty schema, migrated by the product.
  await sql(databaseUrl, 'drop schema if exists public cascade', 'create schema public');
  const pgVersion = await postgresVersion(databaseUrl);

  log(`seeding ${settings.teams} teams × ${settings.secretsPerTeam} secrets through the product's services`);
  const seedStarted = performance.now();
  const seedDir = mkdtempSync(path.join(tmpdir(), 'bench-seed-'));
  const fixture = await seed({
    databaseUrl,
    dataDir: seedDir,
    credentialKey,
    teams: settings.teams,
    secretsPerTeam: settings.secretsPerTeam,
  }).finally(() => rmSync(seedDir, { recursive: true, force: true }));
  const seedMs = performance.now() - seedStarted;
  log(`seeded ${fixture.secretCount} secrets in ${(seedMs / 1000).toFixed(1)} s`);

  const results: WorkloadResult[] = [];
  for (const workload of order) {
    const result: WorkloadResult = await runWorkload(workload, fixture, databaseUrl);
    result.serverLogProblems = logProblems(workload.id);
    results.push(result);
  }
  const ceiling = results.find((r) => w(r).reference);
  for (const r of results) {
    if (!ceiling) continue;
    r.ratio = r.saturation.rps / ceiling.saturation.rps;
    r.cpuPerRequestVsCeiling =
      r.saturation.cpuMsPerRequest.server / ceiling.saturation.cpuMsPerRequest.server;
  }
  // Report in the issue's order (1–5, ceiling, extras).
  results.sort((a, b) => WORKLOADS.indexOf(w(a)) - WORKLOADS.indexOf(w(b)));

  const startup = await measureStartups(settings.startupRuns);
  const checks = targetChecks(results, ceiling, startup);

  const meta = {
    date: new Date().toISOString(),
    mode: settings.mode,
    commit: gitCommit(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    postgres: pgVersion,
    settings,
    seed: { teams: settings.teams, secretsPerTeam: settings.secretsPerTeam, ms: Math.round(seedMs) },
    totalSeconds: 0,
  };
  meta.totalSeconds = Math.round((Date.now() - started) / 1000);

  const rows = tableRows(results, ceiling);
  const startupLines = startup.cold.length
    ? [
        `Embedded database (PGlite) start to "listening": cold ${startup.cold.map((s) => `${(s.ms / 1000).toFixed(2)} s`).join(', ')}` +
          ` (RSS ${startup.cold.map((s) => `${s.rssMb?.toFixed(0)} MB`).join(', ')}); ` +
          `warm restart ${startup.warm.map((s) => `${(s.ms / 1000).toFixed(2)} s`).join(', ')}` +
          ` (RSS ${startup.warm.map((s) => `${s.rssMb?.toFixed(0)} MB`).join(', ')}).` +
          ` Server CPU to get there: cold ${startup.cold.map((s) => `${s.cpuS.toFixed(1)} s`).join(', ')}, warm ${startup.warm.map((s) => `${s.cpuS.toFixed(1)} s`).join(', ')};` +
          ` other processes meanwhile: cold ${startup.cold.map((s) => `${s.otherCpuPct}%`).join(', ')}, warm ${startup.warm.map((s) => `${s.otherCpuPct}%`).join(', ')} of a core.` +
          ` Shutdown (SIGTERM to exit): ${[...startup.cold, ...startup.warm].map((s) => `${(s.stopMs / 1000).toFixed(1)} s${s.exitCode === 0 ? '' : ` (exit ${s.exitCode ?? 'killed'})`}`).join(', ')}.`,
      ]
    : ['Start-up not measured (--skip-startup).'];
  const errorLines = results.flatMap((r) => {
    const samples = [...new Set([...r.saturation.errorSamples, ...r.rate.errorSamples])];
    const problems = r.serverLogProblems;
    if (!samples.length && !problems.length && !r.warmupErrors) return [];
    return [
      `${r.label}: warm-up errors ${r.warmupErrors}; status codes sat ${JSON.stringify(r.saturation.statusCodes)}, rate ${JSON.stringify(r.rate.statusCodes)}`,
      ...samples.map((s) => `    ${s}`),
      ...problems.map((p) => `    server log: ${p}`),
    ];
  });
  const noisy = results.filter((r) => r.saturation.cpuPercent.other > 20);
  const interference = noisy.length
    ? [
        `Interference: other processes used > 20% of a core during saturation of: ${noisy
          .map((r) => `${r.id} (${r.saturation.cpuPercent.other}%)`)
          .join(', ')}. Treat those numbers with care (re-run on a quiet machine).`,
      ]
    : [];
  const checkLines = checks.map((c) => `${c.met ? '✓' : '✗'} ${c.what}: ${c.measured} (target ${c.target})`);
  const context =
    `${meta.mode} run ${meta.date}, commit ${meta.commit ?? '?'}, Node ${meta.node}, ${meta.cpus}, PostgreSQL ${meta.postgres}. ` +
    `${settings.teams}×${settings.secretsPerTeam} secrets; saturation ${settings.durationS}s at ${settings.connections} connections ` +
    `(after ${settings.warmupS}s warm-up); latency at ${settings.rate} req/s offered for ${settings.rateDurationS}s ` +
    `(${settings.stagger ? 'connections phase-staggered' : 'autocannon default phasing'}). Server, PostgreSQL and load generator share the machine.`;

  console.log(`\n${textTable(rows)}\n`);
  console.log([...startupLines, ...interference].join('\n'));
  if (errorLines.length) console.log(`\nErrors:\n${errorLines.join('\n')}`);
  console.log(`\nTargets (context only):\n${checkLines.join('\n')}\n`);
  console.log(context);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = smoke ? 'smoke' : 'latest';
  writeFileSync(
    path.join(RESULTS_DIR, `${base}.json`),
    `${JSON.stringify({ meta, workloads: results, startup, targets: checks }, null, 2)}\n`,
  );
  const markdown = [
    markdownTable(rows),
    '',
    ...startupLines,
    ...interference.map((l) => `\n${l}`),
    '',
    ...checkLines.map((l) => `- ${l}`),
    '',
    `<sub>${context}</sub>`,
    '',
  ].join('\n');
  writeFileSync(path.join(RESULTS_DIR, `${base}.md`), markdown);
  log(`wrote bench/results/${base}.json and ${base}.md (${meta.totalSeconds} s in all)`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping child processes`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .catch(async (error: unknown) => {
    if (!interrupted) console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
