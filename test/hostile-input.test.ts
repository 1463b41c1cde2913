/**
 * Hostile input on both doors: every bad request gets a clear 4xx naming the field, never a 500,
 * never a stack trace, never a partial write; no credential value (and no API key secret) ever
 * shows up in a response or a server log line.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { unique } from './support/constants.js';
import { graphql, queryDatabase, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

// ---------------------------------------------------------------------------------------------
// Recording and checking every response

interface Seen {
  label: string;
  status: number;
  text: string;
}

/** Every response of this file, every credential canary sent and every API key used. */
const seen: Seen[] = [];
const canaries: string[] = [];
const apiKeys: string[] = [];

function canary(tag: string): string {
  const value = `SECRET-CANARY-${tag}-${randomBytes(8).toString('hex')}`;
  canaries.push(value);
  return value;
}

/** Server internals that must never reach a client. ("Syntax Error: ..." from GraphQL is fine.) */
const INTERNALS: RegExp[] = [
  /\bat [\w$.<>[\]]+ \(.*:\d+:\d+\)/, // "at fn (file:1:2)"
  /(?:\n|\\n)\s*at \S/, // a stack frame on its own line (raw or JSON-escaped)
  /node_modules/,
  /\.(?:ts|js|mjs|cjs):\d+/, // file:line
  /\b[A-Z][A-Za-z]*(?:Error|Exception): /, // "TypeError: ", "DriverException: "
  /(?:^|[^A-Za-z ])Error: /, // a bare "Error: ..." (but not "Syntax Error: ...")
  /"stack"\s*:/,
  /"exception"\s*:/,
  /\b(?:select\b.{0,200}\bfrom|insert into|update "?\w+"? set|delete from) "?\w/i, // SQL
];

function expectNoInternals(label: string, text: string) {
  for (const pattern of INTERNALS) expect(text, `${label}: matches ${pattern}`).not.toMatch(pattern);
  // Canaries are only ever sent as credential values: no response may quote one.
  expect(text, `${label}: echoes a credential value`).not.toMatch(/SECRET-CANARY-/);
}

/** Every REST response: < 500, no internals, JSON `{detail}`, and well-formed 422 entries. */
function expectCleanRest(label: string, r: { status: number; body: any; text: string }) {
  expect(r.status, `${label}: ${r.text.slice(0, 800)}`).toBeLessThan(500);
  expectNoInternals(label, r.text);
  if (r.status >= 400) {
    expect(r.body, `${label}: not a JSON body: ${r.text.slice(0, 300)}`).toBeTypeOf('object');
    expect(r.body, label).toHaveProperty('detail');
  }
  if (r.status === 422) {
    expect(Array.isArray(r.body.detail), label).toBe(true);
    expect(r.body.detail.length, label).toBeGreaterThan(0);
    for (const entry of r.body.detail) {
      expect(Array.isArray(entry.loc), `${label}: ${JSON.stringify(entry)}`).toBe(true);
      expect(['body', 'path', 'query'], `${label}: ${JSON.stringify(entry)}`).toContain(entry.loc[0]);
      expect(entry.msg, `${label}: ${JSON.stringify(entry)}`).toBeTypeOf('string');
      expect(entry.msg.length, label).toBeGreaterThan(0);
      expect(entry.type, `${label}: ${JSON.stringify(entry)}`).toBeTypeOf('string');
      expect(entry.type.length, label).toBeGreaterThan(0);
    }
  } else if (r.status >= 400) {
    expect(r.body.detail, label).toBeTypeOf('string');
    expect(r.body.detail.length, label).toBeGreaterThan(0);
  }
}

/** Every GraphQL response: < 500, no internals, every error has a message and no exception/stack. */
function expectCleanGql(label: string, r: { status: number; body: any; text: string }) {
  expect(r.status, `${label}: ${r.text.slice(0, 800)}`).toBeLessThan(500);
  expectNoInternals(label, r.text);
  for (const error of r.body.errors ?? []) {
    expect(error.message, `${label}: error without a message: ${r.text.slice(0, 300)}`).toBeTypeOf('string');
    expect(error.message.length, label).toBeGreaterThan(0);
    expect(error.extensions?.exception, label).toBeUndefined();
    expect(error.extensions?.stacktrace, label).toBeUndefined();
    expect(error.extensions?.originalError, label).toBeUndefined();
  }
}

function restClient(key?: string) {
  const call = rest(t.url, key);
  return async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await call(method, path, body, headers);
    seen.push({ label: `${method} ${path}`, status: r.status, text: r.text });
    return r;
  };
}

/** A raw POST to /graphql with any body text; the response is parsed when it is JSON. */
async function gqlRaw(key: string | undefined, bodyText: string, contentType = 'application/json') {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      accept: 'application/graphql-response+json, application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: bodyText,
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  seen.push({ label: 'POST /graphql (raw)', status: response.status, text });
  return { status: response.status, body, text };
}

function gqlClient(key?: string) {
  const call = graphql(t.url, key);
  return async (query: string, variables: Record<string, unknown> = {}) => {
    const r = await call(query, variables);
    seen.push({ label: 'POST /graphql', status: r.status, text: r.text });
    return r as { status: number; body: any; text: string };
  };
}

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

/** Everything a request could write for a team. */
async function teamState(teamId: string) {
  const [secrets, locations, connections, audit, blobs] = await Promise.all([
    sql(
      `select id, name, description, secret_type, auth_method, credential_version, field_mappings, version, updated_at
         from secrets where team_id = ? order by id`,
      [teamId],
    ),
    sql('select id, name, description, secret_id, updated_at from locations where team_id = ? order by id', [
      teamId,
    ]),
    sql(
      'select id, name, settings, credential_version from vault_connections where team_id = ? order by id',
      [teamId],
    ),
    sql('select count(*)::int as n from audit_events where team_id = ?', [teamId]),
    sql('select ref, version from credential_blobs where ref like ? order by ref, version', [
      `teams/${teamId}/%`,
    ]),
  ]);
  return JSON.parse(JSON.stringify({ secrets, locations, connections, audit, blobs }));
}

interface Ctx {
  team: TestTeam;
  call: ReturnType<typeof restClient>;
  gql: ReturnType<typeof gqlClient>;
  secretId: string;
  secretName: string;
  connectionId: string;
  base: string;
}

/** A fresh team with a native s3 secret and a 1Password vault connection. */
async function setup(): Promise<Ctx> {
  const team = await t.newTeam();
  apiKeys.push(team.ownerKey);
  const call = restClient(team.ownerKey);
  const base = `/v1/teams/${team.teamId}`;
  const secretName = unique('base-secret');
  const created = await call('POST', `${base}/secrets`, {
    name: secretName,
    description: 'original',
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: canary('setup') },
  });
  expect(created.status, created.text).toBe(201);
  const connection = await call('POST', `${base}/vault-connections`, {
    name: unique('vault'),
    vault_type: 'onepassword',
    access_token: `ops_${canary('setup-token')}`,
  });
  expect(connection.status, connection.text).toBe(201);
  return {
    team,
    call,
    gql: gqlClient(team.ownerKey),
    secretId: created.body.id,
    secretName,
    connectionId: connection.body.id,
    base,
  };
}

// The four endpoints that take a body, with a valid body for each.
interface BodyEndpoint {
  name: string;
  method: 'POST' | 'PATCH';
  path(ctx: Ctx): string;
  valid(ctx: Ctx): Record<string, unknown>;
}

