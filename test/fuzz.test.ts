/**
 * Quick budget: property-based fuzzing of both doors (test/support/scenarios/fuzz.ts). Never a
 * 5xx, never a stack trace, never a credential canary in a response or a log line. The seed is
 * random unless FUZZ_SEED is set; a failure prints the seed and the shrunk counterexample.
 * scripts/fuzz.ts runs 10,000+ cases against a server it starts itself.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApp } from './support/harness.js';
import {
  CANARY_TAG,
  createFuzzResources,
  type FuzzFixture,
  fuzzProperties,
  problemsOf,
} from './support/scenarios/fuzz.js';

const RUNS: Record<string, number> = {
  'REST secrets': 80,
  'REST vault connections, locations, other routes': 50,
  'REST, every parameter of the OpenAPI document': 100,
  GraphQL: 70,
  'GraphQL, every argument of the schema': 120,
};
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

const t = useApp({ env: { LOG_LEVEL: 'debug' } });
let fixture: FuzzFixture;
beforeAll(async () => {
  const team = await t.newTeam();
  const other = await t.newTeam();
  const viewerKey = await team.keyFor('viewer', ['secrets:read', 'locations:read', 'vault_connections:read']);
  const ids = await createFuzzResources(
    t.url,
    { teamId: team.teamId, key: team.ownerKey },
    { teamId: other.teamId, key: other.ownerKey },
  );
  fixture = {
    url: t.url,
    teamId: team.teamId,
    ownerKey: team.ownerKey,
    viewerKey,
    otherTeamId: other.teamId,
    otherKey: other.ownerKey,
    ...ids,
    logs: () => t.logs,
  };
});

describe(`fuzzing both doors (seed ${seed})`, () => {
  it('the oracle flags what it must (so a passing run means something)', () => {
    const ok = { status: 422, headers: {}, text: '{"detail":[]}', body: { detail: [] } };
    expect(problemsOf(ok, ['{"level":"info","msg":"request"}'])).toEqual([]);
    const bad = (patch: object, logs: string[] = []) => problemsOf({ ...ok, ...patch }, logs);
    expect(bad({ status: 500 })).toHaveLength(1);
    expect(bad({ status: 0, networkError: 'socket hang up' })).toHaveLength(1);
    expect(bad({ text: 'Error\n    at handler (/srv/src/x.ts:1:2)' }).length).toBeGreaterThan(0);
    expect(bad({ text: `{"detail":"${CANARY_TAG}abc"}` })).toHaveLength(1);
    expect(bad({ body: { errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] } })).toHaveLength(1);
    expect(bad({}, [`{"level":"info","token":"${CANARY_TAG}1"}`])).toHaveLength(1);
    expect(bad({}, ['{"level":"error","msg":"unexpected error"}'])).toHaveLength(1);
  });

  it.each(Object.keys(RUNS))(
    '%s: no 5xx, no stack trace, no credential in a response or log',
    async (name) => {
      const property = fuzzProperties(fixture).find((p) => p.name === name)!;
      await fc.assert(property.property, { numRuns: RUNS[name], seed, endOnFailure: false });
    },
    60_000,
  );

  it('no log line of the whole run holds a canary', () => {
    expect(t.logs.filter((line) => line.includes(CANARY_TAG))).toEqual([]);
  });
});
