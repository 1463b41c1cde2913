/**
 * Property-based fuzzing (fast-check) of both doors — REST bodies, headers, path ids and
 * query strings; GraphQL variables, inline literals and broken documents. For every case:
 *   - never a 5xx (nor a GraphQL INTERNAL_SERVER_ERROR), never a dropped connection;
 *   - never a stack trace or source path in a response ("    at ", "node_modules", ".ts:");
 *   - never a credential value in a response or a log line: credential-like canaries (all containing
 *     CANARY_TAG) go into every credential position — credential fields, vault tokens and client
 *     secrets, unknown keys' values, wrongly shaped credential objects, inline GraphQL literals, the
 *     Authorization header — and must never come back out.
 * Fields that are echoed by design (name, description, bucket, settings, references) get ordinary
 * strings instead, never a canary. On GraphQL, besides hand-made cases for the core use case, every
 * argument of every query and mutation (and of the fields they select) is exercised with variables
 * generated from its type in the schema itself (./graphql-operations.ts), so new fields and
 * arguments are fuzzed as soon as they exist. Shared by test/fuzz.test.ts (a quick budget) and
 * scripts/fuzz.ts.
 */
import fc from 'fast-check';
import { type GraphQLInputType, isEnumType, isInputObjectType, isListType, isNonNullType } from 'graphql';
import { buildSubgraphSchema } from '../../../src/app/graphql-schema.js';
import { buildOpenApiDocument, type JsonSchema, type OpenApiDocument } from '../../../src/app/openapi.js';
import { AUTH_METHODS, CREDENTIAL_FIELDS, SECRET_TYPES } from '../../../src/domain/providers.js';
import { SCOPES } from '../../../src/domain/scopes.js';
import { s3FieldMappings, vaultSecretBody } from '../bodies.js';
import { type Operation, schemaOperations } from './graphql-operations.js';
import { type HttpResult, LEAK_MARKERS, leakMarkerIn, request } from './http.js';

export const CANARY_TAG = 'SECRETCANARY';

export interface FuzzFixture {
  url: string;
  teamId: string;
  ownerKey: string;
  /** A key of a viewer in the team (reads only), when available. */
  viewerKey?: string;
  secretId: string;
  vaultSecretId: string;
  connectionId: string;
  /** A location, of a secret of its own (so the other secrets can change type freely). */
  locationId: string;
  otherTeamId: string;
  otherKey: string;
  otherSecretId: string;
  /** Every log line the server wrote so far (the same growing array, or a fresh copy). */
  logs: () => string[];
  /** Told about every case and its response (figures). */
  onResult?: (c: FuzzCase, result: HttpResult) => void;
}

export interface FuzzCase {
  door: 'rest' | 'graphql';
  /** The GraphQL root field or the REST route (`PATCH /v1/teams/{team_id}/...`), for cases made from the schema or the OpenAPI document. */
  operation?: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A REST request of the hand-written cases: `method` on `path` with these headers (and body). */
const restCase = (
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): FuzzCase => ({
  door: 'rest',
  method,
  path,
  headers,
  body,
});

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

const clean = (s: string) => !leakMarkerIn(s) && !s.includes(CANARY_TAG);

/** Strings for fields that may be echoed: anything, except leak markers and canaries. */
const echoString = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'x'.repeat(256),
        'y'.repeat(2001),
        '\u0000',
        'a\u0000b',
        '\uD800',
        'a\uDFFFb',
        '%s%n',
        '../..',
        'null',
      ),
    },
  )
  .filter(clean);

/** Timestamps for DateTime arguments and date-time fields: valid ones, and ones outside years 0001–9999 or malformed. */
const timestampText = fc.oneof(
  { weight: 4, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0000-01-01T00:00:00Z',
      '+275760-09-13T00:00:00Z',
      '-000001-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '9999-12-31T23:30:00-01:00',
      '2030-01-01',
      'yesterday',
      '2030-13-45T25:61:61Z',
    ),
  },
  { weight: 1, arbitrary: echoString },
);

/** Text for fields and arguments that are not credentials: hostile text (NUL, lone surrogates, huge, ...). */
const hostileText = fc.oneof(
  { weight: 4, arbitrary: echoString },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', 'x\u0000', '\uD800x', 'x\uDC00', 'w'.repeat(300_000)) },
);

type Weighted = { weight: number; arbitrary: fc.Arbitrary<unknown> };

/** `typed` choices always; `wild` ones too in a wild case. */
function choose(place: { wild: boolean }, typed: Weighted[], wild: Weighted[] = []): fc.Arbitrary<unknown> {
  return fc.oneof(...typed, ...(place.wild ? wild : []));
}

/**
 * Plausible values by field name (REST's snake_case; GraphQL names are looked up in it as snake_case),
 * so that generated requests also get past validation and reach the database.
 */
function plausible(f: FuzzFixture): Record<string, fc.Arbitrary<unknown>> {
  return {
    name: validName,
    description: validDescription,
    scopes: fc.subarray([...SCOPES], { minLength: 1, maxLength: 3 }),
    bucket_name: fc.stringMatching(/^[a-z0-9-]{3,20}$/),
    region: fc.constantFrom('us-east-1', 'auto'),
    endpoint_url: fc.constantFrom('https://s3.example.com', 'http://localhost:9000'),
    reference: fc.constantFrom('op://vault/item/field', 'AWS_KEY', 'AWS_SECRET'),
    project: fc.constant('p'),
    config: fc.constant('c'),
    environment: fc.constant('prod'),
    project_id: fc.constant('project-1'),
    client_id: fc.constant('client-1'),
    secret_path: fc.constant('/'),
    q: fc.constantFrom('fuzz', 'fz-', 'é', '%', '_'),
    event_type: fc.constantFrom('secret_updated', 'secret_created', 'api_key_created'),
    secret_id: fc.constantFrom(f.secretId, f.vaultSecretId),
    vault_connection_id: fc.constant(f.connectionId),
    page: fc.integer({ min: 1, max: 3 }),
    limit: fc.integer({ min: 1, max: 100 }),
    first: fc.integer({ min: 1, max: 100 }),
    version: fc.integer({ min: 1, max: 30 }),
    expected_version: fc.integer({ min: 1, max: 40 }),
  };
}

const hex = fc.stringMatching(/^[0-9a-f]{10}$/);
const tail = fc.stringMatching(/^[A-Za-z0-9+/=_-]{0,30}$/);

/** A credential-like canary: looks like an access key, a token, a SAS URL, a private key... */
export const canary: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(
      'AKIA',
      'ops_',
      'dp.st.',
      'sk_live_',
      '',
      'https://acct.blob.core.windows.net/c?se=2030-01-01&sig=',
      '-----BEGIN PRIVATE KEY-----\n',
    ),
    hex,
    tail,
  )
  .map(([prefix, h, rest]) => `${prefix}${CANARY_TAG}${h}${rest}`);

/** A value for a credential position: mostly a canary, sometimes a wrong shape that still holds one. */
const canaryValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: canary },
  { weight: 1, arbitrary: canary.map((c) => ({ value: c })) },
  { weight: 1, arbitrary: canary.map((c) => [c]) },
  { weight: 1, arbitrary: canary.map((c) => c.repeat(200)) },
  { weight: 1, arbitrary: fc.constantFrom('', null, 0, true, -1.5) },
);

