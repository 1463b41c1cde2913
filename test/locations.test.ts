/**
 * Locations on both doors: list (paging, filters, sort), get, update, delete; tenancy, scopes and
 * roles, validation, conflicts, the audit events of each change, and the batched `Location.secret`.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ISO_TIMESTAMP, sleep, unique } from './support/constants.js';
import { createLocation, createNativeSecret, GCS_SECRET, S3_COMPATIBLE_SECRET } from './support/factories.js';
import { auditTrail, graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const LOCATION_FIELDS = [
  'bucket_name',
  'created_at',
  'created_by',
  'description',
  'endpoint_url',
  'id',
  'location_type',
  'name',
  'region',
  'secret_id',
  'updated_at',
  'updated_by',
].sort();

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

const auditFor = (teamId: string, resourceId: string) => auditTrail(t, teamId, resourceId);

async function userIdOfKey(key: string): Promise<string> {
  const [row] = await sql('select created_by from api_keys where key_id = ?', [key.slice(3, 15)]);
  return row.created_by;
}

/** A team with an s3, an s3_compatible and a gcs secret, and one location per secret. */
async function world() {
  const team = await t.newTeam();
  const s3 = await createNativeSecret(t, team);
  const s3b = await createNativeSecret(t, team);
  const compat = await createNativeSecret(t, team, S3_COMPATIBLE_SECRET);
  const gcs = await createNativeSecret(t, team, GCS_SECRET);
  const s3Location = await createLocation(t, team, s3.id, {
    name: unique('s3-loc'),
    location_type: 's3',
    bucket_name: 'bucket',
    region: 'eu-west-1',
    description: 'primary',
  });
  const compatLocation = await createLocation(t, team, compat.id, {
    name: unique('compat-loc'),
    location_type: 's3_compatible',
    endpoint_url: 'https://minio.example.com',
  });
  const gcsLocation = await createLocation(t, team, gcs.id, {
    name: unique('gcs-loc'),
    location_type: 'gcs',
  });
  return { team, secrets: { s3, s3b, compat, gcs }, s3Location, compatLocation, gcsLocation };
}

const path = (team: TestTeam, id?: string) => `/v1/teams/${team.teamId}/locations${id ? `/${id}` : ''}`;

// ---------------------------------------------------------------------------------------------

