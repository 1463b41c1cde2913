/**
 * Vault connections on both doors: list (paging, filters, sort), get, update, rotate, delete; plan
 * limits, tenancy, scopes and roles, validation, conflicts, the credential store after a rotation
 * or a delete, and the audit events of each change. Tokens never come back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { ONEPASSWORD_MAPPINGS } from './support/bodies.js';
import { ISO_TIMESTAMP, sleep, VAULT_CONNECTION_RESPONSE_KEYS } from './support/constants.js';
import { createVaultConnection, createVaultSecret } from './support/factories.js';
import { auditTrail, graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const LIST_FIELDS = [...VAULT_CONNECTION_RESPONSE_KEYS, 'updated_at', 'updated_by'].sort();
const SETTINGS: Record<string, string[]> = {
  onepassword: [],
  doppler: ['config', 'project'],
  infisical: ['client_id', 'environment', 'project_id', 'secret_path'],
};
const detailFields = (type: string) => [...LIST_FIELDS, ...SETTINGS[type], 'secret_count'].sort();

/** Every token this file sends; none may ever appear in a response. */
const TOKENS: string[] = [];
const token = (prefix: string) => {
  const value = `${prefix}${randomBytes(18).toString('hex')}`;
  TOKENS.push(value);
  return value;
};
const expectNoToken = (text: string) => {
  for (const value of TOKENS) expect(text).not.toContain(value);
};

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

const auditFor = (teamId: string, resourceId: string) => auditTrail(t, teamId, resourceId);

async function row(id: string) {
  const [found] = await sql(
    'select credential_ref, credential_version, updated_at from vault_connections where id = ?',
    [id],
  );
  return found as { credential_ref: string; credential_version: number } | undefined;
}

async function stored(id: string) {
  const current = (await row(id))!;
  return t.app.services.store.get(
    current.credential_ref,
    current.credential_version,
    autocommit(t.app.db.orm),
  );
}

/** Connection bodies whose tokens `expectNoToken` knows (the factory's own token it would not). */
const BODIES = {
  onepassword: () => ({ vault_type: 'onepassword', access_token: token('ops_') }),
  doppler: () => ({
    vault_type: 'doppler',
    access_token: token('dp.st.'),
    project: 'backend',
    config: 'prd',
  }),
  infisical: () => ({
    vault_type: 'infisical',
    client_id: randomUUID(),
    client_secret: token('infisical-'),
    project_id: randomUUID(),
    environment: 'prod',
    secret_path: '/aws',
  }),
} as const;
type VaultType = keyof typeof BODIES;

const path = (team: TestTeam, id?: string, suffix = '') =>
  `/v1/teams/${team.teamId}/vault-connections${id ? `/${id}` : ''}${suffix}`;

/** A connection (`body`) of a new team, and one of another new team: both teams and both connections. */
async function connectionAndForeign(body: () => Record<string, unknown>) {
  const team = await t.newTeam();
  const other = await t.newTeam();
  const connection = await createVaultConnection(t, team, body());
  const foreign = await createVaultConnection(t, other, body());
  return { team, other, connection, foreign };
}

async function userIdOfKey(key: string): Promise<string> {
  const [found] = await sql('select created_by from api_keys where key_id = ?', [key.slice(3, 15)]);
  return found.created_by;
}

// ---------------------------------------------------------------------------------------------

