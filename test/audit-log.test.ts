/**
 * The audit log: events written by changes in every resource (here secrets and API keys), read over
 * REST (`GET /v1/teams/{team_id}/audit-logs`) and GraphQL (`auditEvents`), with filters and paging.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ISO_TIMESTAMP, randomS3Credentials, sleep } from './support/constants.js';
import { graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const EVENT_FIELDS = [
  'actor',
  'changed_fields',
  'created_at',
  'event_type',
  'id',
  'ip_address',
  'request_id',
  'resource_id',
  'resource_name',
  'resource_type',
  'user_agent',
].sort();
const USER_AGENT = 'audit-test/1.0 (+vitest)';

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

async function keyRowId(fullKey: string): Promise<string> {
  const [{ id }] = await sql('select id from api_keys where key_id = ?', [fullKey.slice(3, 15)]);
  return id;
}

const logsPath = (team: TestTeam, query = '') =>
  `/v1/teams/${team.teamId}/audit-logs${query ? `?${query}` : ''}`;

interface Story {
  team: TestTeam;
  ownerKeyId: string;
  secretId: string;
  credentials: { access_key_id: string; secret_access_key: string };
  rotatedCredentials: { access_key_id: string; secret_access_key: string };
  createRequestId: string;
  updateRequestId: string;
  apiKeyId: string;
  between: string;
  before: string;
}

/** A team where a secret is created, then renamed with new credentials, then an API key is created and revoked. */
async function story(): Promise<Story> {
  const team = await t.newTeam();
  const call = rest(t.url, team.ownerKey);
  const headers = { 'user-agent': USER_AGENT };
  const credentials = randomS3Credentials();
  const rotatedCredentials = randomS3Credentials();
  const before = new Date(Date.now() - 1).toISOString();
  const created = await call(
    'POST',
    `/v1/teams/${team.teamId}/secrets`,
    { name: 'audited', description: 'd', secret_type: 's3', auth_method: 's3_access_key', credentials },
    headers,
  );
  expect(created.status, created.text).toBe(201);
  const updated = await call(
    'PATCH',
    `/v1/teams/${team.teamId}/secrets/${created.body.id}`,
    { name: 'audited-2', credentials: rotatedCredentials },
    headers,
  );
  expect(updated.status, updated.text).toBe(200);
  await sleep(5);
  const between = new Date().toISOString();
  await sleep(5);
  const key = await call('POST', `/v1/teams/${team.teamId}/api-keys`, {
    name: 'k',
    scopes: ['secrets:read'],
  });
  expect(key.status, key.text).toBe(201);
  const revoked = await call('POST', `/v1/teams/${team.teamId}/api-keys/${key.body.id}/revoke`, {});
  expect(revoked.status, revoked.text).toBe(200);
  return {
    team,
    ownerKeyId: await keyRowId(team.ownerKey),
    secretId: created.body.id,
    credentials,
    rotatedCredentials,
    createRequestId: created.headers.get('x-request-id')!,
    updateRequestId: updated.headers.get('x-request-id')!,
    apiKeyId: key.body.id,
    between,
    before,
  };
}

