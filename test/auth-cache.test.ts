/**
 * The in-process authentication cache (src/modules/api-keys/auth-cache.ts). The bound: a change made through
 * this process (revoke, delete, rotate, a membership change) is seen by the very next request; a
 * change made by another process is seen at most AUTH_CACHE_TTL_MS after its commit; an
 * `expires_at` is enforced on every request, cached or not. Each "process" here is a separate app
 * instance (its own services, cache and connection pool) on the one test database.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { addMember, createTeamApiKey } from '../src/app/team-admin.js';
import { AuthCache, type ResolvedKey } from '../src/modules/api-keys/auth-cache.js';
import { graphql, queryDatabase, rest, type TestApp, type TestTeam, useApps } from './support/harness.js';

/** Long enough that nothing in a test outlives it: a refusal seen here comes from an eviction. */
const LONG_TTL_MS = 60_000;
/** The bound under test for another process's changes. */
const SHORT_TTL_MS = 300;

const [a, other, short] = useApps(
  { env: { AUTH_CACHE_TTL_MS: String(LONG_TTL_MS) } },
  { env: { AUTH_CACHE_TTL_MS: String(LONG_TTL_MS) } },
  { env: { AUTH_CACHE_TTL_MS: String(SHORT_TTL_MS) } },
);

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(a, query, params);

const keyIdOf = (key: string) => key.slice(3, 15);

/** Waits until the clock reads at least `at` (ms); timers alone may fire a little early. */
async function waitUntil(at: number): Promise<void> {
  while (Date.now() < at) await sleep(at - Date.now());
}
const secretsPath = (team: TestTeam) => `/v1/teams/${team.teamId}/secrets`;
const keysPath = (team: TestTeam) => `/v1/teams/${team.teamId}/api-keys`;

/** A key made through the API of `app` by the team's owner; returns its id and full value. */
async function newKey(app: TestApp, team: TestTeam, extra: Record<string, unknown> = {}) {
  const created = await rest(app.url, team.ownerKey)('POST', keysPath(team), {
    name: 'cached key',
    scopes: ['secrets:read', 'api_keys:read'],
    ...extra,
  });
  expect(created.status, created.text).toBe(201);
  return { id: created.body.id as string, fullKey: created.body.full_key as string };
}

/** One authenticated read through `app` on each door: the REST status and the GraphQL error code (or 'ok'). */
async function read(app: TestApp, team: TestTeam, key: string) {
  const restResponse = await rest(app.url, key)('GET', secretsPath(team));
  const gql = await graphql(app.url, key)('query($t: ID!) { apiKeys(teamId: $t, first: 1) { totalCount } }', {
    t: team.teamId,
  });
  return { rest: restResponse.status, graphql: gql.body.errors?.[0]?.extensions?.code ?? 'ok' };
}

const ACCEPTED = { rest: 200, graphql: 'ok' };
const REFUSED = { rest: 401, graphql: 'UNAUTHENTICATED' };

/** A key of a new team made through `app` and read through it once (accepted, so `app` has it cached). */
async function cachedKey(app: TestApp, extra: Record<string, unknown> = {}) {
  const team = await app.newTeam();
  const key = await newKey(app, team, extra);
  expect(await read(app, team, key.fullKey)).toEqual(ACCEPTED);
  return { team, key };
}

