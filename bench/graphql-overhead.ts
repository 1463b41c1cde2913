/**
 * The cost of the doors themselves: the product's HTTP server (`createHttpServer`) with the database
 * work stubbed out, so the server's CPU per request is the HTTP layer + Yoga/GraphQL (or the REST
 * router) and nothing else. Compares the GraphQL `updateSecret` rename with the REST PATCH rename.
 *
 * `tsx bench/graphql-overhead.ts [--workload=graphql-rename,rest-rename] [--cpu-prof]`
 * Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, 10), BENCH_CONNECTIONS (64).
 *
 * Only the services a rename touches are stubbed (API key lookup, `secrets.update`); everything in
 * front of them is the real code. `--cpu-prof` writes bench/results/profile/overhead-<workload>.cpuprofile
 * and prints its summary over the load window.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serverParts } from '../src/app/app.js';
import type { Services } from '../src/app/services.js';
import { UnauthenticatedError } from '../src/domain/errors.js';
import type { Actor } from '../src/domain/scopes.js';
import { createHttpServer } from '../src/platform/http/server.js';
import { createLogger } from '../src/platform/logger.js';
import {
  cpuSeconds,
  freePort,
  RESULTS_DIR,
  runLoad,
  startNode,
  stopAll,
  WARMUP_S,
  waitHealthy,
} from './harness.js';
import { formatSummary, summarize } from './summarize-profile.js';
import { UPDATE_SECRET } from './workloads.js';

const TEAM_ID = '11111111-1111-4111-8111-111111111111';
const SECRET_ID = '22222222-2222-4222-8222-222222222222';
const AUTHORIZATION = 'Bearer overhead-bench';

/** The server process: real HTTP server and GraphQL/REST layers over stubbed services. */
function serve(port: number) {
  const actor: Actor = {
    apiKeyId: randomUUID(),
    keyId: 'overhead',
    teamId: TEAM_ID,
    userId: randomUUID(),
    scopes: ['secrets:read', 'secrets:update'],
    role: 'owner',
  };
  const createdAt = new Date();
  const services = {
    // The rate limiters (disabled here) take the ORM's pool client when they are built.
    orm: { em: { getConnection: () => ({ getKnex: () => ({ client: {} }) }) } },
    apiKeys: {
      authenticate: async (header: string | null | undefined) => {
        if (header !== AUTHORIZATION) throw new UnauthenticatedError();
        return actor;
      },
    },
    secrets: {
      update: async (
        _actor: Actor,
        _meta: unknown,
        { teamId, secretId }: { teamId: string; secretId: string },
        command: { name?: string },
      ) => ({
        secret: {
          id: secretId,
          teamId,
          name: command.name ?? 'overhead',
          description: null,
          secretType: 's3',
          authMethod: 'access_key',
          storage: 'native',
          version: 2,
          createdAt,
          createdBy: actor.userId,
          updatedAt: new Date(),
          updatedBy: actor.userId,
        },
        changedFields: ['name'],
        dryRun: false,
      }),
    },
  } as unknown as Services;
  const server = createHttpServer({
    config: {
      GRAPHIQL: false,
      GRAPHQL_INTROSPECTION: false,
      BODY_LIMIT_BYTES: 1_000_000,
      RATE_LIMIT_PER_MINUTE: 0,
      RATE_LIMIT_IP_PER_MINUTE: 0,
    },
    services,
    ...serverParts({ GRAPHQL_INTROSPECTION: false }, services),
    logger: createLogger('warn'),
    ready: async () => {},
  });
  server.listen(port, '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => process.exit(0));
}

const WORKLOADS = {
  'graphql-rename': (next: () => string) => ({
    method: 'POST',
    path: '/graphql',
    setupRequest(req: Record<string, unknown>) {
      req.headers = { 'content-type': 'application/json', authorization: AUTHORIZATION };
      req.body = JSON.stringify({
        query: UPDATE_SECRET,
        variables: { teamId: TEAM_ID, secretId: SECRET_ID, name: next() },
      });
      return req;
    },
  }),
  'rest-rename': (next: () => string) => ({
    method: 'PATCH',
    path: `/v1/teams/${TEAM_ID}/secrets/${SECRET_ID}`,
    setupRequest(req: Record<string, unknown>) {
      req.headers = { 'content-type': 'application/json', authorization: AUTHORIZATION };
      req.body = JSON.stringify({ name: next() });
      return req;
    },
  }),
} as const;
type WorkloadId = keyof typeof WORKLOADS;

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const bodyOk = (id: WorkloadId) => (body: string) =>
  id === 'rest-rename' || (body.includes('"UpdateSecretSuccess"') && !body.includes('"errors"'));

async function drive() {
  const argv = process.argv.slice(2);
  const ids = (argv.find((a) => a.startsWith('--workload='))?.split('=')[1] ?? 'graphql-rename,rest-rename')
    .split(',')
    .map((id) => {
      if (!(id in WORKLOADS)) throw new Error(`Unknown workload ${id}`);
      return id as WorkloadId;
    });
  const profile = argv.includes('--cpu-prof');
  const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const durationS = num('BENCH_DURATION', 10);
  const warmupS = num('BENCH_WARMUP', WARMUP_S);
  const connections = num('BENCH_CONNECTIONS', 64);

  for (const id of ids) {
    const profDir = mkdtempSync(path.join(tmpdir(), 'bench-overhead-'));
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const server = startNode(
        `overhead-${id}`,
        'bench/graphql-overhead.ts',
        {},
        {
          args: ['--serve', String(port)],
          nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
        },
      );
      await waitHealthy(server, `${url}/healthz`, 60_000);
      let n = 0;
      const next = () => `overhead-${id}-${Date.now().toString(36)}-${n++}`;
      await runLoad({
        url,
        connections,
        durationS: warmupS,
        request: WORKLOADS[id](next),
        bodyOk: bodyOk(id),
      });
      const cpu0 = cpuSeconds(server.pid);
      const fromUs = monotonicUs();
      const load = await runLoad({
        url,
        connections,
        durationS,
        request: WORKLOADS[id](next),
        bodyOk: bodyOk(id),
      });
      const cpu = cpuSeconds(server.pid) - cpu0;
      const window = { fromUs, toUs: monotonicUs() };
      await server.stop();
      const responses = load.ok + load.non2xx + load.bodyErrors;
      console.log(
        `${id}: ${load.rps.toFixed(0)} req/s, ${load.errors} errors${load.errorSamples.length ? ` (${load.errorSamples[0]})` : ''}, ` +
          `server CPU ${((1000 * cpu) / responses).toFixed(3)} ms/request over ${responses} responses`,
      );
      if (profile) {
        const produced = readdirSync(profDir).filter((f) => new RegExp(`\\.${server.pid}\\.0\\.`).test(f));
        const outDir = path.join(RESULTS_DIR, 'profile');
        mkdirSync(outDir, { recursive: true });
        if (produced.length !== 1)
          throw new Error(`expected one main-thread .cpuprofile, found ${produced.length}`);
        const file = path.join(outDir, `overhead-${id}.cpuprofile`);
        renameSync(path.join(profDir, produced[0]), file);
        const text = formatSummary(summarize(file, { top: 40, ...window }));
        writeFileSync(
          path.join(outDir, `overhead-${id}.summary.txt`),
          `--from=${window.fromUs} --to=${window.toUs}\n${text}`,
        );
        console.log(
          `${text}\nwrote ${path.relative(process.cwd(), file)} and its .summary.txt (load window only)`,
        );
      }
    } finally {
      rmSync(profDir, { recursive: true, force: true });
    }
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  serve(Number(process.argv[serveAt + 1]));
} else {
  drive()
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => stopAll());
}
