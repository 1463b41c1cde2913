/**
 * The embedded database's start-up: the server with `DATA_DIR` and `PORT=0`, from spawn until it
 * logs `listening`.
 *
 * `tsx bench/profile-startup.ts [--cold] [--tsx]` — CPU profile (`node --cpu-prof`) of a warm restart
 * (the data directory is first initialised by an unprofiled start) or, with `--cold`, of a first
 * start on an empty directory. An unmeasured start on a throwaway directory goes first, so that no
 * measured start includes compiling dist/.
 * Writes bench/results/profile/startup-<warm|cold>.{cpuprofile,summary.txt} (and the embedded database's
 * worker thread's profile, startup-<warm|cold>-worker.cpuprofile, also summarised in summary.txt).
 * `tsx bench/profile-startup.ts --runs=N [--tsx]` — no profile: N pairs of cold start and warm restart,
 * each with its time, the server's CPU seconds (all threads) and RSS, and their medians (leaving out
 * runs in which start.mjs compiled dist/ because a source file changed meanwhile). "others" is the CPU
 * other processes used during a start (% of one core); each start first waits up to BENCH_QUIET_WAIT s
 * (20) until they use < 30 %.
 *
 * Runs what `npm start` runs (`node scripts/start.mjs`: the compiled server); `--tsx` runs the sources
 * through tsx (`node --import tsx src/main.ts`, as bench/run.ts does) for comparison.
 */
import { spawn } from 'node:child_process';
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
  cpuSeconds,
  machineBusySeconds,
  RESULTS_DIR,
  ROOT,
  sleep,
  startFlags,
  waitForQuiet,
} from './harness.js';
import { formatSummary, summarize } from './summarize-profile.js';

const cold = process.argv.includes('--cold');
const viaTsx = process.argv.includes('--tsx');
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 0);
const kind = cold ? 'cold' : 'warm';
/** Before each start, wait up to this long until other processes use < 30 % of a core. */
const quietWaitS = Number(process.env.BENCH_QUIET_WAIT ?? 20);
const entry = [...startFlags(), ...(viaTsx ? ['--import', 'tsx', 'src/main.ts'] : ['scripts/start.mjs'])];

interface Sample {
  ms: number;
  cpuS: number;
  rssMb: number;
  pid: number;
  /** start.mjs compiled dist/ first (someone changed a source file): not a start-up time. */
  compiled: boolean;
  /** CPU of every other process on the machine meanwhile, as % of one core (2 cores: 200 %). */
  otherPct: number;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function start(dataDir: string, nodeArgs: string[] = []): Promise<Sample> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    CREDENTIAL_STORE: 'local',
    LOG_LEVEL: 'info',
  };
  delete env.DATABASE_URL;
  delete env.CREDENTIAL_KEY;
  await waitForQuiet(quietWaitS * 1000, 30, (pct) =>
    process.stderr.write(`waiting for a quieter machine (others use ${pct} % of a core)\n`),
  );
  const machine0 = machineBusySeconds();
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const sample = await new Promise<Sample>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('"msg":"listening"')) {
        out = '';
        const pid = child.pid!;
        const ms = performance.now() - t0;
        const cpuS = cpuSeconds(pid);
        const otherPct = Math.max(0, (100 * (machineBusySeconds() - machine0 - cpuS)) / (ms / 1000));
        const compiled = stderr.includes('Compiling to dist/');
        resolve({ ms, cpuS, rssMb: rssMb(pid), pid, compiled, otherPct });
      }
    });
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening\n${stderr}`)));
  });
  await sleep(500); // main.ts installs its SIGTERM handler just after logging "listening"
  child.kill('SIGTERM'); // the profile is written at exit
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(killer);
  return sample;
}

const describe = (s: Sample) =>
  `${(s.ms / 1000).toFixed(2)} s, ${s.cpuS.toFixed(2)} s CPU, RSS ${s.rssMb.toFixed(0)} MB, others ${s.otherPct.toFixed(0)} %${s.compiled ? ' (compiled dist/)' : ''}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Medians of the runs that did not compile dist/. */
function medians(samples: Sample[]): string {
  const ok = samples.filter((s) => !s.compiled);
  if (ok.length === 0) return 'no run without a compile';
  const m = {
    ms: median(ok.map((s) => s.ms)),
    otherPct: median(ok.map((s) => s.otherPct)),
    cpuS: median(ok.map((s) => s.cpuS)),
    rssMb: median(ok.map((s) => s.rssMb)),
  };
  return `${describe({ ...m, pid: 0, compiled: false })} (${ok.length} runs)`;
}

/** A start on a throwaway directory: compiles dist/ if it is stale, so that no measured start does. */
async function warmUp() {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
  try {
    process.stderr.write(`unmeasured first start (compiles dist/ if stale): ${describe(await start(dir))}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeRuns() {
  await warmUp();
  const colds: Sample[] = [];
  const warms: Sample[] = [];
  for (let i = 1; i <= runs; i++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
    try {
      const first = await start(dataDir);
      const again = await start(dataDir);
      console.log(`#${i} cold ${describe(first)} | warm ${describe(again)}`);
      colds.push(first);
      warms.push(again);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`median cold ${medians(colds)} | warm ${medians(warms)}`);
}

async function profile() {
  const outDir = path.join(RESULTS_DIR, 'profile');
  mkdirSync(outDir, { recursive: true });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
  const profDir = mkdtempSync(path.join(tmpdir(), 'bench-prof-'));
  try {
    await warmUp();
    if (!cold) process.stderr.write(`initialised the data directory: ${describe(await start(dataDir))}\n`);
    const run = await start(dataDir, ['--cpu-prof', '--cpu-prof-dir', profDir]);
    const main = readdirSync(profDir).find((f) => f.includes(`.${run.pid}.0.`));
    if (!main) throw new Error(`no main-thread profile in ${profDir}`);
    const file = path.join(outDir, `startup-${kind}.cpuprofile`);
    renameSync(path.join(profDir, main), file);
    const summary = summarize(file, { top: 30 });
    let text = `${kind} start (${entry.join(' ')}) with --cpu-prof: ${describe(run)} to "listening" (profile includes shutdown)\n\n${formatSummary(summary)}\n`;
    // The embedded database's worker thread (PGlite) writes a profile of its own.
    const worker = readdirSync(profDir).find((f) => f.includes(`.${run.pid}.`) && f !== main);
    if (worker) {
      const workerFile = path.join(outDir, `startup-${kind}-worker.cpuprofile`);
      renameSync(path.join(profDir, worker), workerFile);
      text += `\nThe embedded database's worker thread:\n\n${formatSummary(summarize(workerFile, { top: 15 }))}\n`;
    }
    writeFileSync(path.join(outDir, `startup-${kind}.summary.txt`), text);
    console.log(text);
  } finally {
    for (const dir of [dataDir, profDir]) rmSync(dir, { recursive: true, force: true });
  }
}

(runs > 0 ? timeRuns() : profile()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