/** A valid value for a credential field (so that valid requests succeed), holding a canary. */
function validCredentialValue(field: string): fc.Arbitrary<string> {
  if (field === 'sas_url') {
    return hex.map((h) => `https://acct.blob.core.windows.net/c?sv=2024&se=2030-01-01&sig=${CANARY_TAG}${h}`);
  }
  if (field === 'service_account_json') {
    return hex.map((h) =>
      JSON.stringify({
        type: 'service_account',
        client_email: 'fuzz@example.iam.gserviceaccount.com',
        private_key: `-----BEGIN PRIVATE KEY-----\n${CANARY_TAG}${h}\n-----END PRIVATE KEY-----\n`,
      }),
    );
  }
  return canary;
}

const SHAPES: Record<string, string[]> = {
  accessKey: ['access_key_id', 'secret_access_key'],
  azureSasUrl: ['sas_url'],
  azureAccountKey: ['account_name', 'account_key'],
  gcsServiceAccount: ['service_account_json'],
  b2ApplicationKey: ['application_key_id', 'application_key'],
};
const GQL_FIELD: Record<string, string> = {
  access_key_id: 'accessKeyId',
  secret_access_key: 'secretAccessKey',
  sas_url: 'sasUrl',
  account_name: 'accountName',
  account_key: 'accountKey',
  service_account_json: 'serviceAccountJson',
  application_key_id: 'applicationKeyId',
  application_key: 'applicationKey',
};

/** A REST `credentials` value: a valid field set, a broken one, or the wrong shape — all with canaries. */
const restCredentials: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(...Object.values(SHAPES))
      .chain((fields) =>
        fc
          .tuple(...fields.map(validCredentialValue))
          .map((values) => Object.fromEntries(fields.map((f, i) => [f, values[i]]))),
      ),
  },
  {
    weight: 3,
    arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...CREDENTIAL_FIELDS), echoString), canaryValue, {
      maxKeys: 4,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      canary,
      canary.map((c) => [c]),
      fc.constant(null),
      fc.integer(),
    ),
  },
);

/** Values of the wrong type, or odd ones, for any non-credential field (never a canary). */
const odd: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(echoString, { maxLength: 3 }),
  fc.dictionary(echoString, echoString, { maxKeys: 2 }),
);

const enumish = (values: readonly string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.constantFrom(...values).map((v) => v.toUpperCase()) },
    { weight: 1, arbitrary: echoString },
    { weight: 1, arbitrary: odd },
  );

const maybe = <T>(arb: fc.Arbitrary<T>, weight = 1) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight, arbitrary: arb });

/** Mostly absent (five times in six). */
const rarely = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const fieldMappings = fc.oneof(
  fc.array(
    fc.record({
      field_name: enumish(CREDENTIAL_FIELDS),
      reference: fc.oneof(fc.constantFrom('op://v/i/f', 'AWS_KEY', 'SECRET_KEY'), echoString),
    }),
    { maxLength: 3 },
  ),
  odd,
);

const validName = fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => `fz-${s}`);

/** Valid credentials of one auth method, with canaries as values. */
function validCredentials(authMethod: string): fc.Arbitrary<Record<string, string>> {
  const shape =
    authMethod === 'azure_sas_url'
      ? SHAPES.azureSasUrl
      : authMethod === 'azure_account_key'
        ? SHAPES.azureAccountKey
        : authMethod === 'gcs_service_account'
          ? SHAPES.gcsServiceAccount
          : authMethod === 'b2_application_key'
            ? SHAPES.b2ApplicationKey
            : SHAPES.accessKey;
  return fc
    .tuple(...shape.map(validCredentialValue))
    .map((values) => Object.fromEntries(shape.map((f, i) => [f, values[i]])));
}

const VALID_TYPES: [string, string][] = [
  ['s3', 's3_access_key'],
  ['r2', 'r2_access_key'],
  ['azure_blob', 'azure_sas_url'],
  ['azure_blob', 'azure_account_key'],
  ['gcs', 'gcs_service_account'],
  ['b2', 'b2_application_key'],
];

/** Access-key providers: an update may move the fixture secret among them and stay rotatable. */
const ACCESS_KEY_TYPES = ['s3', 'r2', 'wasabi', 'hetzner', 'tigris'];

const validDescription = fc.oneof(fc.string({ maxLength: 40 }).filter(clean), fc.constant(null));

/** A valid (or nearly: names may clash) update or create body. */
const validSecretBody = (create: boolean): fc.Arbitrary<Record<string, unknown>> =>
  create
    ? fc.constantFrom(...VALID_TYPES).chain(([secretType, authMethod]) =>
        fc.record(
          {
            name: validName,
            description: validDescription,
            secret_type: fc.constant(secretType),
            auth_method: fc.constant(authMethod),
            credentials: validCredentials(authMethod),
          },
          { requiredKeys: ['name', 'secret_type', 'auth_method', 'credentials'] },
        ),
      )
    : fc.oneof(
        fc.record({ name: validName, description: validDescription }, { requiredKeys: [] }),
        fc.record(
          { credentials: validCredentials('s3_access_key'), name: validName, description: validDescription },
          { requiredKeys: ['credentials'] },
        ),
        fc.constantFrom(...ACCESS_KEY_TYPES).chain((type) =>
          fc.record({
            secret_type: fc.constant(type),
            auth_method: fc.constant(`${type}_access_key`),
            credentials: validCredentials('s3_access_key'),
          }),
        ),
      );

/** A JSON object for secret create/update: valid mostly, else mutated, with extra keys holding canaries. */
const secretBody = (create: boolean, vaultConnectionId: string) =>
  fc.oneof(
    { weight: 3, arbitrary: validSecretBody(create) },
    { weight: 2, arbitrary: mutatedSecretBody(create, vaultConnectionId) },
  );

const mutatedSecretBody = (create: boolean, vaultConnectionId: string) =>
  fc
    .tuple(
      fc.record(
        {
          name: fc.oneof(
            { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((s) => `fz-${s}`) },
            { weight: 1, arbitrary: echoString },
            { weight: 1, arbitrary: odd },
          ),
          description: fc.oneof(echoString, odd),
          secret_type: enumish(SECRET_TYPES),
          auth_method: enumish(AUTH_METHODS),
          credentials: restCredentials,
          field_mappings: fieldMappings,
          vault_connection_id: fc.oneof(fc.constant(vaultConnectionId), fc.uuid(), echoString),
        },
        { requiredKeys: create ? ['name', 'secret_type', 'auth_method'] : [] },
      ),
      fc.dictionary(echoString, canaryValue, { maxKeys: 2 }),
    )
    .map(([known, extra]) => ({ ...extra, ...known }));