describe('changes made through this process: the very next request sees them', () => {
  it.each([
    ['revoke', 'POST', '/revoke', {}, 200],
    ['delete', 'DELETE', '', undefined, 204],
  ])('REST %s', async (_, method, suffix, body, status) => {
    const { team, key } = await cachedKey(a);
    const res = await rest(a.url, team.ownerKey)(method, `${keysPath(team)}/${key.id}${suffix}`, body);
    expect(res.status, res.text).toBe(status);
    expect(await read(a, team, key.fullKey)).toEqual(REFUSED);
  });

  it('rotation: the old secret fails at once, the new one works', async () => {
    const { team, key } = await cachedKey(a);
    const rotated = await rest(a.url, team.ownerKey)('POST', `${keysPath(team)}/${key.id}/rotate`, {});
    expect(rotated.status, rotated.text).toBe(200);
    expect(keyIdOf(rotated.body.full_key)).toBe(keyIdOf(key.fullKey));
    expect(await read(a, team, key.fullKey)).toEqual(REFUSED);
    expect(await read(a, team, rotated.body.full_key)).toEqual(ACCEPTED);
  });

  it("a demotion of the key's creator (addMember) takes away write access on the next request", async () => {
    const team = await a.newTeam();
    const email = `cached-admin-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    await addMember(a.app.db.orm, { teamId: team.teamId, email, role: 'admin' });
    const { full_key: key } = await createTeamApiKey(a.app.db.orm, {
      teamId: team.teamId,
      name: 'admin key',
      scopes: ['api_keys:read', 'api_keys:create'],
      createdByEmail: email,
    });
    const create = () =>
      rest(a.url, key)('POST', keysPath(team), { name: 'made', scopes: ['api_keys:read'] });
    expect((await create()).status).toBe(201);
    await addMember(a.app.db.orm, { teamId: team.teamId, email, role: 'viewer' });
    const refused = await create();
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.detail).toContain("'viewer'");
  });
});

describe('changes made by another process', () => {
  it('within the TTL a process may still accept a key another process revoked (the cache is in use)', async () => {
    const { team, key } = await cachedKey(a);
    const revoked = await rest(other.url, team.ownerKey)('POST', `${keysPath(team)}/${key.id}/revoke`, {});
    expect(revoked.status, revoked.text).toBe(200);
    expect(await read(other, team, key.fullKey)).toEqual(REFUSED);
    // `a` resolved the key less than LONG_TTL_MS ago and was not told.
    expect(await read(a, team, key.fullKey)).toEqual(ACCEPTED);
  });

  it.each([
    ['revoked by SQL', (id: string) => sql('update api_keys set revoked_at = now() where id = ?', [id])],
    ['deleted by SQL', (id: string) => sql('delete from api_keys where id = ?', [id])],
    ['expired by SQL', (id: string) => sql('update api_keys set expires_at = now() where id = ?', [id])],
  ])('a key %s is refused once the TTL has passed since the change', async (_, change) => {
    const { team, key } = await cachedKey(short);
    await change(key.id);
    await waitUntil(Date.now() + SHORT_TTL_MS);
    expect(await read(short, team, key.fullKey)).toEqual(REFUSED);
  });

  it('a key revoked through another process’s API is refused once the TTL has passed', async () => {
    const { team, key } = await cachedKey(short);
    const revoked = await rest(other.url, team.ownerKey)('POST', `${keysPath(team)}/${key.id}/revoke`, {});
    expect(revoked.status, revoked.text).toBe(200);
    await waitUntil(Date.now() + SHORT_TTL_MS);
    expect(await read(short, team, key.fullKey)).toEqual(REFUSED);
  });

  it("a key whose creator's membership was removed by SQL is refused (403) once the TTL has passed", async () => {
    const team = await short.newTeam();
    const key = await team.keyFor('admin', ['secrets:read']);
    expect((await rest(short.url, key)('GET', secretsPath(team))).status).toBe(200);
    await sql(
      'delete from memberships where team_id = ? and user_id = (select created_by from api_keys where key_id = ?)',
      [team.teamId, keyIdOf(key)],
    );
    await waitUntil(Date.now() + SHORT_TTL_MS);
    const refused = await rest(short.url, key)('GET', secretsPath(team));
    expect(refused.status, refused.text).toBe(403);
  });
});

describe('expiry, failures and last use', () => {
  it('a cached key is refused from its expires_at on', async () => {
    const expiresAt = Date.now() + 3_000;
    const { team, key } = await cachedKey(a, { expires_at: new Date(expiresAt).toISOString() });
    await waitUntil(expiresAt);
    expect(await read(a, team, key.fullKey)).toEqual(REFUSED);
  });

  it('a failed lookup is not remembered: a key refused once works as soon as its row allows it', async () => {
    const team = await a.newTeam();
    const key = await newKey(a, team);
    await sql('update api_keys set revoked_at = now() where id = ?', [key.id]);
    expect(await read(a, team, key.fullKey)).toEqual(REFUSED);
    await sql('update api_keys set revoked_at = null where id = ?', [key.id]);
    expect(await read(a, team, key.fullKey)).toEqual(ACCEPTED);
  });

  it('a wrong secret for a cached key id is refused and does not disturb the cached key', async () => {
    const { team, key } = await cachedKey(a);
    const last = key.fullKey.at(-1) === 'A' ? 'B' : 'A';
    expect(await read(a, team, key.fullKey.slice(0, -1) + last)).toEqual(REFUSED);
    expect(await read(a, team, key.fullKey)).toEqual(ACCEPTED);
  });

  it('uses answered from the cache still reach last_used_at', async () => {
    const { team, key } = await cachedKey(a);
    await a.app.services.apiKeys.flushLastUsed();
    const [{ last_used_at: first }] = await sql('select last_used_at from api_keys where id = ?', [key.id]);
    expect(first).not.toBeNull();
    await sleep(5);
    const before = Date.now();
    expect(await read(a, team, key.fullKey)).toEqual(ACCEPTED);
    await a.app.services.apiKeys.flushLastUsed();
    const [{ last_used_at: second }] = await sql('select last_used_at from api_keys where id = ?', [key.id]);
    expect(new Date(second).getTime()).toBeGreaterThanOrEqual(before);
  });
});

describe('AuthCache', () => {
  const resolved = (keyId: string): ResolvedKey => ({
    actor: { apiKeyId: keyId, keyId, teamId: 't', userId: 'u', scopes: [], role: 'viewer' },
    secretDigest: Buffer.alloc(32, 1),
    expiresAt: null,
  });
  const digest = Buffer.alloc(32, 1);

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new AuthCache(LONG_TTL_MS, 3);
    for (const id of ['k1', 'k2', 'k3', 'k4']) cache.set(id, resolved(id), cache.begin(), Date.now());
    expect(cache.size).toBe(3);
    expect(cache.get('k1', digest, Date.now())).toBeUndefined();
    expect(cache.get('k4', digest, Date.now())?.apiKeyId).toBe('k4');
  });

  it('does not store a lookup that began before an eviction (it may have read the row before the change)', () => {
    const cache = new AuthCache(LONG_TTL_MS);
    const epoch = cache.begin();
    cache.evictKey('k1');
    cache.set('k1', resolved('k1'), epoch, Date.now());
    expect(cache.get('k1', digest, Date.now())).toBeUndefined();
    cache.set('k1', resolved('k1'), cache.begin(), Date.now());
    expect(cache.get('k1', digest, Date.now())?.apiKeyId).toBe('k1');
  });

  it('counts freshness from the start of the lookup, and a TTL of 0 stores nothing', () => {
    const cache = new AuthCache(1_000);
    cache.set('k1', resolved('k1'), cache.begin(), 10_000);
    expect(cache.get('k1', digest, 10_999)?.apiKeyId).toBe('k1');
    expect(cache.get('k1', digest, 11_000)).toBeUndefined();
    const off = new AuthCache(0);
    off.set('k1', resolved('k1'), off.begin(), Date.now());
    expect(off.size).toBe(0);
  });
});
