/**
 * Tenancy, identity and authorization (docs/contract.md, "1. Tenancy, identity, authorization") on both doors, for every endpoint that exists:
 * REST POST/GET/PATCH secrets, POST locations, POST vault-connections; GraphQL createSecret,
 * updateSecret, createLocation, createVaultConnection and secret(teamId, id).
 *
 * Every refusal is also checked to have written nothing (rows, audit events, credential blobs).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomS3Credentials, unique } from './support/constants.js';
import { createNativeSecret } from './support/factories.js';
import { queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

const ALL_SCOPES = [
  'secrets:read',
  'secrets:create',
  'secrets:update',
  'secrets:delete',
  'locations:read',
  'locations:create',
  'locations:update',
  'locations:delete',
  'vault_connections:read',
  'vault_connections:create',
  'vault_connections:update',
  'vault_connections:delete',
  'api_keys:read',
  'api_keys:create',
  'api_keys:delete',
  'audit:read',
];

// ---------------------------------------------------------------------------------------------
// Helpers

type Response = { status: number; body: any; text: string };

/** A REST call with an arbitrary Authorization header value (or none). */
async function restAs(authorization: string | undefined, method: string, path: string, body?: unknown) {
  const call = rest(t.url);
  return call(method, path, body, authorization === undefined ? {} : { authorization });
}

/** A GraphQL call with an arbitrary Authorization header value (or none). */
async function gqlAs(
  authorization: string | undefined,
  query: string,
  variables: Record<string, unknown>,
): Promise<Response> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text };
}

const bearer = (key: string) => `Bearer ${key}`;
const keyIdOf = (key: string) => key.slice(3, 15);

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

interface World {
  team: TestTeam;
  other: TestTeam;
  /** A native s3 secret in `team`. */
  secretId: string;
  /** A native s3 secret in `other`. */
  otherSecretId: string;
}

async function world(): Promise<World> {
  const team = await t.newTeam();
  const other = await t.newTeam();
  const make = async (owner: TestTeam) => {
    const created = await createNativeSecret(t, owner, {
      name: unique('base'),
      description: 'original description',
      credentials: randomS3Credentials(),
    });
    return created.id;
  };
  return { team, other, secretId: await make(team), otherSecretId: await make(other) };
}

/** Everything a request could have written for a team: rows, audit events and credential blobs. */
async function teamState(teamId: string) {
  const [secrets, locations, connections, audit, blobs] = await Promise.all([
    sql(
      `select id, name, description, secret_type, auth_method, credential_version, version, updated_at, updated_by
         from secrets where team_id = ? order by id`,
      [teamId],
    ),
    sql('select id, name, secret_id, updated_at from locations where team_id = ? order by id', [teamId]),
    sql(
      'select id, name, credential_version, updated_at from vault_connections where team_id = ? order by id',
      [teamId],
    ),
    sql('select count(*)::int as n from audit_events where team_id = ?', [teamId]),
    sql('select ref, version from credential_blobs where ref like ? order by ref, version', [
      `teams/${teamId}/%`,
    ]),
  ]);
  return JSON.parse(JSON.stringify({ secrets, locations, connections, audit, blobs }));
}

/** Snapshot both teams plus the secret as its owner reads it over REST. */
async function snapshot(w: World) {
  const read = await rest(t.url, w.team.ownerKey)('GET', `/v1/teams/${w.team.teamId}/secrets/${w.secretId}`);
  const otherRead = await rest(t.url, w.other.ownerKey)(
    'GET',
    `/v1/teams/${w.other.teamId}/secrets/${w.otherSecretId}`,
  );
  expect(read.status).toBe(200);
  expect(otherRead.status).toBe(200);
  return {
    read: read.body,
    otherRead: otherRead.body,
    team: await teamState(w.team.teamId),
    other: await teamState(w.other.teamId),
  };
}

// ---------------------------------------------------------------------------------------------
// The operations under test, on both doors. Each one, when allowed, changes something visible.