const vaultBody = fc.oneof(
  fc.record(
    {
      name: fc.oneof(
        fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((s) => `fzv-${s}`),
        echoString,
      ),
      description: maybe(echoString),
      vault_type: enumish(['onepassword', 'doppler', 'infisical']),
      access_token: canaryValue,
      client_secret: canaryValue,
      client_id: maybe(echoString),
      project: maybe(echoString),
      config: maybe(echoString),
      project_id: maybe(echoString),
      environment: maybe(echoString),
      secret_path: maybe(fc.oneof(echoString, fc.constant(null))),
    },
    { requiredKeys: ['name', 'vault_type'] },
  ),
  fc.dictionary(echoString, canaryValue, { maxKeys: 3 }),
);

const locationBody = (secretId: string) =>
  fc.record(
    {
      name: fc.oneof(
        fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((s) => `fzl-${s}`),
        echoString,
      ),
      description: maybe(echoString),
      location_type: enumish(SECRET_TYPES),
      secret_id: fc.oneof(fc.constant(secretId), fc.uuid(), echoString, odd),
      bucket_name: fc.oneof(fc.stringMatching(/^[a-z0-9.-]{3,20}$/), echoString, odd),
      region: maybe(fc.oneof(fc.constantFrom('us-east-1', 'auto'), echoString)),
      endpoint_url: maybe(fc.oneof(fc.constantFrom('https://s3.example.com', 'not a url'), echoString, odd)),
      credentials: maybe(restCredentials),
    },
    { requiredKeys: [] },
  );

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

const printable = fc.stringMatching(/^[\x21-\x7e]{0,60}$/);

function authorization(f: FuzzFixture) {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constant(`Bearer ${f.ownerKey}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${f.otherKey}`) },
    { weight: 1, arbitrary: fc.constant(f.viewerKey ? `Bearer ${f.viewerKey}` : `Bearer ${f.ownerKey}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: canary.map((c) => `Bearer ${c.replace(/\n/g, '')}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9]{12}$/), hex)
        .map(([id, h]) => `Bearer dr_${id}_${CANARY_TAG}${h}`),
    },
    { weight: 1, arbitrary: hex.map((h) => `Basic ${CANARY_TAG}${h}`) },
    { weight: 1, arbitrary: printable },
  );
}

/** Path segments: the fixture's ids, other teams' ids, unknown UUIDs and garbage, percent-encoded. */
const garbageSegment = fc.oneof(
  echoString.map((s) => encodeURIComponent(s.toWellFormed())),
  fc.constantFrom('%', '%zz', '%00', '..', '.', '%2F', '%E2%82', 'null', '0', '-1', '%20', 'x'.repeat(300)),
);

function idSegment(ids: string[]) {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(ids[0]) },
    { weight: 2, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.constantFrom(...ids).map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: garbageSegment },
  );
}

