/**
 * `idempotencyKey` on every GraphQL mutation: a retry with the same arguments gets the first result
 * (same response JSON, resolved from the stored copy) and writes nothing; other arguments under the
 * same key are a ValidationError; a result holding a one-time secret (a new API key) is never stored,
 * so its retry is a ConflictError, as on the REST door.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseApiKey } from '../src/modules/api-keys/api-key-format.js';
import { unique } from './support/constants.js';
import {
  createApiKey,
  createLocation,
  createNativeSecret,
  createVaultConnection,
} from './support/factories.js';
import { graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

/** Everything a write of the team could change: the audit log and every resource row. */
async function teamState(teamId: string) {
  return {
    audit: await sql('select id from audit_events where team_id = ? order by id', [teamId]),
    secrets: await sql('select * from secrets where team_id = ? order by id', [teamId]),
    locations: await sql('select * from locations where team_id = ? order by id', [teamId]),
    vaultConnections: await sql('select * from vault_connections where team_id = ? order by id', [teamId]),
    // last_used_at is left out: it is written in batches, whenever a key is used.
    apiKeys: await sql(
      'select id, name, scopes, secret_hash, expires_at, revoked_at, rotated_at from api_keys where team_id = ? order by id',
      [teamId],
    ),
  };
}

const newKey = () => `idem-${randomUUID()}`;

const IDEM_CREDENTIALS = { access_key_id: 'AKIA-IDEM', secret_access_key: 'idem-secret' };
const DOPPLER = () => ({
  vault_type: 'doppler',
  access_token: `dp.st.${randomBytes(12).toString('hex')}`,
  project: 'backend',
  config: 'prd',
});
const idemLocation = async (team: TestTeam, secretId: string) =>
  (await createLocation(t, team, secretId, { bucket_name: 'bucket', region: 'eu-west-1' })).id;
const idemApiKey = async (team: TestTeam) => {
  const created = await createApiKey(t, team, ['secrets:read', 'locations:read']);
  return { id: created.id, fullKey: created.full_key };
};
const ERRORS = '... on Error { message } ... on ValidationError { issues { path code } }';
const SECRET =
  'id name description secretType authMethod storage version createdAt createdBy updatedAt updatedBy';
const LOCATION = `id name description locationType secretId secret { ${SECRET} } bucketName region endpointUrl
  createdAt createdBy updatedAt updatedBy`;
const VAULT = `id name description vaultType project config clientId projectId environment secretPath secretCount
  lastVerifiedAt createdAt createdBy updatedAt updatedBy`;
const API_KEY = 'id keyId name scopes expiresAt revokedAt rotatedAt lastUsedAt createdAt createdBy isActive';

interface ReplayCase {
  field: string;
  /** The operation; its variables are the case's plus `k`, the idempotency key. */
  query: string;
  /** Arguments for the first call, and other arguments for the same key. */
  setup(team: TestTeam): Promise<{ vars: Record<string, unknown>; other: Record<string, unknown> }>;
}

