/**
 * A saturated database pool (every connection busy until the acquire timeout) answers 503 with
 * Retry-After on REST and SERVICE_UNAVAILABLE on GraphQL, never a 500; once a connection is free
 * again the same requests succeed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { graphql, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp({ env: { DATABASE_POOL_MAX: '1' } });
let team: TestTeam;

beforeAll(async () => {
  // One connection, so holding it saturates the pool.
  team = await t.newTeam();
});

afterAll(() => t?.close());

const SECRETS = 'query Secrets($t: ID!) { secrets(teamId: $t) { totalCount } }';

/** Takes the pool's only connection away from the server until `release()` (no query on it: nothing else waits). */
async function holdTheOnlyConnection() {
  const knex = t.app.db.orm.em.getConnection().getKnex();
  const connection = await knex.client.acquireConnection();
  return { release: () => knex.client.releaseConnection(connection) };
}

it('answers 503 + Retry-After (REST) and SERVICE_UNAVAILABLE (GraphQL) while no connection is free', async () => {
  const path = `/v1/teams/${team.teamId}/secrets`;
  const held = await holdTheOnlyConnection();
  let restRes: Awaited<ReturnType<ReturnType<typeof rest>>>;
  let gqlRes: Awaited<ReturnType<ReturnType<typeof graphql>>>;
  try {
    // Both wait for the pool's acquire timeout at the same time.
    [restRes, gqlRes] = await Promise.all([
      rest(t.url, team.ownerKey)('GET', path),
      graphql(t.url, team.ownerKey)(SECRETS, { t: team.teamId }),
    ]);
  } finally {
    await held.release();
  }

  expect(restRes.status, restRes.text).toBe(503);
  expect(restRes.headers.get('retry-after')).toBe('1');
  expect(restRes.body).toEqual({ detail: expect.stringMatching(/database is busy/) });

  expect(gqlRes.body.errors, gqlRes.text).toHaveLength(1);
  expect(gqlRes.body.errors![0].extensions).toMatchObject({
    code: 'SERVICE_UNAVAILABLE',
    retryAfterSeconds: 1,
  });
  expect(gqlRes.body.errors![0].message).toMatch(/database is busy/);
  expect(gqlRes.body.data?.secrets ?? null).toBeNull();

  // Saturation is expected, not a failure of ours: no "unexpected error" log line, no stack.
  expect(t.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  expect(`${restRes.text}${gqlRes.text}`).not.toMatch(/Knex|acquir|\bat \w+ \(/);

  // A free connection again: the same requests succeed.
  expect((await rest(t.url, team.ownerKey)('GET', path)).status).toBe(200);
  const again = await graphql(t.url, team.ownerKey)(SECRETS, { t: team.teamId });
  expect(again.body).toEqual({ data: { secrets: { totalCount: 0 } } });
});