const query = fc.oneof(
  { weight: 12, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('?dry_run=true', '?dry_run=false', '?dry_run=maybe', '?dry_run=') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('page', 'limit', 'q', 'sort_by', 'sort_order', 'secret_type', 'dry_run'),
        garbageSegment,
      )
      .map(([k, v]) => `?${k}=${v}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(garbageSegment, garbageSegment).map(([k, v]) => `?${k}=${v}&${k}=${v}`),
  },
);

function commonHeaders(f: FuzzFixture) {
  return fc
    .record(
      {
        authorization: authorization(f),
        'if-match': rarely(
          fc.oneof(
            fc.nat({ max: 50 }).map((n) => `"${n}"`),
            fc.constantFrom('*', 'W/"1"', '"999999999999"', '""', 'nonsense'),
            printable,
          ),
        ),
        'idempotency-key': rarely(fc.oneof(printable, fc.constant('x'.repeat(300)))),
        'content-type': fc.oneof(
          { weight: 20, arbitrary: fc.constant('application/json') },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'text/plain',
              'application/json; charset=utf-16',
              'multipart/form-data',
            ),
          },
        ),
        'x-request-id': maybe(printable),
      },
      { requiredKeys: ['authorization', 'content-type'] },
    )
    .map(
      (h) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
    );
}

/** The raw body: the JSON of `value` mostly; sometimes broken, truncated, the wrong JSON, or huge. */
function rawBody(value: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 24, arbitrary: value.map((v) => JSON.stringify(v)) },
    {
      weight: 2,
      arbitrary: fc.tuple(value, fc.nat()).map(([v, n]) => {
        const text = JSON.stringify(v);
        return text.slice(0, n % (text.length + 1));
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        '',
        'null',
        '[]',
        '"str"',
        '1',
        '{',
        '{"a":',
        '[[[[[[[[[[',
        '\u0000',
      ),
    },
    { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
    { weight: 1, arbitrary: canary.map((c) => `{"credentials": {"secret_access_key": "${c}"`) },
  );
}

function restSecretCase(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const teams = idSegment([f.teamId, f.otherTeamId]);
  const secrets = idSegment([f.secretId, f.vaultSecretId, f.otherSecretId]);
  const jsonHeaders = fc.record({
    authorization: fc.constant(`Bearer ${f.ownerKey}`),
    'content-type': fc.constant('application/json'),
  });
  return fc.oneof(
    // Valid requests with credential canaries: the paths that write to the store and the database.
    {
      weight: 4,
      arbitrary: fc
        .record({
          secret: fc.constant(f.secretId),
          query: fc.constantFrom('', '', '', '?dry_run=true'),
          headers: jsonHeaders,
          body: validSecretBody(false),
        })
        .map((r) =>
          restCase(
            'PATCH',
            `/v1/teams/${f.teamId}/secrets/${r.secret}${r.query}`,
            r.headers,
            JSON.stringify(r.body),
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ headers: jsonHeaders, body: validSecretBody(true) })
        .map((r) => restCase('POST', `/v1/teams/${f.teamId}/secrets`, r.headers, JSON.stringify(r.body))),
    },
    // PATCH a secret (the core use case), dry run or not.
    {
      weight: 6,
      arbitrary: fc
        .record({
          team: teams,
          secret: secrets,
          query,
          headers: commonHeaders(f),
          body: rawBody(secretBody(false, f.connectionId)),
        })
        .map((r) =>
          restCase('PATCH', `/v1/teams/${r.team}/secrets/${r.secret}${r.query}`, r.headers, r.body),
        ),
    },
    // Create.
    {
      weight: 3,
      arbitrary: fc
        .record({ team: teams, headers: commonHeaders(f), body: rawBody(secretBody(true, f.connectionId)) })
        .map((r) => restCase('POST', `/v1/teams/${r.team}/secrets`, r.headers, r.body)),
    },
    // Reads, history, rollback, and deletes of ids that are not the fixture's.
    {
      weight: 2,
      arbitrary: fc
        .record({
          team: teams,
          secret: secrets,
          kind: fc.constantFrom('get', 'versions', 'rollback', 'delete', 'list', 'put'),
          query,
          headers: commonHeaders(f),
          body: rawBody(fc.oneof(fc.record({ version: fc.oneof(fc.nat({ max: 20 }), odd) }), odd)),
        })
        .map((r) => {
          const base = `/v1/teams/${r.team}/secrets`;
          const safeDelete = [f.secretId, f.vaultSecretId].some((id) =>
            r.secret.toLowerCase().includes(id.toLowerCase()),
          );
          switch (r.kind) {
            case 'get':
              return restCase('GET', `${base}/${r.secret}${r.query}`, r.headers);
            case 'versions':
              return restCase('GET', `${base}/${r.secret}/versions${r.query}`, r.headers);
            case 'rollback':
              return restCase('POST', `${base}/${r.secret}/rollback`, r.headers, r.body);
            case 'delete':
              // The fixture's own secrets stay (a DELETE of them would end the run's coverage).
              return restCase(
                'DELETE',
                `${base}/${safeDelete ? '00000000-0000-4000-8000-000000000000' : r.secret}`,
                r.headers,
              );
            case 'put':
              return restCase('PUT', `${base}/${r.secret}`, r.headers, r.body);
            default:
              return restCase('GET', `${base}${r.query}`, r.headers);
          }
        }),
    },
  );
}

function restOtherCase(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const teams = idSegment([f.teamId, f.otherTeamId]);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({ team: teams, headers: commonHeaders(f), body: rawBody(vaultBody) })
        .map((r) => restCase('POST', `/v1/teams/${r.team}/vault-connections`, r.headers, r.body)),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          team: teams,
          id: idSegment([f.connectionId]),
          headers: commonHeaders(f),
          body: rawBody(
            fc.oneof(
              fc.record({ access_token: canaryValue }),
              fc.record({ client_secret: canaryValue }),
              fc.dictionary(echoString, canaryValue, { maxKeys: 3 }),
            ),
          ),
          rotate: fc.boolean(),
        })
        .map((r) =>
          restCase(
            r.rotate ? 'POST' : 'PATCH',
            `/v1/teams/${r.team}/vault-connections/${r.id}${r.rotate ? '/rotate' : ''}`,
            r.headers,
            r.body,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ team: teams, headers: commonHeaders(f), body: rawBody(locationBody(f.secretId)) })
        .map((r) => restCase('POST', `/v1/teams/${r.team}/locations`, r.headers, r.body)),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          team: teams,
          resource: fc.constantFrom('api-keys', 'audit-logs', 'locations', 'vault-connections', 'secrets'),
          rest: fc.oneof(
            fc.constant(''),
            garbageSegment.map((s) => `/${s}`),
          ),
          method: fc.constantFrom('GET', 'POST', 'PATCH', 'OPTIONS', 'HEAD'),
          query,
          headers: commonHeaders(f),
          body: rawBody(fc.dictionary(echoString, canaryValue, { maxKeys: 3 })),
        })
        .map((r) =>
          restCase(
            r.method,
            `/v1/teams/${r.team}/${r.resource}${r.rest}${r.query}`,
            r.headers,
            r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body,
          ),
        ),
    },
  );
}

// --- REST: every parameter of the OpenAPI document ----------------------------------------------

/**
 * Huge values go in bodies, not URLs: past Node's header limit (16 KiB) the server answers 431 and
 * closes the connection, which a client still sending sees as a reset. Query parameters (and GraphQL
 * GET requests) longer than this are left out (sent as POST).
 */
const MAX_URL_PART = 8192;

interface RestPlace {
  name: string;
  /** Under `credentials`, or a token or client secret: canaries go here, and only here. */
  secret: boolean;
  wild: boolean;
  known: Record<string, fc.Arbitrary<unknown>>;
  resolve: (ref: string) => JsonSchema;
}

const REST_SECRET_FIELDS = ['credentials', 'access_token', 'client_secret'];

/** An arbitrary for a value of a JSON schema (as the OpenAPI document describes the route's input). */
function jsonValue(f: FuzzFixture, schema: JsonSchema, place: RestPlace): fc.Arbitrary<unknown> {
  if (typeof schema.$ref === 'string') return jsonValue(f, place.resolve(schema.$ref), place);
  const wrong = [{ weight: 1, arbitrary: place.secret ? canaryValue : odd }];
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (branches && !schema.properties) {
    return choose(
      place,
      branches.map((b) => ({ weight: 1, arbitrary: jsonValue(f, b, place) })),
      wrong,
    );
  }
  if ('const' in schema) return choose(place, [{ weight: 8, arbitrary: fc.constant(schema.const) }], wrong);
  if (Array.isArray(schema.enum)) {
    return choose(
      place,
      [{ weight: 8, arbitrary: fc.constantFrom(...(schema.enum as unknown[])) }],
      [{ weight: 1, arbitrary: enumish((schema.enum as unknown[]).map(String)) }],
    );
  }
  const known = place.known[place.name];
  const plausibly = known ? [{ weight: 6, arbitrary: known }] : [];
  switch (schema.type) {
    case 'object': {
      const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
      const at = (name: string) => ({
        ...place,
        name,
        secret: place.secret || REST_SECRET_FIELDS.includes(name),
      });
      const additional = schema.additionalProperties;
      const record = properties.length
        ? fc.record(Object.fromEntries(properties.map(([name, p]) => [name, jsonValue(f, p, at(name))])), {
            requiredKeys: place.wild ? [] : ((schema.required ?? []) as string[]),
          })
        : typeof additional === 'object' && additional !== null
          ? fc.dictionary(echoString, jsonValue(f, additional as JsonSchema, at('*')), { maxKeys: 3 })
          : fc.constant({});
      const extra = fc.dictionary(echoString, canaryValue, { minKeys: 1, maxKeys: 2 });
      return choose(
        place,
        [{ weight: 10, arbitrary: schema.oneOf ? jsonValue(f, { oneOf: schema.oneOf }, place) : record }],
        [
          {
            weight: 1,
            arbitrary: fc.tuple(record, extra).map(([known, more]) => ({ ...more, ...(known as object) })),
          },
          ...wrong,
        ],
      );
    }
    case 'array':
      return choose(
        place,
        [
          {
            weight: 6,
            arbitrary: fc.array(
              jsonValue(f, (schema.items ?? {}) as JsonSchema, { ...place, name: `${place.name}[]` }),
              { maxLength: 3 },
            ),
          },
          ...plausibly,
        ],
        wrong,
      );
    case 'integer':
    case 'number':
      return choose(
        place,
        [{ weight: 6, arbitrary: fc.integer({ min: -2, max: 120 }) }, ...plausibly],
        [{ weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 53, -1e300, 0.5, 1e300) }, ...wrong],
      );
    case 'boolean':
      return choose(place, [{ weight: 4, arbitrary: fc.boolean() }], wrong);
    case 'null':
      return fc.constant(null);
    case 'string': {
      if (place.secret) return choose(place, [{ weight: 8, arbitrary: canary }], wrong);
      const text =
        schema.format === 'date-time'
          ? timestampText
          : schema.format === 'uuid' || String(schema.pattern ?? '').startsWith('^[0-9a-fA-F]{8}')
            ? fc.oneof(
                fc.constantFrom(f.secretId, f.vaultSecretId, f.connectionId, f.otherSecretId),
                fc.uuid(),
                echoString,
              )
            : hostileText;
      return choose(place, [{ weight: 8, arbitrary: text }, ...plausibly], wrong);
    }
    default:
      // `{}` or `{ not: {} }` (a field that must be absent): anything.
      return fc.oneof(echoString, odd);
  }
}

interface RestOperation {
  method: string;
  /** `/v1/teams/{team_id}/...` */
  path: string;
  parameters: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema }[];
  body?: JsonSchema;
}

function restOperations(document: OpenApiDocument): RestOperation[] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, operations]) =>
      Object.entries(
        operations as Record<
          string,
          {
            parameters?: RestOperation['parameters'];
            requestBody?: { content: Record<string, { schema: JsonSchema }> };
          }
        >,
      ).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: operation.requestBody?.content['application/json']?.schema,
      })),
    );
}

/** Deletes, and revocations or rotations of API keys, get ids of nothing (the fixtures live on). */
const destructiveRoute = (o: RestOperation) =>
  o.method === 'DELETE' || /api-keys\/\{[a-z_]+\}\/(rotate|revoke)$/.test(o.path);

/** One route of the OpenAPI document with generated path ids, query parameters, headers and body. */
function openApiCase(f: FuzzFixture, document: OpenApiDocument): fc.Arbitrary<FuzzCase> {
  const known = plausible(f);
  const resolve = (ref: string) =>
    document.components.schemas[ref.replace('#/components/schemas/', '')] as JsonSchema;
  const pathIds: Record<string, string[]> = {
    team_id: [f.teamId, f.otherTeamId],
    secret_id: [f.secretId, f.vaultSecretId, f.otherSecretId],
    connection_id: [f.connectionId],
    location_id: [f.locationId],
  };
  const perRoute = restOperations(document).map((operation) => {
    const caseOf = (wild: boolean) => {
      const place = (name: string): RestPlace => ({ name, secret: false, wild, known, resolve });
      const path = fc.record(
        Object.fromEntries(
          operation.parameters
            .filter((p) => p.in === 'path')
            .map((p) => {
              const ids = destructiveRoute(operation) && p.name !== 'team_id' ? [] : (pathIds[p.name] ?? []);
              return [
                p.name,
                ids.length
                  ? idSegment(ids)
                  : fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: garbageSegment }),
              ];
            }),
        ),
      );
      const query = fc.record(
        Object.fromEntries(
          operation.parameters
            .filter((p) => p.in === 'query')
            .map((p) => [p.name, maybe(jsonValue(f, p.schema, place(p.name)))]),
        ),
        { requiredKeys: [] },
      );
      const body = operation.body
        ? rawBody(jsonValue(f, operation.body, place('body')))
        : fc.constant(undefined);
      return fc.record({ path, query, body, headers: commonHeaders(f) });
    };
    return fc
      .oneof({ weight: 3, arbitrary: caseOf(false) }, { weight: 1, arbitrary: caseOf(true) })
      .map((r) => {
        const path = operation.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => r.path[name]);
        const search = Object.entries(r.query)
          .filter(([, v]) => v !== undefined)
          .map(
            ([k, v]) =>
              `${k}=${encodeURIComponent(String(typeof v === 'object' ? JSON.stringify(v) : v).toWellFormed())}`,
          )
          .filter((pair) => pair.length <= MAX_URL_PART)
          .join('&');
        return {
          door: 'rest' as const,
          operation: `${operation.method} ${operation.path}`,
          method: operation.method,
          path: search ? `${path}?${search}` : path,
          headers: r.headers,
          body: operation.method === 'GET' ? undefined : r.body,
        };
      });
  });
  return fc.oneof(...perRoute);
}

// --- GraphQL -------------------------------------------------------------------------------------

const UPDATE_DOC = `mutation U($t: ID!, $s: ID!, $input: UpdateSecretInput!, $v: Int, $d: Boolean) {
  updateSecret(teamId: $t, secretId: $s, input: $input, expectedVersion: $v, dryRun: $d) {
    __typename ... on UpdateSecretSuccess { secret { id name version } changedFields dryRun }
    ... on ValidationError { message issues { path message code } } ... on Error { message }
    ... on VersionConflictError { currentVersion }
  }
}`;
const CREATE_DOC = `mutation C($t: ID!, $input: CreateSecretInput!) {
  createSecret(teamId: $t, input: $input) {
    __typename ... on CreateSecretSuccess { secret { id name } }
    ... on ValidationError { issues { path message code } } ... on Error { message }
  }
}`;
const VAULT_DOC = `mutation V($t: ID!, $input: CreateVaultConnectionInput!) {
  createVaultConnection(teamId: $t, input: $input) {
    __typename ... on CreateVaultConnectionSuccess { vaultConnection { id name } }
    ... on ValidationError { issues { path message code } } ... on Error { message }
  }
}`;
const ROTATE_DOC = `mutation R($t: ID!, $id: ID!, $input: RotateVaultConnectionInput!) {
  rotateVaultConnection(teamId: $t, id: $id, input: $input) {
    __typename ... on Error { message }
  }
}`;
const READ_DOC = `query Q($t: ID!, $id: ID!) { secret(teamId: $t, id: $id) { id name version storage } }`;

/** GraphQL credentials: a oneOf with one valid variant, two variants, none, or wrong shapes. */
const gqlCredentials: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...Object.entries(SHAPES)).chain(([shape, fields]) =>
      fc.tuple(...fields.map(validCredentialValue)).map((values) => ({
        [shape]: Object.fromEntries(fields.map((f, i) => [GQL_FIELD[f], values[i]])),
      })),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.dictionary(
      fc.oneof(fc.constantFrom(...Object.keys(SHAPES)), echoString),
      fc.dictionary(fc.oneof(fc.constantFrom(...Object.values(GQL_FIELD)), echoString), canaryValue, {
        maxKeys: 3,
      }),
      { maxKeys: 2 },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      canary,
      canary.map((c) => [c]),
      fc.constant(null),
    ),
  },
);

const gqlEnum = (values: readonly string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...values).map((v) => v.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: echoString },
    { weight: 1, arbitrary: odd },
  );

const gqlMappings = fc.oneof(
  fc.array(
    fc.record({
      fieldName: gqlEnum(CREDENTIAL_FIELDS),
      reference: fc.oneof(fc.constantFrom('op://v/i/f', 'AWS_KEY'), echoString),
    }),
    { maxLength: 3 },
  ),
  odd,
);

function gqlIds(ids: string[]) {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(ids[0]) },
    { weight: 3, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: echoString },
    { weight: 1, arbitrary: odd },
  );
}

function graphqlCase(f: FuzzFixture): fc.Arbitrary<FuzzCase> {
  const teams = gqlIds([f.teamId, f.otherTeamId]);
  const name = fc.oneof(
    fc.stringMatching(/^[a-z0-9-]{1,16}$/).map((s) => `fzg-${s}`),
    echoString,
    odd,
  );
  const value = fc.oneof(
    fc.record({ credentials: gqlCredentials }),
    fc.record({ fieldMappings: gqlMappings }),
    fc.record({ credentials: gqlCredentials, fieldMappings: gqlMappings }),
    fc.record({
      vault: fc.record({ vaultConnectionId: gqlIds([f.connectionId]), fieldMappings: gqlMappings }),
    }),
    odd,
  );
  /** GraphQL credentials of one auth method, valid, with canaries. */
  const gqlValidValue = (authMethod: string) =>
    validCredentials(authMethod).map((credentials) => {
      const shape = Object.entries(SHAPES).find(([, fields]) =>
        fields.includes(Object.keys(credentials)[0]),
      )![0];
      return {
        credentials: {
          [shape]: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [GQL_FIELD[k], v])),
        },
      };
    });
  const toGraphql = (body: Record<string, unknown>) => {
    const input: Record<string, unknown> = {};
    if ('name' in body) input.name = body.name;
    if ('description' in body) input.description = body.description;
    if (typeof body.secret_type === 'string') input.secretType = body.secret_type.toUpperCase();
    if (typeof body.auth_method === 'string') input.authMethod = body.auth_method.toUpperCase();
    const credentials = body.credentials as Record<string, string> | undefined;
    if (credentials) {
      input.value = {
        credentials: {
          accessKey: {
            accessKeyId: credentials.access_key_id,
            secretAccessKey: credentials.secret_access_key,
          },
        },
      };
    }
    return input;
  };
  const validUpdate = fc
    .record({
      t: fc.constant(f.teamId),
      s: fc.constant(f.secretId),
      input: validSecretBody(false).map(toGraphql),
      v: rarely(fc.integer({ min: 1, max: 40 })),
      d: rarely(fc.boolean()),
    })
    .map((variables) => ({ query: UPDATE_DOC, variables }));
  const validCreate = fc.constantFrom(...VALID_TYPES).chain(([secretType, authMethod]) =>
    fc
      .record({
        t: fc.constant(f.teamId),
        input: fc.record({
          name: validName,
          secretType: fc.constant(secretType.toUpperCase()),
          authMethod: fc.constant(authMethod.toUpperCase()),
          value: gqlValidValue(authMethod),
        }),
      })
      .map((variables) => ({ query: CREATE_DOC, variables })),
  );
  /** The fields of a secret's input, any of them wild. */
  const secretInput = {
    name,
    description: fc.oneof(echoString, odd),
    secretType: gqlEnum(SECRET_TYPES),
    authMethod: gqlEnum(AUTH_METHODS),
    value,
  };
  const operation = fc.oneof(
    { weight: 6, arbitrary: validUpdate },
    { weight: 3, arbitrary: validCreate },
    {
      weight: 5,
      arbitrary: fc
        .record({
          t: teams,
          s: gqlIds([f.secretId, f.vaultSecretId, f.otherSecretId]),
          input: fc.record({ ...secretInput, extra: canaryValue }, { requiredKeys: [] }),
          v: maybe(fc.oneof(fc.integer({ min: -1, max: 40 }), odd)),
          d: maybe(fc.oneof(fc.boolean(), odd)),
        })
        .map((variables) => ({ query: UPDATE_DOC, variables })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({
          t: teams,
          input: fc.record(secretInput, { requiredKeys: ['name', 'secretType', 'authMethod', 'value'] }),
        })
        .map((variables) => ({ query: CREATE_DOC, variables })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          t: teams,
          input: fc.record(
            {
              name,
              settings: fc.oneof(
                fc.record({ onepassword: fc.record({ accessToken: canaryValue }) }),
                fc.record({
                  doppler: fc.record({ accessToken: canaryValue, project: echoString, config: echoString }),
                }),
                fc.record({
                  infisical: fc.record({
                    clientId: echoString,
                    clientSecret: canaryValue,
                    projectId: echoString,
                    environment: echoString,
                  }),
                }),
                fc.dictionary(echoString, fc.dictionary(echoString, canaryValue, { maxKeys: 2 }), {
                  maxKeys: 2,
                }),
              ),
            },
            { requiredKeys: ['name', 'settings'] },
          ),
        })
        .map((variables) => ({ query: VAULT_DOC, variables })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          t: teams,
          id: gqlIds([f.connectionId]),
          input: fc.oneof(
            fc.record({ accessToken: canaryValue }),
            fc.record({ clientSecret: canaryValue }),
            fc.record({ accessToken: canaryValue, clientSecret: canaryValue }),
          ),
        })
        .map((variables) => ({ query: ROTATE_DOC, variables })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ t: teams, id: gqlIds([f.secretId, f.otherSecretId]) })
        .map((variables) => ({ query: READ_DOC, variables })),
    },
  );

  // Credentials written inline in the document (string literals, bare words, numbers), sometimes broken.
  const literal = fc.oneof(
    { weight: 4, arbitrary: canary.map((c) => JSON.stringify(c)) },
    {
      weight: 2,
      arbitrary: fc.tuple(hex, tail).map(([h, t]) => `${CANARY_TAG}${h}${t.replace(/[^A-Za-z0-9_]/g, '')}`),
    },
    { weight: 1, arbitrary: hex.map((h) => `["${CANARY_TAG}${h}"]`) },
    { weight: 1, arbitrary: hex.map((h) => `{ v: "${CANARY_TAG}${h}" }`) },
    { weight: 1, arbitrary: hex.map((h) => `"""${CANARY_TAG}${h}"""`) },
    { weight: 1, arbitrary: hex.map((h) => `"${CANARY_TAG}${h}`) },
  );
  const inline = fc
    .record({
      t: fc.constantFrom(f.teamId, f.otherTeamId),
      s: fc.constantFrom(f.secretId, f.otherSecretId),
      a: literal,
      b: literal,
      cut: fc.option(fc.nat(), { freq: 3 }),
      junk: fc.option(fc.constantFrom('}', '{', '"', '$', '!', '(', '...', '#'), { freq: 3 }),
    })
    .map(({ t, s, a, b, cut, junk }) => {
      let document = `mutation { updateSecret(teamId: "${t}", secretId: "${s}", input: { value: { credentials: { accessKey: { accessKeyId: ${a}, secretAccessKey: ${b} } } } }) { __typename ... on Error { message } } }`;
      if (junk !== null) {
        const at = (cut ?? 0) % document.length;
        document = `${document.slice(0, at)}${junk}${document.slice(at)}`;
      } else if (cut !== null) {
        document = document.slice(0, cut % document.length);
      }
      return { query: document, variables: {} };
    });

  return fc
    .record({
      op: fc.oneof({ weight: 4, arbitrary: operation }, { weight: 1, arbitrary: inline }),
      authorization: authorization(f),
      form: fc.oneof(
        { weight: 12, arbitrary: fc.constant('json') },
        { weight: 1, arbitrary: fc.constant('get') },
      ),
    })
    .map(({ op, authorization: auth, form }) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      };
      if (auth !== undefined) headers.authorization = auth;
      if (form === 'get') {
        // A query over GET (mutations are refused over GET; either way: no 5xx, no leak).
        const params = new URLSearchParams({ query: op.query, variables: JSON.stringify(op.variables) });
        return { door: 'graphql' as const, method: 'GET', path: `/graphql?${params}`, headers };
      }
      const body = JSON.stringify({ query: op.query, variables: op.variables });
      return { door: 'graphql' as const, method: 'POST', path: '/graphql', headers, body };
    });
}