describe('REST: GET /v1/teams/{team_id}/audit-logs', () => {
  let s: Story;
  beforeAll(async () => {
    s = await story();
  });
  const list = (query = '', key = s.team.ownerKey) => rest(t.url, key)('GET', logsPath(s.team, query));

  it('lists every change, newest first, with actor, request facts and field names only', async () => {
    const response = await list();
    expect(response.status, response.text).toBe(200);
    expect(response.body.pagination).toEqual({ page: 1, limit: 50, total: 4, total_pages: 1 });
    const events = response.body.data;
    expect(events.map((e: { event_type: string }) => e.event_type)).toEqual([
      'api_key_revoked',
      'api_key_created',
      'secret_updated',
      'secret_created',
    ]);
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(EVENT_FIELDS);
      expect(event.actor).toEqual({ type: 'api_key', user_id: s.team.ownerId, api_key_id: s.ownerKeyId });
      expect(event.ip_address).toMatch(/127\.0\.0\.1|::1/);
      expect(event.user_agent).toBeTruthy();
      expect(event.request_id).toBeTruthy();
      expect(event.created_at).toMatch(ISO_TIMESTAMP);
    }
    const updated = events[2];
    expect(updated).toMatchObject({
      resource_type: 'secret',
      resource_id: s.secretId,
      resource_name: 'audited-2',
      user_agent: USER_AGENT,
      request_id: s.updateRequestId,
    });
    expect([...updated.changed_fields].sort()).toEqual(['credentials', 'name']);
    expect(events[3]).toMatchObject({ resource_name: 'audited', request_id: s.createRequestId });
    expect(events[3].changed_fields).toEqual(expect.arrayContaining(['name', 'credentials', 'secret_type']));
    expect(events[0]).toMatchObject({
      resource_type: 'api_key',
      resource_id: s.apiKeyId,
      resource_name: 'k',
      changed_fields: ['revoked_at'],
    });
    // Names only: no credential value appears anywhere in the log.
    for (const value of [...Object.values(s.credentials), ...Object.values(s.rotatedCredentials)]) {
      expect(response.text).not.toContain(value);
    }
  });

  it('the request id is the one the response carried in x-request-id (also when the client sets it)', async () => {
    const requestId = `client-${randomBytes(6).toString('hex')}`;
    const patched = await rest(t.url, s.team.ownerKey)(
      'PATCH',
      `/v1/teams/${s.team.teamId}/secrets/${s.secretId}`,
      { description: 'new' },
      { 'x-request-id': requestId },
    );
    expect(patched.headers.get('x-request-id')).toBe(requestId);
    const latest = await list(`resource_id=${s.secretId}&limit=1`);
    expect(latest.body.data[0]).toMatchObject({
      event_type: 'secret_updated',
      request_id: requestId,
      changed_fields: ['description'],
    });
    // Put the story back as it was for the other tests (4 events): remove the extra one directly.
    await sql('delete from audit_events where request_id = ?', [requestId]);
  });

  it('filters: resource_type, resource_id, event_type, actor ids, from/to', async () => {
    const types = async (query: string) => {
      const response = await list(query);
      expect(response.status, `${query}: ${response.text}`).toBe(200);
      return response.body.data.map((e: { event_type: string }) => e.event_type);
    };
    expect(await types('resource_type=secret')).toEqual(['secret_updated', 'secret_created']);
    expect(await types('resource_type=api_key')).toEqual(['api_key_revoked', 'api_key_created']);
    expect(await types('resource_type=location')).toEqual([]);
    expect(await types(`resource_id=${s.apiKeyId}`)).toEqual(['api_key_revoked', 'api_key_created']);
    expect(await types(`resource_id=${s.secretId.toUpperCase()}`)).toEqual([
      'secret_updated',
      'secret_created',
    ]);
    expect(await types('event_type=secret_updated')).toEqual(['secret_updated']);
    expect(await types(`actor_user_id=${s.team.ownerId}`)).toHaveLength(4);
    expect(await types(`actor_user_id=${randomUUID()}`)).toEqual([]);
    expect(await types(`actor_api_key_id=${s.ownerKeyId}`)).toHaveLength(4);
    expect(await types(`actor_api_key_id=${s.apiKeyId}`)).toEqual([]);
    expect(await types(`from=${encodeURIComponent(s.between)}`)).toEqual([
      'api_key_revoked',
      'api_key_created',
    ]);
    expect(await types(`to=${encodeURIComponent(s.between)}`)).toEqual(['secret_updated', 'secret_created']);
    expect(
      await types(`from=${encodeURIComponent(s.before)}&to=${encodeURIComponent(s.between)}`),
    ).toHaveLength(2);
    // Offsets other than Z are instants too.
    const plusTwo = new Date(new Date(s.between).getTime() + 2 * 3_600_000)
      .toISOString()
      .replace('Z', '+02:00');
    expect(await types(`from=${encodeURIComponent(plusTwo)}`)).toEqual([
      'api_key_revoked',
      'api_key_created',
    ]);
    expect(await types('resource_type=secret&event_type=secret_created')).toEqual(['secret_created']);
    expect(await types('q=Audited')).toEqual(['secret_updated', 'secret_created']);
  });

  it('bad filters are 422 with loc ["query", name]', async () => {
    for (const [query, name] of [
      ['from=yesterday', 'from'],
      ['to=2026-13-01T00:00:00Z', 'to'],
      ['from=2026-01-01', 'from'],
      ['resource_type=team', 'resource_type'],
      ['resource_id=abc', 'resource_id'],
      ['actor_user_id=1', 'actor_user_id'],
      ['actor_api_key_id=x', 'actor_api_key_id'],
      ['event_type=', 'event_type'],
      ['sort_order=newest', 'sort_order'],
      ['sort_by=event_type', 'sort_by'],
      ['page=0', 'page'],
      ['limit=1000', 'limit'],
      ['action=delete', 'action'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
    ]) {
      const response = await list(query);
      expect(response.status, query).toBe(422);
      expect(
        response.body.detail.map((d: { loc: unknown }) => d.loc),
        query,
      ).toContainEqual(['query', name]);
    }
  });

  it('sort_order and paging', async () => {
    const asc = await list('sort_order=asc');
    expect(asc.body.data.map((e: { event_type: string }) => e.event_type)).toEqual([
      'secret_created',
      'secret_updated',
      'api_key_created',
      'api_key_revoked',
    ]);
    const p1 = await list('limit=3&page=1');
    const p2 = await list('limit=3&page=2');
    expect(p1.body.pagination).toEqual({ page: 1, limit: 3, total: 4, total_pages: 2 });
    expect(p1.body.data).toHaveLength(3);
    expect(p2.body.data).toHaveLength(1);
    const all = await list();
    expect([...p1.body.data, ...p2.body.data]).toEqual(all.body.data);
    expect((await list('limit=3&page=5')).body.data).toEqual([]);
  });

  it('needs audit:read (a viewer may read); another team is 404; nothing to update or delete', async () => {
    const viewer = await s.team.keyFor('viewer', ['audit:read']);
    expect((await list('', viewer)).status).toBe(200);
    const noScope = await s.team.keyFor('owner', ['secrets:read']);
    const denied = await list('', noScope);
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('audit:read');
    expect((await rest(t.url)('GET', logsPath(s.team))).status).toBe(401);

    const other = await t.newTeam();
    const foreign = await rest(t.url, other.ownerKey)('GET', logsPath(s.team));
    const unknown = await rest(t.url, other.ownerKey)('GET', `/v1/teams/${randomUUID()}/audit-logs`);
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe(unknown.text);
    // And the other team's own log does not contain this team's events.
    const own = await rest(t.url, other.ownerKey)('GET', logsPath(other));
    expect(own.body.data).toEqual([]);

    const [{ id: eventId }] = await sql('select id from audit_events where team_id = ? limit 1', [
      s.team.teamId,
    ]);
    for (const [method, path] of [
      ['DELETE', logsPath(s.team)],
      ['PATCH', logsPath(s.team)],
      ['POST', logsPath(s.team)],
      ['DELETE', `${logsPath(s.team)}/${eventId}`],
      ['PATCH', `${logsPath(s.team)}/${eventId}`],
    ]) {
      const response = await rest(t.url, s.team.ownerKey)(method, path, method === 'DELETE' ? undefined : {});
      expect([404, 405], `${method} ${path}`).toContain(response.status);
    }
    expect((await list()).body.pagination.total).toBe(4);
  });

  it('a refused change writes no event (the event commits with the change)', async () => {
    const before = (await list()).body.pagination.total;
    const clash = await rest(t.url, s.team.ownerKey)('POST', `/v1/teams/${s.team.teamId}/secrets`, {
      name: 'audited-2',
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: randomS3Credentials(),
    });
    expect(clash.status).toBe(409);
    const invalid = await rest(t.url, s.team.ownerKey)('POST', `/v1/teams/${s.team.teamId}/api-keys`, {
      name: 'x',
      scopes: ['nope'],
    });
    expect(invalid.status).toBe(422);
    expect((await list()).body.pagination.total).toBe(before);
  });
});

