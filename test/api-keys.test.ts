/**
 * API keys on both doors: create / list / get / rotate / revoke / delete, scope escalation, tenancy,
 * plan limits (with concurrency), batched last_used_at and the audit events of each change.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ISO_TIMESTAMP } from './support/constants.js';
import { graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const API_KEY_FIELDS = [
  'created_at',
  'created_by',
  'expires_at',
  'id',
  'is_active',
  'key_id',
  'last_used_at',
  'name',
  'revoked_at',
  'rotated_at',
  'scopes',
].sort();
const CREATED_FIELDS = [
  'created_at',
  'created_by',
  'expires_at',
  'full_key',
  'id',
  'key_id',
  'name',
  'scopes',
].sort();

const FULL_KEY = /^dr_([A-Za-z0-9]{12})_[A-Za-z0-9_-]{43}$/;

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

const keysPath = (team: TestTeam) => `/v1/teams/${team.teamId}/api-keys`;

async function createKey(team: TestTeam, body: Record<string, unknown>, key = team.ownerKey) {
  return rest(t.url, key)('POST', keysPath(team), body);
}

async function mustCreate(team: TestTeam, body: Record<string, unknown>, key = team.ownerKey) {
  const created = await createKey(team, body, key);
  expect(created.status, created.text).toBe(201);
  return created.body as { id: string; key_id: string; full_key: string; scopes: string[]; name: string };
}

async function auditFor(teamId: string, resourceId: string) {
  return sql(
    'select event_type, resource_type, resource_name, changed_fields, request_id from audit_events where team_id = ? and resource_id = ? order by created_at, event_type',
    [teamId, resourceId],
  );
}

describe('REST: create, get, list shapes', () => {
  it('creates a key whose full key works, shown once, with the documented fields', async () => {
    const team = await t.newTeam();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await createKey(team, {
      name: 'ci reader',
      scopes: ['api_keys:read', 'secrets:read', 'api_keys:read'],
      expires_at: expiresAt,
    });
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(CREATED_FIELDS);
    const body = created.body;
    expect(body.name).toBe('ci reader');
    expect(body.scopes).toEqual(['api_keys:read', 'secrets:read']); // duplicates folded, order kept
    expect(body.expires_at).toBe(expiresAt);
    expect(body.created_by).toBe(team.ownerId);
    expect(body.created_at).toMatch(ISO_TIMESTAMP);
    expect(FULL_KEY.exec(body.full_key)?.[1]).toBe(body.key_id);

    // The full key authenticates.
    const got = await rest(t.url, body.full_key)('GET', `${keysPath(team)}/${body.id}`);
    expect(got.status, got.text).toBe(200);
    expect(Object.keys(got.body).sort()).toEqual(API_KEY_FIELDS);
    expect(got.body).toMatchObject({
      id: body.id,
      key_id: body.key_id,
      name: 'ci reader',
      scopes: ['api_keys:read', 'secrets:read'],
      expires_at: expiresAt,
      revoked_at: null,
      rotated_at: null,
      created_by: team.ownerId,
      is_active: true,
    });
    // Never the secret or its hash, anywhere after creation.
    const secret = body.full_key.slice(16);
    const list = await rest(t.url, team.ownerKey)('GET', keysPath(team));
    const [{ secret_hash: hash }] = await sql('select secret_hash from api_keys where id = ?', [body.id]);
    for (const text of [got.text, list.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hash);
      expect(text).not.toContain('full_key');
    }
    expect(await auditFor(team.teamId, body.id)).toEqual([
      expect.objectContaining({
        event_type: 'api_key_created',
        resource_type: 'api_key',
        resource_name: 'ci reader',
        changed_fields: ['name', 'scopes', 'expires_at'],
      }),
    ]);
  });

  it('expires_at null or omitted means never', async () => {
    const team = await t.newTeam();
    const a = await createKey(team, { name: 'a', scopes: ['secrets:read'], expires_at: null });
    const b = await createKey(team, { name: 'b', scopes: ['secrets:read'] });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.expires_at).toBeNull();
    expect(b.body.expires_at).toBeNull();
  });

  it('rejects bad input with 422 and field locations', async () => {
    const team = await t.newTeam();
    const cases: [unknown, (string | number)[]][] = [
      [{ name: '', scopes: ['secrets:read'] }, ['body', 'name']],
      [{ name: 'x'.repeat(256), scopes: ['secrets:read'] }, ['body', 'name']],
      [{ scopes: ['secrets:read'] }, ['body', 'name']],
      [{ name: 'n', scopes: [] }, ['body', 'scopes']],
      [{ name: 'n' }, ['body', 'scopes']],
      [{ name: 'n', scopes: ['secrets:read', 'secrets:destroy'] }, ['body', 'scopes', 1]],
      [{ name: 'n', scopes: ['secrets:read'], expires_at: '2001-01-01T00:00:00Z' }, ['body', 'expires_at']],
      [{ name: 'n', scopes: ['secrets:read'], expires_at: 'tomorrow' }, ['body', 'expires_at']],
      [{ name: 'n', scopes: ['secrets:read'], role: 'owner' }, ['body', 'role']],
    ];
    for (const [body, loc] of cases) {
      const response = await rest(t.url, team.ownerKey)('POST', keysPath(team), body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(
        response.body.detail.map((d: { loc: unknown }) => d.loc),
        JSON.stringify(body),
      ).toContainEqual(loc);
    }
    const notObject = await rest(t.url, team.ownerKey)('POST', keysPath(team), '[1]');
    expect(notObject.status).toBe(400);
    const [{ n }] = await sql('select count(*)::int as n from api_keys where team_id = ?', [team.teamId]);
    expect(n).toBe(1);
  });

  it('reports every unknown scope, and the unknown scope is never echoed as accepted', async () => {
    const team = await t.newTeam();
    const response = await createKey(team, { name: 'n', scopes: ['nope', 'secrets:read', 'tasks:read'] });
    expect(response.status).toBe(422);
    expect(response.body.detail.map((d: { loc: unknown }) => d.loc)).toEqual([
      ['body', 'scopes', 0],
      ['body', 'scopes', 2],
    ]);
  });

  it('GET of an unknown id is 404; a malformed id is 422 on the path', async () => {
    const team = await t.newTeam();
    const unknown = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: 'API key not found' });
    const malformed = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/not-a-uuid`);
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'api_key_id']);
  });
});

describe('REST: rotate, revoke, delete', () => {
  it('rotate keeps id and key_id, returns a new full key once; the old secret fails at once', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'rot', scopes: ['api_keys:read'] });
    const read = (key: string) => rest(t.url, key)('GET', `${keysPath(team)}/${created.id}`);
    expect((await read(created.full_key)).status).toBe(200);

    const rotated = await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${created.id}/rotate`, {});
    expect(rotated.status, rotated.text).toBe(200);
    expect(Object.keys(rotated.body).sort()).toEqual([...API_KEY_FIELDS, 'full_key'].sort());
    expect(rotated.body.id).toBe(created.id);
    expect(rotated.body.key_id).toBe(created.key_id);
    expect(rotated.body.scopes).toEqual(['api_keys:read']);
    expect(rotated.body.rotated_at).toMatch(ISO_TIMESTAMP);
    expect(rotated.body.full_key).not.toBe(created.full_key);
    expect(FULL_KEY.exec(rotated.body.full_key)?.[1]).toBe(created.key_id);

    const old = await read(created.full_key);
    expect(old.status).toBe(401);
    expect(old.body).toEqual({ detail: 'Not authenticated' });
    const fresh = await read(rotated.body.full_key);
    expect(fresh.status).toBe(200);
    expect(fresh.body.rotated_at).toBe(rotated.body.rotated_at);
    expect(fresh.text).not.toContain(rotated.body.full_key.slice(16));
    expect((await auditFor(team.teamId, created.id)).map((e) => e.event_type)).toEqual([
      'api_key_created',
      'api_key_rotated',
    ]);
  });

  it('a key can rotate itself: the response carries the new key, the old one is dead', async () => {
    const team = await t.newTeam();
    const self = await mustCreate(team, { name: 'self', scopes: ['api_keys:create', 'api_keys:read'] });
    const rotated = await rest(t.url, self.full_key)('POST', `${keysPath(team)}/${self.id}/rotate`, {});
    expect(rotated.status, rotated.text).toBe(200);
    expect((await rest(t.url, self.full_key)('GET', keysPath(team))).status).toBe(401);
    expect((await rest(t.url, rotated.body.full_key)('GET', keysPath(team))).status).toBe(200);
  });

  it('revoke: unusable at once, stays listed, idempotent (one audit event)', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'rev', scopes: ['api_keys:read'] });
    expect((await rest(t.url, created.full_key)('GET', keysPath(team))).status).toBe(200);
    const revoke = () => rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${created.id}/revoke`, {});
    const first = await revoke();
    expect(first.status, first.text).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(API_KEY_FIELDS);
    expect(first.body.revoked_at).toMatch(ISO_TIMESTAMP);
    expect(first.body.is_active).toBe(false);
    expect((await rest(t.url, created.full_key)('GET', keysPath(team))).status).toBe(401);

    const again = await revoke();
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBe(first.body.revoked_at);
    expect((await auditFor(team.teamId, created.id)).map((e) => e.event_type)).toEqual([
      'api_key_created',
      'api_key_revoked',
    ]);
    // Rotating a revoked key would hand out a key that cannot work: refused.
    const rotate = await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${created.id}/rotate`, {});
    expect(rotate.status).toBe(409);
    const listed = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`);
    expect(listed.body.revoked_at).toBe(first.body.revoked_at);
  });

  it('delete: 204, then gone (404), the key fails, the audit log keeps its name', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'doomed', scopes: ['api_keys:read'] });
    const del = await rest(t.url, team.ownerKey)('DELETE', `${keysPath(team)}/${created.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`)).status).toBe(404);
    expect((await rest(t.url, created.full_key)('GET', keysPath(team))).status).toBe(401);
    expect((await rest(t.url, team.ownerKey)('DELETE', `${keysPath(team)}/${created.id}`)).status).toBe(404);
    expect(await auditFor(team.teamId, created.id)).toEqual([
      expect.objectContaining({ event_type: 'api_key_created', resource_name: 'doomed' }),
      expect.objectContaining({ event_type: 'api_key_deleted', resource_name: 'doomed', changed_fields: [] }),
    ]);
  });

  it('rotate and revoke take an empty JSON object; anything in it is refused', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'body', scopes: ['api_keys:read'] });
    for (const action of ['rotate', 'revoke']) {
      const extra = await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${created.id}/${action}`, {
        name: 'renamed',
      });
      expect(extra.status, action).toBe(422);
      expect(extra.body.detail[0]).toMatchObject({ loc: ['body', 'name'], type: 'extra_forbidden' });
    }
    const state = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`);
    expect(state.body).toMatchObject({ name: 'body', revoked_at: null, rotated_at: null });
  });

  it('an expired key fails authentication and cannot be rotated', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'exp', scopes: ['api_keys:read'] });
    await sql("update api_keys set expires_at = now() - interval '1 second' where id = ?", [created.id]);
    expect((await rest(t.url, created.full_key)('GET', keysPath(team))).status).toBe(401);
    const got = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`);
    expect(got.body.is_active).toBe(false);
    const rotate = await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${created.id}/rotate`, {});
    expect(rotate.status).toBe(409);
  });
});

describe('scope escalation and roles', () => {
  it("an admin's key cannot mint (or rotate) a key with a scope it lacks", async () => {
    const team = await t.newTeam();
    const admin = await team.keyFor('admin', ['api_keys:create', 'api_keys:read', 'secrets:read']);
    const denied = await createKey(team, { name: 'x', scopes: ['secrets:read', 'secrets:create'] }, admin);
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain("'secrets:create'");
    const auditDenied = await createKey(team, { name: 'x', scopes: ['audit:read'] }, admin);
    expect(auditDenied.status).toBe(403);

    // A subset of its own scopes is fine, and the new key acts for the admin, not the owner.
    const ok = await createKey(team, { name: 'sub', scopes: ['secrets:read', 'api_keys:read'] }, admin);
    expect(ok.status, ok.text).toBe(201);
    const [{ created_by: adminUser }] = await sql('select created_by from api_keys where key_id = ?', [
      admin.slice(3, 15),
    ]);
    expect(ok.body.created_by).toBe(adminUser);
    expect(ok.body.created_by).not.toBe(team.ownerId);

    // Rotating the owner's all-scope key would hand the admin every scope: refused.
    const [{ id: ownerKeyId }] = await sql('select id from api_keys where key_id = ?', [
      team.ownerKey.slice(3, 15),
    ]);
    const rotate = await rest(t.url, admin)('POST', `${keysPath(team)}/${ownerKeyId}/rotate`, {});
    expect(rotate.status).toBe(403);
    expect((await rest(t.url, team.ownerKey)('GET', keysPath(team))).status).toBe(200);
    const [{ n }] = await sql(
      "select count(*)::int as n from audit_events where team_id = ? and event_type = 'api_key_created'",
      [team.teamId],
    );
    expect(n).toBe(1);
  });

  it('a viewer or operator cannot create, rotate, revoke or delete keys, even with the scopes', async () => {
    const team = await t.newTeam();
    const target = await mustCreate(team, { name: 'target', scopes: ['secrets:read'] });
    for (const role of ['viewer', 'operator'] as const) {
      const key = await team.keyFor(role, ['api_keys:create', 'api_keys:delete', 'api_keys:read']);
      const call = rest(t.url, key);
      expect((await call('POST', keysPath(team), { name: 'v', scopes: ['secrets:read'] })).status).toBe(403);
      expect((await call('POST', `${keysPath(team)}/${target.id}/rotate`, {})).status).toBe(403);
      expect((await call('POST', `${keysPath(team)}/${target.id}/revoke`, {})).status).toBe(403);
      expect((await call('DELETE', `${keysPath(team)}/${target.id}`)).status).toBe(403);
      // Reading is a viewer's right.
      expect((await call('GET', keysPath(team))).status).toBe(200);
    }
    const state = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${target.id}`);
    expect(state.body).toMatchObject({ revoked_at: null, rotated_at: null });
  });

  it('a key without api_keys:read cannot list', async () => {
    const team = await t.newTeam();
    const key = await team.keyFor('owner', ['secrets:read']);
    const response = await rest(t.url, key)('GET', keysPath(team));
    expect(response.status).toBe(403);
    expect(response.body.detail).toContain('api_keys:read');
  });
});

describe('REST: list paging, filters and sort', () => {
  let team: TestTeam;
  const call = () => rest(t.url, team.ownerKey);
  beforeAll(async () => {
    team = await t.newTeam();
    for (const name of ['Alpha', 'beta', 'gamma_1', 'gamma%2', 'delta']) {
      await mustCreate(team, { name, scopes: ['secrets:read'] });
    }
    const revoked = await mustCreate(team, { name: 'revoked-one', scopes: ['secrets:read'] });
    expect((await call()('POST', `${keysPath(team)}/${revoked.id}/revoke`, {})).status).toBe(200);
  });

  it('defaults: revoked included, newest first, limit 50', async () => {
    const list = await call()('GET', keysPath(team));
    expect(list.status).toBe(200);
    expect(list.body.pagination).toEqual({ page: 1, limit: 50, total: 7, total_pages: 1 });
    const names = list.body.data.map((k: { name: string }) => k.name);
    expect(names[0]).toBe('revoked-one');
    expect(names.at(-1)).toBe('bootstrap owner key');
    for (const item of list.body.data) expect(Object.keys(item).sort()).toEqual(API_KEY_FIELDS);
  });

  it('include_revoked=false hides revoked keys; other values are 422', async () => {
    const list = await call()('GET', `${keysPath(team)}?include_revoked=false`);
    expect(list.body.pagination.total).toBe(6);
    expect(list.body.data.every((k: { revoked_at: unknown }) => k.revoked_at === null)).toBe(true);
    const explicit = await call()('GET', `${keysPath(team)}?include_revoked=true`);
    expect(explicit.body.pagination.total).toBe(7);
    for (const bad of ['yes', '1', 'TRUE', '']) {
      const response = await call()('GET', `${keysPath(team)}?include_revoked=${bad}`);
      expect(response.status, bad).toBe(422);
      expect(response.body.detail[0].loc).toEqual(['query', 'include_revoked']);
    }
  });

  it('q is a case-insensitive substring; % and _ are literal', async () => {
    const names = async (q: string) =>
      (await call()('GET', `${keysPath(team)}?q=${encodeURIComponent(q)}`)).body.data
        .map((k: { name: string }) => k.name)
        .sort();
    expect(await names('ALPHA')).toEqual(['Alpha']);
    expect(await names('gamma')).toEqual(['gamma%2', 'gamma_1']);
    expect(await names('%')).toEqual(['gamma%2']);
    expect(await names('_1')).toEqual(['gamma_1']);
    expect(await names('zzz')).toEqual([]);
  });

  it('sort_by name asc/desc, and last_used_at puts unused keys last', async () => {
    const asc = await call()('GET', `${keysPath(team)}?sort_by=name&sort_order=asc`);
    const names = asc.body.data.map((k: { name: string }) => k.name);
    // The exact order is the database collation's; its ends are the same in C and in en_US.
    expect(names[0]).toBe('Alpha');
    expect(names.at(-1)).toBe('revoked-one');
    const desc = await call()('GET', `${keysPath(team)}?sort_by=name&sort_order=desc`);
    expect(desc.body.data.map((k: { name: string }) => k.name)).toEqual([...names].reverse());

    // The owner key has been used; after a flush it has last_used_at and sorts first in both orders.
    await t.app.services.apiKeys.flushLastUsed();
    for (const order of ['asc', 'desc']) {
      const byUse = await call()('GET', `${keysPath(team)}?sort_by=last_used_at&sort_order=${order}`);
      expect(byUse.body.data[0].name, order).toBe('bootstrap owner key');
      expect(byUse.body.data[0].last_used_at).toMatch(ISO_TIMESTAMP);
    }
  });

  it('pages: limit/page, past the end, and out-of-range values are 422', async () => {
    const p1 = await call()('GET', `${keysPath(team)}?limit=3&page=1&sort_by=name&sort_order=asc`);
    const p3 = await call()('GET', `${keysPath(team)}?limit=3&page=3&sort_by=name&sort_order=asc`);
    expect(p1.body.pagination).toEqual({ page: 1, limit: 3, total: 7, total_pages: 3 });
    expect(p1.body.data).toHaveLength(3);
    expect(p3.body.data).toHaveLength(1);
    const all = await call()('GET', `${keysPath(team)}?sort_by=name&sort_order=asc`);
    const p2 = await call()('GET', `${keysPath(team)}?limit=3&page=2&sort_by=name&sort_order=asc`);
    expect([...p1.body.data, ...p2.body.data, ...p3.body.data]).toEqual(all.body.data);
    const past = await call()('GET', `${keysPath(team)}?limit=3&page=9`);
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    expect(past.body.pagination.total).toBe(7);
    for (const [query, name] of [
      ['page=0', 'page'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['page=-1', 'page'],
      ['limit=abc', 'limit'],
      ['sort_by=key_id', 'sort_by'],
      ['sort_order=up', 'sort_order'],
      ['unknown=1', 'unknown'],
    ]) {
      const response = await call()('GET', `${keysPath(team)}?${query}`);
      expect(response.status, query).toBe(422);
      expect(response.body.detail[0].loc, query).toEqual(['query', name]);
    }
  });
});

describe('tenancy', () => {
  it("another team's key under my team path is the same 404 as an unknown id; nothing changes", async () => {
    const mine = await t.newTeam();
    const other = await t.newTeam();
    const theirs = await mustCreate(other, { name: 'theirs', scopes: ['secrets:read'] });
    const call = rest(t.url, mine.ownerKey);
    const random = randomUUID();
    const ops: [string, (id: string) => string][] = [
      ['GET', (id) => `${keysPath(mine)}/${id}`],
      ['POST', (id) => `${keysPath(mine)}/${id}/rotate`],
      ['POST', (id) => `${keysPath(mine)}/${id}/revoke`],
      ['DELETE', (id) => `${keysPath(mine)}/${id}`],
    ];
    for (const [method, path] of ops) {
      const body = method === 'POST' ? {} : undefined;
      const foreign = await call(method, path(theirs.id), body);
      const unknown = await call(method, path(random), body);
      expect(foreign.status, `${method} ${path('x')}`).toBe(404);
      expect(foreign.text).toBe(unknown.text);
    }
    // Another team's path: same 404 as a team that does not exist, for every route.
    const routes: [string, string][] = [
      ['GET', keysPath(other)],
      ['POST', keysPath(other)],
      ['GET', `${keysPath(other)}/${theirs.id}`],
      ['POST', `${keysPath(other)}/${theirs.id}/rotate`],
      ['POST', `${keysPath(other)}/${theirs.id}/revoke`],
      ['DELETE', `${keysPath(other)}/${theirs.id}`],
    ];
    for (const [method, path] of routes) {
      const body =
        method !== 'POST'
          ? undefined
          : path.endsWith('api-keys')
            ? { name: 'x', scopes: ['secrets:read'] }
            : {};
      const existing = await call(method, path, body);
      const unknown = await call(
        method,
        path.replace(other.teamId, randomUUID()).replace(theirs.id, random),
        body,
      );
      expect(existing.status, `${method} ${path}`).toBe(404);
      expect(existing.text).toBe(unknown.text);
    }
    const state = await rest(t.url, other.ownerKey)('GET', `${keysPath(other)}/${theirs.id}`);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ revoked_at: null, rotated_at: null });
    expect((await rest(t.url, theirs.full_key)('GET', keysPath(other))).status).toBe(403); // alive, lacks scope
    const [{ n }] = await sql('select count(*)::int as n from api_keys where team_id = ?', [other.teamId]);
    expect(n).toBe(2);
  });
});

describe('plan limits', () => {
  it('free team: the bootstrap key counts, so one more key fits; revoking or expiry frees a slot', async () => {
    const team = await t.newTeam('free');
    const first = await createKey(team, { name: 'second active', scopes: ['secrets:read'] });
    expect(first.status, first.text).toBe(201);
    const over = await createKey(team, { name: 'third', scopes: ['secrets:read'] });
    expect(over.status).toBe(403);
    expect(over.body.detail).toContain('free plan allows at most 2 active API keys');

    expect(
      (await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${first.body.id}/revoke`, {})).status,
    ).toBe(200);
    const afterRevoke = await createKey(team, { name: 'third again', scopes: ['secrets:read'] });
    expect(afterRevoke.status, afterRevoke.text).toBe(201);
    expect((await createKey(team, { name: 'fourth', scopes: ['secrets:read'] })).status).toBe(403);

    await sql("update api_keys set expires_at = now() - interval '1 second' where id = ?", [
      afterRevoke.body.id,
    ]);
    expect((await createKey(team, { name: 'after expiry', scopes: ['secrets:read'] })).status).toBe(201);
    const [{ n }] = await sql(
      "select count(*)::int as n from audit_events where team_id = ? and event_type = 'api_key_created'",
      [team.teamId],
    );
    expect(n).toBe(3);
  });

  it('concurrent creates at the limit: exactly the allowed number succeed', async () => {
    const team = await t.newTeam('free');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createKey(team, { name: `race-${i}`, scopes: ['secrets:read'] })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 403, 403, 403, 403, 403]);
    const [{ n }] = await sql(
      'select count(*)::int as n from api_keys where team_id = ? and revoked_at is null',
      [team.teamId],
    );
    expect(n).toBe(2);
  });

  it('pro team: 25 active keys', async () => {
    const team = await t.newTeam('pro');
    const results = await Promise.all(
      Array.from({ length: 26 }, (_, i) => createKey(team, { name: `k-${i}`, scopes: ['secrets:read'] })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(24);
    const refused = results.filter((r) => r.status === 403);
    expect(refused).toHaveLength(2);
    expect(refused[0].body.detail).toContain('pro plan allows at most 25 active API keys');
  });
});

describe('last_used_at', () => {
  it('is not written per request; a flush writes the latest use', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'usage', scopes: ['api_keys:read'] });
    await t.app.services.apiKeys.flushLastUsed(); // drain other tests' uses; re-arms nothing
    const lastUsed = async () =>
      (await sql('select last_used_at from api_keys where id = ?', [created.id]))[0].last_used_at;

    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      expect((await rest(t.url, created.full_key)('GET', `${keysPath(team)}/${created.id}`)).status).toBe(
        200,
      );
    }
    expect(await lastUsed()).toBeNull();
    const viaApi = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`);
    expect(viaApi.body.last_used_at).toBeNull();

    expect(await t.app.services.apiKeys.flushLastUsed()).toBeGreaterThanOrEqual(1);
    const written = new Date(await lastUsed()).getTime();
    expect(written).toBeGreaterThanOrEqual(started - 5);
    expect(written).toBeLessThanOrEqual(Date.now() + 5);
    const after = await rest(t.url, team.ownerKey)('GET', `${keysPath(team)}/${created.id}`);
    expect(after.body.last_used_at).toBe(new Date(written).toISOString());

    // Nothing pending for it now: a second flush leaves it as it was.
    await t.app.services.apiKeys.flushLastUsed();
    expect(new Date(await lastUsed()).getTime()).toBe(written);
  });

  it('GraphQL requests count as uses; failed authentications do not', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'gql-usage', scopes: ['api_keys:read'] });
    const revoked = await mustCreate(team, { name: 'dead', scopes: ['api_keys:read'] });
    await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${revoked.id}/revoke`, {});
    await t.app.services.apiKeys.flushLastUsed();
    await graphql(t.url, created.full_key)('query($t: ID!) { apiKeys(teamId: $t) { totalCount } }', {
      t: team.teamId,
    });
    expect((await rest(t.url, revoked.full_key)('GET', keysPath(team))).status).toBe(401);
    await t.app.services.apiKeys.flushLastUsed();
    const rows = await sql('select id, last_used_at from api_keys where id in (?, ?)', [
      created.id,
      revoked.id,
    ]);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r.last_used_at]));
    expect(byId[created.id]).not.toBeNull();
    expect(byId[revoked.id]).toBeNull();
  });
});

describe('GraphQL', () => {
  const KEY_FIELDS =
    'id keyId name scopes expiresAt revokedAt rotatedAt lastUsedAt createdAt createdBy isActive';

  it('createApiKey → apiKey + fullKey; the key works; apiKey(teamId, id) reads it', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await gql(
      `mutation($t: ID!, $i: CreateApiKeyInput!) { createApiKey(teamId: $t, input: $i) {
        __typename ... on CreateApiKeySuccess { fullKey apiKey { ${KEY_FIELDS} } } } }`,
      { t: team.teamId, i: { name: 'gql key', scopes: ['api_keys:read'], expiresAt } },
    );
    expect(created.body.errors).toBeUndefined();
    const result = created.body.data.createApiKey;
    expect(result.__typename).toBe('CreateApiKeySuccess');
    expect(result.apiKey).toMatchObject({
      name: 'gql key',
      scopes: ['api_keys:read'],
      expiresAt,
      revokedAt: null,
      rotatedAt: null,
      lastUsedAt: null,
      createdBy: team.ownerId,
      isActive: true,
    });
    expect(FULL_KEY.exec(result.fullKey)?.[1]).toBe(result.apiKey.keyId);

    const read = await graphql(t.url, result.fullKey)(
      `query($t: ID!, $id: ID!) { apiKey(teamId: $t, id: $id) { ${KEY_FIELDS} } }`,
      { t: team.teamId, id: result.apiKey.id },
    );
    expect(read.body.data.apiKey).toEqual(result.apiKey);
    expect(read.text).not.toContain(result.fullKey.slice(16));
  });

  it('createApiKey: validation issues as a union member; escalation and plan limit as FORBIDDEN', async () => {
    const team = await t.newTeam('free');
    const gql = graphql(t.url, team.ownerKey);
    const create = (input: Record<string, unknown>, key = team.ownerKey) =>
      graphql(t.url, key)(
        `mutation($t: ID!, $i: CreateApiKeyInput!) { createApiKey(teamId: $t, input: $i) {
          __typename ... on ValidationError { issues { path code } } ... on CreateApiKeySuccess { apiKey { id } } } }`,
        { t: team.teamId, i: input },
      );
    const bad = await create({
      name: '',
      scopes: ['secrets:read', 'bogus'],
      expiresAt: '2000-01-01T00:00:00Z',
    });
    expect(bad.body.data.createApiKey.__typename).toBe('ValidationError');
    expect(bad.body.data.createApiKey.issues.map((i: { path: string[] }) => i.path)).toEqual(
      expect.arrayContaining([
        ['input', 'name'],
        ['input', 'scopes', '1'],
        ['input', 'expiresAt'],
      ]),
    );

    const admin = await team.keyFor('admin', ['api_keys:create']);
    const escalate = await create({ name: 'x', scopes: ['secrets:read'] }, admin);
    expect(escalate.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(escalate.body.errors?.[0].message).toContain("'secrets:read'");

    // bootstrap + admin key (made outside the API) already fill the free plan's 2 active keys.
    const limited = await create({ name: 'x', scopes: ['secrets:read'] });
    expect(limited.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect(limited.body.errors?.[0].message).toContain('at most 2 active API keys');

    const anonymous = await graphql(t.url)(
      'mutation($t: ID!) { createApiKey(teamId: $t, input: { name: "x", scopes: ["secrets:read"] }) { __typename } }',
      { t: team.teamId },
    );
    expect(anonymous.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    void gql;
  });

  it('rotateApiKey, revokeApiKey, deleteApiKey', async () => {
    const team = await t.newTeam();
    const created = await mustCreate(team, { name: 'lifecycle', scopes: ['api_keys:read'] });
    const gql = graphql(t.url, team.ownerKey);
    const rotated = await gql(
      `mutation($t: ID!, $id: ID!) { rotateApiKey(teamId: $t, id: $id) {
        __typename ... on RotateApiKeySuccess { fullKey apiKey { id keyId rotatedAt } } } }`,
      { t: team.teamId, id: created.id },
    );
    const r = rotated.body.data.rotateApiKey;
    expect(r.__typename).toBe('RotateApiKeySuccess');
    expect(r.apiKey).toMatchObject({ id: created.id, keyId: created.key_id });
    expect(r.apiKey.rotatedAt).toMatch(ISO_TIMESTAMP);
    expect((await rest(t.url, created.full_key)('GET', keysPath(team))).status).toBe(401);
    expect((await rest(t.url, r.fullKey)('GET', keysPath(team))).status).toBe(200);

    const revoke = () =>
      gql(
        `mutation($t: ID!, $id: ID!) { revokeApiKey(teamId: $t, id: $id) {
          __typename ... on RevokeApiKeySuccess { apiKey { revokedAt isActive } } } }`,
        { t: team.teamId, id: created.id },
      );
    const revoked = (await revoke()).body.data.revokeApiKey;
    expect(revoked.__typename).toBe('RevokeApiKeySuccess');
    expect(revoked.apiKey.isActive).toBe(false);
    expect((await revoke()).body.data.revokeApiKey.apiKey.revokedAt).toBe(revoked.apiKey.revokedAt);
    expect((await rest(t.url, r.fullKey)('GET', keysPath(team))).status).toBe(401);

    const rotateRevoked = await gql(
      'mutation($t: ID!, $id: ID!) { rotateApiKey(teamId: $t, id: $id) { __typename ... on Error { message } } }',
      { t: team.teamId, id: created.id },
    );
    expect(rotateRevoked.body.data.rotateApiKey.__typename).toBe('ConflictError');

    const del = (id: string) =>
      gql(
        `mutation($t: ID!, $id: ID!) { deleteApiKey(teamId: $t, id: $id) {
          __typename ... on DeleteApiKeySuccess { deletedId } ... on Error { message } ... on ValidationError { issues { path } } } }`,
        { t: team.teamId, id },
      );
    expect((await del(created.id)).body.data.deleteApiKey).toEqual({
      __typename: 'DeleteApiKeySuccess',
      deletedId: created.id,
    });
    expect((await del(created.id)).body.data.deleteApiKey.__typename).toBe('NotFoundError');
    const malformed = (await del('nope')).body.data.deleteApiKey;
    expect(malformed.__typename).toBe('ValidationError');
    expect(malformed.issues[0].path).toEqual(['id']);
    expect((await auditFor(team.teamId, created.id)).map((e) => e.event_type)).toEqual([
      'api_key_created',
      'api_key_rotated',
      'api_key_revoked',
      'api_key_deleted',
    ]);
  });

  it('apiKeys connection: filter, orderBy, paging; NOT_FOUND for another team', async () => {
    const team = await t.newTeam();
    for (const name of ['zeta', 'Eta', 'theta']) await mustCreate(team, { name, scopes: ['secrets:read'] });
    const gone = await mustCreate(team, { name: 'eta-revoked', scopes: ['secrets:read'] });
    await rest(t.url, team.ownerKey)('POST', `${keysPath(team)}/${gone.id}/revoke`, {});
    const query = `query($t: ID!, $first: Int, $after: String, $f: ApiKeyFilter, $o: ApiKeyOrder) {
      apiKeys(teamId: $t, first: $first, after: $after, filter: $f, orderBy: $o) {
        totalCount nodes { name revokedAt } pageInfo { hasNextPage hasPreviousPage endCursor } } }`;
    const gql = graphql(t.url, team.ownerKey);
    const eta = await gql(query, { t: team.teamId, f: { q: 'ETA' }, o: { field: 'NAME', direction: 'ASC' } });
    expect(eta.body.data.apiKeys.nodes.map((n: { name: string }) => n.name)).toEqual([
      'Eta',
      'eta-revoked',
      'theta',
      'zeta',
    ]);
    const live = await gql(query, {
      t: team.teamId,
      f: { q: 'eta', includeRevoked: false },
      o: { field: 'NAME', direction: 'ASC' },
    });
    expect(live.body.data.apiKeys.totalCount).toBe(3);

    const first = await gql(query, { t: team.teamId, first: 2, o: { field: 'NAME', direction: 'ASC' } });
    const page1 = first.body.data.apiKeys;
    expect(page1.totalCount).toBe(5);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await gql(query, {
      t: team.teamId,
      first: 2,
      after: page1.pageInfo.endCursor,
      o: { field: 'NAME', direction: 'ASC' },
    });
    expect(second.body.data.apiKeys.pageInfo.hasPreviousPage).toBe(true);
    expect(second.body.data.apiKeys.nodes[0].name).not.toBe(page1.nodes[1].name);
    const all = await gql(query, { t: team.teamId, o: { field: 'NAME', direction: 'ASC' } });
    expect([...page1.nodes, ...second.body.data.apiKeys.nodes]).toEqual(
      all.body.data.apiKeys.nodes.slice(0, 4),
    );

    const tooMany = await gql(query, { t: team.teamId, first: 101 });
    expect(tooMany.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const badCursor = await gql(query, { t: team.teamId, after: 'garbage' });
    expect(badCursor.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');

    const other = await t.newTeam();
    const foreign = await gql(query, { t: other.teamId });
    const unknownTeam = await gql(query, { t: randomUUID() });
    expect(foreign.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(foreign.body.data).toBeNull();
    expect(foreign.text).toBe(unknownTeam.text);
    const [{ id: otherKeyId }] = await sql('select id from api_keys where team_id = ?', [other.teamId]);
    const foreignOne = await gql('query($t: ID!, $id: ID!) { apiKey(teamId: $t, id: $id) { id } }', {
      t: team.teamId,
      id: otherKeyId,
    });
    expect(foreignOne.body.data.apiKey).toBeNull();
  });
});