const BODY_ENDPOINTS: BodyEndpoint[] = [
  {
    name: 'POST /secrets',
    method: 'POST',
    path: (c) => `${c.base}/secrets`,
    valid: () => ({
      name: unique('new-secret'),
      description: 'fine',
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: canary('body') },
    }),
  },
  {
    name: 'PATCH /secrets/{id}',
    method: 'PATCH',
    path: (c) => `${c.base}/secrets/${c.secretId}`,
    valid: () => ({
      name: unique('renamed'),
      credentials: { access_key_id: 'AKIAEXAMPLE2', secret_access_key: canary('rotate') },
    }),
  },
  {
    name: 'POST /locations',
    method: 'POST',
    path: (c) => `${c.base}/locations`,
    valid: (c) => ({
      name: unique('loc'),
      description: 'fine',
      location_type: 's3',
      secret_id: c.secretId,
      bucket_name: 'my-bucket',
      region: 'eu-west-1',
    }),
  },
  {
    name: 'POST /vault-connections',
    method: 'POST',
    path: (c) => `${c.base}/vault-connections`,
    valid: () => ({ name: unique('vc'), vault_type: 'onepassword', access_token: `ops_${canary('vc')}` }),
  },
];

const endpoint = (name: string) => BODY_ENDPOINTS.find((e) => e.name === name)!;

// ---------------------------------------------------------------------------------------------

describe('positive control', () => {
  it('each body endpoint accepts its valid body, so refusals below are about the input', async () => {
    const c = await setup();
    for (const e of BODY_ENDPOINTS) {
      const r = await c.call(e.method, e.path(c), e.valid(c));
      expect(r.status, `${e.name}: ${r.text}`).toBe(e.method === 'POST' ? 201 : 200);
    }
  });
});