interface Target {
  teamId: string;
  secretId: string;
  /** A secret usable as a location's secret_id (same team as teamId when allowed). */
  linkSecretId: string;
}

interface RestOp {
  name: string;
  kind: 'read' | 'write';
  scope: string;
  call(authorization: string | undefined, target: Target): Promise<Response>;
}

const REST_OPS: RestOp[] = [
  {
    name: 'POST /secrets',
    kind: 'write',
    scope: 'secrets:create',
    call: (auth, { teamId }) =>
      restAs(auth, 'POST', `/v1/teams/${teamId}/secrets`, {
        name: unique('new-secret'),
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: randomS3Credentials(),
      }),
  },
  {
    name: 'GET /secrets/{id}',
    kind: 'read',
    scope: 'secrets:read',
    call: (auth, { teamId, secretId }) => restAs(auth, 'GET', `/v1/teams/${teamId}/secrets/${secretId}`),
  },
  {
    name: 'PATCH /secrets/{id}',
    kind: 'write',
    scope: 'secrets:update',
    call: (auth, { teamId, secretId }) =>
      restAs(auth, 'PATCH', `/v1/teams/${teamId}/secrets/${secretId}`, {
        name: unique('renamed'),
        description: 'changed by an attacker',
        credentials: randomS3Credentials(),
      }),
  },
  {
    name: 'POST /locations',
    kind: 'write',
    scope: 'locations:create',
    call: (auth, { teamId, linkSecretId }) =>
      restAs(auth, 'POST', `/v1/teams/${teamId}/locations`, {
        name: unique('loc'),
        location_type: 's3',
        secret_id: linkSecretId,
        bucket_name: 'bucket-a',
        region: 'eu-west-1',
      }),
  },
  {
    name: 'POST /vault-connections',
    kind: 'write',
    scope: 'vault_connections:create',
    call: (auth, { teamId }) =>
      restAs(auth, 'POST', `/v1/teams/${teamId}/vault-connections`, {
        name: unique('vault'),
        vault_type: 'onepassword',
        access_token: `ops_${randomBytes(16).toString('hex')}`,
      }),
  },
];

const SECRET_FIELDS = 'id name description secretType authMethod storage createdAt updatedAt';

interface GqlOp {
  name: string;
  kind: 'read' | 'write';
  scope: string;
  /** The top-level field, to look at `data[field]`. */
  field: string;
  call(authorization: string | undefined, target: Target): Promise<Response>;
  /** The __typename of success, or null for the `secret` query (which returns the object). */
  success: string | null;
}