// --- GraphQL: every argument of the schema ----------------------------------------------------

/** Names of arguments and input fields that hold a credential (besides every `...CredentialsInput` field). */
const SECRET_FIELDS = ['accessToken', 'clientSecret'];

/** Mutations whose success removes or disables something: never given the fixture's own ids. */
const DESTRUCTIVE = /^(delete|revoke)|^rotateApiKey$/;

interface ArgumentPlace {
  operation: string;
  name: string;
  /** Inside a credential input (or a token field): canaries go here, and only here. */
  secret: boolean;
  /** A wild case: values of the wrong type, nulls for required values, unknown fields. */
  wild: boolean;
  /** `plausible(f)`, made once. */
  known: Record<string, fc.Arbitrary<unknown>>;
}

/**
 * An arbitrary for a value of `type`. In a typed case every value has the type (and is hostile within
 * it: NUL, lone surrogates, huge strings, out-of-range timestamps and integers), so it gets past
 * graphql-js to the resolvers; in a wild case, anything.
 */
function argumentValue(f: FuzzFixture, type: GraphQLInputType, place: ArgumentPlace): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return choose(
      place,
      [{ weight: 20, arbitrary: presentValue(f, type.ofType, place) }],
      [{ weight: 1, arbitrary: fc.constant(null) }],
    );
  }
  return choose(place, [
    { weight: 5, arbitrary: presentValue(f, type, place) },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
  ]);
}

