/**
 * Locations as commands (issue 12): the row locks each write takes, and input problems rendered at the
 * field on both doors, every one at once.
 */
import { describe, expect, it } from 'vitest';
import { unique } from './support/constants.js';
import { createLocation, createNativeSecret, GCS_SECRET, S3_COMPATIBLE_SECRET } from './support/factories.js';
import { graphql, recordSql, rest, useApp } from './support/harness.js';

const t = useApp();

/** The statements from `begin` to `commit` (or `rollback`) of the one transaction among `queries`. */
function transactionOf(queries: string[]): string[] {
  const begin = queries.findIndex((q) => /^\s*begin\b/i.test(q));
  const end = queries.findIndex((q, i) => i > begin && /^\s*(commit|rollback)\b/i.test(q));
  expect(begin, queries.join('\n')).toBeGreaterThanOrEqual(0);
  expect(end, queries.join('\n')).toBeGreaterThan(begin);
  return queries.slice(begin, end + 1);
}

const lockingRead = (table: string, mode: 'share' | 'update') =>
  new RegExp(`from\\s+"?${table}"?[\\s\\S]*\\bfor ${mode}\\b`, 'i');

describe('the row locks of location writes', () => {
  it('create holds the secret FOR SHARE in its transaction (a secret_type change waits for it)', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const { result, queries } = await recordSql(t, () =>
      rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/locations`, {
        name: unique('loc'),
        location_type: 's3',
        secret_id: secret.id,
        bucket_name: 'b',
      }),
    );
    expect(result.status, result.text).toBe(201);
    const tx = transactionOf(queries);
    const lock = tx.findIndex((q) => lockingRead('secrets', 'share').test(q));
    const insert = tx.findIndex((q) => /insert into\s+"?locations"?/i.test(q));
    expect(lock, tx.join('\n')).toBeGreaterThan(0);
    expect(insert, tx.join('\n')).toBeGreaterThan(lock);
  });

  it('update locks the location FOR UPDATE and, when it names a secret, holds that secret FOR SHARE', async () => {
    const team = await t.newTeam();
    const [first, second] = [await createNativeSecret(t, team), await createNativeSecret(t, team)];
    const created = await createLocation(t, team, first.id);
    const { result, queries } = await recordSql(t, () =>
      rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/locations/${created.id}`, {
        secret_id: second.id,
      }),
    );
    expect(result.status, result.text).toBe(200);
    expect(result.body.secret_id).toBe(second.id);
    const tx = transactionOf(queries);
    const locationLock = tx.findIndex((q) => lockingRead('locations', 'update').test(q));
    const secretLock = tx.findIndex((q) => lockingRead('secrets', 'share').test(q));
    const write = tx.findIndex((q) => /update\s+"?locations"?\s+set/i.test(q));
    expect(locationLock, tx.join('\n')).toBeGreaterThan(0);
    expect(secretLock, tx.join('\n')).toBeGreaterThan(locationLock);
    expect(write, tx.join('\n')).toBeGreaterThan(secretLock);
  });

  it('delete locks the location FOR UPDATE before removing it', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const created = await createLocation(t, team, secret.id);
    const { result, queries } = await recordSql(t, () =>
      rest(t.url, team.ownerKey)('DELETE', `/v1/teams/${team.teamId}/locations/${created.id}`),
    );
    expect(result.status, result.text).toBe(204);
    const tx = transactionOf(queries);
    const lock = tx.findIndex((q) => lockingRead('locations', 'update').test(q));
    const remove = tx.findIndex((q) => /delete from\s+"?locations"?/i.test(q));
    expect(lock, tx.join('\n')).toBeGreaterThan(0);
    expect(remove, tx.join('\n')).toBeGreaterThan(lock);
  });
});

