/**
 * 200 concurrent conditional updates of one secret (If-Match / expectedVersion with the version each
 * client last read, re-reading and retrying after every 412 / VersionConflictError; every other client
 * on GraphQL), then 200 unconditional PATCHes at once (no lost update), and with --processes N on
 * DATABASE_URL, the same spread over N server processes plus idempotent storms. Prints the figures as
 * JSON; exits 1 on any violated guarantee.
 *
 *   tsx scripts/concurrency.ts [--clients 200] [--requests 200] [--processes 0] [--backoff-ms 5]
 *
 * Uses DATABASE_URL when set, else a fresh embedded database (one process only).
 */
import {
  conditionalRace,
  idempotentCreateStorm,
  idempotentStorm,
  type Target,
  unconditionalBurst,
} from '../test/support/scenarios/concurrency.js';
import { request } from '../test/support/scenarios/http.js';
import { inspectorFor } from '../test/support/scenarios/inspect.js';
import { type ServerProcess, startServerProcess } from '../test/support/scenarios/processes.js';
import { numberArg, startScriptApp } from './lib/script-app.js';

const clients = numberArg('clients', 200);
const requests = numberArg('requests', 200);
const processes = numberArg('processes', 0);
const backoffMs = numberArg('backoff-ms', 5);
if (processes > 0 && !process.env.DATABASE_URL) {
  process.stderr.write('--processes needs DATABASE_URL (the embedded database is single-process)\n');
  process.exit(2);
}

const s = await startScriptApp({ LOG_LEVEL: 'warn' });
const servers: ServerProcess[] = [];
let exitCode = 0;
try {
  if (processes > 0) {
    const env = { DATABASE_URL: process.env.DATABASE_URL, CREDENTIAL_KEY: s.config.CREDENTIAL_KEY };
    servers.push(...(await Promise.all(Array.from({ length: processes }, () => startServerProcess(env)))));
  }
  const urls = servers.length ? servers.map((server) => server.url) : [s.url];
  const team = await s.newTeam();
  const target = async (): Promise<Target> => {
    const created = await request(s.url, {
      method: 'POST',
      path: `/v1/teams/${team.teamId}/secrets`,
      headers: { authorization: `Bearer ${team.key}` },
      body: {
        name: `race-${Math.random().toString(36).slice(2)}`,
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: { access_key_id: 'AKIAINITIAL', secret_access_key: 'initial' },
      },
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
    return {
      urls,
      key: team.key,
      teamId: team.teamId,
      secretId: created.body.id,
      inspector: inspectorFor(s.app.db.orm, s.app.services.store),
    };
  };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`${clients} conditional clients over ${urls.length} server(s)...`);
  const conditional = await conditionalRace(await target(), clients, { backoffMs });
  log(`${requests} unconditional requests...`);
  const unconditional = await unconditionalBurst(await target(), requests);
  const idempotency = urls.length > 1 ? await idempotentStorm(await target(), 20, 3) : undefined;
  const creates =
    urls.length > 1
      ? await idempotentCreateStorm({ urls, key: team.key, teamId: team.teamId }, 10, 3)
      : undefined;
  const report = {
    database: s.app.db.embedded ? 'embedded' : 'postgresql',
    servers: urls.length,
    conditional,
    unconditional,
    ...(idempotency && { idempotency }),
    ...(creates && { creates }),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const violations = [conditional, unconditional, idempotency, creates].flatMap((r) => r?.violations ?? []);
  if (violations.length) exitCode = 1;
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  await s.close();
}
process.exit(exitCode);
