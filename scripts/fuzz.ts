/**
 * Property-based fuzzing of both doors (REST and GraphQL) against a server this script starts
 * (`node --import tsx src/main.ts`, LOG_LEVEL=debug, on a fresh embedded data directory or on
 * DATABASE_URL when set). At least 10,000 cases by default. Prints the number of cases, the seed,
 * figures per door and status and per GraphQL root field and REST route (`operations`: every one of
 * the schema and the OpenAPI document should be there), and any counterexample (shrunk), as JSON;
 * exits 1 on a failure.
 *
 *   tsx scripts/fuzz.ts [--runs 10000] [--seed N]
 *
 * Replay a failure with the printed seed (and `--runs` unchanged). FUZZ_DEBUG='rest PATCH 422' (door,
 * method, outcome as in the figures) prints every case that got that outcome, to see what is exercised.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ENTITIES } from '../src/app/database.js';
import { addMember, bootstrapTeam, createTeamApiKey } from '../src/app/team-admin.js';
import { openDatabase } from '../src/platform/db/database.js';
import {
  CANARY_TAG,
  createFuzzResources,
  type FuzzFixture,
  fuzzProperties,
} from '../test/support/scenarios/fuzz.js';
import { startServerProcess } from '../test/support/scenarios/processes.js';
import { numberArg } from './lib/script-app.js';

const runs = numberArg('runs', 10_000);
const seed = numberArg('seed', Number.parseInt(randomBytes(4).toString('hex'), 16) % 2 ** 31);
const databaseUrl = process.env.DATABASE_URL || undefined;
const dataDir = databaseUrl ? undefined : mkdtempSync(path.join(tmpdir(), 'fuzz-'));

// Two teams and a viewer key, made before the server starts (the embedded database is single-process).
const db = await openDatabase({ entities: ENTITIES, databaseUrl, dataDir: dataDir ?? '.', poolMax: 2 });
const tag = randomBytes(4).toString('hex');
const team = await bootstrapTeam(db.orm, {
  team: `fuzz-${tag}`,
  email: `fuzz-${tag}@example.com`,
  plan: 'pro',
});
const other = await bootstrapTeam(db.orm, {
  team: `fuzz-o-${tag}`,
  email: `fuzz-o-${tag}@example.com`,
  plan: 'pro',
});
await addMember(db.orm, { teamId: team.team_id, email: `viewer-${tag}@example.com`, role: 'viewer' });
const viewer = await createTeamApiKey(db.orm, {
  teamId: team.team_id,
  name: 'viewer',
  scopes: ['secrets:read', 'locations:read', 'vault_connections:read'],
  createdByEmail: `viewer-${tag}@example.com`,
});
await db.close();

const server = await startServerProcess({
  DATABASE_URL: databaseUrl,
  DATA_DIR: dataDir,
  CREDENTIAL_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'debug',
  // Rate limits are tested on their own (test/rate-limit.test.ts); here they would only cut coverage.
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_IP_PER_MINUTE: '0',
});
const logs = () => [...server.stdout, ...server.stderr];
const statuses: Record<string, Record<string, number>> = {};
/** Outcomes per GraphQL root field and REST route, for the cases made from the schema and the OpenAPI document. */
const operations: Record<string, Record<string, number>> = {};
let exitCode = 0;
try {
  const ids = await createFuzzResources(
    server.url,
    { teamId: team.team_id, key: team.api_key },
    { teamId: other.team_id, key: other.api_key },
  );
  const fixture: FuzzFixture = {
    url: server.url,
    teamId: team.team_id,
    ownerKey: team.api_key,
    viewerKey: viewer.full_key,
    otherTeamId: other.team_id,
    otherKey: other.api_key,
    ...ids,
    logs,
    onResult(c, result) {
      let key = String(result.status);
      if (c.door === 'graphql' && result.status === 200) {
        const data = result.body?.data;
        const first = data && Object.values(data)[0];
        key = result.body?.errors
          ? `200 errors:${result.body.errors[0]?.extensions?.code ?? '?'}`
          : `200 ${(first as { __typename?: string })?.__typename ?? 'data'}`;
      }
      const door = `${c.door} ${c.method}`;
      if (process.env.FUZZ_DEBUG && `${c.door} ${c.method} ${key}` === process.env.FUZZ_DEBUG) {
        process.stderr.write(
          `${c.path} ${JSON.stringify(c.headers).slice(0, 200)} ${c.body?.slice(0, 400)}\n  -> ${result.text.slice(0, 300)}\n`,
        );
      }
      statuses[door] ??= {};
      statuses[door][key] = (statuses[door][key] ?? 0) + 1;
      if (c.operation) {
        operations[c.operation] ??= {};
        operations[c.operation][key] = (operations[c.operation][key] ?? 0) + 1;
      }
    },
  };
  const properties = fuzzProperties(fixture);
  const shares = [0.2, 0.1, 0.25, 0.15, 0.3];
  const results = [];
  const started = performance.now();
  for (const [i, { name, property }] of properties.entries()) {
    const numRuns = Math.ceil(runs * shares[i]);
    process.stderr.write(`${name}: ${numRuns} cases...\n`);
    const t0 = performance.now();
    const details = await fc.check(property, { numRuns, seed: seed + i, endOnFailure: false });
    results.push({
      property: name,
      numRuns: details.numRuns,
      seed: seed + i,
      failed: details.failed,
      ms: Math.round(performance.now() - t0),
      ...(details.failed
        ? {
            counterexample: details.counterexample,
            path: details.counterexamplePath,
            shrinks: details.numShrinks,
            error: String(
              (details.errorInstance as Error | undefined)?.message ?? details.errorInstance,
            ).slice(0, 2000),
          }
        : {}),
    });
    if (details.failed) exitCode = 1;
  }
  const leakedLines = logs().filter((line) => line.includes(CANARY_TAG));
  if (leakedLines.length) exitCode = 1;
  process.stdout.write(
    `${JSON.stringify(
      {
        cases: results.reduce((n, r) => n + r.numRuns, 0),
        seed,
        database: databaseUrl ? 'postgresql' : 'embedded',
        ms: Math.round(performance.now() - started),
        results,
        statuses,
        operations,
        logLines: logs().length,
        logLinesWithCanary: leakedLines.slice(0, 5),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