function presentValue(f: FuzzFixture, type: GraphQLInputType, place: ArgumentPlace): fc.Arbitrary<unknown> {
  const wrong = [{ weight: 1, arbitrary: place.secret ? canaryValue : odd }];
  const known = place.known[place.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
  const plausibly = known ? [{ weight: 6, arbitrary: known }] : [];
  if (isListType(type)) {
    const item = argumentValue(f, type.ofType, { ...place, name: `${place.name}[]` });
    return choose(
      place,
      [
        { weight: 6, arbitrary: fc.array(item, { maxLength: 3 }) },
        ...plausibly,
        { weight: 1, arbitrary: item },
      ],
      wrong,
    );
  }
  if (isInputObjectType(type)) {
    const secret = place.secret || type.name.endsWith('CredentialsInput');
    const fields = Object.values(type.getFields());
    const at = (name: string) => ({ ...place, name, secret: secret || SECRET_FIELDS.includes(name) });
    const extra = fc.dictionary(echoString, canaryValue, { minKeys: 1, maxKeys: 2 });
    if (type.isOneOf) {
      const one = fc
        .constantFrom(...fields)
        .chain((field) => presentValue(f, field.type, at(field.name)).map((v) => ({ [field.name]: v })));
      return choose(
        place,
        [{ weight: 8, arbitrary: one }],
        [
          { weight: 1, arbitrary: fc.tuple(one, one).map(([a, b]) => ({ ...a, ...b })) },
          { weight: 1, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: extra },
          ...wrong,
        ],
      );
    }
    const record = fc.record(
      Object.fromEntries(fields.map((field) => [field.name, argumentValue(f, field.type, at(field.name))])),
      { requiredKeys: fields.filter((field) => isNonNullType(field.type)).map((field) => field.name) },
    );
    return choose(
      place,
      [{ weight: 10, arbitrary: record }],
      [
        { weight: 1, arbitrary: fc.tuple(record, extra).map(([known, more]) => ({ ...more, ...known })) },
        ...wrong,
      ],
    );
  }
  if (isEnumType(type)) {
    const names = type.getValues().map((v) => v.name);
    return place.wild ? gqlEnum(names) : fc.constantFrom(...names);
  }
  return choose(place, [{ weight: 8, arbitrary: scalarOf(f, type.name, place) }, ...plausibly], wrong);
}

function scalarOf(f: FuzzFixture, scalar: string, place: ArgumentPlace): fc.Arbitrary<unknown> {
  switch (scalar) {
    case 'ID': {
      // Destructive mutations get ids of nothing, so the fixtures live on.
      const ids = DESTRUCTIVE.test(place.operation)
        ? []
        : place.name === 'teamId'
          ? [f.teamId, f.otherTeamId]
          : [f.secretId, f.vaultSecretId, f.connectionId, f.locationId, f.otherSecretId];
      return choose(place, [
        ...(ids.length ? [{ weight: 12, arbitrary: fc.constantFrom(...ids) }] : []),
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: echoString },
      ]);
    }
    case 'Int':
      return choose(
        place,
        [{ weight: 6, arbitrary: fc.integer({ min: -2, max: 120 }) }],
        [{ weight: 1, arbitrary: fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, 0.5, 1e300) }],
      );
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return timestampText;
    case '_Any':
      return choose(
        place,
        [
          {
            weight: 4,
            arbitrary: fc.record({
              __typename: fc.constantFrom('Secret', 'Location', 'VaultConnection', 'Team', 'Query', 'Nope'),
              id: fc.oneof(
                fc.constantFrom(f.secretId, f.teamId, f.connectionId, f.locationId, f.otherSecretId),
                echoString,
              ),
            }),
          },
        ],
        [{ weight: 1, arbitrary: fc.oneof(echoString, odd) }],
      );
    default:
      return place.secret ? canary : hostileText;
  }
}

