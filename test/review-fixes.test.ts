/**
 * Edges found by reading the contract against the unit-of-work code: a vault connection deleted
 * while a secret is created on it, a rollback version beyond PostgreSQL's int, field-mapping bounds
 * on both doors, `vault_connection_id: null` on PATCH, REST error paths inside credentials, and the
 * audit event of a GraphQL vault connection created without a description.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { ONEPASSWORD_MAPPINGS, vaultSecretBody } from './support/bodies.js';
import { unique } from './support/constants.js';
import { createNativeSecret, createVaultConnection } from './support/factories.js';
import { graphql as gql, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();
const NATIVE = { credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'secret-value' } };
let team: TestTeam;
beforeAll(async () => {
  team = await t.newTeam();
});

describe('a vault connection deleted while secrets are created on it', () => {
  it('answers 201/422 to the creates and 204/409 to the delete, never 500, and leaves no secret on a deleted connection', async () => {
    for (let round = 0; round < 5; round++) {
      const connectionId = (await createVaultConnection(t, team)).id;
      const call = rest(t.url, team.ownerKey);
      const [deleted, ...created] = await Promise.all([
        call('DELETE', `/v1/teams/${team.teamId}/vault-connections/${connectionId}`),
        ...Array.from({ length: 4 }, () =>
          call(
            'POST',
            `/v1/teams/${team.teamId}/secrets`,
            vaultSecretBody(connectionId, ONEPASSWORD_MAPPINGS),
          ),
        ),
      ]);
      expect([204, 409], deleted.text).toContain(deleted.status);
      for (const res of created) expect([201, 422], res.text).toContain(res.status);
      const secrets = await autocommit(t.app.db.orm)<{ id: string }>(
        'select id from secrets where vault_connection_id = $1',
        [connectionId],
      );
      expect(secrets.length).toBe(created.filter((res) => res.status === 201).length);
      if (deleted.status === 204) expect(secrets).toEqual([]);
      else expect(secrets.length).toBeGreaterThan(0);
    }
  });
});

describe('input bounds', () => {
  it('REST rollback: a version beyond PostgreSQL int is a 422 at body.version', async () => {
    const secretId = (await createNativeSecret(t, team, NATIVE)).id;
    const res = await rest(t.url, team.ownerKey)(
      'POST',
      `/v1/teams/${team.teamId}/secrets/${secretId}/rollback`,
      { version: 3_000_000_000 },
    );
    expect(res.status, res.text).toBe(422);
    expect(res.body.detail[0].loc).toEqual(['body', 'version']);
  });

  it('GraphQL refuses field mappings REST refuses: a reference over 1000 characters, more than 16 mappings', async () => {
    const connectionId = (await createVaultConnection(t, team)).id;
    const create = (fieldMappings: unknown) =>
      gql(t.url, team.ownerKey)(
        `mutation($teamId: ID!, $input: CreateSecretInput!) {
          createSecret(teamId: $teamId, input: $input) {
            __typename ... on ValidationError { issues { path } }
          }
        }`,
        {
          teamId: team.teamId,
          input: {
            name: unique('gql-vault'),
            secretType: 'S3',
            authMethod: 'S3_ACCESS_KEY',
            value: { vault: { vaultConnectionId: connectionId, fieldMappings } },
          },
        },
      );
    const long = await create([
      { fieldName: 'ACCESS_KEY_ID', reference: `op://Ops/AWS/${'x'.repeat(1000)}` },
      { fieldName: 'SECRET_ACCESS_KEY', reference: 'op://Ops/AWS/secret_access_key' },
    ]);
    expect(long.body.data.createSecret.__typename, long.text).toBe('ValidationError');
    expect(long.body.data.createSecret.issues[0].path).toEqual([
      'input',
      'value',
      'vault',
      'fieldMappings',
      '0',
      'reference',
    ]);
    const many = await create(
      Array.from({ length: 17 }, () => ({ fieldName: 'ACCESS_KEY_ID', reference: 'op://Ops/AWS/a' })),
    );
    expect(many.body.data.createSecret.__typename, many.text).toBe('ValidationError');
    expect(many.body.data.createSecret.issues[0].path).toEqual(['input', 'value', 'vault', 'fieldMappings']);
    const [{ count }] = await autocommit(t.app.db.orm)<{ count: string }>(
      'select count(*) from secrets where vault_connection_id = $1',
      [connectionId],
    );
    expect(Number(count)).toBe(0);
  });
});

describe('PATCH', () => {
  it('vault_connection_id: null means unchanged; a value is refused', async () => {
    const connectionId = (await createVaultConnection(t, team)).id;
    const created = await rest(t.url, team.ownerKey)(
      'POST',
      `/v1/teams/${team.teamId}/secrets`,
      vaultSecretBody(connectionId, ONEPASSWORD_MAPPINGS),
    );
    expect(created.status, created.text).toBe(201);
    const path = `/v1/teams/${team.teamId}/secrets/${created.body.id}`;
    const kept = await rest(t.url, team.ownerKey)('PATCH', path, {
      vault_connection_id: null,
      description: 'kept',
    });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.body.description).toBe('kept');
    const detail = await rest(t.url, team.ownerKey)('GET', path);
    expect(detail.body.vault_connection_id).toBe(connectionId);
    const moved = await rest(t.url, team.ownerKey)('PATCH', path, { vault_connection_id: connectionId });
    expect(moved.status, moved.text).toBe(422);
    expect(moved.body.detail[0].loc).toEqual(['body', 'vault_connection_id']);
  });

  it('an unknown credential field named "value" is pointed at by its own name', async () => {
    const secretId = (await createNativeSecret(t, team, NATIVE)).id;
    const res = await rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secretId}`, {
      credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'secret-value', value: 'x' },
    });
    expect(res.status, res.text).toBe(422);
    expect(res.body.detail.map((issue: { loc: unknown[] }) => issue.loc)).toContainEqual([
      'body',
      'credentials',
      'value',
    ]);
  });
});

describe('audit', () => {
  it('a vault connection created without a description lists the same fields on both doors', async () => {
    const viaRest = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/vault-connections`, {
      name: unique('rest-vault'),
      vault_type: 'onepassword',
      access_token: 'ops_rest',
    });
    expect(viaRest.status, viaRest.text).toBe(201);
    const viaGraphql = await gql(t.url, team.ownerKey)(
      `mutation($teamId: ID!, $input: CreateVaultConnectionInput!) {
        createVaultConnection(teamId: $teamId, input: $input) {
          __typename ... on CreateVaultConnectionSuccess { vaultConnection { id } }
        }
      }`,
      {
        teamId: team.teamId,
        input: { name: unique('gql-vault'), settings: { onepassword: { accessToken: 'ops_gql' } } },
      },
    );
    const graphqlId = viaGraphql.body.data?.createVaultConnection?.vaultConnection?.id;
    expect(graphqlId, viaGraphql.text).toBeTruthy();
    const changed = async (id: string) => {
      const [row] = await autocommit(t.app.db.orm)<{ changed_fields: string[] }>(
        `select changed_fields from audit_events where resource_id = $1 and event_type = 'vault_connection_created'`,
        [id],
      );
      return row.changed_fields;
    };
    expect(await changed(graphqlId)).toEqual(await changed(viaRest.body.id));
    expect(await changed(graphqlId)).not.toContain('description');
  });
});

describe('another team and a missing scope', () => {
  it('is not found on both doors (the team is checked before the scope), never FORBIDDEN', async () => {
    const other = await t.newTeam();
    const secretId = (await createNativeSecret(t, other, NATIVE)).id;
    const key = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/api-keys`, {
      name: unique('reader'),
      scopes: ['secrets:read'],
    });
    expect(key.status, key.text).toBe(201);
    const readerKey = key.body.full_key as string;

    const viaRest = await rest(t.url, readerKey)('PATCH', `/v1/teams/${other.teamId}/secrets/${secretId}`, {
      name: 'taken-over',
    });
    expect(viaRest.status, viaRest.text).toBe(404);
    const viaGraphql = await gql(t.url, readerKey)(
      `mutation($teamId: ID!, $secretId: ID!) {
        updateSecret(teamId: $teamId, secretId: $secretId, input: { name: "taken-over" }) { __typename }
      }`,
      { teamId: other.teamId, secretId },
    );
    expect(viaGraphql.body.errors, viaGraphql.text).toBeUndefined();
    expect(viaGraphql.body.data.updateSecret.__typename).toBe('NotFoundError');
    // The reader's own team still gets FORBIDDEN for the scope it lacks.
    const own = await gql(t.url, readerKey)(
      `mutation($teamId: ID!, $secretId: ID!) {
        updateSecret(teamId: $teamId, secretId: $secretId, input: { name: "x" }) { __typename }
      }`,
      { teamId: team.teamId, secretId },
    );
    expect(own.body.errors?.[0]?.extensions?.code, own.text).toBe('FORBIDDEN');
  });
});