describe('GraphQL: auditEvents', () => {
  const QUERY = `query($t: ID!, $first: Int, $after: String, $f: AuditEventFilter, $o: SortOrder) {
    auditEvents(teamId: $t, first: $first, after: $after, filter: $f, sortOrder: $o) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id eventType resourceType resourceId resourceName changedFields ipAddress userAgent requestId createdAt
        actor { type userId apiKeyId } }
    } }`;

  it('lists the same events as REST, with filters and paging', async () => {
    const s = await story();
    const gql = graphql(t.url, s.team.ownerKey);
    const all = await gql(QUERY, { t: s.team.teamId });
    expect(all.body.errors).toBeUndefined();
    const connection = all.body.data.auditEvents;
    expect(connection.totalCount).toBe(4);
    const restList = await rest(t.url, s.team.ownerKey)('GET', logsPath(s.team));
    expect(connection.nodes.map((n: { id: string }) => n.id)).toEqual(
      restList.body.data.map((e: { id: string }) => e.id),
    );
    expect(connection.nodes[2]).toMatchObject({
      eventType: 'secret_updated',
      resourceType: 'SECRET',
      resourceId: s.secretId,
      resourceName: 'audited-2',
      userAgent: USER_AGENT,
      requestId: s.updateRequestId,
      actor: { type: 'API_KEY', userId: s.team.ownerId, apiKeyId: s.ownerKeyId },
    });

    const names = async (variables: Record<string, unknown>) => {
      const response = await gql(QUERY, { t: s.team.teamId, ...variables });
      expect(response.body.errors, JSON.stringify(variables)).toBeUndefined();
      return response.body.data.auditEvents.nodes.map((n: { eventType: string }) => n.eventType);
    };
    expect(await names({ f: { resourceType: 'API_KEY' } })).toEqual(['api_key_revoked', 'api_key_created']);
    expect(await names({ f: { resourceId: s.secretId, eventType: 'secret_created' } })).toEqual([
      'secret_created',
    ]);
    expect(await names({ f: { actorUserId: s.team.ownerId } })).toHaveLength(4);
    expect(await names({ f: { actorApiKeyId: s.apiKeyId } })).toEqual([]);
    expect(await names({ f: { from: s.between } })).toEqual(['api_key_revoked', 'api_key_created']);
    expect(await names({ f: { from: s.before, to: s.between } })).toEqual([
      'secret_updated',
      'secret_created',
    ]);
    expect(await names({ o: 'ASC', first: 1 })).toEqual(['secret_created']);
    expect(await names({ f: { q: 'AUDITED-2' } })).toEqual(['secret_updated']);

    const page1 = (await gql(QUERY, { t: s.team.teamId, first: 3 })).body.data.auditEvents;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await gql(QUERY, { t: s.team.teamId, first: 3, after: page1.pageInfo.endCursor })).body
      .data.auditEvents;
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...page1.nodes, ...page2.nodes].map((n: { id: string }) => n.id)).toEqual(
      connection.nodes.map((n: { id: string }) => n.id),
    );
  });

  it('bad filters are input errors; another team is NOT_FOUND; a key without audit:read is FORBIDDEN', async () => {
    const s = await story();
    const gql = graphql(t.url, s.team.ownerKey);
    const badId = await gql(QUERY, { t: s.team.teamId, f: { resourceId: 'nope' } });
    expect(badId.body.errors?.[0]).toBeDefined();
    expect(badId.body.data?.auditEvents ?? null).toBeNull();
    const badDate = await gql(QUERY, { t: s.team.teamId, f: { from: 'yesterday' } });
    expect(badDate.body.errors?.[0]).toBeDefined();
    const reversed = await gql(QUERY, {
      t: s.team.teamId,
      f: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' },
    });
    expect(reversed.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');

    const other = await t.newTeam();
    const foreign = await graphql(t.url, other.ownerKey)(QUERY, { t: s.team.teamId });
    const unknownTeam = await graphql(t.url, other.ownerKey)(QUERY, { t: randomUUID() });
    expect(foreign.body.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect(foreign.body.data).toBeNull();
    expect(foreign.text).toBe(unknownTeam.text);

    const noScope = await s.team.keyFor('admin', ['secrets:read']);
    const denied = await graphql(t.url, noScope)(QUERY, { t: s.team.teamId });
    expect(denied.body.errors?.[0].extensions.code).toBe('FORBIDDEN');
    const anonymous = await graphql(t.url)(QUERY, { t: s.team.teamId });
    expect(anonymous.body.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
