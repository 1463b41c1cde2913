/**
 * Input PostgreSQL would refuse or alter never reaches it, on either door: a NUL character or an
 * unpaired surrogate in any string, and timestamps outside years 0001–9999 (UTC). Each is a 422
 * naming the field on REST, and a ValidationError (mutations) or BAD_USER_INPUT error (queries, and
 * the DateTime scalar) naming the argument on GraphQL; never a 500 or INTERNAL_SERVER_ERROR, and
 * nothing is written. The GraphQL sweep reads every argument from the schema, so new ones are covered.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  type GraphQLInputType,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  parse,
  validate,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSubgraphSchema } from '../src/app/graphql-schema.js';
import {
  createApiKey,
  createLocation,
  createNativeSecret,
  createVaultConnection,
} from './support/factories.js';
import { graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';
import {
  leafPositions,
  type Operation,
  printVariablePath,
  schemaOperations,
  type ValuePath,
} from './support/scenarios/graphql-operations.js';

const t = useApp();
let fx: Fixture;
beforeAll(async () => {
  fx = await fixture();
});

interface Fixture {
  team: TestTeam;
  base: string;
  secretId: string;
  connectionId: string;
  locationId: string;
  apiKeyId: string;
}

async function fixture(): Promise<Fixture> {
  const team = await t.newTeam();
  const secret = await createNativeSecret(t, team, {
    name: 'storable',
    credentials: { access_key_id: 'AKIASTORABLE', secret_access_key: 'storable-secret' },
  });
  const connection = await createVaultConnection(t, team, {
    name: 'storable-vault',
    vault_type: 'doppler',
    access_token: 'dp.st.storable',
    project: 'p',
    config: 'c',
  });
  const location = await createLocation(t, team, secret.id, {
    name: 'storable-location',
    bucket_name: 'storable-bucket',
  });
  const apiKey = await createApiKey(t, team, ['secrets:read'], { name: 'storable-key' });
  return {
    team,
    base: `/v1/teams/${team.teamId}`,
    secretId: secret.id,
    connectionId: connection.id,
    locationId: location.id,
    apiKeyId: apiKey.id,
  };
}

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

/** Every row a change could touch, and the audit trail every change extends. */
async function teamState(teamId: string) {
  const rows = await Promise.all([
    sql('select id, name, description, version, updated_at from secrets where team_id = ? order by id', [
      teamId,
    ]),
    sql(
      'select id, name, description, bucket_name, region, endpoint_url, updated_at from locations where team_id = ? order by id',
      [teamId],
    ),
    sql(
      'select id, name, description, settings, credential_version from vault_connections where team_id = ? order by id',
      [teamId],
    ),
    sql('select id, name, expires_at, revoked_at from api_keys where team_id = ? order by id', [teamId]),
    sql('select count(*)::int as n from audit_events where team_id = ?', [teamId]),
  ]);
  return JSON.parse(JSON.stringify(rows));
}

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\uD800b';
const UNSTORABLE: [string, string, string][] = [
  ['NUL', NUL, 'string_pattern_mismatch'],
  ['lone surrogate', LONE_SURROGATE, 'string_unicode'],
];
/** Valid ISO-8601 text (or close to it) naming instants outside years 0001–9999 in UTC. */
const OUT_OF_RANGE = [
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '0001-01-01T00:30:00+01:00',
  '9999-12-31T23:00:00-01:00',
];
const RANGE_EDGES = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'];

const restCall = () => rest(t.url, fx.team.ownerKey);
const gqlCall = () => graphql(t.url, fx.team.ownerKey);

/** A REST refusal: 422 with an entry at `loc` of the given type, and no server error. */
function expect422(
  label: string,
  r: { status: number; body: any; text: string },
  loc: unknown[],
  type?: string,
) {
  expect(r.status, `${label}: ${r.text.slice(0, 400)}`).toBe(422);
  const entry = r.body.detail.find((d: any) => JSON.stringify(d.loc) === JSON.stringify(loc));
  expect(entry, `${label}: no issue at ${JSON.stringify(loc)}: ${r.text.slice(0, 400)}`).toBeDefined();
  if (type) expect(entry.type, label).toBe(type);
}

// ---------------------------------------------------------------------------------------------