const CASES: ReplayCase[] = [
  {
    field: 'createLocation',
    query: `mutation($t: ID!, $i: CreateLocationInput!, $k: String) { createLocation(teamId: $t, input: $i, idempotencyKey: $k) {
      __typename ... on CreateLocationSuccess { location { ${LOCATION} } } ${ERRORS} } }`,
    async setup(team) {
      const secretId = (
        await createNativeSecret(t, team, { description: 'for locations', credentials: IDEM_CREDENTIALS })
      ).id;
      const input = {
        name: unique('gql-location'),
        description: 'made once',
        locationType: 'S3',
        secretId,
        bucketName: 'bucket-1',
        region: 'eu-west-1',
      };
      return { vars: { i: input }, other: { i: { ...input, name: unique('gql-location') } } };
    },
  },
  {
    field: 'updateLocation',
    query: `mutation($t: ID!, $l: ID!, $i: UpdateLocationInput!, $k: String) {
      updateLocation(teamId: $t, locationId: $l, input: $i, idempotencyKey: $k) {
      __typename ... on UpdateLocationSuccess { location { ${LOCATION} } } ${ERRORS} } }`,
    async setup(team) {
      const location = await idemLocation(
        team,
        (await createNativeSecret(t, team, { description: 'for locations', credentials: IDEM_CREDENTIALS }))
          .id,
      );
      return {
        vars: { l: location, i: { name: unique('renamed'), region: null } },
        other: { l: location, i: { name: unique('renamed-again') } },
      };
    },
  },
  {
    field: 'deleteLocation',
    query: `mutation($t: ID!, $l: ID!, $k: String) { deleteLocation(teamId: $t, locationId: $l, idempotencyKey: $k) {
      __typename ... on DeleteLocationSuccess { deletedId } ${ERRORS} } }`,
    async setup(team) {
      const secretId = (
        await createNativeSecret(t, team, { description: 'for locations', credentials: IDEM_CREDENTIALS })
      ).id;
      const [first, second] = [await idemLocation(team, secretId), await idemLocation(team, secretId)];
      return { vars: { l: first }, other: { l: second } };
    },
  },
  {
    field: 'createVaultConnection',
    query: `mutation($t: ID!, $i: CreateVaultConnectionInput!, $k: String) {
      createVaultConnection(teamId: $t, input: $i, idempotencyKey: $k) {
      __typename ... on CreateVaultConnectionSuccess { vaultConnection { ${VAULT} } } ${ERRORS} } }`,
    async setup() {
      const infisical = {
        clientId: randomUUID(),
        clientSecret: `infisical-${randomBytes(12).toString('hex')}`,
        projectId: randomUUID(),
        environment: 'prod',
        secretPath: '/aws',
      };
      const input = { name: unique('gql-vault'), description: 'made once', settings: { infisical } };
      return {
        vars: { i: input },
        other: {
          i: {
            ...input,
            name: unique('gql-vault'),
            settings: { infisical: { ...infisical, environment: 'dev' } },
          },
        },
      };
    },
  },
  {
    field: 'updateVaultConnection',
    query: `mutation($t: ID!, $id: ID!, $i: UpdateVaultConnectionInput!, $k: String) {
      updateVaultConnection(teamId: $t, id: $id, input: $i, idempotencyKey: $k) {
      __typename ... on UpdateVaultConnectionSuccess { vaultConnection { ${VAULT} } } ${ERRORS} } }`,
    async setup(team) {
      const id = (await createVaultConnection(t, team, DOPPLER())).id;
      return {
        vars: { id, i: { name: unique('renamed'), description: 'new' } },
        other: { id, i: { name: unique('renamed'), description: 'other' } },
      };
    },
  },
  {
    field: 'rotateVaultConnection',
    query: `mutation($t: ID!, $id: ID!, $i: RotateVaultConnectionInput!, $k: String) {
      rotateVaultConnection(teamId: $t, id: $id, input: $i, idempotencyKey: $k) {
      __typename ... on RotateVaultConnectionSuccess { vaultConnection { ${VAULT} } } ${ERRORS} } }`,
    async setup(team) {
      const id = (await createVaultConnection(t, team, DOPPLER())).id;
      const token = () => `dp.st.${randomBytes(12).toString('hex')}`;
      return { vars: { id, i: { accessToken: token() } }, other: { id, i: { accessToken: token() } } };
    },
  },
  {
    field: 'deleteVaultConnection',
    query: `mutation($t: ID!, $id: ID!, $k: String) { deleteVaultConnection(teamId: $t, id: $id, idempotencyKey: $k) {
      __typename ... on DeleteVaultConnectionSuccess { deletedId } ${ERRORS} } }`,
    async setup(team) {
      const [first, second] = [
        (await createVaultConnection(t, team, DOPPLER())).id,
        (await createVaultConnection(t, team, DOPPLER())).id,
      ];
      return { vars: { id: first }, other: { id: second } };
    },
  },
  {
    field: 'revokeApiKey',
    query: `mutation($t: ID!, $id: ID!, $k: String) { revokeApiKey(teamId: $t, id: $id, idempotencyKey: $k) {
      __typename ... on RevokeApiKeySuccess { apiKey { ${API_KEY} } } ${ERRORS} } }`,
    async setup(team) {
      const [first, second] = [await idemApiKey(team), await idemApiKey(team)];
      return { vars: { id: first.id }, other: { id: second.id } };
    },
  },
  {
    field: 'deleteApiKey',
    query: `mutation($t: ID!, $id: ID!, $k: String) { deleteApiKey(teamId: $t, id: $id, idempotencyKey: $k) {
      __typename ... on DeleteApiKeySuccess { deletedId } ${ERRORS} } }`,
    async setup(team) {
      const [first, second] = [await idemApiKey(team), await idemApiKey(team)];
      return { vars: { id: first.id }, other: { id: second.id } };
    },
  },
  {
    // The secret mutations use the same helper; their replay resolves the same way.
    field: 'createSecret',
    query: `mutation($t: ID!, $i: CreateSecretInput!, $k: String) { createSecret(teamId: $t, input: $i, idempotencyKey: $k) {
      __typename ... on CreateSecretSuccess { secret { ${SECRET} } } ${ERRORS} } }`,
    async setup() {
      const input = {
        name: unique('gql-secret'),
        secretType: 'S3',
        authMethod: 'S3_ACCESS_KEY',
        value: { credentials: { accessKey: { accessKeyId: 'AKIA-1', secretAccessKey: 'one' } } },
      };
      return { vars: { i: input }, other: { i: { ...input, name: unique('gql-secret') } } };
    },
  },
];

