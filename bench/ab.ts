/**
 * `npm run bench:ab -- --base=<git rev>` — is this checkout slower than an earlier build? Both servers
 * run at once, each on its own database; the load alternates between them in short bursts (A B, B A,
 * …), so the machine's drift, which moves whole benchmark runs by 25–50 % here, falls on both alike.
 * Prints each burst and, per workload, the medians and the ratio this/base of req/s and of server CPU
 * per request.
 *
 * Flags: --base=<rev> (required), --only=id,id (default the three update workloads), --rounds=N (6),
 *        --burst=S (8 seconds per burst). Env: DATABASE_URL (the server; databases ab_base and ab_head).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CpuMeter, DEFAULT_DATABASE_URL, ROOT, runLoad, sleep, sql, stopAll } from './harness.js';
import type { Fixture } from './seed.js';
import { type StartedServer, startServer } from './servers.js';
import { WORKLOADS } from './workloads.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const credentialKey = randomBytes(32).toString('base64');

/** `--seed-tree=<dir>`: run as a child in another checkout, seed its database with its own code. */
async function seedChild(tree: string): Promise<void> {
  const { seed } = (await import(
    pathToFileURL(path.join(tree, 'bench', 'seed.ts')).href
  )) as typeof import('./seed.js');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-ab-seed-'));
  const fixture = await seed({
    databaseUrl: process.env.AB_DATABASE_URL!,
    dataDir,
    credentialKey: process.env.AB_CREDENTIAL_KEY!,
    teams: 10,
    secretsPerTeam: 100,
  });
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`FIXTURE ${JSON.stringify(fixture)}\n`);
}

interface Build {
  label: 'base' | 'head';
  root: string;
  databaseUrl: string;
  fixture: Fixture;
  started?: StartedServer;
}

/** Builds `root`, gives it an empty database seeded by its own code. */
async function prepare(label: Build['label'], root: string, serverUrl: string): Promise<Build> {
  const database = `ab_${label}`;
  const databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString();
  await sql(serverUrl, `drop database if exists ${database} with (force)`, `create database ${database}`);
  execFileSync(process.execPath, ['scripts/start.mjs', '--build'], { cwd: root, stdio: 'inherit' });
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), `--seed-tree=${root}`],
    {
      cwd: root,
      env: { ...process.env, AB_DATABASE_URL: databaseUrl, AB_CREDENTIAL_KEY: credentialKey },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const line = out.split('\n').find((l) => l.startsWith('FIXTURE '));
  if (!line) throw new Error(`seeding ${label} printed no fixture:\n${out}`);
  return { label, root, databaseUrl, fixture: JSON.parse(line.slice('FIXTURE '.length)) as Fixture };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const base = option('base');
  if (!base) throw new Error('--base=<git rev> is required');
  const only = (option('only') ?? 'rest-rename,graphql-rename,rest-rotate-local').split(',');
  const workloads = only.map((id) => {
    const workload = WORKLOADS.find((w) => w.id === id && w.server === 'product');
    if (!workload) throw new Error(`not a product workload: ${id}`);
    return workload;
  });
  const rounds = Number(option('rounds') ?? 6);
  const burstS = Number(option('burst') ?? 8);
  const serverUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;

  const baseTree = mkdtempSync(path.join(tmpdir(), 'bench-ab-base-'));
  execFileSync('git', ['worktree', 'add', '--detach', baseTree, base], { cwd: ROOT, stdio: 'inherit' });
  // The same installed packages: the comparison is of our code.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(baseTree, 'node_modules'));
  try {
    const builds = [await prepare('base', baseTree, serverUrl), await prepare('head', ROOT, serverUrl)];
    for (const workload of workloads) {
      const samples = {
        base: [] as { rps: number; cpu: number }[],
        head: [] as { rps: number; cpu: number }[],
      };
      for (const build of builds) {
        build.started = await startServer(workload, {
          databaseUrl: build.databaseUrl,
          dataDir: mkdtempSync(path.join(tmpdir(), 'bench-ab-data-')),
          credentialKey,
          poolMax: 10,
          name: `ab-${build.label}-${workload.id}`,
          root: build.root,
        });
        await runLoad({
          url: build.started.url,
          connections: 64,
          durationS: 3,
          request: workload.request(build.fixture, `w-${build.label}`),
          bodyOk: workload.bodyOk,
        });
      }
      for (let round = 0; round < rounds; round++) {
        for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
          await sleep(500);
          const { server, helpers, url } = build.started!;
          const cpu = new CpuMeter(
            server.pid,
            new URL(build.databaseUrl).pathname.slice(1),
            helpers.map((h) => h.pid),
          );
          const load = await runLoad({
            url,
            connections: 64,
            durationS: burstS,
            request: workload.request(build.fixture, `r${round}-${build.label}`),
            bodyOk: workload.bodyOk,
          });
          const responses = Math.max(1, load.ok + load.non2xx + load.bodyErrors);
          const sample = { rps: load.rps, cpu: (1000 * cpu.read().serverS) / responses };
          samples[build.label].push(sample);
          console.log(
            `${workload.id} round ${round} ${build.label}: ${sample.rps.toFixed(0)} req/s, server CPU ${sample.cpu.toFixed(2)} ms/req, errors ${load.errors}`,
          );
        }
      }
      for (const build of builds) {
        await build.started!.server.stop();
        for (const helper of build.started!.helpers) await helper.stop();
      }
      const m = (label: Build['label'], key: 'rps' | 'cpu') => median(samples[label].map((s) => s[key]));
      const perRound = samples.head.map((s, i) => s.rps / samples.base[i]!.rps);
      console.log(
        `${workload.id}: base ${m('base', 'rps').toFixed(0)} req/s, ${m('base', 'cpu').toFixed(2)} ms/req | ` +
          `head ${m('head', 'rps').toFixed(0)} req/s, ${m('head', 'cpu').toFixed(2)} ms/req | ` +
          `head/base req/s ${(m('head', 'rps') / m('base', 'rps')).toFixed(3)}, CPU/req ${(m('head', 'cpu') / m('base', 'cpu')).toFixed(3)}, ` +
          `per round ${perRound.map((r) => r.toFixed(2)).join(' ')}`,
      );
    }
  } finally {
    await stopAll();
    execFileSync('git', ['worktree', 'remove', '--force', baseTree], { cwd: ROOT, stdio: 'inherit' });
  }
}

const seedTree = option('seed-tree');
(seedTree ? seedChild(seedTree) : main()).then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