describe('REST: timestamps outside years 0001–9999 are 422 naming the field', () => {
  it.each(OUT_OF_RANGE)('audit-logs from and to = %s', async (value) => {
    for (const name of ['from', 'to']) {
      const r = await restCall()('GET', `${fx.base}/audit-logs?${name}=${encodeURIComponent(value)}`);
      expect422(`${name}=${value}`, r, ['query', name]);
    }
  });

  it('the range rule has its own message and type (not a parse error) for a well-formed year 0', async () => {
    const r = await restCall()('GET', `${fx.base}/audit-logs?from=0000-01-01T00:00:00Z`);
    expect422('from=0000', r, ['query', 'from'], 'datetime_range');
    expect(r.body.detail[0].msg).toBe(
      'Must be between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z',
    );
  });

  it('the edges of the range are accepted', async () => {
    const [from, to] = RANGE_EDGES.map(encodeURIComponent);
    const r = await restCall()('GET', `${fx.base}/audit-logs?from=${from}&to=${to}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.pagination.total).toBeGreaterThan(0);
  });

  it.each(OUT_OF_RANGE)('api-keys expires_at = %s; nothing written', async (value) => {
    const before = await teamState(fx.team.teamId);
    const r = await restCall()('POST', `${fx.base}/api-keys`, {
      name: 'k',
      scopes: ['secrets:read'],
      expires_at: value,
    });
    expect422(value, r, ['body', 'expires_at']);
    expect(r.body.detail[0].type).not.toBe('value_error'); // the range or format, not "must be in the future"
    expect(await teamState(fx.team.teamId)).toEqual(before);
  });
});

describe('REST: unstorable text anywhere is 422 naming the field; nothing written', () => {
  type Case = [
    label: string,
    method: string,
    path: () => string,
    body: (bad: string) => unknown,
    loc: (string | number)[],
  ];
  const CASES: Case[] = [
    [
      'PATCH vault connection name',
      'PATCH',
      () => `${fx.base}/vault-connections/${fx.connectionId}`,
      (bad) => ({ name: bad }),
      ['body', 'name'],
    ],
    [
      'PATCH vault connection description',
      'PATCH',
      () => `${fx.base}/vault-connections/${fx.connectionId}`,
      (bad) => ({ description: bad }),
      ['body', 'description'],
    ],
    [
      'POST vault connection setting',
      'POST',
      () => `${fx.base}/vault-connections`,
      (bad) => ({ name: 'v2', vault_type: 'doppler', access_token: 'dp.st.x', project: bad, config: 'c' }),
      ['body', 'project'],
    ],
    [
      'rotate vault connection token',
      'POST',
      () => `${fx.base}/vault-connections/${fx.connectionId}/rotate`,
      (bad) => ({ access_token: bad }),
      ['body', 'access_token'],
    ],
    [
      'POST secret name',
      'POST',
      () => `${fx.base}/secrets`,
      (bad) => ({
        name: bad,
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: { access_key_id: 'A', secret_access_key: 'B' },
      }),
      ['body', 'name'],
    ],
    [
      'PATCH secret credential',
      'PATCH',
      () => `${fx.base}/secrets/${fx.secretId}`,
      (bad) => ({ credentials: { access_key_id: 'A', secret_access_key: bad } }),
      ['body', 'credentials', 'secret_access_key'],
    ],
    [
      'PATCH secret description',
      'PATCH',
      () => `${fx.base}/secrets/${fx.secretId}`,
      (bad) => ({ description: bad }),
      ['body', 'description'],
    ],
    [
      'rollback version',
      'POST',
      () => `${fx.base}/secrets/${fx.secretId}/rollback`,
      (bad) => ({ version: bad }),
      ['body', 'version'],
    ],
    [
      'POST location bucket',
      'POST',
      () => `${fx.base}/locations`,
      (bad) => ({ name: 'l2', location_type: 's3', secret_id: fx.secretId, bucket_name: bad }),
      ['body', 'bucket_name'],
    ],
    [
      'PATCH location region',
      'PATCH',
      () => `${fx.base}/locations/${fx.locationId}`,
      (bad) => ({ region: bad }),
      ['body', 'region'],
    ],
    [
      'POST api key scope',
      'POST',
      () => `${fx.base}/api-keys`,
      (bad) => ({ name: 'k', scopes: ['secrets:read', bad] }),
      ['body', 'scopes', 1],
    ],
    [
      'revoke api key (unknown field)',
      'POST',
      () => `${fx.base}/api-keys/${fx.apiKeyId}/revoke`,
      (bad) => ({ reason: bad }),
      ['body', 'reason'],
    ],
  ];
  describe.each(UNSTORABLE)('%s', (_, bad, type) => {
    it.each(CASES)('%s', async (label, method, path, body, loc) => {
      const before = await teamState(fx.team.teamId);
      const r = await restCall()(method, path(), body(bad));
      expect422(label, r, loc, type);
      expect(await teamState(fx.team.teamId)).toEqual(before);
    });
  });

  it.each([
    'secrets?q=',
    'locations?q=',
    'vault-connections?q=',
    'api-keys?q=',
    'audit-logs?q=',
    'audit-logs?event_type=',
    'secrets/SECRET/versions?q=',
  ])('NUL in the query string: %s → 422 at ["query", name]', async (route) => {
    const path = `${fx.base}/${route.replace('SECRET', fx.secretId)}${encodeURIComponent(NUL)}`;
    const name = /[?&](\w+)=$/.exec(route)![1];
    expect422(route, await restCall()('GET', path), ['query', name], 'string_pattern_mismatch');
  });

  it('NUL in a path id → 422 at ["path", name]', async () => {
    const r = await restCall()('GET', `${fx.base}/secrets/${encodeURIComponent(NUL)}`);
    expect422('path', r, ['path', 'secret_id']);
  });

  it('header values cannot carry a NUL: the HTTP parser refuses the request before any handler', async () => {
    const url = new URL(t.url);
    const body = '{"name":"k","scopes":["secrets:read"]}';
    const post = (header: string) =>
      new Promise<string>((resolve) => {
        // Written, not ended: the server closes the connection once it has answered (Connection: close).
        const socket = net.connect(Number(url.port), url.hostname, () => {
          socket.write(
            `POST ${fx.base}/api-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${fx.team.ownerKey}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n` +
              `${header}\r\n\r\n${body}`,
          );
        });
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk;
        });
        socket.on('close', () => resolve(text));
      });
    const before = await teamState(fx.team.teamId);
    for (const name of ['User-Agent', 'X-Request-Id', 'Idempotency-Key']) {
      expect(await post(`${name}: ${NUL}`), name).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(await teamState(fx.team.teamId)).toEqual(before);
    // The same request with a clean header is carried out: the refusal was the NUL's.
    expect(await post('User-Agent: storable-test')).toMatch(/^HTTP\/1\.1 201 /);
  });
});

// ---------------------------------------------------------------------------------------------

const AUDIT = `query($t: ID!, $f: AuditEventFilter) { auditEvents(teamId: $t, filter: $f) { totalCount } }`;

function expectBadUserInput(label: string, r: { status: number; body: any; text: string }, names: string) {
  expect(r.status, `${label}: ${r.text.slice(0, 400)}`).toBeLessThan(500);
  const error = r.body.errors?.[0];
  expect(error, `${label}: ${r.text.slice(0, 400)}`).toBeDefined();
  expect(error.extensions?.code, `${label}: ${r.text.slice(0, 400)}`).toBe('BAD_USER_INPUT');
  expect(error.message, label).toContain(names);
}

describe('GraphQL: the cases PostgreSQL used to refuse (INTERNAL_SERVER_ERROR before)', () => {
  it.each([
    ['secrets', 'SecretFilter'],
    ['locations', 'LocationFilter'],
    ['vaultConnections', 'VaultConnectionFilter'],
    ['apiKeys', 'ApiKeyFilter'],
    ['auditEvents', 'AuditEventFilter'],
  ])('%s(filter: {q}) with a NUL → BAD_USER_INPUT naming filter.q', async (field, filterType) => {
    const r = await gqlCall()(
      `query($t: ID!, $f: ${filterType}) { ${field}(teamId: $t, filter: $f) { totalCount } }`,
      { t: fx.team.teamId, f: { q: NUL } },
    );
    expectBadUserInput(field, r, 'filter.q: Must not contain NUL characters');
    expect(r.body.data?.[field] ?? null).toBeNull();
  });

  it('auditEvents(filter: {eventType}) with a NUL or a lone surrogate → BAD_USER_INPUT naming filter.eventType', async () => {
    const nul = await gqlCall()(AUDIT, { t: fx.team.teamId, f: { eventType: NUL } });
    expectBadUserInput('NUL', nul, 'filter.eventType: Must not contain NUL characters');
    const surrogate = await gqlCall()(AUDIT, { t: fx.team.teamId, f: { eventType: LONE_SURROGATE } });
    expectBadUserInput('surrogate', surrogate, 'filter.eventType: Must be valid Unicode text');
  });

  it.each(OUT_OF_RANGE)(
    'auditEvents(filter: {from, to}) = %s → BAD_USER_INPUT naming the variable path',
    async (value) => {
      for (const name of ['from', 'to']) {
        const r = await gqlCall()(AUDIT, { t: fx.team.teamId, f: { [name]: value } });
        expectBadUserInput(`${name}=${value}`, r, `at "f.${name}"`);
      }
    },
  );

  it('out-of-range timestamps written inline are refused the same way', async () => {
    const r = await gqlCall()(
      `query($t: ID!) { auditEvents(teamId: $t, filter: { from: "0000-01-01T00:00:00Z" }) { totalCount } }`,
      { t: fx.team.teamId },
    );
    const [error] = r.body.errors ?? [];
    expect(error?.extensions.code, r.text).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('Must be between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z');
    expect(error.locations, r.text).toBeDefined();
  });

  it('the edges of the range are accepted', async () => {
    const [from, to] = RANGE_EDGES;
    const r = await gqlCall()(AUDIT, { t: fx.team.teamId, f: { from, to } });
    expect(r.body.errors, r.text).toBeUndefined();
    expect(r.body.data.auditEvents.totalCount).toBeGreaterThan(0);
  });

  it('updateVaultConnection(input: {name}) with a NUL → ValidationError at ["input", "name"]; nothing written', async () => {
    const before = await teamState(fx.team.teamId);
    const r = await gqlCall()(
      `mutation($t: ID!, $id: ID!, $i: UpdateVaultConnectionInput!) { updateVaultConnection(teamId: $t, id: $id, input: $i) {
        __typename ... on ValidationError { issues { path code } } } }`,
      { t: fx.team.teamId, id: fx.connectionId, i: { name: NUL } },
    );
    expect(r.body.errors, r.text).toBeUndefined();
    expect(r.body.data.updateVaultConnection).toEqual({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'name'], code: 'string_pattern_mismatch' }],
    });
    expect(await teamState(fx.team.teamId)).toEqual(before);
  });

  it('a search with ordinary non-ASCII text still works on both doors (positive control)', async () => {
    const q = 'é🔑\t%_';
    const r = await gqlCall()(
      `query($t: ID!) { secrets(teamId: $t, filter: { q: "${'é🔑\\t%_'}" }) { totalCount } }`,
      {
        t: fx.team.teamId,
      },
    );
    expect(r.body.errors, r.text).toBeUndefined();
    expect(r.body.data.secrets.totalCount).toBe(0);
    const restList = await restCall()('GET', `${fx.base}/secrets?q=${encodeURIComponent(q)}`);
    expect(restList.status, restList.text).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Every argument of the schema, from the schema

const schema = buildSubgraphSchema();
const operations = schemaOperations(schema);

/** Some valid value of a type: the fixture's team for `teamId`, a fresh UUID for other ids. */
function validValue(type: GraphQLInputType, name: string): unknown {
  if (isNonNullType(type)) return validValue(type.ofType, name);
  if (isListType(type)) return [validValue(type.ofType, name)];
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const chosen = type.isOneOf ? fields.slice(0, 1) : fields.filter((f) => isNonNullType(f.type));
    return Object.fromEntries(chosen.map((f) => [f.name, validValue(f.type, f.name)]));
  }
  if (isEnumType(type)) return type.getValues()[0].name;
  switch (type.name) {
    case 'ID':
      return name === 'teamId' ? fx.team.teamId : randomUUID();
    case 'Int':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      return '2099-01-01T00:00:00Z';
    case '_Any':
      return { __typename: 'Secret', id: randomUUID() };
    default:
      return 'x';
  }
}

/** `value` (a valid value of `type`) with `leaf` at `path`; a oneOf input keeps only the branch on the path. */
function withLeaf(type: GraphQLInputType, value: unknown, path: ValuePath, leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const inner = isNonNullType(type) ? type.ofType : type;
  const [head, ...rest] = path;
  if (isListType(inner)) return [withLeaf(inner.ofType, (value as unknown[])[0], rest, leaf)];
  if (!isInputObjectType(inner)) throw new Error(`no ${String(head)} in ${String(type)}`);
  const field = inner.getFields()[String(head)];
  const object = inner.isOneOf ? {} : { ...(value as Record<string, unknown>) };
  const current = (value as Record<string, unknown>)[field.name] ?? validValue(field.type, field.name);
  return { ...object, [field.name]: withLeaf(field.type, current, rest, leaf) };
}

interface Leaf {
  operation: Operation;
  variable: string;
  path: ValuePath;
  type: GraphQLNamedType;
}

/** Every text (String, ID, _Any) and DateTime position in the root fields' arguments. */
const leaves: Leaf[] = operations.flatMap((operation) =>
  operation.variables
    .filter((v) => v.root)
    .flatMap((v) =>
      leafPositions(v.type).map(([path, type]) => ({
        operation,
        variable: v.name,
        path: [v.name, ...path],
        type,
      })),
    ),
);
const textLeaves = leaves.filter((l) => ['String', 'ID', '_Any'].includes(l.type.name));
const dateLeaves = leaves.filter((l) => l.type.name === 'DateTime');
const label = (l: Leaf) => `${l.operation.field}(${l.path.join('.')})`;

function variablesWith(l: Leaf, leaf: unknown): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const v of l.operation.variables.filter((v) => v.root && isNonNullType(v.type))) {
    variables[v.name] = validValue(v.type, v.name);
  }
  const variable = l.operation.variables.find((v) => v.name === l.variable)!;
  variables[l.variable] = withLeaf(
    variable.type,
    variables[l.variable] ?? validValue(variable.type, l.variable),
    l.path.slice(1),
    leaf,
  );
  return variables;
}

describe('GraphQL: every text and timestamp argument of the schema', () => {
  it('the sweep is real: the documents are valid and every kind of argument is in it', () => {
    for (const operation of operations)
      expect(validate(schema, parse(operation.document)), operation.field).toEqual([]);
    const names = textLeaves.map(label);
    for (const expected of [
      'secrets(filter.q)',
      'auditEvents(filter.eventType)',
      'createSecret(input.value.credentials.accessKey.secretAccessKey)',
      'createSecret(input.value.vault.fieldMappings.0.reference)',
      'createApiKey(input.scopes.0)',
      'createVaultConnection(input.settings.infisical.clientSecret)',
      'updateSecret(idempotencyKey)',
      '_entities(representations.0)',
    ]) {
      expect(names).toContain(expected);
    }
    expect(dateLeaves.map(label).sort()).toEqual([
      'auditEvents(filter.from)',
      'auditEvents(filter.to)',
      'createApiKey(input.expiresAt)',
    ]);
    expect(textLeaves.length).toBeGreaterThan(80);
  });

  describe.each(UNSTORABLE)('%s', (_, bad, code) => {
    it.each(textLeaves.map((l) => [label(l), l] as const))('%s', async (name, l) => {
      const before = l.operation.kind === 'mutation' ? await teamState(fx.team.teamId) : undefined;
      const r = await gqlCall()(l.operation.document, variablesWith(l, bad));
      const path = l.path.map(String);
      if (l.operation.kind === 'query') {
        const message =
          code === 'string_pattern_mismatch'
            ? 'Must not contain NUL characters'
            : 'Must be valid Unicode text';
        expectBadUserInput(name, r, `${path.join('.')}: ${message}`);
      } else {
        expect(r.body.errors, `${name}: ${r.text.slice(0, 400)}`).toBeUndefined();
        const result = r.body.data[l.operation.field];
        expect(result.__typename, `${name}: ${r.text.slice(0, 400)}`).toBe('ValidationError');
        expect(result.issues, name).toContainEqual(expect.objectContaining({ path, code }));
        expect(await teamState(fx.team.teamId), name).toEqual(before);
      }
    });
  });

  it.each(dateLeaves.map((l) => [label(l), l] as const))(
    '%s out of range → BAD_USER_INPUT at the variable path',
    async (name, l) => {
      const before = await teamState(fx.team.teamId);
      for (const value of OUT_OF_RANGE) {
        const r = await gqlCall()(l.operation.document, variablesWith(l, value));
        expectBadUserInput(`${name} = ${value}`, r, `at "${printVariablePath(l.variable, l.path.slice(1))}"`);
      }
      expect(await teamState(fx.team.teamId)).toEqual(before);
    },
  );

  it('Secret.versions(after) with a NUL → BAD_USER_INPUT naming after', async () => {
    const r = await gqlCall()(
      `query($t: ID!, $id: ID!, $a: String) { secret(teamId: $t, id: $id) { versions(after: $a) { totalCount } } }`,
      { t: fx.team.teamId, id: fx.secretId, a: NUL },
    );
    expectBadUserInput('versions', r, 'after: Must not contain NUL characters');
  });
});
