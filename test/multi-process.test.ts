/**
 * Integrity across processes: several servers on one database under concurrent conflicting updates and idempotent
 * retries (the same Idempotency-Key sent to different servers at once: one write, the others replay
 * or get 409 "in progress"; retries after completion replay).
 *
 * Real server processes (`node --import tsx src/main.ts`) need a PostgreSQL server: the embedded
 * database is single-process by design (a data-directory lock), so that block runs only when the suite
 * runs on PostgreSQL (CI runs the suite on both databases). The first block always runs: two
 * independent app instances (own pools, own caches, nothing shared but the database) in this process,
 * on the run's database, which proves the same guarantees rest on the database alone.
 */
import { describe, expect, inject, it } from 'vitest';
import { unique } from './support/constants.js';
import { createNativeSecret } from './support/factories.js';
import { type TestApp, type TestTeam, useApp, useApps, useServerProcesses } from './support/harness.js';
import {
  conditionalRace,
  idempotentCreateStorm,
  idempotentStorm,
  type Target,
  unconditionalBurst,
} from './support/scenarios/concurrency.js';
import { inspectorFor } from './support/scenarios/inspect.js';

async function newSecret(t: TestApp, team: TestTeam): Promise<string> {
  const created = await createNativeSecret(t, team, {
    name: unique('multi'),
    credentials: { access_key_id: 'AKIAMULTI', secret_access_key: 'initial' },
  });
  return created.id;
}

function scenarios(
  label: string,
  setup: () => { urls: string[]; t: TestApp },
  sizes: { clients: number; burst: number },
) {
  let team: TestTeam;
  const target = async (): Promise<Target> => {
    const { urls, t } = setup();
    team ??= await t.newTeam();
    return {
      urls,
      key: team.ownerKey,
      teamId: team.teamId,
      secretId: await newSecret(t, team),
      inspector: inspectorFor(t.app.db.orm, t.app.services.store),
    };
  };

  it(`${label}: conditional updates from ${sizes.clients} clients, one success per version`, async () => {
    const report = await conditionalRace(await target(), sizes.clients);
    expect(report.violations).toEqual([]);
    expect(report.successes).toBe(sizes.clients);
    expect(report.unexpected).toEqual([]);
  }, 120_000);

  it(`${label}: ${sizes.burst} unconditional updates, no lost update`, async () => {
    const report = await unconditionalBurst(await target(), sizes.burst);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(sizes.burst);
  }, 120_000);

  it(`${label}: one Idempotency-Key sent to every server at once writes once; later retries replay`, async () => {
    const { urls } = setup();
    const report = await idempotentStorm(await target(), 6, 3);
    expect(report.violations).toEqual([]);
    expect(report.firstWrites).toBe(6);
    expect(report.versionsAdded).toBe(6);
    expect(report.replayed + report.inProgress409).toBe(report.sent - 6);
    expect(report.retriesReplayed).toBe(6 * urls.length);
  }, 120_000);

  it(`${label}: an idempotent create sent to every server at once creates one secret`, async () => {
    const { urls, t } = setup();
    team ??= await t.newTeam();
    const report = await idempotentCreateStorm({ urls, key: team.ownerKey, teamId: team.teamId }, 4, 3);
    expect(report.violations).toEqual([]);
    expect(report.created).toBe(4);
  }, 120_000);
}

describe('two app instances in one process, one database (every test database)', () => {
  const [a, b] = useApps({ env: { LOG_LEVEL: 'warn' } }, { env: { LOG_LEVEL: 'warn' } });
  scenarios('2 instances', () => ({ urls: [a.url, b.url], t: a }), { clients: 12, burst: 60 });
});

// Real server processes need a real PostgreSQL server: the embedded database is one process by
// design (a data-dir lock), and several processes on the test run's PGlite socket overload its
// connection multiplexer. CI runs this file on both databases, so the block runs there.
if (inject('databaseKind') === 'server')
  describe('server processes on one PostgreSQL', () => {
    const t = useApp({ env: { LOG_LEVEL: 'warn' } });
    const servers = useServerProcesses(3, t, { DATABASE_POOL_MAX: '5' });
    scenarios('2 processes', () => ({ urls: servers.slice(0, 2).map((s) => s.url), t }), {
      clients: 40,
      burst: 100,
    });
    scenarios('3 processes', () => ({ urls: servers.map((s) => s.url), t }), { clients: 40, burst: 150 });
    it('the processes logged no error', () => {
      for (const server of servers) {
        expect(server.stdout.filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
      }
    });
  });