/** One operation of the schema with generated variables (and sometimes an unknown variable holding a canary). */
function schemaArgumentCase(f: FuzzFixture, operations: Operation[]): fc.Arbitrary<FuzzCase> {
  const known = plausible(f);
  const perOperation = operations.map((operation) => {
    const variablesOf = (wild: boolean) =>
      fc.record(
        Object.fromEntries(
          operation.variables.map((v) => [
            v.name,
            argumentValue(f, v.type, {
              operation: operation.field,
              name: v.name.replace(/^.*_/, ''),
              secret: SECRET_FIELDS.includes(v.name),
              wild,
              known,
            }),
          ]),
        ),
        {
          requiredKeys: wild
            ? []
            : operation.variables.filter((v) => isNonNullType(v.type)).map((v) => v.name),
        },
      );
    const variables = fc.oneof(
      { weight: 3, arbitrary: variablesOf(false) },
      { weight: 1, arbitrary: variablesOf(true) },
    );
    return fc.tuple(variables, rarely(canaryValue)).map(([values, stray]) => ({
      operation,
      variables: stray === undefined ? values : { ...values, stray },
    }));
  });
  return fc
    .record({
      op: fc.oneof(...perOperation),
      authorization: authorization(f),
      get: fc.boolean(),
    })
    .map(({ op, authorization: auth, get }) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      };
      if (auth !== undefined) headers.authorization = auth;
      const payload = { query: op.operation.document, variables: op.variables };
      const operation = op.operation.field;
      const params = new URLSearchParams({
        query: payload.query,
        variables: JSON.stringify(payload.variables),
      });
      if (op.operation.kind === 'query' && get && String(params).length <= MAX_URL_PART) {
        return { door: 'graphql' as const, operation, method: 'GET', path: `/graphql?${params}`, headers };
      }
      const body = JSON.stringify(payload);
      return { door: 'graphql' as const, operation, method: 'POST', path: '/graphql', headers, body };
    });
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/** What is wrong with one response (and the log lines written meanwhile); empty when nothing is. */
export function problemsOf(result: HttpResult, newLogs: string[]): string[] {
  const problems: string[] = [];
  if (result.status === 0) problems.push(`no response: ${result.networkError}`);
  if (result.status >= 500) problems.push(`status ${result.status}: ${result.text.slice(0, 300)}`);
  const marker = LEAK_MARKERS.find((m) => result.text.includes(m));
  if (marker) problems.push(`response contains ${JSON.stringify(marker)}: ${result.text.slice(0, 300)}`);
  const at = result.text.indexOf(CANARY_TAG);
  if (at >= 0) {
    problems.push(
      `response contains a credential canary: ...${result.text.slice(Math.max(0, at - 120), at + 60)}...`,
    );
  }
  for (const header of Object.values(result.headers)) {
    if (String(header).includes(CANARY_TAG)) problems.push('a response header contains a credential canary');
  }
  const errors = Array.isArray(result.body?.errors) ? result.body.errors : [];
  for (const error of errors) {
    if (error?.extensions?.code === 'INTERNAL_SERVER_ERROR') {
      problems.push(`GraphQL INTERNAL_SERVER_ERROR: ${String(error.message).slice(0, 200)}`);
    }
  }
  for (const line of newLogs) {
    if (line.includes(CANARY_TAG))
      problems.push(`a log line contains a credential canary: ${line.slice(0, 400)}`);
    if (/"level":"(error|fatal)"|"level":(50|60)\b/.test(line))
      problems.push(`an error was logged: ${line.slice(0, 300)}`);
  }
  return problems;
}