describe('REST: a body that is not a JSON object → 400 {"detail": ...}, nothing written', () => {
  const BAD_BODIES: [string, string | undefined][] = [
    ['no body at all', undefined],
    ['empty body', ''],
    ['whitespace only', '   \n '],
    ['truncated JSON', '{"name": "x"'],
    ['unquoted keys', '{name: "x"}'],
    ['single quotes', "{'name': 'x'}"],
    ['plain text', 'not json at all'],
    ['trailing garbage', '{"name": "x"} trailing'],
    ['JSON array', '[]'],
    ['JSON array of objects', '[{"name": "x"}]'],
    ['JSON string', '"a string"'],
    ['JSON number', '42'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
    ['deeply nested arrays', `${'['.repeat(50_000)}${']'.repeat(50_000)}`],
  ];

  it.each(BODY_ENDPOINTS.map((e) => [e.name, e] as const))('%s', async (_, e) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    for (const [label, body] of BAD_BODIES) {
      const r = await c.call(e.method, e.path(c), body, { 'content-type': 'application/json' });
      expectCleanRest(`${e.name} ${label}`, r);
      expect(r.status, `${e.name} ${label}: ${r.text}`).toBe(400);
      expect(Object.keys(r.body), label).toEqual(['detail']);
      expect(r.body.detail, label).toMatch(/JSON/);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

describe('REST: wrong types for every field → 422 naming the field, nothing written', () => {
  type Case = [
    endpoint: string,
    label: string,
    patch: (c: Ctx) => Record<string, unknown>,
    loc: (string | number)[],
    type: string,
  ];
  const wrongCredentials = () => ({
    access_key_id: 12345,
    secret_access_key: canary('wrong-type-sibling'),
  });
  const CASES: Case[] = [
    // POST /secrets
    ['POST /secrets', 'name: number', () => ({ name: 123 }), ['body', 'name'], 'string_type'],
    ['POST /secrets', 'name: boolean', () => ({ name: true }), ['body', 'name'], 'string_type'],
    ['POST /secrets', 'name: array', () => ({ name: ['a'] }), ['body', 'name'], 'string_type'],
    [
      'POST /secrets',
      'description: object',
      () => ({ description: { a: 1 } }),
      ['body', 'description'],
      'string_type',
    ],
    [
      'POST /secrets',
      'description: number',
      () => ({ description: 7 }),
      ['body', 'description'],
      'string_type',
    ],
    ['POST /secrets', 'secret_type: number', () => ({ secret_type: 5 }), ['body', 'secret_type'], 'enum'],
    [
      'POST /secrets',
      'secret_type: wrong case',
      () => ({ secret_type: 'S3' }),
      ['body', 'secret_type'],
      'enum',
    ],
    [
      'POST /secrets',
      'auth_method: array',
      () => ({ auth_method: ['s3_access_key'] }),
      ['body', 'auth_method'],
      'enum',
    ],
    [
      'POST /secrets',
      'credentials: string',
      () => ({ credentials: canary('creds-as-string') }),
      ['body', 'credentials'],
      'dict_type',
    ],
    [
      'POST /secrets',
      'credentials: array',
      () => ({ credentials: ['a', 'b'] }),
      ['body', 'credentials'],
      'dict_type',
    ],
    [
      'POST /secrets',
      'credentials: number',
      () => ({ credentials: 1 }),
      ['body', 'credentials'],
      'dict_type',
    ],
    [
      'POST /secrets',
      'credentials.access_key_id: number',
      () => ({ credentials: wrongCredentials() }),
      ['body', 'credentials', 'access_key_id'],
      'string_type',
    ],
    [
      'POST /secrets',
      'credentials.secret_access_key: object',
      () => ({ credentials: { access_key_id: 'AKIA', secret_access_key: { value: canary('nested') } } }),
      ['body', 'credentials', 'secret_access_key'],
      'string_type',
    ],
    [
      'POST /secrets',
      'vault_connection_id: number',
      () => ({ vault_connection_id: 5 }),
      ['body', 'vault_connection_id'],
      'string_type',
    ],
    [
      'POST /secrets',
      'field_mappings: object',
      () => ({ field_mappings: { a: 1 } }),
      ['body', 'field_mappings'],
      'list_type',
    ],
    [
      'POST /secrets',
      'field_mappings: string',
      () => ({ field_mappings: 'x' }),
      ['body', 'field_mappings'],
      'list_type',
    ],
    [
      'POST /secrets',
      'field_mappings[0]: number',
      () => ({ field_mappings: [5] }),
      ['body', 'field_mappings', 0],
      'dict_type',
    ],
    [
      'POST /secrets',
      'field_mappings[0].field_name: number',
      () => ({ field_mappings: [{ field_name: 1, reference: 'op://v/i/f' }] }),
      ['body', 'field_mappings', 0, 'field_name'],
      'string_type',
    ],
    // PATCH /secrets/{id}
    ['PATCH /secrets/{id}', 'name: number', () => ({ name: 5 }), ['body', 'name'], 'string_type'],
    [
      'PATCH /secrets/{id}',
      'description: array',
      () => ({ description: ['x'] }),
      ['body', 'description'],
      'string_type',
    ],
    [
      'PATCH /secrets/{id}',
      'secret_type: number',
      () => ({ secret_type: 7 }),
      ['body', 'secret_type'],
      'enum',
    ],
    [
      'PATCH /secrets/{id}',
      'auth_method: object',
      () => ({ auth_method: {} }),
      ['body', 'auth_method'],
      'enum',
    ],
    [
      'PATCH /secrets/{id}',
      'credentials: string',
      () => ({ credentials: canary('patch-creds-as-string') }),
      ['body', 'credentials'],
      'dict_type',
    ],
    [
      'PATCH /secrets/{id}',
      'credentials: boolean',
      () => ({ credentials: true }),
      ['body', 'credentials'],
      'dict_type',
    ],
    [
      'PATCH /secrets/{id}',
      'credentials.access_key_id: number',
      () => ({ credentials: wrongCredentials() }),
      ['body', 'credentials', 'access_key_id'],
      'string_type',
    ],
    [
      'PATCH /secrets/{id}',
      'field_mappings: object',
      () => ({ field_mappings: {} }),
      ['body', 'field_mappings'],
      'list_type',
    ],
    [
      'PATCH /secrets/{id}',
      'vault_connection_id: any value',
      (c) => ({ vault_connection_id: c.connectionId }),
      ['body', 'vault_connection_id'],
      'value_error',
    ],
    // POST /locations
    ['POST /locations', 'name: number', () => ({ name: 1 }), ['body', 'name'], 'string_type'],
    [
      'POST /locations',
      'description: object',
      () => ({ description: {} }),
      ['body', 'description'],
      'string_type',
    ],
    [
      'POST /locations',
      'location_type: number',
      () => ({ location_type: 3 }),
      ['body', 'location_type'],
      'enum',
    ],
    ['POST /locations', 'secret_id: number', () => ({ secret_id: 7 }), ['body', 'secret_id'], 'string_type'],
    [
      'POST /locations',
      'bucket_name: boolean',
      () => ({ bucket_name: false }),
      ['body', 'bucket_name'],
      'string_type',
    ],
    ['POST /locations', 'region: number', () => ({ region: 5 }), ['body', 'region'], 'string_type'],
    [
      'POST /locations',
      'endpoint_url: array',
      () => ({ endpoint_url: [] }),
      ['body', 'endpoint_url'],
      'string_type',
    ],
    // POST /vault-connections
    [
      'POST /vault-connections',
      'vault_type: number',
      () => ({ vault_type: 1 }),
      ['body', 'vault_type'],
      'enum',
    ],
    ['POST /vault-connections', 'name: number', () => ({ name: 1 }), ['body', 'name'], 'string_type'],
    [
      'POST /vault-connections',
      'description: array',
      () => ({ description: [] }),
      ['body', 'description'],
      'string_type',
    ],
    [
      'POST /vault-connections',
      'access_token: number',
      () => ({ access_token: 5 }),
      ['body', 'access_token'],
      'string_type',
    ],
    [
      'POST /vault-connections',
      'doppler project: array',
      () => ({
        vault_type: 'doppler',
        access_token: `dp.st.${canary('doppler')}`,
        project: [],
        config: 'prd',
      }),
      ['body', 'project'],
      'string_type',
    ],
    [
      'POST /vault-connections',
      'infisical client_secret: object',
      () => ({
        vault_type: 'infisical',
        access_token: undefined,
        client_id: 'id',
        client_secret: { v: canary('infisical') },
        project_id: 'p',
        environment: 'prod',
      }),
      ['body', 'client_secret'],
      'string_type',
    ],
    [
      'POST /vault-connections',
      'infisical secret_path: number',
      () => ({
        vault_type: 'infisical',
        access_token: undefined,
        client_id: 'id',
        client_secret: canary('infisical2'),
        project_id: 'p',
        environment: 'prod',
        secret_path: 5,
      }),
      ['body', 'secret_path'],
      'string_type',
    ],
  ];

  it.each(CASES)('%s %s', async (endpointName, label, patch, loc, type) => {
    const c = await setup();
    const e = endpoint(endpointName);
    const body = { ...e.valid(c), ...patch(c) };
    const before = await teamState(c.team.teamId);
    const r = await c.call(e.method, e.path(c), body);
    expectCleanRest(label, r);
    expect(r.status, r.text).toBe(422);
    const entry = r.body.detail.find((d: any) => JSON.stringify(d.loc) === JSON.stringify(loc));
    expect(entry, `no entry at ${JSON.stringify(loc)}: ${r.text}`).toBeDefined();
    // The field is present with the wrong type: the message must say so, not "Field required".
    expect({ type: entry.type, msg: entry.msg }, r.text).toEqual({
      type,
      msg: expect.not.stringMatching(/^Field required$/),
    });
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

describe('REST: unknown top-level fields → 422 extra_forbidden at ["body", field], nothing written', () => {
  it.each(BODY_ENDPOINTS.map((e) => [e.name, e] as const))('%s', async (_, e) => {
    const c = await setup();
    const other = await t.newTeam();
    const before = await teamState(c.team.teamId);
    const otherBefore = await teamState(other.teamId);
    const extras = {
      bogus_field: 1,
      team_id: other.teamId,
      created_by: randomUUID(),
      id: randomUUID(),
      isAdmin: true,
      constructor: { prototype: { polluted: true } },
    };
    // "__proto__" only survives as an own key when written as raw JSON.
    const text = `${JSON.stringify({ ...e.valid(c), ...extras }).slice(0, -1)},"__proto__":{"polluted":true}}`;
    const r = await c.call(e.method, e.path(c), text);
    expectCleanRest(e.name, r);
    expect(r.status, r.text).toBe(422);
    for (const field of [...Object.keys(extras), '__proto__']) {
      const entry = r.body.detail.find((d: any) => JSON.stringify(d.loc) === JSON.stringify(['body', field]));
      expect(entry, `${field}: ${r.text}`).toBeDefined();
      expect(entry.type, field).toBe('extra_forbidden');
    }
    expect(({} as any).polluted).toBeUndefined();
    expect(await teamState(c.team.teamId)).toEqual(before);
    expect(await teamState(other.teamId)).toEqual(otherBefore);
  });

  it('credentials cannot smuggle fields through "__proto__" (unknown credential fields are rejected)', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const smuggled = canary('proto');
    // An extra credential field named __proto__ ...
    const extra = await c.call(
      'POST',
      `${c.base}/secrets`,
      `{"name":"${unique('proto')}","secret_type":"s3","auth_method":"s3_access_key",` +
        `"credentials":{"access_key_id":"AKIA","secret_access_key":"${smuggled}","__proto__":{"x":"y"}}}`,
    );
    expectCleanRest('extra __proto__', extra);
    expect(extra.status, extra.text).toBe(422);
    expect(extra.body.detail.map((d: any) => d.loc)).toContainEqual(['body', 'credentials', '__proto__']);
    // ... and a required field supplied only through __proto__.
    const inherited = await c.call(
      'PATCH',
      `${c.base}/secrets/${c.secretId}`,
      `{"credentials":{"secret_access_key":"${smuggled}","__proto__":{"access_key_id":"AKIA-INHERITED"}}}`,
    );
    expectCleanRest('inherited access_key_id', inherited);
    expect(inherited.status, inherited.text).toBe(422);
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

describe('REST: huge strings and bodies', () => {
  it('a 1 MB name is 422 string_too_long (or 413) on every endpoint, without echoing it; nothing written', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const huge = 'N'.repeat(1_000_000);
    for (const e of BODY_ENDPOINTS) {
      const r = await c.call(e.method, e.path(c), { ...e.valid(c), name: huge });
      expectCleanRest(e.name, r);
      expect([413, 422], `${e.name}: ${r.text.slice(0, 300)}`).toContain(r.status);
      if (r.status === 422) {
        expect(r.body.detail, e.name).toContainEqual(
          expect.objectContaining({ loc: ['body', 'name'], type: 'string_too_long' }),
        );
      }
      expect(r.text.length, e.name).toBeLessThan(10_000);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it('a description of 2001 characters and a 5000-character credential are 422 string_too_long', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const description = await c.call('PATCH', `${c.base}/secrets/${c.secretId}`, {
      description: 'd'.repeat(2001),
    });
    expectCleanRest('description', description);
    expect(description.status).toBe(422);
    expect(description.body.detail).toContainEqual(
      expect.objectContaining({ loc: ['body', 'description'], type: 'string_too_long' }),
    );
    const longSecret = canary('long') + 'x'.repeat(5000);
    const credential = await c.call('PATCH', `${c.base}/secrets/${c.secretId}`, {
      credentials: { access_key_id: 'AKIA', secret_access_key: longSecret },
    });
    expectCleanRest('credential', credential);
    expect(credential.status).toBe(422);
    expect(credential.body.detail).toContainEqual(
      expect.objectContaining({ loc: ['body', 'credentials', 'secret_access_key'], type: 'string_too_long' }),
    );
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it('a body over the 1 MiB limit is 413 on every endpoint (declared Content-Length)', async () => {
    const c = await setup();
    expect(t.config.BODY_LIMIT_BYTES).toBe(1_048_576);
    const before = await teamState(c.team.teamId);
    for (const e of BODY_ENDPOINTS) {
      const r = await c.call(e.method, e.path(c), { ...e.valid(c), description: 'D'.repeat(1_200_000) });
      expectCleanRest(e.name, r);
      expect(r.status, `${e.name}: ${r.text.slice(0, 300)}`).toBe(413);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it('a chunked body (no Content-Length) that grows past the limit is 413', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const result = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const url = new URL(`${c.base}/secrets`, t.url);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${c.team.ownerKey}`,
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 3_000_000) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end('"}');
      };
      req.write('{"name":"');
      pump();
    });
    seen.push({ label: 'chunked POST', ...result });
    expect(result.status, result.text).toBe(413);
    expect(JSON.parse(result.text)).toEqual({ detail: expect.any(String) });
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it('GraphQL: a request body over the 1 MiB limit is 413 too', async () => {
    const c = await setup();
    const r = await gqlRaw(
      c.team.ownerKey,
      JSON.stringify({ query: `query { __typename ${' '.repeat(1_200_000)} }`, variables: {} }),
    );
    expect(r.status, r.text.slice(0, 300)).toBe(413);
  });
});

describe('unicode and control characters in names are accepted or rejected cleanly', () => {
  const NAMES: [string, string][] = [
    ['CJK, Cyrillic and emoji', '名前-секрет-🔑'],
    ['combining accent', 'cafe\u0301'],
    ['tab', 'a\tb'],
    ['newline', 'line1\nline2'],
    ['carriage return', 'a\rb'],
    ['NUL byte', 'nul\u0000byte'],
    ['ANSI escape', '\u001b[31mred\u001b[0m'],
    ['right-to-left override', 'abc\u202Etxt.exe'],
    ['zero-width space', 'zero\u200Bwidth'],
    ['byte order mark', '\uFEFFbom'],
    ['C1 control', 'c1\u0085next'],
    ['DEL', 'del\u007F'],
    ['lone surrogate', 'lone\uD800surrogate'],
  ];

  /**
   * Accepted (okStatus): the response and a later read both carry exactly what was sent.
   * Rejected: 422 naming the field, and nothing written.
   */
  async function expectAcceptedOrRejected(
    c: Ctx,
    label: string,
    send: () => Promise<any>,
    okStatus: number,
    field: string,
    sent: string,
    readBack: (response: any) => Promise<unknown>,
  ) {
    const before = await teamState(c.team.teamId);
    const r = await send();
    expectCleanRest(label, r);
    expect([okStatus, 422], `${label}: ${r.text.slice(0, 300)}`).toContain(r.status);
    if (r.status === 422) {
      expect(
        r.body.detail.map((d: any) => d.loc.join('.')),
        label,
      ).toContain(`body.${field}`);
      expect(await teamState(c.team.teamId)).toEqual(before);
    } else {
      expect(r.body[field], `${label} (response)`).toBe(sent);
      expect(await readBack(r), `${label} (read back)`).toBe(sent);
    }
  }

  const readSecret = (c: Ctx, id: string, field: string) => async () =>
    (await c.call('GET', `${c.base}/secrets/${id}`)).body?.[field];

  describe.each(NAMES)('%s', (_, raw) => {
    const nameOf = () => `${raw}-${randomBytes(2).toString('hex')}`;

    it('REST POST /secrets name', async () => {
      const c = await setup();
      const name = nameOf();
      await expectAcceptedOrRejected(
        c,
        'POST /secrets',
        () => c.call('POST', `${c.base}/secrets`, { ...endpoint('POST /secrets').valid(c), name }),
        201,
        'name',
        name,
        (r) => readSecret(c, r.body.id, 'name')(),
      );
    });

    it('REST PATCH /secrets name and description, with a rotation riding along', async () => {
      const c = await setup();
      const name = nameOf();
      await expectAcceptedOrRejected(
        c,
        'PATCH name',
        () =>
          c.call('PATCH', `${c.base}/secrets/${c.secretId}`, {
            name,
            credentials: { access_key_id: 'AKIA', secret_access_key: canary('unicode-rotate') },
          }),
        200,
        'name',
        name,
        readSecret(c, c.secretId, 'name'),
      );
      await expectAcceptedOrRejected(
        c,
        'PATCH description',
        () =>
          c.call('PATCH', `${c.base}/secrets/${c.secretId}`, {
            description: name,
            credentials: { access_key_id: 'AKIA', secret_access_key: canary('unicode-rotate2') },
          }),
        200,
        'description',
        name,
        readSecret(c, c.secretId, 'description'),
      );
    });

    it('REST POST /locations and /vault-connections name', async () => {
      const c = await setup();
      const name = nameOf();
      const rows = (table: 'locations' | 'vault_connections', id: string) => async () =>
        (await sql(`select name from ${table} where id = ?`, [id]))[0]?.name;
      await expectAcceptedOrRejected(
        c,
        'POST /locations',
        () => c.call('POST', `${c.base}/locations`, { ...endpoint('POST /locations').valid(c), name }),
        201,
        'name',
        name,
        (r) => rows('locations', r.body.id)(),
      );
      await expectAcceptedOrRejected(
        c,
        'POST /vault-connections',
        () =>
          c.call('POST', `${c.base}/vault-connections`, {
            ...endpoint('POST /vault-connections').valid(c),
            name,
          }),
        201,
        'name',
        name,
        (r) => rows('vault_connections', r.body.id)(),
      );
    });

    it('GraphQL createSecret and updateSecret name', async () => {
      const c = await setup();
      const name = nameOf();
      const before = await teamState(c.team.teamId);
      const created = await c.gql(CREATE_SECRET, { t: c.team.teamId, i: gqlCreateInput({ name }) });
      expectCleanGql('createSecret', created);
      expect(created.body.errors, created.text).toBeUndefined();
      const createdType = created.body.data.createSecret.__typename;
      expect(['CreateSecretSuccess', 'ValidationError']).toContain(createdType);
      if (createdType === 'CreateSecretSuccess') {
        expect(created.body.data.createSecret.secret.name).toBe(name);
      } else {
        expect(await teamState(c.team.teamId)).toEqual(before);
      }
      const renamed = await c.gql(UPDATE_SECRET, {
        t: c.team.teamId,
        s: c.secretId,
        i: { name: `${name}-2`, value: { credentials: accessKey(canary('unicode-gql')) } },
      });
      expectCleanGql('updateSecret', renamed);
      expect(renamed.body.errors, renamed.text).toBeUndefined();
      expect(['UpdateSecretSuccess', 'ValidationError']).toContain(renamed.body.data.updateSecret.__typename);
      if (renamed.body.data.updateSecret.__typename === 'UpdateSecretSuccess') {
        expect(await readSecret(c, c.secretId, 'name')()).toBe(`${name}-2`);
      }
    });
  });
});

describe('REST: malformed UUIDs in every path position → 422 loc ["path", ...]', () => {
  const BAD_IDS: [string, string][] = [
    ['word', 'not-a-uuid'],
    ['number', '12345'],
    ['non-hex digit', '00000000-0000-0000-0000-00000000000g'],
    ['no dashes', '0123456789abcdef0123456789abcdef'],
    ['braces', '{01234567-89ab-cdef-0123-456789abcdef}'],
    ['suffix', '01234567-89ab-cdef-0123-456789abcdefx'],
    ['too short', '01234567-89ab-cdef-0123-456789abcde'],
    ['leading space', '%2001234567-89ab-cdef-0123-456789abcdef'],
    ['SQL', "'%20OR%20'1'%3D'1"],
    ['NUL', '%00'],
    ['encoded slash', 'a%2Fb'],
    ['bad percent-encoding', '%E0%A4%A'],
    ['very long', 'a'.repeat(2000)],
    ['null', 'null'],
  ];

  it.each(BAD_IDS)('team_id: %s', async (_, bad) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const requests: [string, string, unknown][] = [
      ['POST', `/v1/teams/${bad}/secrets`, endpoint('POST /secrets').valid(c)],
      ['GET', `/v1/teams/${bad}/secrets/${c.secretId}`, undefined],
      ['PATCH', `/v1/teams/${bad}/secrets/${c.secretId}`, { name: unique('x') }],
      ['POST', `/v1/teams/${bad}/locations`, endpoint('POST /locations').valid(c)],
      ['POST', `/v1/teams/${bad}/vault-connections`, endpoint('POST /vault-connections').valid(c)],
    ];
    for (const [method, path, body] of requests) {
      const r = await c.call(method, path, body);
      const label = `${method} ${path.slice(0, 80)}`;
      expectCleanRest(label, r);
      expect(r.status, `${label}: ${r.text}`).toBe(422);
      expect(r.body.detail, label).toEqual([
        { loc: ['path', 'team_id'], msg: expect.any(String), type: 'uuid_parsing' },
      ]);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it.each(BAD_IDS)('secret_id: %s', async (_, bad) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: unique('x') }],
    ] as const) {
      const r = await c.call(method, `${c.base}/secrets/${bad}`, body);
      expectCleanRest(method, r);
      expect(r.status, `${method}: ${r.text}`).toBe(422);
      expect(r.body.detail, method).toEqual([
        { loc: ['path', 'secret_id'], msg: expect.any(String), type: 'uuid_parsing' },
      ]);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

describe('REST: unknown routes → 404 JSON, wrong methods → 405 JSON', () => {
  it('unknown routes are 404 {"detail"} in JSON, with or without a key', async () => {
    const c = await setup();
    const anonymous = restClient();
    const paths = [
      '/',
      '/v1',
      '/v1/',
      '/v1/teams',
      `/v1/teams/${c.team.teamId}`,
      `/v1/teams/${c.team.teamId}/secretz`,
      `/v1/teams/${c.team.teamId}/secrets/`,
      `/v1/teams/${c.team.teamId}/secrets/${c.secretId}/extra`,
      '/v2/teams/x/secrets',
      '/graphqlx',
      '/.env',
      '/v1/teams/../../etc/passwd',
    ];
    for (const path of paths) {
      for (const call of [c.call, anonymous]) {
        const r = await call('GET', path);
        expectCleanRest(path, r);
        expect(r.status, `${path}: ${r.text}`).toBe(404);
        expect(r.headers.get('content-type'), path).toMatch(/^application\/json/);
        expect(r.body, path).toEqual({ detail: expect.any(String) });
      }
    }
  });

  it('wrong methods are 405 {"detail"} in JSON with an Allow header; nothing written', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    // Methods no route serves; the Allow header must list (at least) the methods the contract names.
    const cases: [string, string, string[]][] = [
      ['PUT', `${c.base}/secrets`, ['POST']],
      ['PATCH', `${c.base}/secrets`, ['POST']],
      ['DELETE', `${c.base}/secrets`, ['POST']],
      ['PUT', `${c.base}/secrets/${c.secretId}`, ['GET', 'PATCH']],
      ['POST', `${c.base}/secrets/${c.secretId}`, ['GET', 'PATCH']],
      ['PUT', `${c.base}/locations`, ['POST']],
      ['PATCH', `${c.base}/locations`, ['POST']],
      ['PUT', `${c.base}/vault-connections`, ['POST']],
      ['DELETE', `${c.base}/vault-connections`, ['POST']],
    ];
    for (const [method, path, allowed] of cases) {
      const r = await c.call(method, path, method === 'DELETE' ? undefined : { name: 'x' });
      const label = `${method} ${path}`;
      expectCleanRest(label, r);
      expect(r.status, `${label}: ${r.text}`).toBe(405);
      expect(r.headers.get('content-type'), label).toMatch(/^application\/json/);
      expect(r.body, label).toEqual({ detail: expect.any(String) });
      const allow = (r.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      for (const m of allowed) expect(allow, label).toContain(m);
      expect(allow, label).not.toContain(method);
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// GraphQL

const CREATE_SECRET = `mutation($t: ID!, $i: CreateSecretInput!) { createSecret(teamId: $t, input: $i) {
  __typename ... on CreateSecretSuccess { secret { id name } } ... on Error { message }
  ... on ValidationError { issues { path message code } } } }`;

const UPDATE_SECRET = `mutation($t: ID!, $s: ID!, $i: UpdateSecretInput!) { updateSecret(teamId: $t, secretId: $s, input: $i) {
  __typename ... on UpdateSecretSuccess { secret { id name } } ... on Error { message }
  ... on ValidationError { issues { path message code } } } }`;

const accessKey = (secret: string) => ({
  accessKey: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: secret },
});

const gqlCreateInput = (overrides: Record<string, unknown> = {}) => ({
  name: unique('gql'),
  secretType: 'S3',
  authMethod: 'S3_ACCESS_KEY',
  value: { credentials: accessKey(canary('gql-create')) },
  ...overrides,
});

/** A rejected GraphQL request: a clean response, at least one error with a message, no success. */
function expectGqlRejected(label: string, r: { status: number; body: any; text: string }, field?: string) {
  expectCleanGql(label, r);
  expect(r.body.errors?.length ?? 0, `${label}: ${r.text.slice(0, 500)}`).toBeGreaterThan(0);
  if (field) expect(r.body.data?.[field] ?? null, label).toBeNull();
}

describe('GraphQL: malformed requests', () => {
  it.each([
    'mutation { createSecret(',
    '{',
    '}}}}',
    'query { secret(teamId: "x" id: ) { id } }',
    'query { secret(teamId: "a", id: "b") { id } } garbage {',
    'mutation { updateSecret(teamId: "x", secretId: "y", input: { name: "unterminated }) { __typename } }',
  ])('malformed query text %j → a syntax error, not a 500', async (query) => {
    const c = await setup();
    const r = await c.gql(query);
    expectGqlRejected(query, r);
    expect(r.body.errors[0].message, query).toMatch(/Syntax Error/);
  });

  it.each([
    ['invalid JSON', '{"query": '],
    ['a JSON array (batching)', '[{"query":"{ __typename }"}]'],
    ['a JSON string', '"{ __typename }"'],
    ['no query', '{"variables": {}}'],
    ['query is a number', '{"query": 42}'],
    ['variables is a string', '{"query": "{ __typename }", "variables": "x"}'],
    ['unexpected parameter', '{"query": "{ __typename }", "extra": 1}'],
  ])('a request body that is not a GraphQL request (%s) → 4xx with a message', async (label, body) => {
    const c = await setup();
    const r = await gqlRaw(c.team.ownerKey, body);
    expect(r.body, `${label}: not JSON: ${r.text.slice(0, 200)}`).toBeTypeOf('object');
    expectGqlRejected(label, r);
    expect(r.status, label).toBeGreaterThanOrEqual(400);
    expect(r.body.errors[0].message, label).not.toBe('Unexpected error.');
  });

  const WRONG_VARIABLES: [string, () => Record<string, unknown>, RegExp][] = [
    ['name: number', () => gqlCreateInput({ name: 123 }), /name/],
    ['name: object', () => gqlCreateInput({ name: { a: 1 } }), /name/],
    ['description: list', () => gqlCreateInput({ description: ['x'] }), /description/],
    ['secretType: unknown enum value', () => gqlCreateInput({ secretType: 'S4' }), /secretType|SecretType/],
    ['secretType: lower case', () => gqlCreateInput({ secretType: 's3' }), /secretType|SecretType/],
    ['authMethod: number', () => gqlCreateInput({ authMethod: 1 }), /authMethod|AuthMethod/],
    [
      'accessKeyId: number',
      () =>
        gqlCreateInput({
          value: { credentials: { accessKey: { accessKeyId: 5, secretAccessKey: canary('v') } } },
        }),
      /accessKeyId/,
    ],
    [
      'credentials: string',
      () => gqlCreateInput({ value: { credentials: canary('creds-string') } }),
      /credentials|CredentialsInput/,
    ],
    [
      'unknown field inside accessKey',
      () =>
        gqlCreateInput({
          value: {
            credentials: {
              accessKey: { accessKeyId: 'A', secretAccessKey: canary('extra'), sessionToken: 'x' },
            },
          },
        }),
      /sessionToken/,
    ],
    [
      'missing secretAccessKey',
      () =>
        gqlCreateInput({ value: { credentials: { accessKey: { accessKeyId: canary('missing-sibling') } } } }),
      /secretAccessKey/,
    ],
    ['unknown top-level input field', () => gqlCreateInput({ teamId: randomUUID() }), /teamId/],
  ];

  it.each(WRONG_VARIABLES)(
    'wrong variable type (%s) → an error naming the field, nothing written',
    async (label, input, names) => {
      const c = await setup();
      const before = await teamState(c.team.teamId);
      const r = await c.gql(CREATE_SECRET, { t: c.team.teamId, i: input() });
      expectGqlRejected(label, r, 'createSecret');
      expect(r.body.errors.map((e: any) => e.message).join(' | '), label).toMatch(names);
      expect(await teamState(c.team.teamId)).toEqual(before);
    },
  );

  it('an unknown enum value written inline → a validation error naming it, nothing written', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const inline = await c.gql(
      `mutation($t: ID!) { createSecret(teamId: $t, input: { name: "x", secretType: S4, authMethod: S3_ACCESS_KEY,
        value: { credentials: { accessKey: { accessKeyId: "A", secretAccessKey: "B" } } } }) { __typename } }`,
      { t: c.team.teamId },
    );
    expectGqlRejected('inline unknown enum', inline, 'createSecret');
    expect(inline.body.errors[0].message).toMatch(/SecretType|secretType/);
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  const MAPPING = [{ fieldName: 'ACCESS_KEY_ID', reference: 'op://v/i/f' }];
  const ONE_OF_VARIABLES: [string, () => Record<string, unknown>][] = [
    [
      'value: credentials + fieldMappings',
      () => ({ value: { credentials: accessKey(canary('both')), fieldMappings: MAPPING } }),
    ],
    ['value: {}', () => ({ value: {} })],
    [
      'value: credentials null + fieldMappings',
      () => ({ value: { credentials: null, fieldMappings: MAPPING } }),
    ],
    [
      'credentials: two variants',
      () => ({
        value: {
          credentials: {
            ...accessKey(canary('two-variants')),
            azureSasUrl: { sasUrl: 'https://a.blob.core.windows.net/c?sig=x&se=y' },
          },
        },
      }),
    ],
    ['credentials: {}', () => ({ value: { credentials: {} } })],
  ];

  it.each(ONE_OF_VARIABLES)('@oneOf via variables (%s) → rejected, nothing written', async (label, input) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const r = await c.gql(UPDATE_SECRET, {
      t: c.team.teamId,
      s: c.secretId,
      i: { name: unique('n'), ...input() },
    });
    expectGqlRejected(label, r, 'updateSecret');
    expect(r.body.errors.map((e: any) => e.message).join(' | '), label).toMatch(
      /exactly one|must be non-null/i,
    );
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it.each([
    [
      'credentials + fieldMappings',
      () => `value: { credentials: { accessKey: { accessKeyId: "A", secretAccessKey: "${canary('inline-both')}" } },
                  fieldMappings: [{ fieldName: ACCESS_KEY_ID, reference: "op://v/i/f" }] }`,
    ],
    ['value: {}', () => 'value: {}'],
    [
      'credentials with two variants',
      () => `value: { credentials: { accessKey: { accessKeyId: "A", secretAccessKey: "${canary('inline-two')}" },
                                 gcsServiceAccount: { serviceAccountJson: "{}" } } }`,
    ],
  ])('@oneOf written inline (%s) → rejected, nothing written', async (label, value) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const r = await c.gql(
      `mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: { name: "renamed", ${value()} }) { __typename } }`,
      { t: c.team.teamId, s: c.secretId },
    );
    expectGqlRejected(label, r, 'updateSecret');
    expect(r.body.errors[0].message, label).toMatch(/exactly one/i);
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it.each([
    [
      'credentials + vault',
      (c: Ctx) => ({
        credentials: accessKey(canary('create-both')),
        vault: { vaultConnectionId: c.connectionId, fieldMappings: MAPPING },
      }),
    ],
    ['{}', () => ({})],
  ])('createSecret @oneOf value (%s) → rejected, nothing written', async (label, value) => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const r = await c.gql(CREATE_SECRET, { t: c.team.teamId, i: gqlCreateInput({ value: value(c) }) });
    expectGqlRejected(label, r, 'createSecret');
    expect(r.body.errors.map((e: any) => e.message).join(' | '), label).toMatch(/exactly one/i);
    expect(await teamState(c.team.teamId)).toEqual(before);
  });

  it('non-UUID ids → a clean validation error naming the argument; nothing written', async () => {
    const c = await setup();
    const before = await teamState(c.team.teamId);
    const issuesPaths = (r: any, field: string) =>
      (r.body.data?.[field]?.issues ?? []).map((i: any) => i.path.join('.'));

    for (const bad of [
      'nope',
      "1' OR '1'='1",
      '',
      '00000000-0000-0000-0000-00000000000g',
      'x'.repeat(5000),
    ]) {
      const update = await c.gql(UPDATE_SECRET, { t: bad, s: c.secretId, i: { name: unique('n') } });
      expectCleanGql(`updateSecret teamId=${bad.slice(0, 20)}`, update);
      expect(update.body.data?.updateSecret?.__typename, update.text.slice(0, 300)).toBe('ValidationError');
      expect(issuesPaths(update, 'updateSecret')).toContain('teamId');

      const update2 = await c.gql(UPDATE_SECRET, { t: c.team.teamId, s: bad, i: { name: unique('n') } });
      expectCleanGql(`updateSecret secretId=${bad.slice(0, 20)}`, update2);
      expect(update2.body.data?.updateSecret?.__typename).toBe('ValidationError');
      expect(issuesPaths(update2, 'updateSecret')).toContain('secretId');

      const create = await c.gql(CREATE_SECRET, { t: bad, i: gqlCreateInput() });
      expectCleanGql(`createSecret teamId=${bad.slice(0, 20)}`, create);
      expect(create.body.data?.createSecret?.__typename).toBe('ValidationError');
      expect(issuesPaths(create, 'createSecret')).toContain('teamId');

      const read = await c.gql(`query($t: ID!, $s: ID!) { secret(teamId: $t, id: $s) { id name } }`, {
        t: c.team.teamId,
        s: bad,
      });
      expectCleanGql(`secret id=${bad.slice(0, 20)}`, read);
      expect(read.body.data?.secret ?? null).toBeNull();
      for (const error of read.body.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');

      const location = await c.gql(
        `mutation($t: ID!, $i: CreateLocationInput!) { createLocation(teamId: $t, input: $i) {
          __typename ... on ValidationError { issues { path code } } } }`,
        { t: c.team.teamId, i: { name: unique('loc'), locationType: 'S3', secretId: bad, bucketName: 'b' } },
      );
      expectCleanGql(`createLocation secretId=${bad.slice(0, 20)}`, location);
      expect(location.body.data?.createLocation?.__typename).toBe('ValidationError');
      expect(issuesPaths(location, 'createLocation')).toContain('input.secretId');

      const vault = await c.gql(
        `mutation($t: ID!, $i: CreateVaultConnectionInput!) { createVaultConnection(teamId: $t, input: $i) {
          __typename ... on ValidationError { issues { path code } } } }`,
        {
          t: bad,
          i: { name: unique('vc'), settings: { onepassword: { accessToken: `ops_${canary('uuid')}` } } },
        },
      );
      expectCleanGql(`createVaultConnection teamId=${bad.slice(0, 20)}`, vault);
      expect(vault.body.data?.createVaultConnection?.__typename).toBe('ValidationError');
      expect(issuesPaths(vault, 'createVaultConnection')).toContain('teamId');
    }
    expect(await teamState(c.team.teamId)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Credentials and API keys never leak. This runs last so it also sweeps every response above.

describe('credential values and API key secrets never appear in a response or a log line', () => {
  it('canaries in creates and rotations (accepted and refused for other reasons) stay secret', async () => {
    const c = await setup();
    const other = await t.newTeam();
    apiKeys.push(other.ownerKey);
    const viewerKey = await c.team.keyFor('viewer', ['secrets:read', 'secrets:update']);
    apiKeys.push(viewerKey);
    const s3 = (tag: string) => ({
      access_key_id: canary(`${tag}-id`),
      secret_access_key: canary(`${tag}-key`),
    });
    const valid = (tag: string) => ({
      name: unique('canary'),
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: s3(tag),
    });
    const secrets = `${c.base}/secrets`;
    const one = `${secrets}/${c.secretId}`;

    const restCases: [string, string, string, unknown, number[]][] = [
      ['create ok', 'POST', secrets, valid('create-ok'), [201]],
      ['create, name is a number', 'POST', secrets, { ...valid('name-number'), name: 123 }, [422]],
      ['create, unknown field', 'POST', secrets, { ...valid('unknown'), bogus: true }, [422]],
      [
        'create, auth method of another type',
        'POST',
        secrets,
        { ...valid('auth'), auth_method: 'azure_sas_url' },
        [422],
      ],
      [
        'create, extra credential field',
        'POST',
        secrets,
        { ...valid('extra'), credentials: { ...s3('extra2'), session_token: canary('session') } },
        [422],
      ],
      [
        'create, sibling credential of the wrong type',
        'POST',
        secrets,
        { ...valid('sibling'), credentials: { access_key_id: 7, secret_access_key: canary('sibling') } },
        [422],
      ],
      [
        'create, SAS URL without se',
        'POST',
        secrets,
        {
          name: unique('sas'),
          secret_type: 'azure_blob',
          auth_method: 'azure_sas_url',
          credentials: { sas_url: `https://acct.blob.core.windows.net/c?sig=${canary('sas')}` },
        },
        [422],
      ],
      [
        'create, service account JSON that does not parse',
        'POST',
        secrets,
        {
          name: unique('gcs'),
          secret_type: 'gcs',
          auth_method: 'gcs_service_account',
          credentials: { service_account_json: `{"type":"service_account","private_key":"${canary('gcs')}"` },
        },
        [422],
      ],
      [
        'create, service account JSON without client_email',
        'POST',
        secrets,
        {
          name: unique('gcs'),
          secret_type: 'gcs',
          auth_method: 'gcs_service_account',
          credentials: {
            service_account_json: JSON.stringify({ type: 'service_account', private_key: canary('gcs2') }),
          },
        },
        [422],
      ],
      [
        'create, credential too long',
        'POST',
        secrets,
        {
          ...valid('long'),
          credentials: { access_key_id: 'A', secret_access_key: canary('long') + 'y'.repeat(5000) },
        },
        [422],
      ],
      ['create, duplicate name', 'POST', secrets, { ...valid('dup'), name: c.secretName }, [409]],
      ['create, NUL in the name', 'POST', secrets, { ...valid('nul'), name: 'nul\u0000name' }, [201, 422]],
      [
        'create, NUL in the description',
        'POST',
        secrets,
        { ...valid('nul2'), description: 'd\u0000' },
        [201, 422],
      ],
      ['create, other team', 'POST', `/v1/teams/${other.teamId}/secrets`, valid('other-team'), [404]],
      ['rotate ok', 'PATCH', one, { credentials: s3('rotate-ok') }, [200]],
      ['rotate, name is a number', 'PATCH', one, { name: 5, credentials: s3('rotate-name') }, [422]],
      ['rotate + field_mappings', 'PATCH', one, { credentials: s3('rotate-fm'), field_mappings: [] }, [422]],
      [
        'rotate, type change alone',
        'PATCH',
        one,
        { secret_type: 'azure_blob', credentials: s3('rotate-type') },
        [422],
      ],
      [
        'rotate, description too long',
        'PATCH',
        one,
        { description: 'd'.repeat(2001), credentials: s3('rotate-desc') },
        [422],
      ],
      [
        'rotate, NUL in the description',
        'PATCH',
        one,
        { description: 'a\u0000b', credentials: s3('rotate-nul') },
        [200, 422],
      ],
      [
        'rotate, unknown secret',
        'PATCH',
        `${secrets}/${randomUUID()}`,
        { credentials: s3('rotate-404') },
        [404],
      ],
      [
        'vault 1Password ok',
        'POST',
        `${c.base}/vault-connections`,
        { name: unique('v'), vault_type: 'onepassword', access_token: `ops_${canary('op')}` },
        [201],
      ],
      [
        'vault 1Password token without ops_',
        'POST',
        `${c.base}/vault-connections`,
        { name: unique('v'), vault_type: 'onepassword', access_token: canary('op-bad') },
        [422],
      ],
      [
        'vault Doppler, project is a number',
        'POST',
        `${c.base}/vault-connections`,
        {
          name: unique('v'),
          vault_type: 'doppler',
          access_token: `dp.st.${canary('dp')}`,
          project: 5,
          config: 'prd',
        },
        [422],
      ],
      [
        'vault Infisical, environment missing and an unknown field',
        'POST',
        `${c.base}/vault-connections`,
        {
          name: unique('v'),
          vault_type: 'infisical',
          client_id: 'cid',
          client_secret: canary('inf'),
          project_id: 'p',
          bogus: 1,
        },
        [422],
      ],
    ];

    // Statuses and error shapes are asserted by the tests above; here only the accepted ones are
    // checked (so that the canaries really were stored), and the sweep at the end looks for leaks.
    const before = await teamState(c.team.teamId);
    for (const [label, method, path, body, statuses] of restCases) {
      const r = await c.call(method, path, body);
      if (statuses.length === 1 && statuses[0] < 300)
        expect(r.status, `${label}: ${r.text}`).toBe(statuses[0]);
    }
    // Truncated JSON bodies carrying a credential: the parse error must not quote the body.
    const truncatedRest = `{"name":"t","credentials":{"access_key_id":"A","secret_access_key":"${canary('truncated-rest')}"`;
    await c.call('POST', secrets, truncatedRest);
    const truncatedGql = JSON.stringify({
      query: CREATE_SECRET,
      variables: {
        t: c.team.teamId,
        i: gqlCreateInput({ value: { credentials: accessKey(canary('truncated-gql')) } }),
      },
    }).slice(0, -3);
    await gqlRaw(c.team.ownerKey, truncatedGql);
    // Refusals at the door, with canaries in the body.
    const anonymous = await restClient()('POST', secrets, valid('anonymous'));
    expect(anonymous.status).toBe(401);
    const viewer = await restClient(viewerKey)('PATCH', one, { credentials: s3('viewer') });
    expect(viewer.status).toBe(403);
    // The accepted changes above did write (a new secret, a rotation, a vault connection).
    expect(await teamState(c.team.teamId)).not.toEqual(before);

    const gqlCases: [string, string, Record<string, unknown>][] = [
      ['createSecret ok', CREATE_SECRET, { t: c.team.teamId, i: gqlCreateInput() }],
      ['createSecret, empty name', CREATE_SECRET, { t: c.team.teamId, i: gqlCreateInput({ name: '' }) }],
      [
        'createSecret, unknown enum',
        CREATE_SECRET,
        { t: c.team.teamId, i: gqlCreateInput({ secretType: 'S4' }) },
      ],
      [
        'createSecret, unknown field next to the credential',
        CREATE_SECRET,
        {
          t: c.team.teamId,
          i: gqlCreateInput({
            value: {
              credentials: { accessKey: { accessKeyId: 'A', secretAccessKey: canary('g-extra'), extra: 1 } },
            },
          }),
        },
      ],
      [
        'createSecret, missing sibling field',
        CREATE_SECRET,
        {
          t: c.team.teamId,
          i: gqlCreateInput({
            value: { credentials: { accessKey: { secretAccessKey: canary('g-missing') } } },
          }),
        },
      ],
      [
        'createSecret, two credential variants',
        CREATE_SECRET,
        {
          t: c.team.teamId,
          i: gqlCreateInput({
            value: {
              credentials: {
                accessKey: { accessKeyId: canary('g-two-id'), secretAccessKey: canary('g-two') },
                b2ApplicationKey: { applicationKeyId: canary('g-b2-id'), applicationKey: canary('g-b2') },
              },
            },
          }),
        },
      ],
      [
        'createSecret, auth method of another type',
        CREATE_SECRET,
        { t: c.team.teamId, i: gqlCreateInput({ authMethod: 'AZURE_SAS_URL' }) },
      ],
      [
        'updateSecret rotate ok',
        UPDATE_SECRET,
        { t: c.team.teamId, s: c.secretId, i: { value: { credentials: accessKey(canary('g-rotate')) } } },
      ],
      [
        'updateSecret rotate, name too long',
        UPDATE_SECRET,
        {
          t: c.team.teamId,
          s: c.secretId,
          i: { name: 'n'.repeat(300), value: { credentials: accessKey(canary('g-rotate-long')) } },
        },
      ],
      [
        'updateSecret rotate with a wrong-type sibling',
        UPDATE_SECRET,
        {
          t: c.team.teamId,
          s: c.secretId,
          i: {
            value: { credentials: { accessKey: { accessKeyId: 9, secretAccessKey: canary('g-rotate-9') } } },
          },
        },
      ],
      [
        'createVaultConnection, empty name',
        `mutation($t: ID!, $i: CreateVaultConnectionInput!) { createVaultConnection(teamId: $t, input: $i) { __typename } }`,
        {
          t: c.team.teamId,
          i: { name: '', settings: { onepassword: { accessToken: `ops_${canary('g-op')}` } } },
        },
      ],
      [
        'createVaultConnection, Doppler without project',
        `mutation($t: ID!, $i: CreateVaultConnectionInput!) { createVaultConnection(teamId: $t, input: $i) { __typename } }`,
        {
          t: c.team.teamId,
          i: {
            name: unique('v'),
            settings: { doppler: { accessToken: `dp.st.${canary('g-dp')}`, config: 'prd' } },
          },
        },
      ],
    ];
    for (const [label, query, variables] of gqlCases) {
      const r = await c.gql(query, variables);
      if (label.endsWith(' ok')) {
        expect(r.body.errors, `${label}: ${r.text}`).toBeUndefined();
        expect(Object.values(r.body.data as Record<string, any>)[0].__typename, label).toMatch(/Success$/);
      }
    }
    const inlineCanary = canary('g-inline');
    const inline = await c.gql(
      `mutation($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: {
        value: { credentials: { accessKey: { accessKeyId: "A", secretAccessKey: "${inlineCanary}", extra: 1 } } } }) { __typename } }`,
      { t: c.team.teamId, s: c.secretId },
    );
    expect(inline.body.data?.updateSecret ?? null).toBeNull();
    const unauthenticated = await gqlClient()(CREATE_SECRET, { t: c.team.teamId, i: gqlCreateInput() });
    expect(unauthenticated.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // Controls: the recorder and the log sink really capture what we scan.
    expect(seen.some((s) => s.text.includes(c.secretName))).toBe(true);
    expect(t.logs.some((line) => line.includes(`/v1/teams/${c.team.teamId}/secrets`))).toBe(true);
    expect(canaries.length).toBeGreaterThan(50);

    // The sweep: every response and every log line of this file.
    const leaks: string[] = [];
    for (const value of canaries) {
      for (const s of seen)
        if (s.text.includes(value)) leaks.push(`response to ${s.label} contains ${value}`);
      for (const line of t.logs)
        if (line.includes(value)) leaks.push(`log line contains ${value}: ${line.slice(0, 300)}`);
    }
    for (const key of apiKeys) {
      const secretPart = key.slice(16);
      expect(secretPart).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (const s of seen)
        if (s.text.includes(secretPart)) leaks.push(`response to ${s.label} contains an API key secret`);
      for (const line of t.logs)
        if (line.includes(secretPart))
          leaks.push(`log line contains an API key secret: ${line.slice(0, 300)}`);
    }
    expect(leaks).toEqual([]);
  });
});