describe('GET /vault-connections (list)', () => {
  let team: TestTeam;
  const created: { name: string; type: VaultType; id: string }[] = [];

  beforeAll(async () => {
    team = await t.newTeam();
    const plan: [string, VaultType][] = [
      ['ops-main', 'onepassword'],
      ['Doppler prod', 'doppler'],
      ['infisical_eu', 'infisical'],
      ['ops-100%', 'onepassword'],
      ['doppler dev', 'doppler'],
    ];
    for (const [name, type] of plan) {
      const c = await createVaultConnection(t, team, { ...BODIES[type](), name });
      created.push({ name, type, id: c.id });
      await sleep(5);
    }
  });

  const list = (query = '', key = team.ownerKey) => rest(t.url, key)('GET', `${path(team)}${query}`);

  it('returns data and pagination, newest first by default, without settings or tokens', async () => {
    const res = await list();
    expect(res.status, res.text).toBe(200);
    expect(res.body.pagination).toEqual({ page: 1, limit: 50, total: 5, total_pages: 1 });
    expect(res.body.data.map((c: any) => c.name)).toEqual(created.map((c) => c.name).reverse());
    for (const item of res.body.data) {
      expect(Object.keys(item).sort()).toEqual(LIST_FIELDS);
      expect(item.updated_at).toMatch(ISO_TIMESTAMP);
    }
    expectNoToken(res.text);
  });

  it('pages; beyond the end is empty with the right total; bad paging is 422 at query', async () => {
    const ids: string[] = [];
    for (const page of [1, 2, 3]) {
      const res = await list(`?limit=2&page=${page}`);
      expect(res.body.pagination).toEqual({ page, limit: 2, total: 5, total_pages: 3 });
      ids.push(...res.body.data.map((c: any) => c.id));
    }
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    const beyond = await list('?page=9&limit=2');
    expect(beyond.body).toEqual({ data: [], pagination: { page: 9, limit: 2, total: 5, total_pages: 3 } });
    for (const [query, name] of [
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=abc', 'limit'],
      ['?page=0', 'page'],
      ['?sort_by=vault_type', 'sort_by'],
      ['?sort_order=DESC', 'sort_order'],
      ['?vault_type=hashicorp', 'vault_type'],
      ['?location_type=s3', 'location_type'],
    ]) {
      const res = await list(query);
      expect(res.status, query).toBe(422);
      expect(
        res.body.detail.map((d: any) => d.loc),
        query,
      ).toEqual([['query', name]]);
    }
  });

  it('filters by vault_type and q, and sorts', async () => {
    const doppler = await list('?vault_type=doppler&sort_by=created_at&sort_order=asc');
    expect(doppler.body.data.map((c: any) => c.name)).toEqual(['Doppler prod', 'doppler dev']);
    const search = await list('?q=DOPPLER');
    expect(search.body.pagination.total).toBe(2);
    const literal = await list(`?q=${encodeURIComponent('%')}`);
    expect(literal.body.data.map((c: any) => c.name)).toEqual(['ops-100%']);
    const combined = await list('?q=ops&vault_type=doppler');
    expect(combined.body.data).toEqual([]);

    const asc = await list('?sort_by=name&sort_order=asc');
    const desc = await list('?sort_by=name&sort_order=desc');
    expect(asc.body.data.map((c: any) => c.id)).toEqual(desc.body.data.map((c: any) => c.id).reverse());
    expect(asc.body.data.map((c: any) => c.name).sort()).toEqual(created.map((c) => c.name).sort());
    const oldest = await list('?sort_by=created_at&sort_order=asc');
    expect(oldest.body.data.map((c: any) => c.name)).toEqual(created.map((c) => c.name));

    const renamed = await rest(t.url, team.ownerKey)('PATCH', path(team, created[0].id), {
      description: 'touched',
    });
    expect(renamed.status).toBe(200);
    expect((await list('?sort_by=updated_at')).body.data[0].id).toBe(created[0].id);
    expect((await list('?sort_by=updated_at&sort_order=asc')).body.data.at(-1).id).toBe(created[0].id);
  });

  it('needs vault_connections:read; another team is 404 like an unknown team', async () => {
    const viewer = await team.keyFor('viewer', ['vault_connections:read']);
    expect((await list('', viewer)).status).toBe(200);
    const noScope = await team.keyFor('owner', ['locations:read']);
    expect((await list('', noScope)).status).toBe(403);
    const other = await t.newTeam();
    const foreign = await rest(t.url, other.ownerKey)('GET', path(team));
    const unknown = await rest(t.url, other.ownerKey)('GET', `/v1/teams/${randomUUID()}/vault-connections`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
  });
});

describe('GET /vault-connections/{id}', () => {
  it('adds the settings of its vault type and the secret count, never the token', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const ops = await createVaultConnection(t, team, BODIES.onepassword());
    const doppler = await createVaultConnection(t, team, BODIES.doppler());
    const infisical = await createVaultConnection(t, team, { ...BODIES.infisical(), secret_path: undefined });
    await createVaultSecret(t, team, ops.id, { field_mappings: ONEPASSWORD_MAPPINGS });
    await createVaultSecret(t, team, ops.id, { field_mappings: ONEPASSWORD_MAPPINGS });
    await createVaultSecret(t, team, doppler.id);

    const opsRead = await call('GET', path(team, ops.id));
    expect(opsRead.status, opsRead.text).toBe(200);
    expect(Object.keys(opsRead.body).sort()).toEqual(detailFields('onepassword'));
    expect(opsRead.body).toMatchObject({ id: ops.id, vault_type: 'onepassword', secret_count: 2 });

    const dopplerRead = await call('GET', path(team, doppler.id));
    expect(Object.keys(dopplerRead.body).sort()).toEqual(detailFields('doppler'));
    expect(dopplerRead.body).toMatchObject({ project: 'backend', config: 'prd', secret_count: 1 });

    const infisicalRead = await call('GET', path(team, infisical.id));
    expect(Object.keys(infisicalRead.body).sort()).toEqual(detailFields('infisical'));
    expect(infisicalRead.body).toMatchObject({ environment: 'prod', secret_path: '/', secret_count: 0 });
    expect(infisicalRead.body.client_id).toMatch(/^[0-9a-f-]{36}$/);
    for (const res of [opsRead, dopplerRead, infisicalRead]) expectNoToken(res.text);
  });

  it('unknown, other-team and malformed ids', async () => {
    const team = await t.newTeam();
    const other = await t.newTeam();
    const foreignConnection = await createVaultConnection(t, other, BODIES.onepassword());
    const call = rest(t.url, team.ownerKey);
    const unknown = await call('GET', path(team, randomUUID()));
    const foreign = await call('GET', path(team, foreignConnection.id));
    expect(unknown.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect((await call('GET', path(other, foreignConnection.id))).status).toBe(404);
    const malformed = await call('GET', path(team, 'x'));
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'connection_id']);
  });
});