describe('idempotencyKey on every mutation', () => {
  for (const c of CASES) {
    it(`${c.field}: a retry gets the first response and writes nothing; other arguments are a ValidationError`, async () => {
      const team = await t.newTeam();
      const gql = graphql(t.url, team.ownerKey);
      const { vars, other } = await c.setup(team);
      const k = newKey();
      const before = await teamState(team.teamId);

      const first = await gql(c.query, { t: team.teamId, ...vars, k });
      expect(first.body.errors, first.text).toBeUndefined();
      expect(first.body.data[c.field].__typename).toMatch(/Success$/);
      const afterFirst = await teamState(team.teamId);
      expect(afterFirst.audit).toHaveLength(before.audit.length + 1);

      const retry = await gql(c.query, { t: team.teamId, ...vars, k });
      expect(retry.text).toBe(first.text);
      expect(await teamState(team.teamId)).toEqual(afterFirst);

      const reused = await gql(c.query, { t: team.teamId, ...other, k });
      expect(reused.body.data[c.field]).toEqual({
        __typename: 'ValidationError',
        message: expect.any(String),
        issues: [{ path: ['idempotencyKey'], code: 'idempotency_key_reused' }],
      });
      expect(await teamState(team.teamId)).toEqual(afterFirst);

      // Under a fresh key the other arguments are carried out.
      const fresh = await gql(c.query, { t: team.teamId, ...other, k: newKey() });
      expect(fresh.body.data[c.field].__typename, fresh.text).toMatch(/Success$/);
      expect((await teamState(team.teamId)).audit).toHaveLength(afterFirst.audit.length + 1);
    });
  }

  it('a key used by one mutation is refused by another, even with arguments of the same shape', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const { id } = await idemApiKey(team);
    const k = newKey();
    const revoke = CASES.find((c) => c.field === 'revokeApiKey')!;
    const remove = CASES.find((c) => c.field === 'deleteApiKey')!;
    const revoked = await gql(revoke.query, { t: team.teamId, id, k });
    expect(revoked.body.data.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    const deleted = await gql(remove.query, { t: team.teamId, id, k });
    expect(deleted.body.data.deleteApiKey).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['idempotencyKey'], code: 'idempotency_key_reused' }],
    });
    expect(await sql('select revoked_at is not null as revoked from api_keys where id = ?', [id])).toEqual([
      { revoked: true },
    ]);
  });

  it('a malformed key is a ValidationError on the idempotencyKey argument, and nothing is written', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const create = CASES.find((c) => c.field === 'createVaultConnection')!;
    const { vars } = await create.setup(team);
    const before = await teamState(team.teamId);
    for (const k of ['', 'x'.repeat(256), 'with space']) {
      const res = await gql(create.query, { t: team.teamId, ...vars, k });
      expect(res.body.data.createVaultConnection).toMatchObject({
        __typename: 'ValidationError',
        issues: [{ path: ['idempotencyKey'], code: 'value_error' }],
      });
    }
    expect(await teamState(team.teamId)).toEqual(before);
  });
});