describe('input problems at the field, on both doors', () => {
  const CREATE = `mutation($t: ID!, $i: CreateLocationInput!) { createLocation(teamId: $t, input: $i) {
    __typename ... on ValidationError { issues { path message code } } } }`;
  const UPDATE = `mutation($t: ID!, $l: ID!, $i: UpdateLocationInput!) { updateLocation(teamId: $t, locationId: $l, input: $i) {
    __typename ... on ValidationError { issues { path message code } } } }`;

  /** REST's 422 details as [path, message, code], with the REST field names camelCased like GraphQL's. */
  const restIssues = (res: { body: any }) =>
    res.body.detail.map((d: any) => [
      d.loc.slice(1).map((p: string) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())),
      d.msg,
      d.type,
    ]);
  const gqlIssues = (res: { body: any }, field: string) =>
    res.body.data[field].issues.map((i: any) => [i.path.slice(1), i.message, i.code]);

  it('every invalid field of a create or an update is reported at once, with the same words as REST', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const bad = {
      secretId: 'a'.repeat(65),
      bucketName: 'b'.repeat(256),
      region: '',
      endpointUrl: `https://${'e'.repeat(2048)}`,
    };
    const snake = {
      secret_id: bad.secretId,
      bucket_name: bad.bucketName,
      region: bad.region,
      endpoint_url: bad.endpointUrl,
    };
    const expected = [
      [['secretId'], 'String should have at most 64 characters', 'string_too_long'],
      [['bucketName'], 'String should have at most 255 characters', 'string_too_long'],
      [['region'], 'String should have at least 1 character', 'string_too_short'],
      [['endpointUrl'], 'String should have at most 2048 characters', 'string_too_long'],
    ];
    const gql = graphql(t.url, team.ownerKey);
    const api = rest(t.url, team.ownerKey);

    const restCreate = await api('POST', `/v1/teams/${team.teamId}/locations`, {
      name: unique('loc'),
      location_type: 's3',
      ...snake,
    });
    expect(restCreate.status, restCreate.text).toBe(422);
    expect(restIssues(restCreate)).toEqual(expected);
    const gqlCreate = await gql(CREATE, {
      t: team.teamId,
      i: { name: unique('loc'), locationType: 'S3', ...bad },
    });
    expect(gqlCreate.body.data.createLocation.__typename, gqlCreate.text).toBe('ValidationError');
    expect(gqlIssues(gqlCreate, 'createLocation')).toEqual(expected);

    const location = await createLocation(t, team, secret.id);
    // PATCH lists its fields in another order: bucket, region, endpoint, secret.
    const expectedUpdate = [expected[1], expected[2], expected[3], expected[0]];
    const restUpdate = await api('PATCH', `/v1/teams/${team.teamId}/locations/${location.id}`, snake);
    expect(restUpdate.status, restUpdate.text).toBe(422);
    expect(restIssues(restUpdate)).toEqual(expectedUpdate);
    const gqlUpdate = await gql(UPDATE, { t: team.teamId, l: location.id, i: bad });
    expect(gqlUpdate.body.data.updateLocation.__typename, gqlUpdate.text).toBe('ValidationError');
    expect(gqlIssues(gqlUpdate, 'updateLocation')).toEqual(expectedUpdate);
  });

  it("the rules' problems on create (endpoint URL, secret) are at the field on both doors", async () => {
    const team = await t.newTeam();
    const [compat, gcs] = [
      await createNativeSecret(t, team, S3_COMPATIBLE_SECRET),
      await createNativeSecret(t, team, GCS_SECRET),
    ];
    const gql = graphql(t.url, team.ownerKey);
    const api = rest(t.url, team.ownerKey);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ location_type: 's3_compatible', secret_id: compat.id }, 'endpointUrl', 'missing'],
      [
        { location_type: 's3_compatible', secret_id: compat.id, endpoint_url: 'ftp://minio.example.com' },
        'endpointUrl',
        'url_parsing',
      ],
      [
        { location_type: 'gcs', secret_id: gcs.id, endpoint_url: 'https://a.example.com' },
        'endpointUrl',
        'value_error',
      ],
      [
        { location_type: 's3_compatible', secret_id: gcs.id, endpoint_url: 'https://a.example.com' },
        'secretId',
        'value_error',
      ],
      [{ location_type: 'gcs', secret_id: 'not-a-uuid' }, 'secretId', 'value_error'],
    ];
    for (const [fields, at, code] of cases) {
      const name = unique('loc');
      const restRes = await api('POST', `/v1/teams/${team.teamId}/locations`, {
        name,
        bucket_name: 'b',
        ...fields,
      });
      expect(restRes.status, restRes.text).toBe(422);
      const [restIssue] = restIssues(restRes);
      expect(restIssue[0], JSON.stringify(fields)).toEqual([at]);
      expect(restIssue[2], JSON.stringify(fields)).toBe(code);

      const input = {
        name,
        bucketName: 'b',
        locationType: String(fields.location_type).toUpperCase(),
        secretId: fields.secret_id,
        ...(fields.endpoint_url !== undefined && { endpointUrl: fields.endpoint_url }),
      };
      const gqlRes = await gql(CREATE, { t: team.teamId, i: input });
      expect(gqlRes.body.data.createLocation.__typename, gqlRes.text).toBe('ValidationError');
      expect(gqlIssues(gqlRes, 'createLocation'), JSON.stringify(fields)).toEqual([restIssue]);
    }
    const listed = await api('GET', `/v1/teams/${team.teamId}/locations`);
    expect(listed.body.pagination.total).toBe(0);
  });
});