const GQL_OPS: GqlOp[] = [
  {
    name: 'createSecret',
    kind: 'write',
    scope: 'secrets:create',
    field: 'createSecret',
    success: 'CreateSecretSuccess',
    call: (auth, { teamId }) => {
      const c = randomS3Credentials();
      return gqlAs(
        auth,
        `mutation($t: ID!, $i: CreateSecretInput!) { createSecret(teamId: $t, input: $i) {
          __typename ... on CreateSecretSuccess { secret { ${SECRET_FIELDS} } } ... on Error { message } } }`,
        {
          t: teamId,
          i: {
            name: unique('gql-secret'),
            secretType: 'S3',
            authMethod: 'S3_ACCESS_KEY',
            value: {
              credentials: {
                accessKey: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key },
              },
            },
          },
        },
      );
    },
  },
  {
    name: 'updateSecret',
    kind: 'write',
    scope: 'secrets:update',
    field: 'updateSecret',
    success: 'UpdateSecretSuccess',
    call: (auth, { teamId, secretId }) => {
      const c = randomS3Credentials();
      return gqlAs(
        auth,
        `mutation($t: ID!, $s: ID!, $i: UpdateSecretInput!) { updateSecret(teamId: $t, secretId: $s, input: $i) {
          __typename ... on UpdateSecretSuccess { secret { ${SECRET_FIELDS} } } ... on Error { message } } }`,
        {
          t: teamId,
          s: secretId,
          i: {
            name: unique('gql-renamed'),
            description: 'changed by an attacker',
            value: {
              credentials: {
                accessKey: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key },
              },
            },
          },
        },
      );
    },
  },
  {
    name: 'createLocation',
    kind: 'write',
    scope: 'locations:create',
    field: 'createLocation',
    success: 'CreateLocationSuccess',
    call: (auth, { teamId, linkSecretId }) =>
      gqlAs(
        auth,
        `mutation($t: ID!, $i: CreateLocationInput!) { createLocation(teamId: $t, input: $i) {
          __typename ... on CreateLocationSuccess { location { id name secretId bucketName } } ... on Error { message } } }`,
        {
          t: teamId,
          i: { name: unique('gql-loc'), locationType: 'S3', secretId: linkSecretId, bucketName: 'bucket-b' },
        },
      ),
  },
  {
    name: 'createVaultConnection',
    kind: 'write',
    scope: 'vault_connections:create',
    field: 'createVaultConnection',
    success: 'CreateVaultConnectionSuccess',
    call: (auth, { teamId }) =>
      gqlAs(
        auth,
        `mutation($t: ID!, $i: CreateVaultConnectionInput!) { createVaultConnection(teamId: $t, input: $i) {
          __typename ... on CreateVaultConnectionSuccess { vaultConnection { id name vaultType } } ... on Error { message } } }`,
        {
          t: teamId,
          i: {
            name: unique('gql-vault'),
            settings: { onepassword: { accessToken: `ops_${randomBytes(16).toString('hex')}` } },
          },
        },
      ),
  },
  {
    name: 'secret(teamId, id)',
    kind: 'read',
    scope: 'secrets:read',
    field: 'secret',
    success: null,
    call: (auth, { teamId, secretId }) =>
      gqlAs(auth, `query($t: ID!, $s: ID!) { secret(teamId: $t, id: $s) { ${SECRET_FIELDS} } }`, {
        t: teamId,
        s: secretId,
      }),
  },
];

const own = (w: World): Target => ({ teamId: w.team.teamId, secretId: w.secretId, linkSecretId: w.secretId });

function expectGqlTopLevelError(response: Response, op: GqlOp, code: string) {
  expect(response.status, response.text).toBeLessThan(500);
  const errors = response.body.errors ?? [];
  expect(errors.length, response.text).toBeGreaterThan(0);
  expect(
    errors.map((e: any) => e.extensions?.code),
    response.text,
  ).toContain(code);
  for (const error of errors) {
    expect(typeof error.message).toBe('string');
    expect(error.extensions?.exception).toBeUndefined();
    expect(error.extensions?.stacktrace).toBeUndefined();
  }
  // No data leak: the field is null (or the whole data is null for a non-null mutation result).
  expect(response.body.data?.[op.field] ?? null, response.text).toBeNull();
}

// ---------------------------------------------------------------------------------------------

describe('positive control: every operation succeeds for a properly authorized key', () => {
  it('REST operations succeed with an admin key carrying the scopes', async () => {
    const w = await world();
    const admin = await w.team.keyFor('admin', ALL_SCOPES);
    for (const op of REST_OPS) {
      const response = await op.call(bearer(admin), own(w));
      expect(response.status, `${op.name}: ${response.text}`).toBe(op.name.startsWith('POST') ? 201 : 200);
    }
  });

  it('GraphQL operations succeed with an admin key carrying the scopes', async () => {
    const w = await world();
    const admin = await w.team.keyFor('admin', ALL_SCOPES);
    for (const op of GQL_OPS) {
      const response = await op.call(bearer(admin), own(w));
      expect(response.body.errors, `${op.name}: ${response.text}`).toBeUndefined();
      if (op.success) expect(response.body.data[op.field].__typename, op.name).toBe(op.success);
      else expect(response.body.data[op.field].id, op.name).toBe(w.secretId);
    }
  });

  it('reads need only viewer: a viewer key with secrets:read reads the secret on both doors', async () => {
    const w = await world();
    const viewer = await w.team.keyFor('viewer', ['secrets:read']);
    const read = await REST_OPS[1].call(bearer(viewer), own(w));
    expect(read.status, read.text).toBe(200);
    expect(read.body.id).toBe(w.secretId);
    const gql = await GQL_OPS[4].call(bearer(viewer), own(w));
    expect(gql.body.errors, gql.text).toBeUndefined();
    expect(gql.body.data.secret.id).toBe(w.secretId);
  });
});