describe('PATCH /vault-connections/{id}', () => {
  it('changes name and description only; audits the changed names', async () => {
    const team = await t.newTeam();
    const connection = await createVaultConnection(t, team, { ...BODIES.doppler(), description: 'first' });
    const other = await createVaultConnection(t, team, BODIES.onepassword());
    const admin = await team.keyFor('admin', ['vault_connections:update']);
    const adminId = await userIdOfKey(admin);
    const call = rest(t.url, admin);

    const res = await call('PATCH', path(team, connection.id), { name: 'renamed', description: 'second' });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(detailFields('doppler'));
    expect(res.body).toMatchObject({
      name: 'renamed',
      description: 'second',
      project: 'backend',
      updated_by: adminId,
      created_by: team.ownerId,
      secret_count: 0,
    });
    const cleared = await call('PATCH', path(team, connection.id), { description: null, name: null });
    expect(cleared.body).toMatchObject({ name: 'renamed', description: null });
    const noop = await call('PATCH', path(team, connection.id), {});
    expect(noop.status).toBe(200);
    expect(noop.body.updated_at).toBe(cleared.body.updated_at);
    expect((await call('PATCH', path(team, connection.id), { name: 'renamed' })).body.updated_at).toBe(
      cleared.body.updated_at,
    );

    const audit = await auditFor(team.teamId, connection.id);
    expect(audit.map((a) => [a.event_type, a.changed_fields])).toEqual([
      ['vault_connection_created', expect.any(Array)],
      ['vault_connection_updated', ['name', 'description']],
      ['vault_connection_updated', ['description']],
    ]);

    const clash = await call('PATCH', path(team, connection.id), { name: other.name });
    expect(clash.status).toBe(409);
  });

  it('refuses tokens and settings (422 at the field) and checks tenancy, scope and role', async () => {
    const team = await t.newTeam();
    const connection = await createVaultConnection(t, team, BODIES.doppler());
    const call = rest(t.url, team.ownerKey);
    for (const [body, field] of [
      [{ access_token: token('dp.st.') }, 'access_token'],
      [{ client_secret: 'x' }, 'client_secret'],
      [{ project: 'other' }, 'project'],
      [{ vault_type: 'onepassword' }, 'vault_type'],
      [{ name: '' }, 'name'],
      [{ name: 'n'.repeat(256) }, 'name'],
      [{ description: 'd'.repeat(2001) }, 'description'],
    ] as const) {
      const res = await call('PATCH', path(team, connection.id), body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.detail.map((d: any) => d.loc)).toEqual([['body', field]]);
      expectNoToken(res.text);
    }
    const tokenRefusal = await call('PATCH', path(team, connection.id), {
      access_token: 'dp.st.x',
      name: 'ok',
    });
    expect(tokenRefusal.body.detail[0]).toMatchObject({ type: 'extra_forbidden' });
    expect(tokenRefusal.body.detail[0].msg).toContain('rotate');
    expect((await call('GET', path(team, connection.id))).body.name).toBe(connection.name);

    const other = await t.newTeam();
    const foreign = await createVaultConnection(t, other, BODIES.onepassword());
    const unknown = await call('PATCH', path(team, randomUUID()), { name: 'x' });
    expect(unknown.status).toBe(404);
    expect((await call('PATCH', path(team, foreign.id), { name: 'x' })).body).toEqual(unknown.body);
    const viewer = await team.keyFor('viewer', ['vault_connections:update']);
    const readOnly = await team.keyFor('admin', ['vault_connections:read']);
    expect((await rest(t.url, viewer)('PATCH', path(team, connection.id), { name: 'x' })).status).toBe(403);
    expect((await rest(t.url, readOnly)('PATCH', path(team, connection.id), { name: 'x' })).status).toBe(403);
    expect(await auditFor(team.teamId, connection.id)).toHaveLength(1);
  });
});

