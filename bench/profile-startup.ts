/**
 * CPU profile of the embedded-database start-up: `src/main.ts` with `DATA_DIR` and `PORT=0`, from
 * spawn until it logs `listening`, under `node --cpu-prof`.
 *
 * `tsx bench/profile-startup.ts [--cold]` — default: a warm restart (the data directory is first
 * initialised by an unprofiled start); `--cold`: the first start on an empty directory.
 * Writes bench/results/profile/startup-<warm|cold>.{cpuprofile,summary.txt}.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuSeconds, RESULTS_DIR, sleep, startNode, stopAll } from './harness.js';
import { formatSummary, summarize } from './summarize-profile.js';

const cold = process.argv.includes('--cold');
const kind = cold ? 'cold' : 'warm';
const env = {
  DATABASE_URL: undefined,
  PORT: '0',
  HOST: '127.0.0.1',
  CREDENTIAL_KEY: undefined,
  CREDENTIAL_STORE: 'local',
  LOG_LEVEL: 'info',
};

async function start(name: string, dataDir: string, nodeArgs: string[] = []) {
  const t0 = performance.now();
  const child = startNode(name, 'src/main.ts', { ...env, DATA_DIR: dataDir }, { nodeArgs });
  await child.waitForLine('"msg":"listening"', 180_000);
  const ms = performance.now() - t0;
  const cpuS = cpuSeconds(child.pid);
  await sleep(500); // main.ts installs its SIGTERM handler just after logging "listening"
  const stopping = performance.now();
  const exitCode = await child.stop(60_000); // the profile is written at exit: allow a slow shutdown
  process.stderr.write(
    `${name}: stopped in ${(performance.now() - stopping).toFixed(0)} ms (exit ${exitCode})\n`,
  );
  return { ms, cpuS, pid: child.pid };
}

async function main() {
  const outDir = path.join(RESULTS_DIR, 'profile');
  mkdirSync(outDir, { recursive: true });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'));
  const profDir = mkdtempSync(path.join(tmpdir(), 'bench-prof-'));
  try {
    if (!cold) {
      const first = await start('profile-startup-init', dataDir);
      process.stderr.write(
        `initialised the data directory (cold start ${first.ms.toFixed(0)} ms, unprofiled)\n`,
      );
    }
    const run = await start(`profile-startup-${kind}`, dataDir, ['--cpu-prof', '--cpu-prof-dir', profDir]);
    const main = readdirSync(profDir).find((f) => f.includes(`.${run.pid}.0.`));
    if (!main) throw new Error(`no main-thread profile in ${profDir}`);
    const file = path.join(outDir, `startup-${kind}.cpuprofile`);
    renameSync(path.join(profDir, main), file);
    const summary = summarize(file, { top: 30 });
    const text = `${kind} start with --cpu-prof: ${run.ms.toFixed(0)} ms to "listening", ${run.cpuS.toFixed(1)} s CPU (all threads; profile includes shutdown)\n\n${formatSummary(summary)}\n`;
    writeFileSync(path.join(outDir, `startup-${kind}.summary.txt`), text);
    console.log(text);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profDir, { recursive: true, force: true });
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