describe('GET /locations (list)', () => {
  let team: TestTeam;
  const names = ['alpha', 'Beta', 'gamma', 'delta_x', '100% bucket', 'ALPHA-two'];
  const created: Record<string, string> = {};

  beforeAll(async () => {
    team = await t.newTeam();
    const s3 = await createNativeSecret(t, team);
    const gcs = await createNativeSecret(t, team, GCS_SECRET);
    for (const [i, name] of names.entries()) {
      const gcsType = i % 3 === 2;
      const location = await createLocation(t, team, gcsType ? gcs.id : s3.id, {
        name,
        location_type: gcsType ? 'gcs' : 's3',
      });
      created[name] = location.id;
      // Distinct created_at values (millisecond timestamps).
      await sleep(5);
    }
  });

  const list = (query = '', key = team.ownerKey) => rest(t.url, key)('GET', `${path(team)}${query}`);

  it('returns data and pagination, newest first by default', async () => {
    const res = await list();
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'pagination']);
    expect(res.body.pagination).toEqual({ page: 1, limit: 50, total: 6, total_pages: 1 });
    expect(res.body.data.map((l: any) => l.name)).toEqual([...names].reverse());
    for (const item of res.body.data) {
      expect(Object.keys(item).sort()).toEqual(LOCATION_FIELDS);
      expect(item.created_at).toMatch(ISO_TIMESTAMP);
    }
  });

  it('pages with limit and page; a page beyond the end is empty with the right total', async () => {
    const seen: string[] = [];
    for (const page of [1, 2, 3]) {
      const res = await list(`?limit=2&page=${page}`);
      expect(res.status).toBe(200);
      expect(res.body.pagination).toEqual({ page, limit: 2, total: 6, total_pages: 3 });
      expect(res.body.data).toHaveLength(2);
      seen.push(...res.body.data.map((l: any) => l.id));
    }
    expect(new Set(seen).size).toBe(6);
    const beyond = await list('?limit=2&page=4');
    expect(beyond.status).toBe(200);
    expect(beyond.body).toEqual({ data: [], pagination: { page: 4, limit: 2, total: 6, total_pages: 3 } });
    const partial = await list('?limit=4&page=2');
    expect(partial.body.data).toHaveLength(2);
    expect(partial.body.pagination.total_pages).toBe(2);
    const max = await list('?limit=100');
    expect(max.body.pagination).toEqual({ page: 1, limit: 100, total: 6, total_pages: 1 });
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=101', 'limit'],
    ['?limit=abc', 'limit'],
    ['?limit=-1', 'limit'],
    ['?page=0', 'page'],
    ['?page=1.5', 'page'],
    ['?sort_by=last_verified_at', 'sort_by'],
    ['?sort_order=up', 'sort_order'],
    ['?location_type=ftp', 'location_type'],
    ['?bogus=1', 'bogus'],
    [`?q=${'x'.repeat(256)}`, 'q'],
  ])('%s → 422 at query.%s', async (query, name) => {
    const res = await list(query);
    expect(res.status, res.text).toBe(422);
    expect(res.body.detail.map((d: any) => d.loc)).toEqual([['query', name]]);
  });

  it('filters by location_type and by a case-insensitive name search (wildcards are literal)', async () => {
    const gcsOnly = await list('?location_type=gcs');
    expect(gcsOnly.body.data.map((l: any) => l.name).sort()).toEqual(['gamma', 'ALPHA-two'].sort());
    expect(gcsOnly.body.pagination.total).toBe(2);

    const alpha = await list('?q=alpha&sort_by=name&sort_order=asc');
    expect(alpha.body.data.map((l: any) => l.name).sort()).toEqual(['ALPHA-two', 'alpha']);
    const both = await list('?q=ALPHA&location_type=s3');
    expect(both.body.data.map((l: any) => l.name)).toEqual(['alpha']);

    const percent = await list(`?q=${encodeURIComponent('%')}`);
    expect(percent.body.data.map((l: any) => l.name)).toEqual(['100% bucket']);
    const underscore = await list('?q=_');
    expect(underscore.body.data.map((l: any) => l.name)).toEqual(['delta_x']);
    const none = await list('?q=nothing-like-this');
    expect(none.body).toEqual({ data: [], pagination: { page: 1, limit: 50, total: 0, total_pages: 0 } });
  });

  it('sorts by name, created_at and updated_at in both directions', async () => {
    const byName = await list('?sort_by=name&sort_order=asc');
    const namesAsc: string[] = byName.body.data.map((l: any) => l.name);
    expect([...namesAsc].sort()).toEqual([...names].sort());
    // Case-insensitive comparison holds under any collation for these names.
    expect(namesAsc.indexOf('alpha')).toBeLessThan(namesAsc.indexOf('gamma'));
    expect(namesAsc.indexOf('delta_x')).toBeLessThan(namesAsc.indexOf('gamma'));
    const byNameDesc = await list('?sort_by=name&sort_order=desc');
    expect(byNameDesc.body.data.map((l: any) => l.name)).toEqual([...namesAsc].reverse());

    const oldest = await list('?sort_by=created_at&sort_order=asc');
    expect(oldest.body.data.map((l: any) => l.name)).toEqual(names);

    // Touch 'alpha' so it becomes the most recently updated.
    const touched = await rest(t.url, team.ownerKey)('PATCH', path(team, created.alpha), {
      description: `touched ${randomUUID()}`,
    });
    expect(touched.status).toBe(200);
    const byUpdated = await list('?sort_by=updated_at');
    expect(byUpdated.body.data[0].name).toBe('alpha');
    const byUpdatedAsc = await list('?sort_by=updated_at&sort_order=asc');
    expect(byUpdatedAsc.body.data.at(-1).name).toBe('alpha');
  });

  it('name order is the database order (asc is the reverse of desc, ids break ties)', async () => {
    const asc = await list('?sort_by=name&sort_order=asc');
    const desc = await list('?sort_by=name&sort_order=desc');
    expect(asc.body.data.map((l: any) => l.id)).toEqual(desc.body.data.map((l: any) => l.id).reverse());
    expect(asc.body.data.map((l: any) => l.name)).toContain('Beta');
  });

  it('needs locations:read (any role); other teams and malformed ids', async () => {
    const viewer = await team.keyFor('viewer', ['locations:read']);
    expect((await list('', viewer)).status).toBe(200);
    const noScope = await team.keyFor('owner', ['secrets:read']);
    const denied = await list('', noScope);
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('locations:read');

    const other = await t.newTeam();
    const foreign = await rest(t.url, other.ownerKey)('GET', path(team));
    const unknown = await rest(t.url, other.ownerKey)('GET', `/v1/teams/${randomUUID()}/locations`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    const malformed = await rest(t.url, team.ownerKey)('GET', '/v1/teams/not-a-uuid/locations');
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'team_id']);
    // Authorization comes before query validation.
    expect((await list('?limit=0', noScope)).status).toBe(403);
  });
});