/** Sends one case; cleans up what a successful create made (so plan limits never cap the run). */
export async function runCase(f: FuzzFixture, c: FuzzCase): Promise<string[]> {
  const before = f.logs().length;
  const result = await request(f.url, {
    method: c.method,
    path: c.path,
    headers: c.headers,
    body: c.body,
    timeoutMs: 15_000,
  });
  // Request log lines are written when the response finishes: give them a moment to land.
  await new Promise((resolve) => setImmediate(resolve));
  const problems = problemsOf(result, f.logs().slice(before));
  f.onResult?.(c, result);
  await cleanup(f, c, result);
  return problems;
}

async function cleanup(f: FuzzFixture, c: FuzzCase, result: HttpResult): Promise<void> {
  const owner = { authorization: `Bearer ${f.ownerKey}` };
  const teamOf = (path: string) => (path.toLowerCase().includes(f.otherTeamId) ? f.otherTeamId : f.teamId);
  const authFor = (teamId: string) =>
    teamId === f.otherTeamId ? { authorization: `Bearer ${f.otherKey}` } : owner;
  const del = (teamId: string, resource: string, id: string) =>
    request(f.url, {
      method: 'DELETE',
      path: `/v1/teams/${teamId}/${resource}/${id}`,
      headers: authFor(teamId),
    });
  if (c.door === 'rest' && result.status === 201 && typeof result.body?.id === 'string') {
    const resource = /\/(secrets|vault-connections|locations|api-keys)(?:\?|$)/.exec(c.path)?.[1];
    if (resource && !result.headers['idempotent-replayed'])
      await del(teamOf(c.path), resource, result.body.id);
  }
  if (c.door === 'graphql') {
    const data = result.body?.data ?? {};
    const created = (
      [
        ['secrets', data.createSecret?.secret?.id],
        ['vault-connections', data.createVaultConnection?.vaultConnection?.id],
        ['locations', data.createLocation?.location?.id],
        ['api-keys', data.createApiKey?.apiKey?.id],
      ] as const
    ).find(([, id]) => typeof id === 'string');
    if (created) {
      const variables = c.body ? JSON.parse(c.body)?.variables : undefined;
      const other = [variables?.t, variables?.teamId].some(
        (id) => typeof id === 'string' && id.toLowerCase() === f.otherTeamId,
      );
      await del(other ? f.otherTeamId : f.teamId, created[0], created[1]);
    }
  }
}

let operations: Operation[] | undefined;

/** The schema's operations, read once per process. */
function operationsOfTheSchema(): Operation[] {
  operations ??= schemaOperations(buildSubgraphSchema());
  return operations;
}

export interface FuzzProperty {
  name: string;
  property: fc.IAsyncProperty<[FuzzCase]>;
}

/** The properties, one per area; each case fails with the list of its problems. */
export function fuzzProperties(f: FuzzFixture): FuzzProperty[] {
  const check = async (c: FuzzCase) => {
    const problems = await runCase(f, c);
    if (problems.length) throw new Error(problems.join('\n'));
  };
  return [
    { name: 'REST secrets', property: fc.asyncProperty(restSecretCase(f), check) },
    {
      name: 'REST vault connections, locations, other routes',
      property: fc.asyncProperty(restOtherCase(f), check),
    },
    {
      name: 'REST, every parameter of the OpenAPI document',
      property: fc.asyncProperty(openApiCase(f, buildOpenApiDocument()), check),
    },
    { name: 'GraphQL', property: fc.asyncProperty(graphqlCase(f), check) },
    {
      name: 'GraphQL, every argument of the schema',
      property: fc.asyncProperty(schemaArgumentCase(f, operationsOfTheSchema()), check),
    },
  ];
}

/** Creates the fixture's resources over HTTP: a native secret, a vault connection and a vault secret. */
export async function createFuzzResources(
  url: string,
  team: { teamId: string; key: string },
  other: { teamId: string; key: string },
): Promise<{
  secretId: string;
  vaultSecretId: string;
  connectionId: string;
  locationId: string;
  otherSecretId: string;
}> {
  const post = async (key: string, path: string, body: unknown) => {
    const res = await request(url, {
      method: 'POST',
      path,
      body,
      headers: { authorization: `Bearer ${key}` },
    });
    if (res.status !== 201) throw new Error(`fixture POST ${path}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.body.id as string;
  };
  const s3 = (name: string) => ({
    name,
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: { access_key_id: 'AKIAFIXTURE', secret_access_key: 'fixture-secret' },
  });
  const secretId = await post(team.key, `/v1/teams/${team.teamId}/secrets`, s3('fuzz-native'));
  const connectionId = await post(team.key, `/v1/teams/${team.teamId}/vault-connections`, {
    name: 'fuzz-doppler',
    vault_type: 'doppler',
    access_token: 'dp.st.fixture-token',
    project: 'p',
    config: 'c',
  });
  const vaultSecretId = await post(team.key, `/v1/teams/${team.teamId}/secrets`, {
    ...vaultSecretBody(connectionId, s3FieldMappings('AWS_KEY', 'AWS_SECRET')),
    name: 'fuzz-vault',
  });
  const locatedSecretId = await post(team.key, `/v1/teams/${team.teamId}/secrets`, s3('fuzz-located'));
  const locationId = await post(team.key, `/v1/teams/${team.teamId}/locations`, {
    name: 'fuzz-location',
    location_type: 's3',
    secret_id: locatedSecretId,
    bucket_name: 'fuzz-bucket',
  });
  const otherSecretId = await post(other.key, `/v1/teams/${other.teamId}/secrets`, s3('fuzz-other'));
  return { secretId, vaultSecretId, connectionId, locationId, otherSecretId };
}
