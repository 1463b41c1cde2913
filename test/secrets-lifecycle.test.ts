/**
 * The secret lifecycle beyond create/update, on both doors (REST shim and GraphQL):
 * detail view, listing (paging, search, filters, sorting), deletion (409 while in use, tenancy,
 * credential cleanup through the `credential_deletions` outbox, including a failed store delete
 * that is retried later and after a restart), the GraphQL connection and relations (batched),
 * and plan limits (including concurrent creates at the limit).
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SECRET_RESPONSE_KEYS, sleep, UNKNOWN_UUID, unique } from './support/constants.js';
import {
  createLocation,
  createNativeSecret,
  createVaultConnection,
  createVaultSecret,
  newTeamWithSecret,
} from './support/factories.js';
import { graphql, recordSql, rest, type TestApp, type TestTeam, useApp } from './support/harness.js';

/** Every credential value sent in this file contains this; it must never come back out. */
const CANARY = `LIFECYCLECANARY${randomBytes(4).toString('hex')}`;
const VAULT_TOKEN = 'dp.st.x';
const DETAIL_KEYS = [
  ...SECRET_RESPONSE_KEYS,
  'created_by_email',
  'external_field_mappings',
  'location_count',
  'locations',
  'updated_by_email',
  'vault_connection_id',
  'vault_connection_name',
  'vault_type',
].sort();

type Api = ReturnType<typeof rest>;
type Row = Record<string, any>;

const t = useApp();

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function sql<T = Row>(app: TestApp, query: string, params: unknown[] = []): Promise<T[]> {
  return app.app.db.orm.em.fork().getConnection().execute<T[]>(query, params);
}

/**
 * A native secret's body whose credentials carry the canary (`S3_CREDENTIALS` would not show a
 * leak); also sent as is where a create must be refused (the factory asserts a 201).
 */
const nativeBody = (name: string, type: 's3' | 'r2' = 's3') => ({
  name,
  secret_type: type,
  auth_method: `${type}_access_key`,
  credentials: {
    access_key_id: unique(`${CANARY}-akid`),
    secret_access_key: unique(`${CANARY}-sak`),
  },
});

/** A Doppler connection whose token `expectNoInternals` looks for. */
const DOPPLER = { vault_type: 'doppler', access_token: VAULT_TOKEN, project: 'p', config: 'c' };

/** A new team with a native secret of canary credentials, named after `label` (see `newTeamWithSecret`). */
const newSecret = (label: string) => newTeamWithSecret(t, nativeBody(unique(label)));

async function emailOf(app: TestApp, userId: string): Promise<string> {
  const rows = await sql<{ email: string }>(app, 'select email from users where id = ?', [userId]);
  expect(rows).toHaveLength(1);
  return rows[0].email;
}

async function credentialRefOf(app: TestApp, secretId: string): Promise<string> {
  const rows = await sql<{ credential_ref: string | null }>(
    app,
    'select credential_ref from secrets where id = ?',
    [secretId],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0].credential_ref).toBeTruthy();
  return rows[0].credential_ref!;
}

const outboxRows = (app: TestApp, ref: string) =>
  sql<{ ref: string; attempts: number }>(
    app,
    'select ref, attempts from credential_deletions where ref = ?',
    [ref],
  );

/** A text that must not carry a stack trace or a credential. */
function expectNoInternals(text: string): void {
  expect(text).not.toContain(CANARY);
  expect(text).not.toContain(VAULT_TOKEN);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  expect(text.toLowerCase()).not.toContain('stack');
}