describe('GET /locations/{id}', () => {
  it('returns the location with its secret name', async () => {
    const w = await world();
    const res = await rest(t.url, w.team.ownerKey)('GET', path(w.team, w.s3Location.id));
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([...LOCATION_FIELDS, 'secret_name'].sort());
    expect(res.body).toMatchObject({
      id: w.s3Location.id,
      name: w.s3Location.name,
      description: 'primary',
      location_type: 's3',
      secret_id: w.secrets.s3.id,
      secret_name: w.secrets.s3.name,
      bucket_name: 'bucket',
      region: 'eu-west-1',
      endpoint_url: null,
      created_by: w.team.ownerId,
      updated_by: w.team.ownerId,
    });
    // Upper-case ids are accepted.
    const upper = await rest(t.url, w.team.ownerKey)('GET', path(w.team, w.s3Location.id.toUpperCase()));
    expect(upper.body.id).toBe(w.s3Location.id);
  });

  it('unknown or other-team ids are the same 404; malformed ids are 422 at path', async () => {
    const w = await world();
    const other = await world();
    const call = rest(t.url, w.team.ownerKey);
    const unknown = await call('GET', path(w.team, randomUUID()));
    const foreign = await call('GET', path(w.team, other.s3Location.id));
    expect(unknown.status).toBe(404);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    const foreignTeam = await call('GET', path(other.team, other.s3Location.id));
    expect(foreignTeam.status).toBe(404);
    const malformed = await call('GET', path(w.team, 'nope'));
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail.map((d: any) => d.loc)).toEqual([['path', 'location_id']]);
  });
});