describe('mutations returning a one-time secret', () => {
  const CREATE = `mutation($t: ID!, $i: CreateApiKeyInput!, $k: String) { createApiKey(teamId: $t, input: $i, idempotencyKey: $k) {
    __typename ... on CreateApiKeySuccess { fullKey apiKey { ${API_KEY} } } ${ERRORS} } }`;
  const ROTATE = `mutation($t: ID!, $id: ID!, $k: String) { rotateApiKey(teamId: $t, id: $id, idempotencyKey: $k) {
    __typename ... on RotateApiKeySuccess { fullKey apiKey { ${API_KEY} } } ${ERRORS} } }`;
  const ONE_TIME = {
    __typename: 'ConflictError',
    message: 'The response to this request held a one-time secret and cannot be replayed',
  };
  const works = async (teamId: string, key: string) =>
    (await rest(t.url, key)('GET', `/v1/teams/${teamId}/secrets`)).status === 200;

  it('createApiKey: the retry is a ConflictError, no second key is made, and the key is never stored', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const k = newKey();
    const input = { name: unique('gql-key'), scopes: ['secrets:read'] };
    const first = await gql(CREATE, { t: team.teamId, i: input, k });
    const { fullKey } = first.body.data.createApiKey;
    expect(fullKey, first.text).toMatch(/^dr_/);
    const afterFirst = await teamState(team.teamId);

    const retry = await gql(CREATE, { t: team.teamId, i: input, k });
    expect(retry.body.data.createApiKey).toEqual(ONE_TIME);
    expect(await teamState(team.teamId)).toEqual(afterFirst);
    const reused = await gql(CREATE, { t: team.teamId, i: { ...input, name: 'other' }, k });
    expect(reused.body.data.createApiKey).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['idempotencyKey'], code: 'idempotency_key_reused' }],
    });

    const [stored] = await sql('select response::text as response from idempotency_keys where key = ?', [k]);
    expect(stored.response).not.toContain(fullKey);
    expect(stored.response).not.toContain(parseApiKey(fullKey)!.secret);
    expect(JSON.parse(stored.response)).toMatchObject({ replayable: false });
    expect(await works(team.teamId, fullKey)).toBe(true);
  });

  it('rotateApiKey: the retry is a ConflictError and does not rotate again (the first new key keeps working)', async () => {
    const team = await t.newTeam();
    const gql = graphql(t.url, team.ownerKey);
    const { id, fullKey: original } = await idemApiKey(team);
    const k = newKey();
    const first = await gql(ROTATE, { t: team.teamId, id, k });
    const { fullKey } = first.body.data.rotateApiKey;
    expect(fullKey, first.text).toMatch(/^dr_/);
    const afterFirst = await teamState(team.teamId);

    const retry = await gql(ROTATE, { t: team.teamId, id, k });
    expect(retry.body.data.rotateApiKey).toEqual(ONE_TIME);
    expect(await teamState(team.teamId)).toEqual(afterFirst);
    expect(await works(team.teamId, fullKey)).toBe(true);
    expect(await works(team.teamId, original)).toBe(false);

    const [stored] = await sql('select response::text as response from idempotency_keys where key = ?', [k]);
    expect(stored.response).not.toContain(parseApiKey(fullKey)!.secret);
  });
});