type SortField = 'name' | 'created_at' | 'updated_at';
function expectedOrder(items: Row[], field: SortField, order: 'asc' | 'desc'): string[] {
  const sorted = [...items].sort((a, b) => {
    const x = a[field] as string;
    const y = b[field] as string;
    if (x !== y) return x < y ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  if (order === 'desc') sorted.reverse();
  return sorted.map((s) => s.id);
}

const DELETE_SECRET = `mutation Delete($t: ID!, $s: ID!) {
  deleteSecret(teamId: $t, secretId: $s) {
    __typename
    ... on DeleteSecretSuccess { deletedId }
    ... on Error { message }
  }
}`;

const SECRETS_PAGE = `query Page($t: ID!, $first: Int, $after: String, $filter: SecretFilter, $orderBy: SecretOrder) {
  secrets(teamId: $t, first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
    nodes { id name secretType }
  }
}`;

// ---------------------------------------------------------------------------------------------
// Detail
// ---------------------------------------------------------------------------------------------

describe('GET /v1/teams/{team}/secrets/{id}: the detail view', () => {
  it('native secret: SecretResponse fields + locations, counts, emails; vault fields null; never credentials', async () => {
    const { team, api, secret, path } = await newSecret('native');
    const locB = await createLocation(t, team, secret.id, { name: 'loc-b' });
    const locA = await createLocation(t, team, secret.id, { name: 'loc-a' });

    // A different member (an admin) makes the last change, so the two emails differ.
    const adminKey = await team.keyFor('admin', ['secrets:read', 'secrets:update']);
    const patched = await rest(t.url, adminKey)('PATCH', path, {
      description: 'patched by the admin',
    });
    expect(patched.status, patched.text).toBe(200);

    const res = await api('GET', path);
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(DETAIL_KEYS);
    const ownerEmail = await emailOf(t, team.ownerId);
    const adminEmail = await emailOf(t, patched.body.updated_by);
    expect(adminEmail).not.toBe(ownerEmail);
    expect(res.body).toEqual({
      ...patched.body,
      location_count: 2,
      locations: [
        { id: locA.id, name: 'loc-a' },
        { id: locB.id, name: 'loc-b' },
      ],
      vault_connection_id: null,
      vault_connection_name: null,
      vault_type: null,
      external_field_mappings: null,
      created_by_email: ownerEmail,
      updated_by_email: adminEmail,
    });
    expect(res.body.created_by).toBe(team.ownerId);
    expect(res.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(res.body.updated_at).toMatch(/Z$/);
    expectNoInternals(res.text);
    expect(res.text).not.toContain('credential_ref');
  });

  it('external-vault secret: connection id/name/type and {field_name: reference}; never the vault token', async () => {
    const team = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const vaultName = unique('doppler');
    const vault = await createVaultConnection(t, team, { ...DOPPLER, name: vaultName });
    expect(vault.vault_type).toBe('doppler');
    const secret = await createVaultSecret(t, team, vault.id, { name: unique('byov') });

    const res = await api('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(DETAIL_KEYS);
    const ownerEmail = await emailOf(t, team.ownerId);
    expect(res.body).toEqual({
      ...secret,
      location_count: 0,
      locations: [],
      vault_connection_id: vault.id,
      vault_connection_name: vaultName,
      vault_type: 'doppler',
      external_field_mappings: {
        access_key_id: 'AWS_ACCESS_KEY_ID',
        secret_access_key: 'AWS_SECRET_ACCESS_KEY',
      },
      created_by_email: ownerEmail,
      updated_by_email: ownerEmail,
    });
    expectNoInternals(res.text);
  });

  it('needs secrets:read (a viewer key with it may read); unknown, foreign and malformed ids are 404/404/422', async () => {
    const team = await t.newTeam();
    const other = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const secret = await createNativeSecret(t, team, nativeBody(unique('scoped')));
    const foreign = await createNativeSecret(t, other, nativeBody(unique('foreign')));

    const viewer = await team.keyFor('viewer', ['secrets:read']);
    const asViewer = await rest(t.url, viewer)('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(asViewer.status, asViewer.text).toBe(200);
    expect(asViewer.body.id).toBe(secret.id);

    const noScope = await team.keyFor('owner', ['locations:read']);
    const denied = await rest(t.url, noScope)('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(denied.status).toBe(403);

    const unknown = await api('GET', `/v1/teams/${team.teamId}/secrets/${UNKNOWN_UUID}`);
    expect(unknown.status).toBe(404);
    const other404 = await api('GET', `/v1/teams/${team.teamId}/secrets/${foreign.id}`);
    expect(other404.status).toBe(404);
    expect(other404.text).not.toContain(foreign.name);
    const malformed = await api('GET', `/v1/teams/${team.teamId}/secrets/not-a-uuid`);
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'secret_id']);
  });
});

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

describe('GET /v1/teams/{team}/secrets: the list', () => {
  let team: TestTeam;
  let api: Api;
  /** Created in this order, names deliberately not in creation order; two updated afterwards. */
  let items: Row[] = [];

  beforeAll(async () => {
    team = await t.newTeam();
    api = rest(t.url, team.ownerKey);
    const names = ['charlie', 'alpha', 'delta', 'bravo'];
    const created: Row[] = [];
    for (const name of names) {
      created.push(await createNativeSecret(t, team, nativeBody(name)));
      await sleep(5);
    }
    // Updated order: alpha, then charlie (so updated_at order differs from created_at order).
    for (const name of ['alpha', 'charlie']) {
      const s = created.find((c) => c.name === name)!;
      const res = await api('PATCH', `/v1/teams/${team.teamId}/secrets/${s.id}`, {
        description: `touched ${name}`,
      });
      expect(res.status, res.text).toBe(200);
      created[created.indexOf(s)] = res.body;
      await sleep(5);
    }
    items = created;
  });

  it('defaults: page 1, limit 50, newest first, SecretResponse items, no credentials', async () => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets`);
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'pagination']);
    expect(res.body.pagination).toEqual({ page: 1, limit: 50, total: 4, total_pages: 1 });
    expect(res.body.data.map((s: Row) => s.id)).toEqual(expectedOrder(items, 'created_at', 'desc'));
    for (const item of res.body.data) {
      for (const key of SECRET_RESPONSE_KEYS) expect(item).toHaveProperty(key);
      const mine = items.find((i) => i.id === item.id)!;
      for (const key of SECRET_RESPONSE_KEYS) expect(item[key], key).toEqual(mine[key]);
    }
    expectNoInternals(res.text);
  });

  it('pages: a middle page and a page beyond the end (empty data, right total and total_pages)', async () => {
    const order = expectedOrder(items, 'created_at', 'desc');
    const p2 = await api('GET', `/v1/teams/${team.teamId}/secrets?page=2&limit=3`);
    expect(p2.status, p2.text).toBe(200);
    expect(p2.body.pagination).toEqual({ page: 2, limit: 3, total: 4, total_pages: 2 });
    expect(p2.body.data.map((s: Row) => s.id)).toEqual(order.slice(3));

    const beyond = await api('GET', `/v1/teams/${team.teamId}/secrets?page=7&limit=2`);
    expect(beyond.status, beyond.text).toBe(200);
    expect(beyond.body).toEqual({ data: [], pagination: { page: 7, limit: 2, total: 4, total_pages: 2 } });
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=-1', 'limit'],
    ['page=0', 'page'],
    ['page=abc', 'page'],
    ['sort_by=secret_type', 'sort_by'],
    ['sort_order=up', 'sort_order'],
    ['secret_type=ftp', 'secret_type'],
  ])('%s → 422 with loc ["query", %s], not clamped', async (qs, name) => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?${qs}`);
    expect(res.status, res.text).toBe(422);
    expect(Array.isArray(res.body.detail)).toBe(true);
    expect(res.body.detail.map((d: Row) => d.loc)).toContainEqual(['query', name]);
  });

  it('q longer than 255 characters → 422 with loc ["query", "q"]', async () => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?q=${'a'.repeat(256)}`);
    expect(res.status, res.text).toBe(422);
    expect(res.body.detail.map((d: Row) => d.loc)).toContainEqual(['query', 'q']);
  });

  it('an unknown query parameter → 422 naming it', async () => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?limit=10&colour=blue`);
    expect(res.status, res.text).toBe(422);
    expect(res.body.detail.map((d: Row) => d.loc)).toContainEqual(['query', 'colour']);
  });

  it.each([
    ['name', 'asc'],
    ['name', 'desc'],
    ['created_at', 'asc'],
    ['created_at', 'desc'],
    ['updated_at', 'asc'],
    ['updated_at', 'desc'],
  ] as const)('sort_by=%s&sort_order=%s', async (field, order) => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?sort_by=${field}&sort_order=${order}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((s: Row) => s.id)).toEqual(expectedOrder(items, field, order));
    if (field === 'name') {
      expect(res.body.data.map((s: Row) => s.name)).toEqual(
        order === 'asc' ? ['alpha', 'bravo', 'charlie', 'delta'] : ['delta', 'charlie', 'bravo', 'alpha'],
      );
    }
  });

  it('sort_order defaults to desc for any sort_by', async () => {
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?sort_by=name`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((s: Row) => s.name)).toEqual(['delta', 'charlie', 'bravo', 'alpha']);
  });

  it('q is a case-insensitive substring; % _ and \\ match literally', async () => {
    const t2 = await t.newTeam();
    const a2 = rest(t.url, t2.ownerKey);
    for (const name of [
      'pct%lit',
      'pctXlit',
      'und_lit',
      'undXlit',
      'back\\slash',
      'backXslash',
      'MiXeD-Case',
    ]) {
      await createNativeSecret(t, t2, nativeBody(name));
    }
    const search = async (q: string) => {
      const res = await a2(
        'GET',
        `/v1/teams/${t2.teamId}/secrets?sort_by=name&sort_order=asc&q=${encodeURIComponent(q)}`,
      );
      expect(res.status, res.text).toBe(200);
      expect(res.body.pagination.total).toBe(res.body.data.length);
      return res.body.data.map((s: Row) => s.name);
    };
    expect(await search('%')).toEqual(['pct%lit']);
    expect(await search('_')).toEqual(['und_lit']);
    expect(await search('\\')).toEqual(['back\\slash']);
    expect(await search('t%l')).toEqual(['pct%lit']);
    expect(await search('mixed-CASE')).toEqual(['MiXeD-Case']);
    expect((await search('PCT')).sort()).toEqual(['pct%lit', 'pctXlit']);
    expect(await search('nothing-like-this')).toEqual([]);
  });

  it('secret_type filters (and combines with q and paging)', async () => {
    const t2 = await t.newTeam();
    const a2 = rest(t.url, t2.ownerKey);
    await createNativeSecret(t, t2, nativeBody('aws-one', 's3'));
    await createNativeSecret(t, t2, nativeBody('aws-two', 's3'));
    await createNativeSecret(t, t2, nativeBody('cf-one', 'r2'));
    await createNativeSecret(t, t2, nativeBody('cf-two', 'r2'));
    await createNativeSecret(t, t2, nativeBody('cf-three', 'r2'));

    const r2 = await a2('GET', `/v1/teams/${t2.teamId}/secrets?secret_type=r2&sort_by=name&sort_order=asc`);
    expect(r2.status, r2.text).toBe(200);
    expect(r2.body.data.map((s: Row) => s.name)).toEqual(['cf-one', 'cf-three', 'cf-two']);
    expect(r2.body.data.every((s: Row) => s.secret_type === 'r2')).toBe(true);
    expect(r2.body.pagination).toEqual({ page: 1, limit: 50, total: 3, total_pages: 1 });

    const both = await a2(
      'GET',
      `/v1/teams/${t2.teamId}/secrets?secret_type=r2&q=T&limit=1&page=2&sort_by=name&sort_order=asc`,
    );
    expect(both.status, both.text).toBe(200);
    expect(both.body.data.map((s: Row) => s.name)).toEqual(['cf-two']);
    expect(both.body.pagination).toEqual({ page: 2, limit: 1, total: 2, total_pages: 2 });

    const none = await a2('GET', `/v1/teams/${t2.teamId}/secrets?secret_type=gcs`);
    expect(none.status, none.text).toBe(200);
    expect(none.body.data).toEqual([]);
    expect(none.body.pagination.total).toBe(0);
  });

  it("never shows another team's secrets, and another team's path is 404", async () => {
    const other = await t.newTeam();
    await createNativeSecret(t, other, nativeBody('alpha'));
    const res = await api('GET', `/v1/teams/${team.teamId}/secrets?q=alpha`);
    expect(res.body.data.map((s: Row) => s.id)).toEqual([items.find((i) => i.name === 'alpha')!.id]);
    const foreign = await api('GET', `/v1/teams/${other.teamId}/secrets`);
    expect(foreign.status).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

describe('DELETE /v1/teams/{team}/secrets/{id}', () => {
  it('204, then 404 on GET and on a second DELETE; gone from the list', async () => {
    const team = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const keep = await createNativeSecret(t, team, nativeBody(unique('keep')));
    const secret = await createNativeSecret(t, team, nativeBody(unique('doomed')));

    const del = await api('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(del.status, del.text).toBe(204);
    expect(del.text).toBe('');

    expect((await api('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`)).status).toBe(404);
    const list = await api('GET', `/v1/teams/${team.teamId}/secrets`);
    expect(list.body.data.map((s: Row) => s.id)).toEqual([keep.id]);
    expect(list.body.pagination.total).toBe(1);
    expect(await sql(t, 'select id from secrets where id = ?', [secret.id])).toHaveLength(0);
    // The name is free again.
    await createNativeSecret(t, team, nativeBody(secret.name));
  });

  it('409 with a locations array naming every location while the secret is in use; nothing deleted', async () => {
    const { team, api, secret, path } = await newSecret('used');
    const l2 = await createLocation(t, team, secret.id, { name: 'warehouse-2' });
    const l1 = await createLocation(t, team, secret.id, { name: 'warehouse-1' });
    const ref = await credentialRefOf(t, secret.id);

    const res = await api('DELETE', path);
    expect(res.status, res.text).toBe(409);
    expect(typeof res.body.detail).toBe('string');
    expect(res.body.detail).toContain('warehouse-1');
    expect(res.body.detail).toContain('warehouse-2');
    expect(res.body.locations).toEqual([
      { id: l1.id, name: 'warehouse-1', location_type: 's3' },
      { id: l2.id, name: 'warehouse-2', location_type: 's3' },
    ]);
    expectNoInternals(res.text);

    expect((await api('GET', path)).status).toBe(200);
    expect(await outboxRows(t, ref)).toHaveLength(0);
    const blobs = await sql(t, 'select version from credential_blobs where ref = ?', [ref]);
    expect(blobs.length).toBeGreaterThan(0);

    // Once the locations are gone, the delete goes through.
    for (const l of [l1, l2]) {
      const d = await api('DELETE', `/v1/teams/${team.teamId}/locations/${l.id}`);
      expect(d.status, d.text).toBe(204);
    }
    expect((await api('DELETE', path)).status).toBe(204);
  });

  it("another team's secret → 404 and it is not deleted (through either team's path)", async () => {
    const team = await t.newTeam();
    const other = await t.newTeam();
    const theirs = await createNativeSecret(t, other, nativeBody(unique('theirs')));
    const api = rest(t.url, team.ownerKey);

    const viaOwnPath = await api('DELETE', `/v1/teams/${team.teamId}/secrets/${theirs.id}`);
    expect(viaOwnPath.status).toBe(404);
    const viaTheirPath = await api('DELETE', `/v1/teams/${other.teamId}/secrets/${theirs.id}`);
    expect(viaTheirPath.status).toBe(404);
    expect(viaTheirPath.text).not.toContain(theirs.name);

    const still = await rest(t.url, other.ownerKey)('GET', `/v1/teams/${other.teamId}/secrets/${theirs.id}`);
    expect(still.status).toBe(200);
    expect(await sql(t, 'select id from secrets where id = ?', [theirs.id])).toHaveLength(1);
  });

  it('needs secrets:delete and role admin; malformed id → 422', async () => {
    const { team, api, path } = await newSecret('guarded');
    const viewer = await team.keyFor('viewer', ['secrets:read', 'secrets:delete']);
    const adminNoScope = await team.keyFor('admin', ['secrets:read', 'secrets:update']);
    for (const key of [viewer, adminNoScope]) {
      const res = await rest(t.url, key)('DELETE', path);
      expect(res.status, res.text).toBe(403);
    }
    const malformed = await api('DELETE', `/v1/teams/${team.teamId}/secrets/xyz`);
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'secret_id']);
    expect((await api('GET', path)).status).toBe(200);
    const admin = await team.keyFor('admin', ['secrets:delete']);
    expect((await rest(t.url, admin)('DELETE', path)).status).toBe(204);
  });

  it('local store: the credential_blobs rows of the secret are removed, and the outbox row too', async () => {
    const { team, api, secret, path } = await newSecret('blobbed');
    const neighbour = await createNativeSecret(t, team, nativeBody(unique('neighbour')));
    // A rotation, so that there are two versions to remove.
    const rotated = await api('PATCH', path, {
      credentials: nativeBody('x').credentials,
    });
    expect(rotated.status, rotated.text).toBe(200);
    const ref = await credentialRefOf(t, secret.id);
    const neighbourRef = await credentialRefOf(t, neighbour.id);
    expect(await sql(t, 'select version from credential_blobs where ref = ?', [ref])).toHaveLength(2);

    const del = await api('DELETE', path);
    expect(del.status, del.text).toBe(204);
    await t.app.services.cleanup.drain();

    expect(await sql(t, 'select version from credential_blobs where ref = ?', [ref])).toHaveLength(0);
    expect(await outboxRows(t, ref)).toHaveLength(0);
    expect(await sql(t, 'select version from credential_blobs where ref = ?', [neighbourRef])).toHaveLength(
      1,
    );
  });

  it('an external-vault secret (no stored credentials) deletes cleanly; its connection stays', async () => {
    const team = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const vault = await createVaultConnection(t, team, DOPPLER);
    const secret = await createVaultSecret(t, team, vault.id, { name: unique('byov') });
    const del = await api('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(del.status, del.text).toBe(204);
    expect((await api('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`)).status).toBe(404);
    expect((await api('GET', `/v1/teams/${team.teamId}/vault-connections/${vault.id}`)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Cleanup on the SSM store: a failed store delete is retried (outbox), also after a restart
// ---------------------------------------------------------------------------------------------

describe('credential cleanup on the SSM store', () => {
  const PREFIX = '/lifecycle-test';
  // A database of its own (the fixture's default for SSM apps): every app drains the whole
  // credential_deletions outbox with its own store, so the local-store apps of this file and of the
  // files running beside it used to take this app's rows (their store "deletes" an SSM ref without
  // error) before it could try them, and the outbox row a test had just seen queued was gone.
  const s = useApp({ ssm: { prefix: PREFIX, timeoutMs: 300 } });
  const fake = () => s.fake;

  beforeAll(() => {
    expect(s.app.services.store.kind).toBe('ssm');
  });

  it('deleting removes the parameter from SSM', async () => {
    const app = s;
    const team = await app.newTeam();
    const api = rest(app.url, team.ownerKey);
    const secret = await createNativeSecret(app, team, nativeBody(unique('ssm')));
    const param = `${PREFIX}/${await credentialRefOf(app, secret.id)}`;
    expect(fake().has(param)).toBe(true);

    const del = await api('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    expect(del.status, del.text).toBe(204);
    await app.app.services.cleanup.drain();
    expect(fake().has(param)).toBe(false);
  });

  it('DeleteParameter failing: 204, parameter kept and outbox row kept; a later drain removes both', async () => {
    const app = s;
    const team = await app.newTeam();
    const api = rest(app.url, team.ownerKey);
    const secret = await createNativeSecret(app, team, nativeBody(unique('ssm-fail')));
    const ref = await credentialRefOf(app, secret.id);
    const param = `${PREFIX}/${ref}`;
    expect(fake().has(param)).toBe(true);

    fake().failNext('DeleteParameter', 'internal', 10);
    try {
      const del = await api('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
      expect(del.status, del.text).toBe(204);
      await app.app.services.cleanup.drain();

      // The store was tried and failed: the credentials are still there, and so is the outbox row.
      expect(fake().calls.some((c) => c.op === 'DeleteParameter' && c.name === param)).toBe(true);
      expect(fake().has(param)).toBe(true);
      const pending = await outboxRows(app, ref);
      expect(pending).toHaveLength(1);
      expect(Number(pending[0].attempts)).toBeGreaterThanOrEqual(1);
      // The secret itself is gone for the API.
      expect((await api('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`)).status).toBe(404);
    } finally {
      fake().clearFaults();
    }

    await sql(app, 'update credential_deletions set next_attempt_at = now() where ref = ?', [ref]);
    await app.app.services.cleanup.drain();
    expect(fake().has(param)).toBe(false);
    expect(await outboxRows(app, ref)).toHaveLength(0);
  });

  it('a process stopped with the store delete still pending: the next start-up drains the outbox', async () => {
    const team = await s.newTeam();
    const secret = await createNativeSecret(s, team, nativeBody(unique('ssm-crash')));
    const ref = await credentialRefOf(s, secret.id);
    const param = `${PREFIX}/${ref}`;

    fake().failNext('DeleteParameter', 'internal', 100);
    try {
      const del = await rest(s.url, team.ownerKey)('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
      expect(del.status, del.text).toBe(204);
      await s.app.services.cleanup.drain();
      expect(fake().has(param)).toBe(true);
      expect(await outboxRows(s, ref)).toHaveLength(1);
      // The process goes away with the deletion still owed. Its cleanup worker stops first, so that
      // no pass of it runs between skipping the backoff (so that the very first pass of the new
      // process finds the row due) and the end of the process.
      await s.app.services.cleanup.stop();
      await sql(s, 'update credential_deletions set next_attempt_at = now() where ref = ?', [ref]);
      await s.close();
    } finally {
      fake().clearFaults();
    }
    const before = fake().calls.length;

    await s.start();
    // No explicit drain here: start-up alone must do it.
    await vi.waitFor(
      async () => {
        expect(fake().has(param)).toBe(false);
        expect(await outboxRows(s, ref)).toHaveLength(0);
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(
      fake()
        .calls.slice(before)
        .some((c) => c.op === 'DeleteParameter' && c.name === param),
    ).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------------

describe('GraphQL: secrets connection, relations, deleteSecret', () => {
  it('pages through every secret with first/after: no duplicates, no gaps, totalCount, hasNextPage false at the end', async () => {
    const team = await t.newTeam();
    const created: Row[] = [];
    for (let i = 0; i < 7; i++) {
      created.push(await createNativeSecret(t, team, nativeBody(unique(`paged-${i}`))));
      await sleep(3);
    }
    const gql = graphql(t.url, team.ownerKey);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await gql(SECRETS_PAGE, { t: team.teamId, first: 3, after });
      expect(res.body.errors, res.text).toBeUndefined();
      const page = res.body.data.secrets;
      pages++;
      expect(page.totalCount).toBe(7);
      expect(page.nodes.map((n: Row) => n.id)).toEqual(page.edges.map((e: Row) => e.node.id));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1).cursor);
      expect(page.pageInfo.startCursor).toBe(page.edges[0].cursor);
      seen.push(...page.nodes.map((n: Row) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      expect(pages).toBeLessThan(5);
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expectedOrder(created, 'created_at', 'desc'));

    // Default (no `first`): everything in one page.
    const all = await gql(SECRETS_PAGE, { t: team.teamId });
    expect(all.body.data.secrets.nodes).toHaveLength(7);
    expect(all.body.data.secrets.pageInfo.hasNextPage).toBe(false);
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ first: -1 }, 'first'],
    [{ first: 5, after: 'not-a-cursor' }, 'after'],
  ])('%o is refused with an error naming %s and no stack', async (args, name) => {
    const team = await t.newTeam();
    const res = await graphql(t.url, team.ownerKey)(SECRETS_PAGE, { t: team.teamId, ...args });
    expect(res.body.data?.secrets ?? null).toBeNull();
    expect(res.body.errors?.length, res.text).toBeGreaterThan(0);
    expect(res.body.errors![0].message).toContain(name);
    // `first` and `after` are arguments of `secrets`, not fields of an `input` argument.
    expect(res.body.errors![0].message).not.toContain(`input.${name}`);
    expect(res.body.errors![0].extensions?.code).toBe('BAD_USER_INPUT');
    expectNoInternals(res.text);
  });

  it("another team's list is refused with a well-formed error (a message, no data, nothing leaked)", async () => {
    const team = await t.newTeam();
    const other = await t.newTeam();
    const theirs = await createNativeSecret(t, other, nativeBody(unique('hidden')));
    const logsBefore = t.logs.length;
    const res = await graphql(t.url, team.ownerKey)(SECRETS_PAGE, { t: other.teamId });
    expect(res.body.data?.secrets ?? null).toBeNull();
    expect(res.body.errors?.length, res.text).toBeGreaterThan(0);
    // A GraphQL error always carries a message (GraphQL spec, "Errors"); this one is an expected refusal.
    expect(typeof res.body.errors![0].message, res.text).toBe('string');
    expect(res.body.errors![0].message.length).toBeGreaterThan(0);
    // Not a server fault: the same refusal as REST's 404 (and not logged as an unexpected error).
    expect(res.body.errors![0].extensions?.code, res.text).not.toBe('INTERNAL_SERVER_ERROR');
    expect(res.text).not.toContain(theirs.name);
    expectNoInternals(res.text);
    await sleep(50);
    expect(t.logs.slice(logsBefore).filter((l) => l.includes('unexpected'))).toEqual([]);
  });

  it('filter (secretType, q with literal wildcards) and orderBy (every field, both directions)', async () => {
    const team = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const created: Row[] = [];
    for (const [name, type] of [
      ['golf', 'r2'],
      ['echo', 's3'],
      ['hotel_x', 'r2'],
      ['foxtrot', 'r2'],
      ['hotelyx', 's3'],
    ] as const) {
      created.push(await createNativeSecret(t, team, nativeBody(name, type)));
      await sleep(5);
    }
    const touched = await api('PATCH', `/v1/teams/${team.teamId}/secrets/${created[0].id}`, {
      description: 'x',
    });
    created[0] = touched.body;
    const gql = graphql(t.url, team.ownerKey);

    const r2 = await gql(SECRETS_PAGE, {
      t: team.teamId,
      filter: { secretType: 'R2' },
      orderBy: { field: 'NAME', direction: 'ASC' },
    });
    expect(r2.body.errors, r2.text).toBeUndefined();
    expect(r2.body.data.secrets.nodes.map((n: Row) => n.name)).toEqual(['foxtrot', 'golf', 'hotel_x']);
    expect(r2.body.data.secrets.nodes.every((n: Row) => n.secretType === 'R2')).toBe(true);
    expect(r2.body.data.secrets.totalCount).toBe(3);

    const literal = await gql(SECRETS_PAGE, { t: team.teamId, filter: { q: 'L_' } });
    expect(literal.body.data.secrets.nodes.map((n: Row) => n.name)).toEqual(['hotel_x']);
    expect(literal.body.data.secrets.totalCount).toBe(1);

    for (const [field, rest_] of [
      ['NAME', 'name'],
      ['CREATED_AT', 'created_at'],
      ['UPDATED_AT', 'updated_at'],
    ] as const) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const res = await gql(SECRETS_PAGE, { t: team.teamId, orderBy: { field, direction } });
        expect(res.body.errors, res.text).toBeUndefined();
        expect(
          res.body.data.secrets.nodes.map((n: Row) => n.id),
          `${field} ${direction}`,
        ).toEqual(expectedOrder(created, rest_, direction === 'ASC' ? 'asc' : 'desc'));
      }
    }
    // direction defaults to DESC.
    const byName = await gql(SECRETS_PAGE, { t: team.teamId, orderBy: { field: 'NAME' } });
    expect(byName.body.data.secrets.nodes.map((n: Row) => n.name)).toEqual([
      'hotelyx',
      'hotel_x',
      'golf',
      'foxtrot',
      'echo',
    ]);
  });

  it('deleteSecret: DeleteSecretSuccess, then NotFoundError; ConflictError while in use; foreign → NotFoundError', async () => {
    const team = await t.newTeam();
    const other = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    const gql = graphql(t.url, team.ownerKey);
    const secret = await createNativeSecret(t, team, nativeBody(unique('gql-del')));
    const used = await createNativeSecret(t, team, nativeBody(unique('gql-used')));
    await createLocation(t, team, used.id, { name: 'lake-house' });
    const foreign = await createNativeSecret(t, other, nativeBody(unique('gql-foreign')));
    const ref = await credentialRefOf(t, secret.id);

    const ok = await gql(DELETE_SECRET, { t: team.teamId, s: secret.id.toUpperCase() });
    expect(ok.body.errors, ok.text).toBeUndefined();
    expect(ok.body.data.deleteSecret).toEqual({ __typename: 'DeleteSecretSuccess', deletedId: secret.id });
    expect((await api('GET', `/v1/teams/${team.teamId}/secrets/${secret.id}`)).status).toBe(404);
    await t.app.services.cleanup.drain();
    expect(await sql(t, 'select version from credential_blobs where ref = ?', [ref])).toHaveLength(0);

    const again = await gql(DELETE_SECRET, { t: team.teamId, s: secret.id });
    expect(again.body.data.deleteSecret.__typename).toBe('NotFoundError');

    const conflict = await gql(DELETE_SECRET, { t: team.teamId, s: used.id });
    expect(conflict.body.data.deleteSecret.__typename).toBe('ConflictError');
    expect(conflict.body.data.deleteSecret.message).toContain('lake-house');
    expect((await api('GET', `/v1/teams/${team.teamId}/secrets/${used.id}`)).status).toBe(200);

    const foreignRes = await gql(DELETE_SECRET, { t: team.teamId, s: foreign.id });
    expect(foreignRes.body.data.deleteSecret.__typename).toBe('NotFoundError');
    const viaTheirTeam = await gql(DELETE_SECRET, { t: other.teamId, s: foreign.id });
    expect(viaTheirTeam.body.data.deleteSecret.__typename).toBe('NotFoundError');
    const foreignStill = await rest(t.url, other.ownerKey)(
      'GET',
      `/v1/teams/${other.teamId}/secrets/${foreign.id}`,
    );
    expect(foreignStill.status).toBe(200);

    const malformed = await gql(DELETE_SECRET, { t: team.teamId, s: 'not-a-uuid' });
    expect(malformed.body.data.deleteSecret.__typename).toBe('ValidationError');

    const viewer = await team.keyFor('viewer', ['secrets:read', 'secrets:delete']);
    const forbidden = await graphql(t.url, viewer)(DELETE_SECRET, { t: team.teamId, s: used.id });
    expect(forbidden.body.errors?.[0]?.extensions?.code, forbidden.text).toBe('FORBIDDEN');
    expectNoInternals(forbidden.text);
  });

  it('Secret.locations, Secret.vaultConnection, Secret.viewerCanUpdate', async () => {
    const team = await t.newTeam();
    const vault = await createVaultConnection(t, team, { ...DOPPLER, name: unique('vc') });
    const byov = await createVaultSecret(t, team, vault.id, { name: unique('byov') });
    const native = await createNativeSecret(t, team, nativeBody(unique('native')));
    const l2 = await createLocation(t, team, native.id, { name: 'zeta-bucket' });
    const l1 = await createLocation(t, team, native.id, { name: 'alpha-bucket' });
    const query = `query One($t: ID!, $id: ID!) {
      secret(teamId: $t, id: $id) {
        id storage viewerCanUpdate
        locations { id name }
        vaultConnection { id name vaultType }
      }
    }`;
    const owner = graphql(t.url, team.ownerKey);
    const expectSecret = async (id: string, expected: Record<string, unknown>) => {
      const res = await owner(query, { t: team.teamId, id });
      expect(res.body.errors, res.text).toBeUndefined();
      expect(res.body.data.secret).toEqual(expected);
      expectNoInternals(res.text);
    };

    await expectSecret(native.id, {
      id: native.id,
      storage: 'NATIVE',
      viewerCanUpdate: true,
      locations: [
        { id: l1.id, name: 'alpha-bucket' },
        { id: l2.id, name: 'zeta-bucket' },
      ],
      vaultConnection: null,
    });
    await expectSecret(byov.id, {
      id: byov.id,
      storage: 'EXTERNAL_VAULT',
      viewerCanUpdate: true,
      locations: [],
      vaultConnection: { id: vault.id, name: vault.name, vaultType: 'DOPPLER' },
    });

    const cases: [string, string[], boolean][] = [
      ['viewer', ['secrets:read'], false],
      ['viewer', ['secrets:read', 'secrets:update'], false], // the role is too low
      ['admin', ['secrets:read'], false], // the scope is missing
      ['admin', ['secrets:read', 'secrets:update'], true],
    ];
    for (const [role, scopes, expected] of cases) {
      const key = await team.keyFor(role as 'viewer' | 'admin', scopes);
      const res = await graphql(t.url, key)(
        `query($t: ID!, $id: ID!) { secret(teamId: $t, id: $id) { viewerCanUpdate } }`,
        {
          t: team.teamId,
          id: native.id,
        },
      );
      expect(res.body.errors, res.text).toBeUndefined();
      expect(res.body.data.secret.viewerCanUpdate, `${role} ${scopes.join(',')}`).toBe(expected);
    }

    // Another team's secret is simply not there.
    const other = await t.newTeam();
    const foreign = await graphql(t.url, other.ownerKey)(query, { t: other.teamId, id: native.id });
    expect(foreign.body.data.secret).toBeNull();
  });

  it('relations over a list are batched: a bounded number of SQL statements for 20 secrets', async () => {
    const team = await t.newTeam();
    const vaults = [
      await createVaultConnection(t, team, DOPPLER),
      await createVaultConnection(t, team, DOPPLER),
    ];
    const expectedLocations = new Map<string, string[]>();
    const expectedVault = new Map<string, string | null>();
    for (let i = 0; i < 20; i++) {
      const name = `batch-${String(i).padStart(2, '0')}`;
      if (i % 2 === 0) {
        const s = await createNativeSecret(t, team, nativeBody(name));
        const locs: string[] = [];
        if (i % 4 === 0) locs.push((await createLocation(t, team, s.id, { name: `${name}-loc` })).id);
        expectedLocations.set(s.id, locs);
        expectedVault.set(s.id, null);
      } else {
        const vault = vaults[i % 4 === 1 ? 0 : 1];
        const s = await createVaultSecret(t, team, vault.id, { name });
        expectedLocations.set(s.id, []);
        expectedVault.set(s.id, vault.id);
      }
    }
    const query = `query($t: ID!, $first: Int) {
      secrets(teamId: $t, first: $first) {
        totalCount
        nodes { id viewerCanUpdate locations { id } vaultConnection { id } }
      }
    }`;
    const gql = graphql(t.url, team.ownerKey);
    await gql(query, { t: team.teamId, first: 1 }); // warm-up (key lookup caches, if any)

    const run = (first: number) => recordSql(t, () => gql(query, { t: team.teamId, first }));
    const big = await run(20);
    expect(big.result.body.errors, big.result.text).toBeUndefined();
    const nodes = big.result.body.data.secrets.nodes as Row[];
    expect(nodes).toHaveLength(20);
    for (const node of nodes) {
      expect(node.locations.map((l: Row) => l.id)).toEqual(expectedLocations.get(node.id));
      expect(node.vaultConnection?.id ?? null).toBe(expectedVault.get(node.id));
      expect(node.viewerCanUpdate).toBe(true);
    }
    // The counter sees the request's statements (else the bounds below would prove nothing).
    expect(big.queries.some((q) => /\bfrom\s+"?secrets"?/i.test(q))).toBe(true);
    const onLocations = big.queries.filter((q) => /\bfrom\s+"?locations"?/i.test(q));
    const onVaults = big.queries.filter((q) => /\bfrom\s+"?vault_connections"?/i.test(q));
    expect(onLocations, big.queries.join('\n')).toHaveLength(1);
    expect(onVaults, big.queries.join('\n')).toHaveLength(1);
    expect(big.queries.length, big.queries.join('\n')).toBeLessThanOrEqual(10);

    // And the cost does not grow with the page size.
    const small = await run(2);
    expect(small.result.body.data.secrets.nodes).toHaveLength(2);
    expect(big.queries.length).toBeLessThanOrEqual(small.queries.length + 1);
  });

  it('the REST list counts locations in one statement, not one per row', async () => {
    const team = await t.newTeam();
    const api = rest(t.url, team.ownerKey);
    for (let i = 0; i < 12; i++) {
      const s = await createNativeSecret(t, team, nativeBody(`rest-batch-${i}`));
      if (i % 3 === 0) await createLocation(t, team, s.id, { name: `rest-batch-loc-${i}` });
    }
    const { result, queries } = await recordSql(t, () =>
      api('GET', `/v1/teams/${team.teamId}/secrets?limit=100`),
    );
    expect(result.status, result.text).toBe(200);
    expect(result.body.data).toHaveLength(12);
    expect(queries.some((q) => /\bfrom\s+"?secrets"?/i.test(q))).toBe(true);
    expect(
      queries.filter((q) => /\bfrom\s+"?locations"?/i.test(q)),
      queries.join('\n'),
    ).toHaveLength(1);
    expect(queries.length, queries.join('\n')).toBeLessThanOrEqual(8);
  });
});

// ---------------------------------------------------------------------------------------------
// Plan limits
// ---------------------------------------------------------------------------------------------

describe('plan limits', () => {
  it('free: 5 secrets; the 6th is 403 naming the limit on both doors; deleting one frees a slot', async () => {
    const team = await t.newTeam('free');
    const api = rest(t.url, team.ownerKey);
    const created: Row[] = [];
    for (let i = 0; i < 5; i++) created.push(await createNativeSecret(t, team, nativeBody(`free-${i}`)));

    const sixth = await api('POST', `/v1/teams/${team.teamId}/secrets`, nativeBody('free-5'));
    expect(sixth.status, sixth.text).toBe(403);
    expect(typeof sixth.body.detail).toBe('string');
    expect(sixth.body.detail).toMatch(/\b5\b/);
    expectNoInternals(sixth.text);

    const gqlSixth = await graphql(t.url, team.ownerKey)(
      `mutation($t: ID!, $input: CreateSecretInput!) {
        createSecret(teamId: $t, input: $input) { __typename ... on Error { message } }
      }`,
      {
        t: team.teamId,
        input: {
          name: 'free-gql',
          secretType: 'S3',
          authMethod: 'S3_ACCESS_KEY',
          value: {
            credentials: { accessKey: { accessKeyId: `${CANARY}-a`, secretAccessKey: `${CANARY}-b` } },
          },
        },
      },
    );
    expect(gqlSixth.body.errors?.[0]?.extensions?.code, gqlSixth.text).toBe('FORBIDDEN');
    expect(gqlSixth.body.errors![0].message).toMatch(/\b5\b/);
    expectNoInternals(gqlSixth.text);

    const count = await sql<{ n: string }>(t, 'select count(*) as n from secrets where team_id = ?', [
      team.teamId,
    ]);
    expect(Number(count[0].n)).toBe(5);

    expect((await api('DELETE', `/v1/teams/${team.teamId}/secrets/${created[0].id}`)).status).toBe(204);
    await createNativeSecret(t, team, nativeBody('free-after-delete'));
  });

  it('pro: 100 secrets; the 101st is 403 naming 100', async () => {
    const team = await t.newTeam('pro');
    const api = rest(t.url, team.ownerKey);
    await createNativeSecret(t, team, nativeBody('pro-0'));
    // 99 more rows straight into the table (their credentials are irrelevant to the limit).
    await sql(
      t,
      `insert into secrets (id, team_id, name, secret_type, auth_method, storage, credential_ref, credential_version,
         version, created_at, created_by, updated_at, updated_by)
       select gen_random_uuid(), ?, 'pro-bulk-' || g, 's3', 's3_access_key', 'native', 'teams/none/' || g, 1,
         1, now(), ?, now(), ?
       from generate_series(1, 99) as g`,
      [team.teamId, team.ownerId, team.ownerId],
    );
    const list = await api('GET', `/v1/teams/${team.teamId}/secrets?limit=1`);
    expect(list.body.pagination.total).toBe(100);

    const over = await api('POST', `/v1/teams/${team.teamId}/secrets`, nativeBody('pro-101'));
    expect(over.status, over.text).toBe(403);
    expect(over.body.detail).toMatch(/\b100\b/);
  });

  it('10 concurrent creates on a fresh free team: exactly 5 succeed, the rest are 403', async () => {
    const team = await t.newTeam('free');
    const api = rest(t.url, team.ownerKey);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api('POST', `/v1/teams/${team.teamId}/secrets`, nativeBody(`race-${i}`)),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map((r) => r.text).join('\n')).toEqual([
      201, 201, 201, 201, 201, 403, 403, 403, 403, 403,
    ]);
    for (const r of results.filter((x) => x.status === 403)) expect(r.body.detail).toMatch(/\b5\b/);
    const count = await sql<{ n: string }>(t, 'select count(*) as n from secrets where team_id = ?', [
      team.teamId,
    ]);
    expect(Number(count[0].n)).toBe(5);
    const list = await api('GET', `/v1/teams/${team.teamId}/secrets`);
    expect(list.body.pagination.total).toBe(5);
  });

  it('concurrent creates over both doors at the limit: still exactly 5', async () => {
    const team = await t.newTeam('free');
    const api = rest(t.url, team.ownerKey);
    const gql = graphql(t.url, team.ownerKey);
    for (let i = 0; i < 3; i++) await createNativeSecret(t, team, nativeBody(`pre-${i}`));
    const mutation = `mutation($t: ID!, $input: CreateSecretInput!) {
      createSecret(teamId: $t, input: $input) { __typename }
    }`;
    const attempts = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) =>
        api('POST', `/v1/teams/${team.teamId}/secrets`, nativeBody(`mixed-rest-${i}`)).then(
          (r) => r.status === 201,
        ),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        gql(mutation, {
          t: team.teamId,
          input: {
            name: `mixed-gql-${i}`,
            secretType: 'S3',
            authMethod: 'S3_ACCESS_KEY',
            value: {
              credentials: { accessKey: { accessKeyId: `${CANARY}-a`, secretAccessKey: `${CANARY}-b` } },
            },
          },
        }).then((r) => r.body.data?.createSecret?.__typename === 'CreateSecretSuccess'),
      ),
    ]);
    expect(attempts.filter(Boolean)).toHaveLength(2);
    const count = await sql<{ n: string }>(t, 'select count(*) as n from secrets where team_id = ?', [
      team.teamId,
    ]);
    expect(Number(count[0].n)).toBe(5);
  });
});
