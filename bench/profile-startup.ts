/**
 * The embedded database's start-up: the server with `DATA_DIR` and `PORT=0`, from spawn until it
 * logs `listening`.
 *
 * `tsx bench/profile-startup.ts [--cold] [--tsx]` — CPU profile (`node --cpu-prof`) of a warm restart
 * (the data directory is first initialised by an unprofiled start) or, with `--cold`, of a first
 * start on an empty directory. An unmeasured start on a throwaway directory goes first, so that no
 * measured start includes compiling dist/.
 * Writes bench/results/profile/startup-<warm|cold>.{cpuprofile,summary.txt}.
 * `tsx bench/profile-startup.ts --runs=N [--tsx]` — no profile: N pairs of cold start and warm restart,
 * each with its time, the server's CPU seconds (all threads) and RSS.
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
import { cpuSeconds, RESULTS_DIR, ROOT, sleep } from './harness.js';
import { formatSummary, summarize } from './summarize-profile.js';

const cold = process.argv.includes('--cold');
const viaTsx = process.argv.includes('--tsx');
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 0);
const kind = cold ? 'cold' : 'warm';
const entry = viaTsx ? ['--import', 'tsx', 'src/main.ts'] : ['scripts/start.mjs'];

interface Sample {
  ms: number;
  cpuS: number;
  rssMb: number;
  pid: number;
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
        resolve({ ms: performance.now() - t0, cpuS: cpuSeconds(pid), rssMb: rssMb(pid), pid });
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
  `${(s.ms / 1000).toFixed(2)} s, ${s.cpuS.toFixed(2)} s CPU, RSS ${s.rssMb.toFixed(0)} MB`;

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
  for (let i = 1; i <= runs; i++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
    try {
      const first = await start(dataDir);
      const again = await start(dataDir);
      console.log(`#${i} cold ${describe(first)} | warm ${describe(again)}`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
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
    const text = `${kind} start (${entry.join(' ')}) with --cpu-prof: ${describe(run)} to "listening" (profile includes shutdown)\n\n${formatSummary(summary)}\n`;
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