describe('401: missing, malformed, unknown, revoked or expired keys', () => {
  /** Each case yields the Authorization header value to send (undefined: no header). */
  const cases: [string, (w: World) => Promise<string | undefined>][] = [
    ['no Authorization header', async () => undefined],
    ['Bearer with garbage', async () => 'Bearer garbage'],
    ['Bearer with nothing after it', async () => 'Bearer '],
    ['wrong scheme (Token) with a real key', async (w) => `Token ${w.team.ownerKey}`],
    ['Basic scheme', async () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a real key without the Bearer scheme', async (w) => w.team.ownerKey],
    ['wrong key prefix (xx_ instead of dr_)', async (w) => bearer(`xx_${w.team.ownerKey.slice(3)}`)],
    [
      'a well-formed key that does not exist',
      async () => {
        const keyId = randomBytes(12)
          .toString('base64')
          .replace(/[^A-Za-z0-9]/g, 'a')
          .slice(0, 12);
        return bearer(`dr_${keyId}_${randomBytes(32).toString('base64url')}`);
      },
    ],
    [
      'a real key id with a different secret',
      async (w) => bearer(`dr_${keyIdOf(w.team.ownerKey)}_${randomBytes(32).toString('base64url')}`),
    ],
    [
      'a real key with one character of the secret changed',
      async (w) => {
        const key = w.team.ownerKey;
        const i = 16 + 20; // somewhere in the middle of the 43-character secret
        const changed = key[i] === 'A' ? 'B' : 'A';
        return bearer(key.slice(0, i) + changed + key.slice(i + 1));
      },
    ],
    ['a real key with a character appended', async (w) => bearer(`${w.team.ownerKey}A`)],
    [
      'a revoked key',
      async (w) => {
        const key = await w.team.keyFor('admin', ALL_SCOPES);
        // It works before it is revoked.
        expect((await REST_OPS[1].call(bearer(key), own(w))).status).toBe(200);
        await sql('update api_keys set revoked_at = now() where key_id = ?', [keyIdOf(key)]);
        return bearer(key);
      },
    ],
    [
      'an expired key',
      async (w) => {
        const key = await w.team.keyFor('admin', ALL_SCOPES);
        expect((await REST_OPS[1].call(bearer(key), own(w))).status).toBe(200);
        await sql("update api_keys set expires_at = now() - interval '1 minute' where key_id = ?", [
          keyIdOf(key),
        ]);
        return bearer(key);
      },
    ],
  ];

  it.each(cases)(
    'REST: %s → 401 {"detail":"Not authenticated"} on every endpoint, nothing written',
    async (_, make) => {
      const w = await world();
      const authorization = await make(w);
      const before = await snapshot(w);
      for (const op of REST_OPS) {
        const response = await op.call(authorization, own(w));
        expect(response.status, `${op.name}: ${response.text}`).toBe(401);
        expect(response.body, op.name).toEqual({ detail: 'Not authenticated' });
      }
      expect(await snapshot(w)).toEqual(before);
    },
  );

  it.each(cases)('GraphQL: %s → UNAUTHENTICATED, no data, nothing written', async (_, make) => {
    const w = await world();
    const authorization = await make(w);
    const before = await snapshot(w);
    for (const op of GQL_OPS) {
      const response = await op.call(authorization, own(w));
      expectGqlTopLevelError(response, op, 'UNAUTHENTICATED');
      expect(response.text, op.name).not.toContain(before.read.name);
    }
    expect(await snapshot(w)).toEqual(before);
  });

  it('a key with a future expires_at still works (the expiry check is not "any expiry fails")', async () => {
    const w = await world();
    const key = await w.team.keyFor('admin', ALL_SCOPES);
    await sql("update api_keys set expires_at = now() + interval '1 hour' where key_id = ?", [keyIdOf(key)]);
    const read = await REST_OPS[1].call(bearer(key), own(w));
    expect(read.status, read.text).toBe(200);
  });
});

describe('403: valid key without the scope or the role', () => {
  const restFor = (name: string) => REST_OPS.find((o) => o.name === name)!;
  const gqlFor = (name: string) => GQL_OPS.find((o) => o.name === name)!;

  it('a key with only secrets:read cannot PATCH (REST and GraphQL); nothing written', async () => {
    const w = await world();
    const key = await w.team.keyFor('owner', ['secrets:read']);
    const before = await snapshot(w);
    const patch = await restFor('PATCH /secrets/{id}').call(bearer(key), own(w));
    expect(patch.status, patch.text).toBe(403);
    expect(Object.keys(patch.body)).toEqual(['detail']);
    expect(typeof patch.body.detail).toBe('string');
    expect(patch.body.detail.length).toBeGreaterThan(0);
    expectGqlTopLevelError(
      await gqlFor('updateSecret').call(bearer(key), own(w)),
      gqlFor('updateSecret'),
      'FORBIDDEN',
    );
    expect(await snapshot(w)).toEqual(before);
  });

  it('each operation is refused (403 / FORBIDDEN) to an owner key that lacks exactly its scope', async () => {
    const w = await world();
    const before = await snapshot(w);
    for (const op of REST_OPS) {
      const key = await w.team.keyFor(
        'owner',
        ALL_SCOPES.filter((s) => s !== op.scope),
      );
      const response = await op.call(bearer(key), own(w));
      expect(response.status, `${op.name}: ${response.text}`).toBe(403);
      expect(typeof response.body.detail, op.name).toBe('string');
    }
    for (const op of GQL_OPS) {
      const key = await w.team.keyFor(
        'owner',
        ALL_SCOPES.filter((s) => s !== op.scope),
      );
      expectGqlTopLevelError(await op.call(bearer(key), own(w)), op, 'FORBIDDEN');
    }
    expect(await snapshot(w)).toEqual(before);
  });

  it.each(['viewer', 'operator'] as const)(
    'a %s member key holding every scope can read but cannot write; nothing written',
    async (role) => {
      const w = await world();
      const key = await w.team.keyFor(role, ALL_SCOPES);
      const before = await snapshot(w);
      for (const op of REST_OPS) {
        const response = await op.call(bearer(key), own(w));
        if (op.kind === 'read') {
          expect(response.status, `${op.name}: ${response.text}`).toBe(200);
        } else {
          expect(response.status, `${op.name}: ${response.text}`).toBe(403);
          expect(typeof response.body.detail, op.name).toBe('string');
        }
      }
      for (const op of GQL_OPS) {
        const response = await op.call(bearer(key), own(w));
        if (op.kind === 'read') {
          expect(response.body.errors, response.text).toBeUndefined();
          expect(response.body.data.secret.id).toBe(w.secretId);
        } else {
          expectGqlTopLevelError(response, op, 'FORBIDDEN');
        }
      }
      expect(await snapshot(w)).toEqual(before);
    },
  );

  it('a viewer key with secrets:update doing a PATCH gets 403 (REST) and FORBIDDEN (GraphQL)', async () => {
    const w = await world();
    const key = await w.team.keyFor('viewer', ['secrets:read', 'secrets:update']);
    const before = await snapshot(w);
    const patch = await restFor('PATCH /secrets/{id}').call(bearer(key), own(w));
    expect(patch.status, patch.text).toBe(403);
    expect(typeof patch.body.detail).toBe('string');
    expectGqlTopLevelError(
      await gqlFor('updateSecret').call(bearer(key), own(w)),
      gqlFor('updateSecret'),
      'FORBIDDEN',
    );
    expect(await snapshot(w)).toEqual(before);
  });

  it('a key whose creator is no longer a member is refused everything, reads included', async () => {
    const w = await world();
    const key = await w.team.keyFor('admin', ALL_SCOPES);
    // Works while the creator is a member.
    expect((await restFor('GET /secrets/{id}').call(bearer(key), own(w))).status).toBe(200);
    const [{ created_by: creator }] = await sql('select created_by from api_keys where key_id = ?', [
      keyIdOf(key),
    ]);
    await sql('delete from memberships where team_id = ? and user_id = ?', [w.team.teamId, creator]);
    const before = await snapshot(w);
    for (const op of REST_OPS) {
      const response = await op.call(bearer(key), own(w));
      expect(response.status, `${op.name}: ${response.text}`).toBe(403);
      expect(typeof response.body.detail, op.name).toBe('string');
    }
    for (const op of GQL_OPS) {
      expectGqlTopLevelError(await op.call(bearer(key), own(w)), op, 'FORBIDDEN');
    }
    expect(await snapshot(w)).toEqual(before);
  });

  it('a key whose creator was demoted from admin to viewer loses write access at once', async () => {
    const w = await world();
    const key = await w.team.keyFor('admin', ALL_SCOPES);
    const [{ created_by: creator }] = await sql('select created_by from api_keys where key_id = ?', [
      keyIdOf(key),
    ]);
    await sql("update memberships set role = 'viewer' where team_id = ? and user_id = ?", [
      w.team.teamId,
      creator,
    ]);
    const before = await snapshot(w);
    const patch = await restFor('PATCH /secrets/{id}').call(bearer(key), own(w));
    expect(patch.status, patch.text).toBe(403);
    expect((await restFor('GET /secrets/{id}').call(bearer(key), own(w))).status).toBe(200);
    expect(await snapshot(w)).toEqual(before);
  });
});

describe('404: another team, or a resource of another team; existence never leaks', () => {
  it("REST: a path team that is not the key's team (existing or not) → identical 404 bodies; nothing written", async () => {
    const w = await world();
    const before = await snapshot(w);
    const random = randomUUID();
    for (const op of REST_OPS) {
      const existing = await op.call(bearer(w.team.ownerKey), {
        teamId: w.other.teamId,
        secretId: w.otherSecretId,
        linkSecretId: w.otherSecretId,
      });
      const unknown = await op.call(bearer(w.team.ownerKey), {
        teamId: random,
        secretId: randomUUID(),
        linkSecretId: randomUUID(),
      });
      expect(existing.status, `${op.name}: ${existing.text}`).toBe(404);
      expect(unknown.status, `${op.name}: ${unknown.text}`).toBe(404);
      expect(existing.text, op.name).toBe(unknown.text);
      expect(existing.text, op.name).not.toContain(w.other.teamId);
      expect(existing.text, op.name).not.toContain(before.otherRead.name);
    }
    expect(await snapshot(w)).toEqual(before);
  });

  it("REST: another team's path is 404 even for a key lacking the scope (no 403-vs-404 oracle)", async () => {
    const w = await world();
    const key = await w.team.keyFor('viewer', ['secrets:read']);
    const patch = (teamId: string, secretId: string) =>
      restAs(bearer(key), 'PATCH', `/v1/teams/${teamId}/secrets/${secretId}`, { name: unique('x') });
    const existing = await patch(w.other.teamId, w.otherSecretId);
    const unknown = await patch(randomUUID(), randomUUID());
    expect(existing.status, existing.text).toBe(404);
    expect(existing.text).toBe(unknown.text);
  });

  it('REST: a secret of another team under my team path → same 404 as a random id; nothing written', async () => {
    const w = await world();
    const before = await snapshot(w);
    const call = rest(t.url, w.team.ownerKey);
    const base = `/v1/teams/${w.team.teamId}/secrets`;
    const random = randomUUID();
    const getForeign = await call('GET', `${base}/${w.otherSecretId}`);
    const getRandom = await call('GET', `${base}/${random}`);
    expect(getForeign.status, getForeign.text).toBe(404);
    expect(getForeign.text).toBe(getRandom.text);
    expect(getForeign.text).not.toContain(before.otherRead.name);

    const body = { name: unique('steal'), description: 'x', credentials: randomS3Credentials() };
    const patchForeign = await call('PATCH', `${base}/${w.otherSecretId}`, body);
    const patchRandom = await call('PATCH', `${base}/${random}`, body);
    expect(patchForeign.status, patchForeign.text).toBe(404);
    expect(patchForeign.text).toBe(patchRandom.text);

    // A location in my team pointing at the other team's secret is not a way in either.
    const location = await call('POST', `/v1/teams/${w.team.teamId}/locations`, {
      name: unique('loc'),
      location_type: 's3',
      secret_id: w.otherSecretId,
      bucket_name: 'b',
    });
    const locationRandom = await call('POST', `/v1/teams/${w.team.teamId}/locations`, {
      name: unique('loc'),
      location_type: 's3',
      secret_id: randomUUID(),
      bucket_name: 'b',
    });
    expect(location.status, location.text).toBeGreaterThanOrEqual(400);
    expect(location.status, location.text).toBeLessThan(500);
    expect(location.status).toBe(locationRandom.status);
    expect(location.body).toEqual(locationRandom.body);
    expect(await snapshot(w)).toEqual(before);
  });

  it('GraphQL: another team (existing or not) → NotFoundError for mutations, null for secret(); identical; nothing written', async () => {
    const w = await world();
    const before = await snapshot(w);
    for (const op of GQL_OPS) {
      const existing = await op.call(bearer(w.team.ownerKey), {
        teamId: w.other.teamId,
        secretId: w.otherSecretId,
        linkSecretId: w.otherSecretId,
      });
      const unknown = await op.call(bearer(w.team.ownerKey), {
        teamId: randomUUID(),
        secretId: randomUUID(),
        linkSecretId: randomUUID(),
      });
      for (const response of [existing, unknown]) {
        expect(response.status, response.text).toBeLessThan(500);
        expect(response.body.errors, `${op.name}: ${response.text}`).toBeUndefined();
        if (op.success) expect(response.body.data[op.field].__typename, op.name).toBe('NotFoundError');
        else expect(response.body.data[op.field], op.name).toBeNull();
      }
      expect(existing.body, op.name).toEqual(unknown.body);
      expect(existing.text, op.name).not.toContain(before.otherRead.name);
    }
    expect(await snapshot(w)).toEqual(before);
  });

  it('GraphQL: a secret of another team in my team → updateSecret NotFoundError, secret() null, as for a random id', async () => {
    const w = await world();
    const before = await snapshot(w);
    const update = GQL_OPS.find((o) => o.name === 'updateSecret')!;
    const read = GQL_OPS.find((o) => o.name === 'secret(teamId, id)')!;
    const target = (secretId: string): Target => ({
      teamId: w.team.teamId,
      secretId,
      linkSecretId: secretId,
    });
    const random = randomUUID();

    const updForeign = await update.call(bearer(w.team.ownerKey), target(w.otherSecretId));
    const updRandom = await update.call(bearer(w.team.ownerKey), target(random));
    expect(updForeign.body.errors, updForeign.text).toBeUndefined();
    expect(updForeign.body.data.updateSecret.__typename).toBe('NotFoundError');
    expect(updForeign.body).toEqual(updRandom.body);

    const readForeign = await read.call(bearer(w.team.ownerKey), target(w.otherSecretId));
    const readRandom = await read.call(bearer(w.team.ownerKey), target(random));
    expect(readForeign.body).toEqual({ data: { secret: null } });
    expect(readForeign.body).toEqual(readRandom.body);
    expect(await snapshot(w)).toEqual(before);
  });
});