describe('POST /vault-connections/{id}/rotate', () => {
  it.each([
    ['onepassword', 'access_token', 'ops_'],
    ['doppler', 'access_token', 'dp.st.'],
    ['infisical', 'client_secret', 'rotated-'],
  ] as const)(
    '%s: writes a new version, moves the row, drops the old version',
    async (type, field, prefix) => {
      const team = await t.newTeam();
      const connection = await createVaultConnection(t, team, BODIES[type]());
      const before = (await row(connection.id))!;
      const oldValue = (await stored(connection.id))[field];
      const admin = await team.keyFor('admin', ['vault_connections:update']);
      const adminId = await userIdOfKey(admin);
      const newValue = token(prefix);

      const res = await rest(t.url, admin)('POST', path(team, connection.id, '/rotate'), {
        [field]: newValue,
      });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(detailFields(type));
      expect(res.body).toMatchObject({ id: connection.id, updated_by: adminId, last_verified_at: null });
      expectNoToken(res.text);

      const after = (await row(connection.id))!;
      expect(after.credential_ref).toBe(before.credential_ref);
      expect(after.credential_version).toBeGreaterThan(before.credential_version);
      expect(await stored(connection.id)).toEqual({ [field]: newValue });
      expect(newValue).not.toBe(oldValue);
      // The local store keeps only the current version.
      const blobs = await sql('select version from credential_blobs where ref = ?', [after.credential_ref]);
      expect(blobs.map((b) => b.version)).toEqual([after.credential_version]);

      const audit = await auditFor(team.teamId, connection.id);
      expect(audit.map((a) => [a.event_type, a.changed_fields])).toEqual([
        ['vault_connection_created', expect.any(Array)],
        ['vault_connection_rotated', [field]],
      ]);
      expectNoToken(JSON.stringify(await sql('select * from audit_events where team_id = ?', [team.teamId])));
    },
  );

  it('validates the new value against the vault type', async () => {
    const team = await t.newTeam();
    const ops = await createVaultConnection(t, team, BODIES.onepassword());
    const infisical = await createVaultConnection(t, team, BODIES.infisical());
    const call = rest(t.url, team.ownerKey);
    const rotate = (id: string, body: unknown) => call('POST', path(team, id, '/rotate'), body);
    const cases: [string, unknown, string[][]][] = [
      [ops.id, {}, [['body', 'access_token']]],
      [ops.id, { access_token: token('dp.st.') }, [['body', 'access_token']]],
      [ops.id, { access_token: '' }, [['body', 'access_token']]],
      [ops.id, { access_token: `ops_${'x'.repeat(4096)}` }, [['body', 'access_token']]],
      [ops.id, { access_token: token('ops_'), name: 'x' }, [['body', 'name']]],
      [
        ops.id,
        { client_secret: 'abc' },
        [
          ['body', 'access_token'],
          ['body', 'client_secret'],
        ],
      ],
      [
        infisical.id,
        { access_token: token('ops_') },
        [
          ['body', 'client_secret'],
          ['body', 'access_token'],
        ],
      ],
      [infisical.id, { client_secret: 'c'.repeat(1001) }, [['body', 'client_secret']]],
    ];
    const before = [await row(ops.id), await row(infisical.id)];
    for (const [id, body, locs] of cases) {
      const res = await rotate(id, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      const seen = [...new Set(res.body.detail.map((d: any) => JSON.stringify(d.loc)))].sort();
      expect(seen).toEqual(locs.map((l) => JSON.stringify(l)).sort());
      expectNoToken(res.text);
    }
    expect((await rotate(ops.id, '"token"')).status).toBe(400);
    expect([await row(ops.id), await row(infisical.id)]).toEqual(before);
    expect(await auditFor(team.teamId, ops.id)).toHaveLength(1);
  });

  it('checks tenancy, scope and role', async () => {
    const { team, other, connection, foreign } = await connectionAndForeign(BODIES.onepassword);
    const call = rest(t.url, team.ownerKey);
    const body = { access_token: token('ops_') };
    const unknown = await call('POST', path(team, randomUUID(), '/rotate'), body);
    expect(unknown.status).toBe(404);
    expect((await call('POST', path(team, foreign.id, '/rotate'), body)).body).toEqual(unknown.body);
    expect((await call('POST', path(other, foreign.id, '/rotate'), body)).status).toBe(404);
    expect((await call('POST', path(team, 'bad', '/rotate'), body)).body.detail[0].loc).toEqual([
      'path',
      'connection_id',
    ]);
    for (const [role, scopes] of [
      ['operator', ['vault_connections:update']],
      ['owner', ['vault_connections:read', 'vault_connections:create', 'vault_connections:delete']],
    ] as const) {
      const key = await team.keyFor(role, [...scopes]);
      expect((await rest(t.url, key)('POST', path(team, connection.id, '/rotate'), body)).status, role).toBe(
        403,
      );
    }
    expect((await row(connection.id))!.credential_version).toBe(1);
  });
});

describe('DELETE /vault-connections/{id}', () => {
  it('409 naming the secrets that use it; nothing changes', async () => {
    const team = await t.newTeam();
    const connection = await createVaultConnection(t, team, BODIES.onepassword());
    const a = await createVaultSecret(t, team, connection.id, { field_mappings: ONEPASSWORD_MAPPINGS });
    const b = await createVaultSecret(t, team, connection.id, { field_mappings: ONEPASSWORD_MAPPINGS });
    const res = await rest(t.url, team.ownerKey)('DELETE', path(team, connection.id));
    expect(res.status, res.text).toBe(409);
    expect(Object.keys(res.body).sort()).toEqual(['detail', 'secrets']);
    expect(res.body.detail).toContain('2 secret');
    expect(res.body.secrets.sort((x: any, y: any) => x.id.localeCompare(y.id))).toEqual(
      [
        { id: a.id, name: a.name },
        { id: b.id, name: b.name },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    expect(await row(connection.id)).toBeDefined();
    expect(
      await sql('select * from credential_deletions where ref = ?', [
        (await row(connection.id))!.credential_ref,
      ]),
    ).toEqual([]);
    expect(await auditFor(team.teamId, connection.id)).toHaveLength(1);
  });

  it('204: the row goes, the token is queued for deletion from the store, and an event is written', async () => {
    const team = await t.newTeam();
    const connection = await createVaultConnection(t, team, BODIES.infisical());
    const { credential_ref: ref } = (await row(connection.id))!;
    const admin = await team.keyFor('admin', ['vault_connections:delete']);
    const res = await rest(t.url, admin)('DELETE', path(team, connection.id));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await row(connection.id)).toBeUndefined();
    const queued = await sql('select ref from credential_deletions where ref = ?', [ref]);
    const blobs = await sql('select version from credential_blobs where ref = ?', [ref]);
    // Either still queued, or already drained by the cleanup worker (which removes the blobs).
    expect(queued.length === 1 || blobs.length === 0).toBe(true);
    await t.app.services.cleanup.drain();
    expect(await sql('select version from credential_blobs where ref = ?', [ref])).toEqual([]);
    expect(await sql('select ref from credential_deletions where ref = ?', [ref])).toEqual([]);

    const audit = await auditFor(team.teamId, connection.id);
    expect(audit.map((a) => [a.event_type, a.resource_name, a.changed_fields])).toEqual([
      ['vault_connection_created', connection.name, expect.any(Array)],
      ['vault_connection_deleted', connection.name, []],
    ]);
    const call = rest(t.url, team.ownerKey);
    expect((await call('GET', path(team, connection.id))).status).toBe(404);
    expect((await call('DELETE', path(team, connection.id))).status).toBe(404);
  });

  it('checks tenancy, scope and role', async () => {
    const { team, other, connection, foreign } = await connectionAndForeign(BODIES.doppler);
    const call = rest(t.url, team.ownerKey);
    const unknown = await call('DELETE', path(team, randomUUID()));
    expect(unknown.status).toBe(404);
    expect((await call('DELETE', path(team, foreign.id))).body).toEqual(unknown.body);
    expect((await call('DELETE', path(other, foreign.id))).status).toBe(404);
    expect((await call('DELETE', path(team, '0'))).status).toBe(422);
    const viewer = await team.keyFor('viewer', ['vault_connections:delete']);
    const updater = await team.keyFor('admin', ['vault_connections:update']);
    expect((await rest(t.url, viewer)('DELETE', path(team, connection.id))).status).toBe(403);
    expect((await rest(t.url, updater)('DELETE', path(team, connection.id))).status).toBe(403);
    expect(await row(connection.id)).toBeDefined();
    expect(await row(foreign.id)).toBeDefined();
  });
});

describe('plan limits', () => {
  it('a free team has one vault connection (403 naming the limit, on both doors); deleting frees the slot', async () => {
    const team = await t.newTeam('free');
    const first = await createVaultConnection(t, team, BODIES.onepassword());
    const res = await rest(t.url, team.ownerKey)('POST', path(team), { name: 'second', ...BODIES.doppler() });
    expect(res.status).toBe(403);
    expect(res.body.detail).toContain('free plan allows at most 1 vault connections');
    expectNoToken(res.text);

    const gql = await graphql(t.url, team.ownerKey)(
      `mutation($t: ID!) { createVaultConnection(teamId: $t, input: { name: "gql-second",
         settings: { onepassword: { accessToken: "${token('ops_')}" } } }) { __typename } }`,
      { t: team.teamId },
    );
    expect(gql.body.errors![0].extensions.code).toBe('FORBIDDEN');
    expect(gql.body.errors![0].message).toContain('at most 1 vault connections');
    expect((await sql('select id from vault_connections where team_id = ?', [team.teamId])).length).toBe(1);

    expect((await rest(t.url, team.ownerKey)('DELETE', path(team, first.id))).status).toBe(204);
    await createVaultConnection(t, team, BODIES.doppler());
    // A pro team is not limited to one.
    const pro = await t.newTeam('pro');
    await createVaultConnection(t, pro, BODIES.onepassword());
    await createVaultConnection(t, pro, BODIES.onepassword());
  });
});

// ---------------------------------------------------------------------------------------------
// GraphQL

const FIELDS = `id name description vaultType project config clientId projectId environment secretPath
  secretCount lastVerifiedAt createdAt createdBy updatedAt updatedBy`;

describe('GraphQL vaultConnection / vaultConnections', () => {
  it('reads one connection with its settings and secret count; null when not found', async () => {
    const { team, other, connection: doppler, foreign } = await connectionAndForeign(BODIES.doppler);
    await createVaultSecret(t, team, doppler.id);
    const gql = graphql(t.url, team.ownerKey);
    const query = `query($t: ID!, $id: ID!) { vaultConnection(teamId: $t, id: $id) { ${FIELDS} } }`;
    const res = await gql(query, { t: team.teamId, id: doppler.id });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.vaultConnection).toEqual({
      id: doppler.id,
      name: doppler.name,
      description: null,
      vaultType: 'DOPPLER',
      project: 'backend',
      config: 'prd',
      clientId: null,
      projectId: null,
      environment: null,
      secretPath: null,
      secretCount: 1,
      lastVerifiedAt: null,
      createdAt: doppler.created_at,
      createdBy: team.ownerId,
      updatedAt: expect.stringMatching(ISO_TIMESTAMP),
      updatedBy: team.ownerId,
    });
    expectNoToken(res.text);
    for (const vars of [
      { t: team.teamId, id: randomUUID() },
      { t: team.teamId, id: foreign.id },
      { t: other.teamId, id: foreign.id },
    ]) {
      expect((await gql(query, vars)).body).toEqual({ data: { vaultConnection: null } });
    }
    const noScope = await team.keyFor('admin', ['secrets:read']);
    const denied = await graphql(t.url, noScope)(query, { t: team.teamId, id: doppler.id });
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('lists with first/after, filter and orderBy; secretCount is one batch per request', async () => {
    const team = await t.newTeam();
    const a = await createVaultConnection(t, team, { ...BODIES.onepassword(), name: 'a-ops' });
    await createVaultConnection(t, team, { ...BODIES.doppler(), name: 'b-doppler' });
    const c = await createVaultConnection(t, team, { ...BODIES.infisical(), name: 'c-infisical' });
    await createVaultSecret(t, team, a.id, { field_mappings: ONEPASSWORD_MAPPINGS });
    await createVaultSecret(t, team, c.id);
    await createVaultSecret(t, team, c.id);
    const gql = graphql(t.url, team.ownerKey);
    const query = `query($t: ID!, $first: Int, $after: String, $filter: VaultConnectionFilter, $orderBy: VaultConnectionOrder) {
      vaultConnections(teamId: $t, first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount pageInfo { hasNextPage endCursor } nodes { name vaultType secretCount } } }`;

    const spy = vi.spyOn(t.app.services.vaultConnections, 'secretCounts');
    try {
      const all = await gql(query, { t: team.teamId, orderBy: { field: 'NAME', direction: 'ASC' } });
      expect(all.body.errors).toBeUndefined();
      expect(all.body.data.vaultConnections).toEqual({
        totalCount: 3,
        pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
        nodes: [
          { name: 'a-ops', vaultType: 'ONEPASSWORD', secretCount: 1 },
          { name: 'b-doppler', vaultType: 'DOPPLER', secretCount: 0 },
          { name: 'c-infisical', vaultType: 'INFISICAL', secretCount: 2 },
        ],
      });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }

    const page1 = await gql(query, { t: team.teamId, first: 2 });
    expect(page1.body.data.vaultConnections.nodes.map((n: any) => n.name)).toEqual([
      'c-infisical',
      'b-doppler',
    ]);
    expect(page1.body.data.vaultConnections.pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(query, {
      t: team.teamId,
      first: 2,
      after: page1.body.data.vaultConnections.pageInfo.endCursor,
    });
    expect(page2.body.data.vaultConnections.nodes.map((n: any) => n.name)).toEqual(['a-ops']);
    expect(page2.body.data.vaultConnections.pageInfo.hasNextPage).toBe(false);

    const filtered = await gql(query, { t: team.teamId, filter: { vaultType: 'DOPPLER' } });
    expect(filtered.body.data.vaultConnections.nodes.map((n: any) => n.name)).toEqual(['b-doppler']);
    const searched = await gql(query, { t: team.teamId, filter: { q: 'INFIS' } });
    expect(searched.body.data.vaultConnections.totalCount).toBe(1);
    const byUpdated = await gql(query, {
      t: team.teamId,
      orderBy: { field: 'UPDATED_AT', direction: 'ASC' },
    });
    expect(byUpdated.body.data.vaultConnections.nodes[0].name).toBe('a-ops');

    for (const first of [0, 101]) {
      const bad = await gql(query, { t: team.teamId, first });
      expect(bad.body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    }
    const other = await t.newTeam();
    await createVaultConnection(t, other, { ...BODIES.onepassword(), name: 'hidden-connection' });
    const foreign = await gql(query, { t: other.teamId });
    expect(foreign.body.data).toBeNull();
    expect(foreign.body.errors![0]).toMatchObject({
      message: 'Team not found',
      extensions: { code: 'NOT_FOUND' },
    });
    expect(foreign.text).not.toContain('hidden-connection');
    expect((await gql(query, { t: randomUUID() })).body).toEqual(foreign.body);
  });
});

describe('GraphQL updateVaultConnection / rotateVaultConnection / deleteVaultConnection', () => {
  const UPDATE = `mutation($t: ID!, $id: ID!, $input: UpdateVaultConnectionInput!) {
    updateVaultConnection(teamId: $t, id: $id, input: $input) { __typename
      ... on UpdateVaultConnectionSuccess { vaultConnection { name description } }
      ... on Error { message } ... on ValidationError { issues { path code } } } }`;
  const ROTATE = `mutation($t: ID!, $id: ID!, $input: RotateVaultConnectionInput!) {
    rotateVaultConnection(teamId: $t, id: $id, input: $input) { __typename
      ... on RotateVaultConnectionSuccess { vaultConnection { id updatedBy lastVerifiedAt } }
      ... on Error { message } ... on ValidationError { issues { path code } } } }`;
  const DELETE = `mutation($t: ID!, $id: ID!) { deleteVaultConnection(teamId: $t, id: $id) { __typename
    ... on DeleteVaultConnectionSuccess { deletedId } ... on Error { message } } }`;

  it('updates name and description; ValidationError, ConflictError, NotFoundError', async () => {
    const team = await t.newTeam();
    const connection = await createVaultConnection(t, team, { ...BODIES.onepassword(), description: 'd' });
    const other = await createVaultConnection(t, team, BODIES.onepassword());
    const gql = graphql(t.url, team.ownerKey);
    const vars = (input: Record<string, unknown>, id = connection.id) => ({ t: team.teamId, id, input });

    const ok = await gql(UPDATE, vars({ name: 'gql-name', description: null }));
    expect(ok.body.data.updateVaultConnection).toEqual({
      __typename: 'UpdateVaultConnectionSuccess',
      vaultConnection: { name: 'gql-name', description: null },
    });
    const invalid = await gql(UPDATE, vars({ name: '' }));
    expect(invalid.body.data.updateVaultConnection).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'name'] }],
    });
    const conflict = await gql(UPDATE, vars({ name: other.name }));
    expect(conflict.body.data.updateVaultConnection.__typename).toBe('ConflictError');
    const missing = await gql(UPDATE, vars({ name: 'x' }, randomUUID()));
    expect(missing.body.data.updateVaultConnection.__typename).toBe('NotFoundError');
    const tokenField = await gql(UPDATE, vars({ accessToken: 'ops_x' }));
    expect(tokenField.body.errors?.length).toBeGreaterThan(0);
    const audit = await auditFor(team.teamId, connection.id);
    expect(audit.map((a) => a.changed_fields)).toEqual([expect.any(Array), ['name', 'description']]);
  });

  it('rotates: the stored token changes and is never returned; the wrong variant is a ValidationError', async () => {
    const team = await t.newTeam();
    const ops = await createVaultConnection(t, team, BODIES.onepassword());
    const infisical = await createVaultConnection(t, team, BODIES.infisical());
    const gql = graphql(t.url, team.ownerKey);
    const newToken = token('ops_');
    const res = await gql(ROTATE, { t: team.teamId, id: ops.id, input: { accessToken: newToken } });
    expect(res.body.data.rotateVaultConnection).toEqual({
      __typename: 'RotateVaultConnectionSuccess',
      vaultConnection: { id: ops.id, updatedBy: team.ownerId, lastVerifiedAt: null },
    });
    expectNoToken(res.text);
    expect(await stored(ops.id)).toEqual({ access_token: newToken });

    const secret = token('client-secret-');
    const rotated = await gql(ROTATE, { t: team.teamId, id: infisical.id, input: { clientSecret: secret } });
    expect(rotated.body.data.rotateVaultConnection.__typename).toBe('RotateVaultConnectionSuccess');
    expect(await stored(infisical.id)).toEqual({ client_secret: secret });

    const wrong = await gql(ROTATE, {
      t: team.teamId,
      id: infisical.id,
      input: { accessToken: token('ops_') },
    });
    expect(wrong.body.data.rotateVaultConnection.__typename).toBe('ValidationError');
    expect(wrong.body.data.rotateVaultConnection.issues.map((i: any) => i.path).sort()).toEqual([
      ['input', 'accessToken'],
      ['input', 'clientSecret'],
    ]);
    const badPrefix = await gql(ROTATE, { t: team.teamId, id: ops.id, input: { accessToken: 'dp.st.nope' } });
    expect(badPrefix.body.data.rotateVaultConnection.issues.map((i: any) => i.path)).toEqual([
      ['input', 'accessToken'],
    ]);
    expectNoToken(wrong.text + badPrefix.text);
    const both = await gql(ROTATE, {
      t: team.teamId,
      id: ops.id,
      input: { accessToken: 'ops_a', clientSecret: 'b' },
    });
    expect(both.body.errors?.length).toBeGreaterThan(0);
    expect(await stored(ops.id)).toEqual({ access_token: newToken });

    const missing = await gql(ROTATE, { t: team.teamId, id: randomUUID(), input: { accessToken: 'ops_x' } });
    expect(missing.body.data.rotateVaultConnection.__typename).toBe('NotFoundError');
    const viewer = await team.keyFor('viewer', ['vault_connections:update']);
    const denied = await graphql(t.url, viewer)(ROTATE, {
      t: team.teamId,
      id: ops.id,
      input: { accessToken: token('ops_') },
    });
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');
    const audit = await auditFor(team.teamId, ops.id);
    expect(audit.map((a) => [a.event_type, a.changed_fields])).toEqual([
      ['vault_connection_created', expect.any(Array)],
      ['vault_connection_rotated', ['access_token']],
    ]);
  });

  it('deletes: ConflictError while secrets use it, then success, then NotFoundError', async () => {
    const team = await t.newTeam();
    const used = await createVaultConnection(t, team, BODIES.doppler());
    const unused = await createVaultConnection(t, team, BODIES.doppler());
    await createVaultSecret(t, team, used.id);
    const gql = graphql(t.url, team.ownerKey);
    const conflict = await gql(DELETE, { t: team.teamId, id: used.id });
    expect(conflict.body.data.deleteVaultConnection.__typename).toBe('ConflictError');
    expect(conflict.body.data.deleteVaultConnection.message).toContain('1 secret');
    const ok = await gql(DELETE, { t: team.teamId, id: unused.id });
    expect(ok.body.data.deleteVaultConnection).toEqual({
      __typename: 'DeleteVaultConnectionSuccess',
      deletedId: unused.id,
    });
    const again = await gql(DELETE, { t: team.teamId, id: unused.id });
    expect(again.body.data.deleteVaultConnection.__typename).toBe('NotFoundError');
    const viewer = await team.keyFor('viewer', ['vault_connections:delete']);
    const denied = await graphql(t.url, viewer)(DELETE, { t: team.teamId, id: used.id });
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await auditFor(team.teamId, unused.id)).map((a) => a.event_type)).toEqual([
      'vault_connection_created',
      'vault_connection_deleted',
    ]);
  });
});