describe('PATCH /locations/{id}', () => {
  it('updates every updatable field, sets updated_at/updated_by and audits the changed names', async () => {
    const w = await world();
    const admin = await w.team.keyFor('admin', ['locations:update']);
    const adminId = await userIdOfKey(admin);
    const before = w.s3Location;
    await sleep(5);
    const res = await rest(t.url, admin)('PATCH', path(w.team, before.id), {
      name: 'renamed',
      description: 'new description',
      bucket_name: 'other-bucket',
      region: 'us-east-2',
      endpoint_url: 'https://s3.us-east-2.amazonaws.com',
      secret_id: w.secrets.s3b.id.toUpperCase(),
    });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(LOCATION_FIELDS);
    expect(res.body).toMatchObject({
      id: before.id,
      name: 'renamed',
      description: 'new description',
      bucket_name: 'other-bucket',
      region: 'us-east-2',
      endpoint_url: 'https://s3.us-east-2.amazonaws.com',
      secret_id: w.secrets.s3b.id,
      location_type: 's3',
      created_at: before.created_at,
      created_by: w.team.ownerId,
      updated_by: adminId,
    });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
    const read = await rest(t.url, w.team.ownerKey)('GET', path(w.team, before.id));
    expect(read.body.secret_name).toBe(w.secrets.s3b.name);

    const audit = await auditFor(w.team.teamId, before.id);
    expect(audit.map((a) => a.event_type)).toEqual(['location_created', 'location_updated']);
    expect(audit[1]).toMatchObject({
      resource_type: 'location',
      resource_name: 'renamed',
      changed_fields: ['name', 'description', 'bucket_name', 'region', 'endpoint_url', 'secret_id'],
    });
  });

  it('{} and same-value patches are no-ops: unchanged, no audit event', async () => {
    const w = await world();
    const call = rest(t.url, w.team.ownerKey);
    for (const body of [
      {},
      { name: w.s3Location.name, region: 'eu-west-1', secret_id: w.secrets.s3.id },
      { name: null, bucket_name: null, secret_id: null },
    ]) {
      const res = await call('PATCH', path(w.team, w.s3Location.id), body);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual(w.s3Location);
    }
    expect((await auditFor(w.team.teamId, w.s3Location.id)).map((a) => a.event_type)).toEqual([
      'location_created',
    ]);
  });

  it('null clears description, region and endpoint_url; only the cleared fields are audited', async () => {
    const w = await world();
    const call = rest(t.url, w.team.ownerKey);
    const withEndpoint = await call('PATCH', path(w.team, w.s3Location.id), {
      endpoint_url: 'http://localhost:9000',
    });
    expect(withEndpoint.status, withEndpoint.text).toBe(200);
    const res = await call('PATCH', path(w.team, w.s3Location.id), {
      description: null,
      region: null,
      endpoint_url: null,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      description: null,
      region: null,
      endpoint_url: null,
      name: w.s3Location.name,
    });
    const audit = await auditFor(w.team.teamId, w.s3Location.id);
    expect(audit.map((a) => a.changed_fields)).toEqual([
      expect.any(Array),
      ['endpoint_url'],
      ['description', 'region', 'endpoint_url'],
    ]);
  });

  it('applies the provider rules for endpoint_url', async () => {
    const w = await world();
    const call = rest(t.url, w.team.ownerKey);
    const cases: [string, Record<string, unknown>, string][] = [
      [w.compatLocation.id, { endpoint_url: null }, 'missing'],
      [w.compatLocation.id, { endpoint_url: 'ftp://minio.example.com' }, 'url_parsing'],
      [w.compatLocation.id, { endpoint_url: 'not a url' }, 'url_parsing'],
      [w.gcsLocation.id, { endpoint_url: 'https://storage.example.com' }, 'value_error'],
    ];
    for (const [id, body, type] of cases) {
      const res = await call('PATCH', path(w.team, id), body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.detail).toEqual([{ loc: ['body', 'endpoint_url'], msg: expect.any(String), type }]);
    }
    const ok = await call('PATCH', path(w.team, w.compatLocation.id), {
      endpoint_url: 'http://10.0.0.5:9000',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.endpoint_url).toBe('http://10.0.0.5:9000');
    // Clearing an endpoint that gcs never had is fine.
    expect((await call('PATCH', path(w.team, w.gcsLocation.id), { endpoint_url: null })).status).toBe(200);
  });

  it('refuses location_type, bad secrets and malformed fields with 422 at the field', async () => {
    const w = await world();
    const other = await world();
    const call = rest(t.url, w.team.ownerKey);
    const cases: [Record<string, unknown>, (string | number)[]][] = [
      [{ location_type: 's3' }, ['body', 'location_type']],
      [{ location_type: 'gcs' }, ['body', 'location_type']],
      [{ location_type: null }, ['body', 'location_type']],
      [{ secret_id: w.secrets.gcs.id }, ['body', 'secret_id']],
      [{ secret_id: other.secrets.s3.id }, ['body', 'secret_id']],
      [{ secret_id: randomUUID() }, ['body', 'secret_id']],
      [{ secret_id: 'not-a-uuid' }, ['body', 'secret_id']],
      [{ name: '' }, ['body', 'name']],
      [{ name: 'n'.repeat(256) }, ['body', 'name']],
      [{ description: 'd'.repeat(2001) }, ['body', 'description']],
      [{ bucket_name: '' }, ['body', 'bucket_name']],
      [{ bucket_name: 'b'.repeat(256) }, ['body', 'bucket_name']],
      [{ region: 5 }, ['body', 'region']],
      [{ unknown_field: 1 }, ['body', 'unknown_field']],
    ];
    for (const [body, loc] of cases) {
      const res = await call('PATCH', path(w.team, w.s3Location.id), body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(
        res.body.detail.map((d: any) => d.loc),
        JSON.stringify(body),
      ).toEqual([loc]);
    }
    const notObject = await call('PATCH', path(w.team, w.s3Location.id), '[1]');
    expect(notObject.status).toBe(400);
    const read = await call('GET', path(w.team, w.s3Location.id));
    expect(read.body.updated_at).toBe(w.s3Location.updated_at);
    expect(await auditFor(w.team.teamId, w.s3Location.id)).toHaveLength(1);
  });

  it('a name in use is 409; tenancy, scope and role are checked', async () => {
    const w = await world();
    const other = await world();
    const call = rest(t.url, w.team.ownerKey);
    const clash = await call('PATCH', path(w.team, w.s3Location.id), { name: w.gcsLocation.name });
    expect(clash.status).toBe(409);
    expect(clash.body.detail).toContain('already exists');
    // A name used in another team is free here.
    expect(
      (await call('PATCH', path(w.team, w.s3Location.id), { name: other.gcsLocation.name })).status,
    ).toBe(200);

    const unknown = await call('PATCH', path(w.team, randomUUID()), { name: 'x' });
    const foreign = await call('PATCH', path(w.team, other.s3Location.id), { name: 'x' });
    expect(unknown.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect((await call('PATCH', path(other.team, other.s3Location.id), { name: 'x' })).status).toBe(404);
    expect((await call('PATCH', path(w.team, 'zzz'), {})).body.detail[0].loc).toEqual([
      'path',
      'location_id',
    ]);

    for (const [role, scopes] of [
      ['viewer', ['locations:update']],
      ['operator', ['locations:update']],
      ['owner', ['locations:read', 'locations:create', 'locations:delete']],
    ] as const) {
      const key = await w.team.keyFor(role, [...scopes]);
      const res = await rest(t.url, key)('PATCH', path(w.team, w.s3Location.id), { name: 'denied' });
      expect(res.status, role).toBe(403);
    }
    const admin = await w.team.keyFor('admin', ['locations:update']);
    expect(
      (await rest(t.url, admin)('PATCH', path(w.team, w.s3Location.id), { name: 'allowed' })).status,
    ).toBe(200);
  });
});

describe('DELETE /locations/{id}', () => {
  it('deletes with 204 and a location_deleted event; then it is gone', async () => {
    const w = await world();
    const admin = await w.team.keyFor('admin', ['locations:delete']);
    const res = await rest(t.url, admin)('DELETE', path(w.team, w.gcsLocation.id));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const call = rest(t.url, w.team.ownerKey);
    expect((await call('GET', path(w.team, w.gcsLocation.id))).status).toBe(404);
    expect((await call('DELETE', path(w.team, w.gcsLocation.id))).status).toBe(404);
    const audit = await auditFor(w.team.teamId, w.gcsLocation.id);
    expect(audit.map((a) => [a.event_type, a.resource_name, a.changed_fields])).toEqual([
      ['location_created', w.gcsLocation.name, expect.any(Array)],
      ['location_deleted', w.gcsLocation.name, []],
    ]);
    // The secret it used is untouched.
    expect((await call('GET', `/v1/teams/${w.team.teamId}/secrets/${w.secrets.gcs.id}`)).status).toBe(200);
  });

  it('checks tenancy, scope and role', async () => {
    const w = await world();
    const other = await world();
    const call = rest(t.url, w.team.ownerKey);
    const unknown = await call('DELETE', path(w.team, randomUUID()));
    const foreign = await call('DELETE', path(w.team, other.s3Location.id));
    expect(unknown.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect((await call('DELETE', path(other.team, other.s3Location.id))).status).toBe(404);
    expect((await call('DELETE', path(w.team, '1'))).status).toBe(422);
    const viewer = await w.team.keyFor('viewer', ['locations:delete']);
    const noScope = await w.team.keyFor('admin', ['locations:update']);
    expect((await rest(t.url, viewer)('DELETE', path(w.team, w.s3Location.id))).status).toBe(403);
    expect((await rest(t.url, noScope)('DELETE', path(w.team, w.s3Location.id))).status).toBe(403);
    expect((await call('GET', path(other.team, other.s3Location.id))).status).toBe(404);
    expect(
      (await rest(t.url, other.team.ownerKey)('GET', path(other.team, other.s3Location.id))).status,
    ).toBe(200);
    expect(await auditFor(w.team.teamId, w.s3Location.id)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// GraphQL

const LOCATION_FIELDS_GQL = `id name description locationType secretId bucketName region endpointUrl
  createdAt createdBy updatedAt updatedBy`;

describe('GraphQL location / locations', () => {
  it('location(teamId, id) returns the location and its secret, null when not found', async () => {
    const w = await world();
    const other = await world();
    const gql = graphql(t.url, w.team.ownerKey);
    const query = `query($t: ID!, $id: ID!) { location(teamId: $t, id: $id) { ${LOCATION_FIELDS_GQL}
      secret { id name secretType } } }`;
    const res = await gql(query, { t: w.team.teamId, id: w.s3Location.id });
    expect(res.body.errors!).toBeUndefined();
    expect(res.body.data.location).toEqual({
      id: w.s3Location.id,
      name: w.s3Location.name,
      description: 'primary',
      locationType: 'S3',
      secretId: w.secrets.s3.id,
      bucketName: 'bucket',
      region: 'eu-west-1',
      endpointUrl: null,
      createdAt: w.s3Location.created_at,
      createdBy: w.team.ownerId,
      updatedAt: w.s3Location.updated_at,
      updatedBy: w.team.ownerId,
      secret: { id: w.secrets.s3.id, name: w.secrets.s3.name, secretType: 'S3' },
    });
    for (const vars of [
      { t: w.team.teamId, id: randomUUID() },
      { t: w.team.teamId, id: other.s3Location.id },
      { t: other.team.teamId, id: other.s3Location.id },
    ]) {
      const missing = await gql(query, vars);
      expect(missing.body).toEqual({ data: { location: null } });
    }
    const malformed = await gql(query, { t: w.team.teamId, id: 'nope' });
    expect(malformed.body.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('locations pages with first/after, filters and orders', async () => {
    const w = await world();
    const gql = graphql(t.url, w.team.ownerKey);
    const query = `query($t: ID!, $first: Int, $after: String, $filter: LocationFilter, $orderBy: LocationOrder) {
      locations(teamId: $t, first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id name } } nodes { name locationType } } }`;
    const all = await gql(query, { t: w.team.teamId, orderBy: { field: 'NAME', direction: 'ASC' } });
    expect(all.body.errors).toBeUndefined();
    const names = [w.compatLocation.name, w.gcsLocation.name, w.s3Location.name].sort();
    expect(all.body.data.locations.totalCount).toBe(3);
    expect(all.body.data.locations.nodes.map((n: any) => n.name)).toEqual(names);

    const first = await gql(query, {
      t: w.team.teamId,
      first: 2,
      orderBy: { field: 'NAME', direction: 'ASC' },
    });
    const page1 = first.body.data.locations;
    expect(page1.edges.map((e: any) => e.node.name)).toEqual(names.slice(0, 2));
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await gql(query, {
      t: w.team.teamId,
      first: 2,
      after: page1.pageInfo.endCursor,
      orderBy: { field: 'NAME', direction: 'ASC' },
    });
    const page2 = second.body.data.locations;
    expect(page2.nodes.map((n: any) => n.name)).toEqual(names.slice(2));
    expect(page2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(page2.totalCount).toBe(3);
    const beyond = await gql(query, { t: w.team.teamId, first: 2, after: page2.pageInfo.endCursor });
    expect(beyond.body.data.locations).toMatchObject({ totalCount: 3, nodes: [], edges: [] });

    const newest = await gql(query, { t: w.team.teamId });
    expect(newest.body.data.locations.nodes.map((n: any) => n.name)).toEqual([
      w.gcsLocation.name,
      w.compatLocation.name,
      w.s3Location.name,
    ]);
    const oldest = await gql(query, { t: w.team.teamId, orderBy: { field: 'CREATED_AT', direction: 'ASC' } });
    expect(oldest.body.data.locations.nodes[0].name).toBe(w.s3Location.name);
    const byUpdated = await gql(query, { t: w.team.teamId, orderBy: { field: 'UPDATED_AT' } });
    expect(byUpdated.body.data.locations.nodes[0].name).toBe(w.gcsLocation.name);

    const gcs = await gql(query, { t: w.team.teamId, filter: { locationType: 'GCS' } });
    expect(gcs.body.data.locations.nodes).toEqual([{ name: w.gcsLocation.name, locationType: 'GCS' }]);
    const search = await gql(query, { t: w.team.teamId, filter: { q: 'COMPAT' } });
    expect(search.body.data.locations.nodes.map((n: any) => n.name)).toEqual([w.compatLocation.name]);

    for (const vars of [
      { first: 0 },
      { first: 101 },
      { after: 'garbage' },
      { filter: { q: 'q'.repeat(256) } },
    ]) {
      const bad = await gql(query, { t: w.team.teamId, ...vars });
      expect(bad.body.data, JSON.stringify(vars)).toBeNull();
      expect(bad.body.errors![0].extensions.code, JSON.stringify(vars)).toBe('BAD_USER_INPUT');
    }

    // Another team's id is NOT_FOUND, exactly like a team that does not exist; a missing scope is FORBIDDEN.
    const other = await world();
    const logsBefore = t.logs.length;
    const foreign = await gql(query, { t: other.team.teamId });
    const unknown = await gql(query, { t: randomUUID() });
    expect(foreign.body.data).toBeNull();
    expect(foreign.body.errors).toEqual([
      {
        message: 'Team not found',
        path: ['locations'],
        locations: expect.any(Array),
        extensions: { code: 'NOT_FOUND' },
      },
    ]);
    expect(unknown.body).toEqual(foreign.body);
    expect(foreign.text).not.toContain(other.s3Location.name);
    expect(t.logs.slice(logsBefore).filter((l) => l.includes('unexpected'))).toEqual([]);
    const noScope = await w.team.keyFor('admin', ['secrets:read']);
    const denied = await graphql(t.url, noScope)(query, { t: w.team.teamId });
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('Location.secret is loaded in one batch per request and needs secrets:read', async () => {
    const w = await world();
    const query = `query($t: ID!) { locations(teamId: $t) { nodes { name secret { id name } }
      edges { node { secret { name } } } } }`;
    const spy = vi.spyOn(t.app.services.locations, 'secretsByIds');
    try {
      const res = await graphql(t.url, w.team.ownerKey)(query, { t: w.team.teamId });
      expect(res.body.errors!).toBeUndefined();
      const bySecret = Object.fromEntries(
        res.body.data.locations.nodes.map((n: any) => [n.name, n.secret.name]),
      );
      expect(bySecret).toEqual({
        [w.s3Location.name]: w.secrets.s3.name,
        [w.compatLocation.name]: w.secrets.compat.name,
        [w.gcsLocation.name]: w.secrets.gcs.name,
      });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][2].sort()).toEqual(
        [w.secrets.s3.id, w.secrets.compat.id, w.secrets.gcs.id].sort(),
      );
    } finally {
      spy.mockRestore();
    }

    const locationsOnly = await w.team.keyFor('viewer', ['locations:read']);
    const res = await graphql(t.url, locationsOnly)(query, { t: w.team.teamId });
    expect(res.body.data.locations.nodes).toHaveLength(3);
    for (const node of res.body.data.locations.nodes) expect(node.secret).toBeNull();
    expect(res.body.errors!.length).toBeGreaterThan(0);
    for (const error of res.body.errors!) {
      expect(error.extensions.code).toBe('FORBIDDEN');
      expect(error.message).toContain('secrets:read');
    }
  });
});

describe('GraphQL updateLocation / deleteLocation', () => {
  const UPDATE = `mutation($t: ID!, $l: ID!, $input: UpdateLocationInput!) {
    updateLocation(teamId: $t, locationId: $l, input: $input) {
      __typename
      ... on UpdateLocationSuccess { location { id name description bucketName region endpointUrl secretId updatedBy
        secret { name } } }
      ... on Error { message }
      ... on ValidationError { issues { path code } } } }`;
  const DELETE = `mutation($t: ID!, $l: ID!) { deleteLocation(teamId: $t, locationId: $l) {
    __typename ... on DeleteLocationSuccess { deletedId } ... on Error { message } } }`;

  it('updates, clears with null, and reports ValidationError / NotFoundError / ConflictError', async () => {
    const w = await world();
    const other = await world();
    const gql = graphql(t.url, w.team.ownerKey);
    const vars = (input: Record<string, unknown>, l = w.s3Location.id) => ({ t: w.team.teamId, l, input });

    const ok = await gql(
      UPDATE,
      vars({ name: 'gql-renamed', bucketName: 'b2', region: null, secretId: w.secrets.s3b.id }),
    );
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.updateLocation).toEqual({
      __typename: 'UpdateLocationSuccess',
      location: {
        id: w.s3Location.id,
        name: 'gql-renamed',
        description: 'primary',
        bucketName: 'b2',
        region: null,
        endpointUrl: null,
        secretId: w.secrets.s3b.id,
        updatedBy: w.team.ownerId,
        secret: { name: w.secrets.s3b.name },
      },
    });
    const cleared = await gql(UPDATE, vars({ description: null }));
    expect(cleared.body.data.updateLocation.location.description).toBeNull();
    const noop = await gql(UPDATE, vars({}));
    expect(noop.body.data.updateLocation.location.name).toBe('gql-renamed');
    const audit = await auditFor(w.team.teamId, w.s3Location.id);
    expect(audit.map((a) => a.changed_fields)).toEqual([
      expect.any(Array),
      ['name', 'bucket_name', 'region', 'secret_id'],
      ['description'],
    ]);

    const invalid = await gql(UPDATE, vars({ endpointUrl: null }, w.compatLocation.id));
    expect(invalid.body.data.updateLocation).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'endpointUrl'], code: 'missing' }],
    });
    const wrongSecret = await gql(UPDATE, vars({ secretId: w.secrets.gcs.id }));
    expect(wrongSecret.body.data.updateLocation).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'secretId'] }],
    });
    const tooLong = await gql(UPDATE, vars({ name: 'x'.repeat(256) }));
    expect(tooLong.body.data.updateLocation).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'name'], code: 'string_too_long' }],
    });
    const immutable = await gql(UPDATE, vars({ locationType: 'GCS' }));
    expect(immutable.body.errors?.length).toBeGreaterThan(0);

    const conflict = await gql(UPDATE, vars({ name: w.gcsLocation.name }));
    expect(conflict.body.data.updateLocation.__typename).toBe('ConflictError');
    const missing = await gql(UPDATE, vars({ name: 'x' }, other.s3Location.id));
    expect(missing.body.data.updateLocation).toEqual({
      __typename: 'NotFoundError',
      message: 'Location not found',
    });

    const viewer = await w.team.keyFor('viewer', ['locations:update']);
    const denied = await graphql(t.url, viewer)(UPDATE, vars({ name: 'y' }));
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('deletes, then NotFoundError; needs locations:delete and admin', async () => {
    const w = await world();
    const gql = graphql(t.url, w.team.ownerKey);
    const viewer = await w.team.keyFor('viewer', ['locations:delete']);
    const denied = await graphql(t.url, viewer)(DELETE, { t: w.team.teamId, l: w.gcsLocation.id });
    expect(denied.body.errors![0].extensions.code).toBe('FORBIDDEN');

    const res = await gql(DELETE, { t: w.team.teamId, l: w.gcsLocation.id });
    expect(res.body.data.deleteLocation).toEqual({
      __typename: 'DeleteLocationSuccess',
      deletedId: w.gcsLocation.id,
    });
    const again = await gql(DELETE, { t: w.team.teamId, l: w.gcsLocation.id });
    expect(again.body.data.deleteLocation.__typename).toBe('NotFoundError');
    const audit = await auditFor(w.team.teamId, w.gcsLocation.id);
    expect(audit.map((a) => a.event_type)).toEqual(['location_created', 'location_deleted']);
  });
});
