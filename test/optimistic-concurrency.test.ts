import { describe, expect, it } from 'vitest';
import { graphql, rest, useApp } from './support/harness.js';

const t = useApp();

async function newSecret() {
  const team = await t.newTeam();
  const call = rest(t.url, team.ownerKey);
  const created = await call('POST', `/v1/teams/${team.teamId}/secrets`, {
    name: `s-${Math.random().toString(36).slice(2)}`,
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: { access_key_id: 'AKIA1', secret_access_key: 'one' },
  });
  expect(created.status).toBe(201);
  return {
    team,
    call,
    id: created.body.id as string,
    path: `/v1/teams/${team.teamId}/secrets/${created.body.id}`,
  };
}

describe('optimistic concurrency (ETag / If-Match, expectedVersion)', () => {
  it('sends the version as ETag and honours If-Match on PATCH and DELETE', async () => {
    const { call, path } = await newSecret();
    expect((await call('GET', path)).headers.get('etag')).toBe('"1"');

    const ok = await call('PATCH', path, { description: 'a' }, { 'if-match': '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');

    const stale = await call('PATCH', path, { description: 'b' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toEqual({ detail: expect.stringContaining('2'), current_version: 2 });
    expect((await call('GET', path)).body.description).toBe('a');

    expect((await call('PATCH', path, { description: 'c' }, { 'if-match': 'W/"2"' })).status).toBe(200);
    expect((await call('PATCH', path, { description: 'd' }, { 'if-match': 'nonsense' })).status).toBe(412);
    expect((await call('PATCH', path, { description: 'e' }, { 'if-match': '*' })).status).toBe(200);

    expect((await call('DELETE', path, undefined, { 'if-match': '"1"' })).status).toBe(412);
    expect((await call('DELETE', path, undefined, { 'if-match': '"4"' })).status).toBe(204);
  });

  it('returns VersionConflictError on GraphQL when expectedVersion is stale', async () => {
    const { team, id } = await newSecret();
    const gql = graphql(t.url, team.ownerKey);
    const mutation = `mutation($t: ID!, $s: ID!, $v: Int) {
      updateSecret(teamId: $t, secretId: $s, input: { description: "x" }, expectedVersion: $v) {
        __typename ... on UpdateSecretSuccess { secret { version } } ... on VersionConflictError { currentVersion message }
      } }`;
    const first = await gql(mutation, { t: team.teamId, s: id, v: 1 });
    expect(first.body.data.updateSecret).toEqual({
      __typename: 'UpdateSecretSuccess',
      secret: { version: 2 },
    });
    const second = await gql(mutation, { t: team.teamId, s: id, v: 1 });
    expect(second.body.data.updateSecret).toMatchObject({
      __typename: 'VersionConflictError',
      currentVersion: 2,
    });
  });

  it('lets exactly one of many concurrent conditional updates win', async () => {
    const { call, path } = await newSecret();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(
          'PATCH',
          path,
          { credentials: { access_key_id: `AKIA${i}`, secret_access_key: `s${i}` } },
          { 'if-match': '"1"' },
        ),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(39);
    expect((await call('GET', path)).headers.get('etag')).toBe('"2"');
  });

  it('serializes unconditional concurrent updates without losing any', async () => {
    const { call, path } = await newSecret();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call('PATCH', path, { description: `d${i}` })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results
      .map((r) => Number(r.headers.get('etag')?.replaceAll('"', '')))
      .sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
  });
});

describe('dry run', () => {
  it('runs every check and previews the change without writing (REST)', async () => {
    const { team, call, path, id } = await newSecret();
    const preview = await call('PATCH', `${path}?dry_run=true`, {
      name: 'renamed',
      credentials: { access_key_id: 'AKIA2', secret_access_key: 'two' },
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      name: 'renamed',
      dry_run: true,
      changed_fields: ['name', 'credentials'],
    });
    const after = await call('GET', path);
    expect(after.body.name).not.toBe('renamed');
    expect(after.headers.get('etag')).toBe('"1"');
    const rows = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute('select credential_version from secrets where id = ?', [id]);
    expect(rows[0].credential_version).toBe(1);
    const audit = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute(
        "select count(*)::int as n from audit_events where resource_id = ? and event_type = 'secret_updated'",
        [id],
      );
    expect(audit[0].n).toBe(0);

    const other = await call('POST', `/v1/teams/${team.teamId}/secrets`, {
      name: 'taken',
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: { access_key_id: 'AKIA3', secret_access_key: 'three' },
    });
    expect(other.status).toBe(201);
    expect((await call('PATCH', `${path}?dry_run=true`, { name: 'taken' })).status).toBe(409);
    expect((await call('PATCH', `${path}?dry_run=maybe`, { name: 'x' })).body.detail[0].loc).toEqual([
      'query',
      'dry_run',
    ]);
  });

  it('previews on GraphQL with dryRun: true', async () => {
    const { team, id, call, path } = await newSecret();
    const result = await graphql(t.url, team.ownerKey)(
      `mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: { description: "new" }, dryRun: true) {
        __typename ... on UpdateSecretSuccess { dryRun changedFields secret { description version } } } }`,
      { t: team.teamId, s: id },
    );
    expect(result.body.data.updateSecret).toEqual({
      __typename: 'UpdateSecretSuccess',
      dryRun: true,
      changedFields: ['description'],
      secret: { description: 'new', version: 2 },
    });
    expect((await call('GET', path)).body.description).toBeNull();
  });
});
