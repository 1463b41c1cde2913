/**
 * The secret update rules of docs/contract.md ("3. Secrets": PATCH /v1/teams/{team_id}/secrets/{secret_id}; "5. GraphQL": `updateSecret`): every update
 * rule, asserted with the same outcome on both doors.
 *
 * Each case is defined once (setup, REST body, equivalent GraphQL input, expected outcome) and run
 * as one test per door. Every test makes its own team. Setup is done with the owner key; the update
 * itself is sent with the key of a second member (role admin), so `updated_by` must move from the
 * owner to that admin on every accepted change and stay on the owner otherwise.
 *
 * After every request the touched secrets are re-read through both doors (REST GET and the GraphQL
 * `secret` query, which must agree) and at the storage level (the row's current credential version,
 * the decrypted credentials, the field mappings): a rejected request must leave all of it as it was.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../src/modules/secrets/secret.entity.js';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { sleep } from './support/constants.js';
import { graphql, rest, type TestTeam, useApp } from './support/harness.js';

const t = useApp();

// ---------------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
type Loc = (string | number)[];
type Mapping = { field_name: string; reference: string };

const AK = { access_key_id: 'AKIAORIGINAL00000000', secret_access_key: 'original-secret-access-key' };
const AK2 = { access_key_id: 'AKIAROTATED000000000', secret_access_key: 'rotated-secret-access-key' };
const gAK2 = { accessKey: { accessKeyId: AK2.access_key_id, secretAccessKey: AK2.secret_access_key } };

const SAS =
  'https://acct.blob.core.windows.net/container?sv=2022-11-02&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=c2lnbmF0dXJl';
const SAS2 =
  'https://other.blob.core.windows.net/data?sv=2022-11-02&se=2031-06-30T00%3A00%3A00Z&sp=r&sig=bmV3LXNpZw';
const ACCOUNT = { account_name: 'storageacct', account_key: 'YWNjb3VudC1rZXktdmFsdWU=' };
const gACCOUNT = {
  azureAccountKey: { accountName: ACCOUNT.account_name, accountKey: ACCOUNT.account_key },
};

const serviceAccount = (overrides: Json = {}, omit: string[] = []) => {
  const key: Json = {
    type: 'service_account',
    project_id: 'proj',
    client_email: 'uploader@proj.iam.gserviceaccount.com',
    private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n',
    ...overrides,
  };
  for (const field of omit) delete key[field];
  return JSON.stringify(key);
};
const SA = serviceAccount();
const SA2 = serviceAccount({ client_email: 'rotated@proj.iam.gserviceaccount.com' });

const OP_MAP: Mapping[] = [
  { field_name: 'access_key_id', reference: 'op://Prod/aws/access_key_id' },
  { field_name: 'secret_access_key', reference: 'op://Prod/aws/secret_access_key' },
];
const OP_MAP2: Mapping[] = [
  { field_name: 'secret_access_key', reference: 'op://Staging/aws-rotated/password' },
  { field_name: 'access_key_id', reference: 'op://Staging/aws-rotated/username' },
];
const DOPPLER_MAP: Mapping[] = [
  { field_name: 'access_key_id', reference: 'AWS_ACCESS_KEY_ID' },
  { field_name: 'secret_access_key', reference: 'AWS_SECRET_ACCESS_KEY' },
];
const DOPPLER_MAP2: Mapping[] = [
  { field_name: 'access_key_id', reference: '_S3_KEY_ID_2' },
  { field_name: 'secret_access_key', reference: 's3_secret_2' },
];
const OP_SAS_MAP: Mapping[] = [{ field_name: 'sas_url', reference: 'op://Prod/azure/sas_url' }];
const OP_ACCOUNT_MAP: Mapping[] = [
  { field_name: 'account_name', reference: 'op://Prod/azure/account_name' },
  { field_name: 'account_key', reference: 'op://Prod/azure/account_key' },
];

/** Credential values sent by setups and cases: no response may contain any of them. */
const CREDENTIAL_VALUES = [
  ...Object.values(AK),
  ...Object.values(AK2),
  ...Object.values(ACCOUNT),
  'c2lnbmF0dXJl', // SAS signatures
  'bmV3LXNpZw',
  'MIIEvQ', // service account private key
];

/** REST field mappings as the GraphQL `[FieldMappingInput!]`. */
const gMappings = (mappings: Mapping[]) =>
  mappings.map((m) => ({ fieldName: m.field_name.toUpperCase(), reference: m.reference }));

// ---------------------------------------------------------------------------------------------
// Case table types
// ---------------------------------------------------------------------------------------------

interface Watched {
  teamId: string;
  key: string;
  id: string;
}

interface LocationView {
  id: string;
  name: string;
  location_type: string;
}

interface Ctx {
  team: TestTeam;
  /** The id put in the request path. */
  secretId: string;
  /** Secrets the request must change (first) or leave untouched (the others); re-read after it. */
  watch: Watched[];
  /** Locations linked to the target secret. */
  locations: LocationView[];
  /** Another vault connection of the team (external setups). */
  otherConnectionId?: string;
}
type Setup = (team: TestTeam) => Promise<Ctx>;

/** An expected 422 entry: `loc` (REST) / `path` (GraphQL) equal to one of `locs` (or starting with it). */
interface IssueExp {
  locs: Loc[];
  prefix?: boolean;
  code?: string;
}
const at = (loc: Loc, code?: string): IssueExp => ({ locs: [loc], code });
const under = (loc: Loc): IssueExp => ({ locs: [loc], prefix: true });
const either = (...locs: Loc[]): IssueExp => ({ locs });

const body = (...p: Loc) => ['body', ...p];
const gIn = (...p: Loc) => ['input', ...p];
const gCred = (...p: Loc) => ['input', 'value', 'credentials', ...p];
const gMap = (...p: Loc) => ['input', 'value', 'fieldMappings', ...p];

interface Stored {
  credentials?: Record<string, string>;
  fieldMappings?: Mapping[];
}

type Outcome =
  /** 200 / UpdateSecretSuccess: `changes` applied (REST field names), version + 1, updated_* set. */
  | { kind: 'accepted'; changes: Json; stored?: Stored }
  /** 200 / UpdateSecretSuccess with the secret exactly as it was (no new version, same updated_at). */
  | { kind: 'unchanged' }
  /** 422 / ValidationError with exactly these entries. */
  | { kind: 'invalid'; rest: IssueExp[]; gql: IssueExp[] }
  /** 409 / ConflictError; with `locations`, the blocking locations are named. */
  | { kind: 'conflict'; locations?: boolean }
  /** 404 / NotFoundError; with `sameAsUnknown`, indistinguishable from an unknown id. */
  | { kind: 'notFound'; sameAsUnknown?: boolean }
  /** REST only: 400 for a body that is not a JSON object. */
  | { kind: 'badRequest' }
  /** GraphQL only: the input is not expressible in the schema, so the request itself is rejected. */
  | { kind: 'requestError' };

interface Case {
  name: string;
  setup: Setup;
  rest: (ctx: Ctx) => unknown;
  /** The equivalent `UpdateSecretInput`; null when the case has no GraphQL form. */
  gql: ((ctx: Ctx) => Json) | null;
  expect: Outcome;
  /** Where the GraphQL door's outcome has a different form (schema-level rejection). */
  gqlExpect?: Outcome;
}

// ---------------------------------------------------------------------------------------------
// Setups (all with the owner key)
// ---------------------------------------------------------------------------------------------

const watched = (team: TestTeam, id: string): Watched => ({ teamId: team.teamId, key: team.ownerKey, id });

async function post(team: TestTeam, path: string, payload: Json): Promise<any> {
  const response = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}${path}`, payload);
  expect(response.status, `setup POST ${path}: ${response.text}`).toBe(201);
  return response.body;
}

const PRIMARY = { name: 'primary-secret', description: 'original description' };
const SIBLING_NAME = 'taken-name';

/** A native secret `primary-secret`, plus a sibling secret `taken-name` in the same team. */
function native(secret_type: string, auth_method: string, credentials: Json): Setup {
  return async (team) => {
    const secret = await post(team, '/secrets', { ...PRIMARY, secret_type, auth_method, credentials });
    const sibling = await post(team, '/secrets', {
      name: SIBLING_NAME,
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: AK,
    });
    return {
      team,
      secretId: secret.id,
      watch: [watched(team, secret.id), watched(team, sibling.id)],
      locations: [],
    };
  };
}
const nativeS3 = native('s3', 's3_access_key', AK);
const nativeSas = native('azure_blob', 'azure_sas_url', { sas_url: SAS });
const nativeGcs = native('gcs', 'gcs_service_account', { service_account_json: SA });

/** A native secret with linked locations of its own type. */
function withLocations(base: Setup, locations: Json[]): Setup {
  return async (team) => {
    const ctx = await base(team);
    for (const location of locations) {
      const created = await post(team, '/locations', { ...location, secret_id: ctx.secretId });
      ctx.locations.push({ id: created.id, name: created.name, location_type: created.location_type });
    }
    return ctx;
  };
}

/** The target has no location, but another secret of the same type has one. */
const s3OtherSecretLinked: Setup = async (team) => {
  const ctx = await nativeS3(team);
  const other = await post(team, '/secrets', {
    name: 'other-s3',
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: AK,
  });
  await post(team, '/locations', {
    name: 'other-bucket',
    location_type: 's3',
    secret_id: other.id,
    bucket_name: 'other-bucket',
  });
  ctx.watch.push(watched(team, other.id));
  return ctx;
};

/** Another team owns a secret named `shared-name`. */
const s3OtherTeamHasName: Setup = async (team) => {
  const ctx = await nativeS3(team);
  const otherTeam = await t.newTeam();
  const other = await post(otherTeam, '/secrets', {
    name: 'shared-name',
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: AK,
  });
  ctx.watch.push(watched(otherTeam, other.id));
  return ctx;
};

const CONNECTIONS = {
  onepassword: (name: string) => ({
    name,
    vault_type: 'onepassword',
    access_token: 'ops_eyJzaWduSW5BZGRyZXNz',
  }),
  doppler: (name: string) => ({
    name,
    vault_type: 'doppler',
    access_token: 'dp.st.prd.0123456789abcdef',
    project: 'storage',
    config: 'prd',
  }),
  infisical: (name: string) => ({
    name,
    vault_type: 'infisical',
    client_id: 'machine-identity-client',
    client_secret: 'machine-identity-secret',
    project_id: 'storage-project',
    environment: 'prod',
  }),
};

/** An external-vault secret `primary-secret` on a fresh connection (and a second, unused connection). */
function external(
  vault: keyof typeof CONNECTIONS,
  secret_type: string,
  auth_method: string,
  field_mappings: Mapping[],
): Setup {
  return async (team) => {
    const connection = await post(team, '/vault-connections', CONNECTIONS[vault]('main-vault'));
    const other = await post(team, '/vault-connections', CONNECTIONS[vault]('second-vault'));
    const secret = await post(team, '/secrets', {
      ...PRIMARY,
      secret_type,
      auth_method,
      vault_connection_id: connection.id,
      field_mappings,
    });
    return {
      team,
      secretId: secret.id,
      watch: [watched(team, secret.id)],
      locations: [],
      otherConnectionId: other.id,
    };
  };
}
const opS3 = external('onepassword', 's3', 's3_access_key', OP_MAP);
const dopplerS3 = external('doppler', 's3', 's3_access_key', DOPPLER_MAP);
const infisicalS3 = external('infisical', 's3', 's3_access_key', DOPPLER_MAP);
const opSas = external('onepassword', 'azure_blob', 'azure_sas_url', OP_SAS_MAP);

/** The request targets a well-formed id that is no secret at all; the team's own secret must not change. */
const unknownId: Setup = async (team) => ({ ...(await nativeS3(team)), secretId: randomUUID() });

/** The request targets another team's secret under the caller's own team path. */
const otherTeamsSecret: Setup = async (team) => {
  const ctx = await nativeS3(team);
  const otherTeam = await t.newTeam();
  const other = await post(otherTeam, '/secrets', {
    ...PRIMARY,
    secret_type: 's3',
    auth_method: 's3_access_key',
    credentials: AK,
  });
  return { ...ctx, secretId: other.id, watch: [watched(otherTeam, other.id), ...ctx.watch] };
};

const malformedId =
  (secretId: string): Setup =>
  async (team) => ({ ...(await nativeS3(team)), secretId });

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

const s3Invalid = (
  name: string,
  credentials: Json,
  gqlCredentials: Json,
  rest: IssueExp[],
  gql: IssueExp[],
) =>
  ({
    name,
    setup: nativeS3,
    rest: () => ({ credentials }),
    gql: () => ({ value: { credentials: gqlCredentials } }),
    expect: { kind: 'invalid', rest, gql },
  }) satisfies Case;

const sasInvalid = (name: string, sasUrl: string): Case => ({
  name: `azure_sas_url: sas_url ${name} → 422 at the field`,
  setup: nativeSas,
  rest: () => ({ credentials: { sas_url: sasUrl } }),
  gql: () => ({ value: { credentials: { azureSasUrl: { sasUrl } } } }),
  expect: {
    kind: 'invalid',
    rest: [at(body('credentials', 'sas_url'))],
    gql: [at(gCred('azureSasUrl', 'sasUrl'))],
  },
});

const gcsInvalid = (name: string, json: string): Case => ({
  name: `gcs_service_account: service_account_json ${name} → 422 at the field`,
  setup: nativeGcs,
  rest: () => ({ credentials: { service_account_json: json } }),
  gql: () => ({ value: { credentials: { gcsServiceAccount: { serviceAccountJson: json } } } }),
  expect: {
    kind: 'invalid',
    rest: [at(body('credentials', 'service_account_json'))],
    gql: [at(gCred('gcsServiceAccount', 'serviceAccountJson'))],
  },
});

const mappingsInvalid = (
  name: string,
  setup: Setup,
  mappings: Mapping[],
  issuesAt: (Loc | 'root')[],
): Case => ({
  name,
  setup,
  rest: () => ({ field_mappings: mappings }),
  gql: () => ({ value: { fieldMappings: gMappings(mappings) } }),
  expect: {
    kind: 'invalid',
    rest: issuesAt.map((p) => under(p === 'root' ? body('field_mappings') : body('field_mappings', ...p))),
    gql: issuesAt.map((p) => under(p === 'root' ? gMap() : gMap(...p.map(String)))),
  },
});

const CASES: Case[] = [
  // --- no-ops -------------------------------------------------------------------------------
  {
    name: '{} is a no-op returning the secret unchanged',
    setup: nativeS3,
    rest: () => ({}),
    gql: () => ({}),
    expect: { kind: 'unchanged' },
  },
  {
    name: 'name: null means unchanged',
    setup: nativeS3,
    rest: () => ({ name: null }),
    gql: () => ({ name: null }),
    expect: { kind: 'unchanged' },
  },
  {
    name: 'null for every other field means unchanged',
    setup: nativeS3,
    rest: () => ({
      name: null,
      secret_type: null,
      auth_method: null,
      credentials: null,
      field_mappings: null,
    }),
    gql: () => ({ name: null, secretType: null, authMethod: null, value: null }),
    expect: { kind: 'unchanged' },
  },
  {
    name: '{} on an external-vault secret is a no-op too',
    setup: opS3,
    rest: () => ({}),
    gql: () => ({}),
    expect: { kind: 'unchanged' },
  },

  // --- name -----------------------------------------------------------------------------------
  {
    name: 'rename (description omitted stays)',
    setup: nativeS3,
    rest: () => ({ name: 'renamed-secret' }),
    gql: () => ({ name: 'renamed-secret' }),
    expect: { kind: 'accepted', changes: { name: 'renamed-secret' } },
  },
  {
    name: 'rename to the name of another secret of the team → 409',
    setup: nativeS3,
    rest: () => ({ name: SIBLING_NAME }),
    gql: () => ({ name: SIBLING_NAME }),
    expect: { kind: 'conflict' },
  },
  {
    name: "rename to another team's secret name is fine",
    setup: s3OtherTeamHasName,
    rest: () => ({ name: 'shared-name' }),
    gql: () => ({ name: 'shared-name' }),
    expect: { kind: 'accepted', changes: { name: 'shared-name' } },
  },
  {
    name: 'name of 255 characters is accepted',
    setup: nativeS3,
    rest: () => ({ name: 'n'.repeat(255) }),
    gql: () => ({ name: 'n'.repeat(255) }),
    expect: { kind: 'accepted', changes: { name: 'n'.repeat(255) } },
  },
  {
    name: 'name "" → 422',
    setup: nativeS3,
    rest: () => ({ name: '' }),
    gql: () => ({ name: '' }),
    expect: {
      kind: 'invalid',
      rest: [at(body('name'), 'string_too_short')],
      gql: [at(gIn('name'), 'string_too_short')],
    },
  },
  {
    name: 'name of 256 characters → 422',
    setup: nativeS3,
    rest: () => ({ name: 'n'.repeat(256) }),
    gql: () => ({ name: 'n'.repeat(256) }),
    expect: {
      kind: 'invalid',
      rest: [at(body('name'), 'string_too_long')],
      gql: [at(gIn('name'), 'string_too_long')],
    },
  },
  {
    name: 'rename clash together with a credential rotation → 409 and the credentials are not rotated',
    setup: nativeS3,
    rest: () => ({ name: SIBLING_NAME, credentials: AK2 }),
    gql: () => ({ name: SIBLING_NAME, value: { credentials: gAK2 } }),
    expect: { kind: 'conflict' },
  },

  // --- description ----------------------------------------------------------------------------
  {
    name: 'description set',
    setup: nativeS3,
    rest: () => ({ description: 'a new description' }),
    gql: () => ({ description: 'a new description' }),
    expect: { kind: 'accepted', changes: { description: 'a new description' } },
  },
  {
    name: 'description of 2000 characters is accepted',
    setup: nativeS3,
    rest: () => ({ description: 'd'.repeat(2000) }),
    gql: () => ({ description: 'd'.repeat(2000) }),
    expect: { kind: 'accepted', changes: { description: 'd'.repeat(2000) } },
  },
  {
    name: 'description of 2001 characters → 422',
    setup: nativeS3,
    rest: () => ({ description: 'd'.repeat(2001) }),
    gql: () => ({ description: 'd'.repeat(2001) }),
    expect: {
      kind: 'invalid',
      rest: [at(body('description'), 'string_too_long')],
      gql: [at(gIn('description'), 'string_too_long')],
    },
  },
  {
    name: 'description: null clears it',
    setup: nativeS3,
    rest: () => ({ description: null }),
    gql: () => ({ description: null }),
    expect: { kind: 'accepted', changes: { description: null } },
  },
  {
    name: 'rename + description + rotation in one request is one atomic change',
    setup: nativeS3,
    rest: () => ({ name: 'all-at-once', description: 'changed too', credentials: AK2 }),
    gql: () => ({ name: 'all-at-once', description: 'changed too', value: { credentials: gAK2 } }),
    expect: {
      kind: 'accepted',
      changes: { name: 'all-at-once', description: 'changed too' },
      stored: { credentials: AK2 },
    },
  },
  {
    name: 'valid rename with an invalid rotation → 422 and the name is not changed either',
    setup: nativeS3,
    rest: () => ({ name: 'renamed-secret', credentials: { ...AK2, secret_access_key: '' } }),
    gql: () => ({
      name: 'renamed-secret',
      value: { credentials: { accessKey: { ...gAK2.accessKey, secretAccessKey: '' } } },
    }),
    expect: {
      kind: 'invalid',
      rest: [at(body('credentials', 'secret_access_key'))],
      gql: [at(gCred('accessKey', 'secretAccessKey'))],
    },
  },

  // --- secret_type / auth_method ----------------------------------------------------------------
  {
    name: 'secret_type alone to a type the current auth method does not serve → 422 at secret_type',
    setup: nativeS3,
    rest: () => ({ secret_type: 'r2', description: 'not applied' }),
    gql: () => ({ secretType: 'R2', description: 'not applied' }),
    expect: { kind: 'invalid', rest: [at(body('secret_type'))], gql: [at(gIn('secretType'))] },
  },
  {
    name: 'auth_method not valid for the current type → 422 at auth_method',
    setup: nativeS3,
    rest: () => ({ auth_method: 'r2_access_key' }),
    gql: () => ({ authMethod: 'R2_ACCESS_KEY' }),
    expect: { kind: 'invalid', rest: [at(body('auth_method'))], gql: [at(gIn('authMethod'))] },
  },
  {
    name: 'auth_method not valid for the new type → 422 at auth_method',
    setup: nativeS3,
    rest: () => ({ secret_type: 'gcs', auth_method: 'r2_access_key' }),
    gql: () => ({ secretType: 'GCS', authMethod: 'R2_ACCESS_KEY' }),
    expect: { kind: 'invalid', rest: [at(body('auth_method'))], gql: [at(gIn('authMethod'))] },
  },
  {
    name: 's3 → r2 with r2_access_key needs no new credentials (same field set)',
    setup: nativeS3,
    rest: () => ({ secret_type: 'r2', auth_method: 'r2_access_key' }),
    gql: () => ({ secretType: 'R2', authMethod: 'R2_ACCESS_KEY' }),
    expect: {
      kind: 'accepted',
      changes: { secret_type: 'r2', auth_method: 'r2_access_key' },
    },
  },
  {
    name: 's3 → r2 with r2_access_key and new credentials',
    setup: nativeS3,
    rest: () => ({ secret_type: 'r2', auth_method: 'r2_access_key', credentials: AK2 }),
    gql: () => ({ secretType: 'R2', authMethod: 'R2_ACCESS_KEY', value: { credentials: gAK2 } }),
    expect: {
      kind: 'accepted',
      changes: { secret_type: 'r2', auth_method: 'r2_access_key' },
      stored: { credentials: AK2 },
    },
  },
  {
    name: 'azure_sas_url → azure_account_key without credentials → 422 at credentials',
    setup: nativeSas,
    rest: () => ({ auth_method: 'azure_account_key' }),
    gql: () => ({ authMethod: 'AZURE_ACCOUNT_KEY' }),
    expect: { kind: 'invalid', rest: [at(body('credentials'))], gql: [at(gCred())] },
  },
  {
    name: 'azure_sas_url → azure_account_key with account credentials',
    setup: nativeSas,
    rest: () => ({ auth_method: 'azure_account_key', credentials: ACCOUNT }),
    gql: () => ({ authMethod: 'AZURE_ACCOUNT_KEY', value: { credentials: gACCOUNT } }),
    expect: {
      kind: 'accepted',
      changes: { auth_method: 'azure_account_key' },
      stored: { credentials: ACCOUNT },
    },
  },
  {
    name: 'azure_sas_url → azure_account_key with credentials of the old auth method → 422',
    setup: nativeSas,
    rest: () => ({ auth_method: 'azure_account_key', credentials: { sas_url: SAS2 } }),
    gql: () => ({
      authMethod: 'AZURE_ACCOUNT_KEY',
      value: { credentials: { azureSasUrl: { sasUrl: SAS2 } } },
    }),
    expect: {
      kind: 'invalid',
      rest: [
        at(body('credentials', 'account_name'), 'missing'),
        at(body('credentials', 'account_key'), 'missing'),
        at(body('credentials', 'sas_url'), 'extra_forbidden'),
      ],
      gql: [
        at(gCred(), 'missing'),
        at(gCred(), 'missing'),
        at(gCred('azureSasUrl', 'sasUrl'), 'extra_forbidden'),
      ],
    },
  },
  {
    name: 'secret_type change blocked by linked locations of the old type → 409 naming them',
    setup: withLocations(nativeS3, [
      { name: 'zeta-bucket', location_type: 's3', bucket_name: 'zeta' },
      { name: 'alpha-bucket', location_type: 's3', bucket_name: 'alpha', region: 'eu-west-1' },
    ]),
    rest: () => ({ secret_type: 'r2', auth_method: 'r2_access_key' }),
    gql: () => ({ secretType: 'R2', authMethod: 'R2_ACCESS_KEY' }),
    expect: { kind: 'conflict', locations: true },
  },
  {
    name: 'secret_type change of an s3_compatible secret blocked by its location → 409 naming it',
    setup: withLocations(native('s3_compatible', 's3_compatible_access_key', AK), [
      {
        name: 'minio-bucket',
        location_type: 's3_compatible',
        bucket_name: 'backups',
        endpoint_url: 'https://minio.example.com',
      },
    ]),
    rest: () => ({ secret_type: 'wasabi', auth_method: 'wasabi_access_key' }),
    gql: () => ({ secretType: 'WASABI', authMethod: 'WASABI_ACCESS_KEY' }),
    expect: { kind: 'conflict', locations: true },
  },
  {
    name: 'blocked secret_type change with a rename and a rotation → 409 and nothing is written',
    setup: withLocations(nativeS3, [{ name: 'only-bucket', location_type: 's3', bucket_name: 'only' }]),
    rest: () => ({
      name: 'renamed-secret',
      secret_type: 'r2',
      auth_method: 'r2_access_key',
      credentials: AK2,
    }),
    gql: () => ({
      name: 'renamed-secret',
      secretType: 'R2',
      authMethod: 'R2_ACCESS_KEY',
      value: { credentials: gAK2 },
    }),
    expect: { kind: 'conflict', locations: true },
  },
  {
    name: 'locations of other secrets do not block a secret_type change',
    setup: s3OtherSecretLinked,
    rest: () => ({ secret_type: 'r2', auth_method: 'r2_access_key' }),
    gql: () => ({ secretType: 'R2', authMethod: 'R2_ACCESS_KEY' }),
    expect: {
      kind: 'accepted',
      changes: { secret_type: 'r2', auth_method: 'r2_access_key' },
    },
  },

  // --- credentials (native) -----------------------------------------------------------------------
  {
    name: 'credential rotation on a native secret',
    setup: nativeS3,
    rest: () => ({ credentials: AK2 }),
    gql: () => ({ value: { credentials: gAK2 } }),
    expect: { kind: 'accepted', changes: {}, stored: { credentials: AK2 } },
  },
  {
    name: 'credentials missing a field → 422 at the field',
    setup: nativeS3,
    rest: () => ({ credentials: { access_key_id: AK2.access_key_id } }),
    // The GraphQL input type makes every field of the variant required: the schema rejects the request.
    gql: () => ({ value: { credentials: { accessKey: { accessKeyId: AK2.access_key_id } } } }),
    expect: { kind: 'invalid', rest: [at(body('credentials', 'secret_access_key'), 'missing')], gql: [] },
    gqlExpect: { kind: 'requestError' },
  },
  {
    name: 'credentials with an unknown field → 422 at the field',
    setup: nativeS3,
    rest: () => ({ credentials: { ...AK2, session_token: 'token' } }),
    gql: () => ({ value: { credentials: { accessKey: { ...gAK2.accessKey, sessionToken: 'token' } } } }),
    expect: {
      kind: 'invalid',
      rest: [at(body('credentials', 'session_token'), 'extra_forbidden')],
      gql: [],
    },
    gqlExpect: { kind: 'requestError' },
  },
  s3Invalid(
    'credentials with an empty string → 422 at the field',
    { ...AK2, access_key_id: '' },
    { accessKey: { ...gAK2.accessKey, accessKeyId: '' } },
    [at(body('credentials', 'access_key_id'), 'string_too_short')],
    [at(gCred('accessKey', 'accessKeyId'), 'string_too_short')],
  ),
  {
    name: 'credentials with a non-string value → 422 at the field',
    setup: nativeS3,
    rest: () => ({ credentials: { ...AK2, secret_access_key: 12345 } }),
    gql: () => ({ value: { credentials: { accessKey: { ...gAK2.accessKey, secretAccessKey: 12345 } } } }),
    expect: {
      kind: 'invalid',
      rest: [at(body('credentials', 'secret_access_key'), 'string_type')],
      gql: [],
    },
    gqlExpect: { kind: 'requestError' },
  },
  s3Invalid(
    'credentials of another auth method (sas_url on s3_access_key) → 422 per field',
    { sas_url: SAS },
    { azureSasUrl: { sasUrl: SAS } },
    [
      at(body('credentials', 'access_key_id'), 'missing'),
      at(body('credentials', 'secret_access_key'), 'missing'),
      at(body('credentials', 'sas_url'), 'extra_forbidden'),
    ],
    [at(gCred(), 'missing'), at(gCred(), 'missing'), at(gCred('azureSasUrl', 'sasUrl'), 'extra_forbidden')],
  ),
  {
    name: 'sas_url rotation with a valid SAS URL',
    setup: nativeSas,
    rest: () => ({ credentials: { sas_url: SAS2 } }),
    gql: () => ({ value: { credentials: { azureSasUrl: { sasUrl: SAS2 } } } }),
    expect: { kind: 'accepted', changes: {}, stored: { credentials: { sas_url: SAS2 } } },
  },
  sasInvalid('that is not a URL', 'not a url'),
  sasInvalid('over http', SAS.replace('https://', 'http://')),
  sasInvalid('on another host', SAS.replace('acct.blob.core.windows.net', 'acct.blob.example.com')),
  sasInvalid(
    'on a look-alike host',
    SAS.replace('acct.blob.core.windows.net', 'acct.blob.core.windows.net.evil.example'),
  ),
  sasInvalid('without sig', SAS.replace('&sig=c2lnbmF0dXJl', '')),
  sasInvalid('without se', SAS.replace('&se=2030-01-01T00%3A00%3A00Z', '')),
  {
    name: 'service_account_json rotation with a valid key file',
    setup: nativeGcs,
    rest: () => ({ credentials: { service_account_json: SA2 } }),
    gql: () => ({ value: { credentials: { gcsServiceAccount: { serviceAccountJson: SA2 } } } }),
    expect: {
      kind: 'accepted',
      changes: {},
      stored: { credentials: { service_account_json: SA2 } },
    },
  },
  gcsInvalid('that is not JSON', '{not json'),
  gcsInvalid('that is a JSON array', '["service_account"]'),
  gcsInvalid('of another type', serviceAccount({ type: 'authorized_user' })),
  gcsInvalid('without client_email', serviceAccount({}, ['client_email'])),
  gcsInvalid('without private_key', serviceAccount({}, ['private_key'])),

  // --- credentials vs field_mappings vs vault_connection_id -------------------------------------------
  {
    name: 'credentials and field_mappings together → 422',
    setup: nativeS3,
    rest: () => ({ credentials: AK2, field_mappings: OP_MAP }),
    // `SecretValueInput` is @oneOf: the schema rejects both at once.
    gql: () => ({ value: { credentials: gAK2, fieldMappings: gMappings(OP_MAP) } }),
    expect: {
      kind: 'invalid',
      rest: [either(body('credentials'), body('field_mappings'))],
      gql: [],
    },
    gqlExpect: { kind: 'requestError' },
  },
  {
    name: 'credentials on an external-vault secret → 422',
    setup: opS3,
    rest: () => ({ credentials: AK2 }),
    gql: () => ({ value: { credentials: gAK2 } }),
    expect: { kind: 'invalid', rest: [at(body('credentials'))], gql: [at(gCred())] },
  },
  {
    name: 'field_mappings on a native secret → 422',
    setup: nativeS3,
    rest: () => ({ field_mappings: OP_MAP }),
    gql: () => ({ value: { fieldMappings: gMappings(OP_MAP) } }),
    expect: { kind: 'invalid', rest: [at(body('field_mappings'))], gql: [at(gMap())] },
  },
  {
    name: 'vault_connection_id in a PATCH → 422',
    setup: opS3,
    rest: (ctx) => ({ vault_connection_id: ctx.otherConnectionId, name: 'renamed-secret' }),
    // `UpdateSecretInput` has no vaultConnectionId: the schema rejects the request.
    gql: (ctx) => ({ vaultConnectionId: ctx.otherConnectionId, name: 'renamed-secret' }),
    expect: { kind: 'invalid', rest: [at(body('vault_connection_id'))], gql: [] },
    gqlExpect: { kind: 'requestError' },
  },

  // --- field_mappings (external vault) ------------------------------------------------------------------
  {
    name: 'onepassword: field_mappings replaced',
    setup: opS3,
    rest: () => ({ field_mappings: OP_MAP2 }),
    gql: () => ({ value: { fieldMappings: gMappings(OP_MAP2) } }),
    expect: { kind: 'accepted', changes: {}, stored: { fieldMappings: OP_MAP2 } },
  },
  {
    name: 'doppler: field_mappings replaced',
    setup: dopplerS3,
    rest: () => ({ field_mappings: DOPPLER_MAP2 }),
    gql: () => ({ value: { fieldMappings: gMappings(DOPPLER_MAP2) } }),
    expect: { kind: 'accepted', changes: {}, stored: { fieldMappings: DOPPLER_MAP2 } },
  },
  {
    name: 'infisical: field_mappings replaced',
    setup: infisicalS3,
    rest: () => ({ field_mappings: DOPPLER_MAP2 }),
    gql: () => ({ value: { fieldMappings: gMappings(DOPPLER_MAP2) } }),
    expect: { kind: 'accepted', changes: {}, stored: { fieldMappings: DOPPLER_MAP2 } },
  },
  mappingsInvalid(
    'infisical: references that are not bare key names → 422 at each reference',
    infisicalS3,
    [
      { field_name: 'access_key_id', reference: '/aws/ACCESS_KEY_ID' },
      { field_name: 'secret_access_key', reference: 'op://Prod/aws/secret_access_key' },
    ],
    [[0], [1]],
  ),
  mappingsInvalid(
    'onepassword: references without op:// or with two segments → 422 at each reference',
    opS3,
    [
      { field_name: 'access_key_id', reference: 'Prod/aws/access_key_id' },
      { field_name: 'secret_access_key', reference: 'op://Prod/aws' },
    ],
    [[0], [1]],
  ),
  mappingsInvalid(
    'onepassword: reference with an empty segment → 422 at the reference',
    opS3,
    [
      { field_name: 'access_key_id', reference: 'op://Prod/aws/access_key_id' },
      { field_name: 'secret_access_key', reference: 'op://Prod//secret_access_key' },
    ],
    [[1]],
  ),
  mappingsInvalid(
    'doppler: references that are not bare key names → 422 at each reference',
    dopplerS3,
    [
      { field_name: 'access_key_id', reference: 'AWS-ACCESS-KEY' },
      { field_name: 'secret_access_key', reference: '9_SECRET' },
    ],
    [[0], [1]],
  ),
  mappingsInvalid(
    'doppler: a 1Password reference is not a Doppler key name → 422',
    dopplerS3,
    [
      { field_name: 'access_key_id', reference: 'op://Prod/aws/access_key_id' },
      { field_name: 'secret_access_key', reference: 'AWS_SECRET_ACCESS_KEY' },
    ],
    [[0]],
  ),
  mappingsInvalid('field_mappings missing a required field → 422', opS3, [OP_MAP[0]], ['root']),
  mappingsInvalid('field_mappings empty → 422 for each required field', opS3, [], ['root', 'root']),
  mappingsInvalid(
    'field_mappings with a duplicate field → 422 at the duplicate',
    opS3,
    [...OP_MAP, { field_name: 'access_key_id', reference: 'op://Prod/aws/other' }],
    [[2]],
  ),
  mappingsInvalid(
    'field_mappings with a field the auth method does not use → 422 at it',
    opS3,
    [...OP_MAP, { field_name: 'sas_url', reference: 'op://Prod/azure/sas_url' }],
    [[2]],
  ),
  {
    name: 'external: auth method with another field set and no field_mappings → 422',
    setup: opSas,
    rest: () => ({ auth_method: 'azure_account_key' }),
    gql: () => ({ authMethod: 'AZURE_ACCOUNT_KEY' }),
    expect: { kind: 'invalid', rest: [at(body('field_mappings'))], gql: [at(gMap())] },
  },
  {
    name: 'external: auth method with another field set and matching field_mappings',
    setup: opSas,
    rest: () => ({ auth_method: 'azure_account_key', field_mappings: OP_ACCOUNT_MAP }),
    gql: () => ({ authMethod: 'AZURE_ACCOUNT_KEY', value: { fieldMappings: gMappings(OP_ACCOUNT_MAP) } }),
    expect: {
      kind: 'accepted',
      changes: { auth_method: 'azure_account_key' },
      stored: { fieldMappings: OP_ACCOUNT_MAP },
    },
  },
  {
    name: 'external: field_mappings are checked against the new auth method',
    setup: opSas,
    rest: () => ({ auth_method: 'azure_account_key', field_mappings: OP_SAS_MAP }),
    gql: () => ({ authMethod: 'AZURE_ACCOUNT_KEY', value: { fieldMappings: gMappings(OP_SAS_MAP) } }),
    expect: {
      kind: 'invalid',
      rest: [under(body('field_mappings')), under(body('field_mappings')), under(body('field_mappings', 0))],
      gql: [under(gMap()), under(gMap()), under(gMap('0'))],
    },
  },
  {
    name: 'external: s3 → r2 keeps the mappings (same field set)',
    setup: opS3,
    rest: () => ({ secret_type: 'r2', auth_method: 'r2_access_key' }),
    gql: () => ({ secretType: 'R2', authMethod: 'R2_ACCESS_KEY' }),
    expect: {
      kind: 'accepted',
      changes: { secret_type: 'r2', auth_method: 'r2_access_key' },
    },
  },

  // --- which secret -----------------------------------------------------------------------------------
  {
    name: 'unknown secret id → 404',
    setup: unknownId,
    rest: () => ({ name: 'renamed-secret' }),
    gql: () => ({ name: 'renamed-secret' }),
    expect: { kind: 'notFound' },
  },
  {
    name: "another team's secret → 404, indistinguishable from an unknown id",
    setup: otherTeamsSecret,
    rest: () => ({ name: 'renamed-secret', credentials: AK2 }),
    gql: () => ({ name: 'renamed-secret', value: { credentials: gAK2 } }),
    expect: { kind: 'notFound', sameAsUnknown: true },
  },
  {
    name: 'malformed UUID in the path → 422 at the path parameter',
    setup: malformedId('not-a-uuid'),
    rest: () => ({ name: 'renamed-secret' }),
    gql: () => ({ name: 'renamed-secret' }),
    expect: {
      kind: 'invalid',
      rest: [at(['path', 'secret_id'], 'uuid_parsing')],
      gql: [at(['secretId'], 'uuid_parsing')],
    },
  },
  {
    name: 'UUID-shaped id with non-hex characters → 422 at the path parameter',
    setup: malformedId('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'),
    rest: () => ({}),
    gql: () => ({}),
    expect: {
      kind: 'invalid',
      rest: [at(['path', 'secret_id'], 'uuid_parsing')],
      gql: [at(['secretId'], 'uuid_parsing')],
    },
  },
  {
    name: 'a body that is not a JSON object → 400 (REST only)',
    setup: nativeS3,
    rest: () => '["name", "renamed-secret"]',
    gql: null,
    expect: { kind: 'badRequest' },
  },
];

// ---------------------------------------------------------------------------------------------
// Doors and observations
// ---------------------------------------------------------------------------------------------

const SECRET_FIELDS =
  'id name description secretType authMethod storage version createdAt createdBy updatedAt updatedBy';

const UPDATE = `mutation Update($teamId: ID!, $secretId: ID!, $input: UpdateSecretInput!) {
  updateSecret(teamId: $teamId, secretId: $secretId, input: $input) {
    __typename
    ... on UpdateSecretSuccess { secret { ${SECRET_FIELDS} } }
    ... on Error { message }
    ... on ValidationError { issues { path code message } }
  }
}`;

const READ = `query Read($teamId: ID!, $id: ID!) { secret(teamId: $teamId, id: $id) { ${SECRET_FIELDS} } }`;

/** The REST `SecretResponse` shape of a GraphQL `Secret`. */
function viewOfGql(s: any): Json {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    secret_type: String(s.secretType).toLowerCase(),
    auth_method: String(s.authMethod).toLowerCase(),
    created_at: s.createdAt,
    created_by: s.createdBy,
    updated_at: s.updatedAt,
    updated_by: s.updatedBy,
  };
}

/** The `SecretResponse` fields (docs/contract.md, "3. Secrets"). */
const SECRET_RESPONSE_FIELDS = [
  'id',
  'name',
  'description',
  'secret_type',
  'auth_method',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
];

interface State {
  /** The `SecretResponse` fields of the REST GET. */
  view: Json;
  /** The whole REST GET body (it may carry more than `SecretResponse`). */
  detail: Json;
  version: number;
  storage: string;
  stored: {
    credentialVersion: number | null;
    credentials: Record<string, string> | null;
    vaultConnectionId: string | null;
    fieldMappings: Mapping[] | null;
  };
}

/** Reads a secret through both doors (which must agree) and at the storage level. */
async function readState(w: Watched): Promise<State> {
  const viaRest = await rest(t.url, w.key)('GET', `/v1/teams/${w.teamId}/secrets/${w.id}`);
  expect(viaRest.status, viaRest.text).toBe(200);
  const viaGql = await graphql(t.url, w.key)(READ, { teamId: w.teamId, id: w.id });
  const secret = viaGql.body.data?.secret;
  expect(secret, viaGql.text).toBeTruthy();
  const view = Object.fromEntries(SECRET_RESPONSE_FIELDS.map((field) => [field, viaRest.body[field]]));
  expect(viewOfGql(secret)).toEqual(view);

  const em = t.app.db.orm.em.fork();
  const row = await em.findOneOrFail(Secret, { id: w.id });
  const credentials =
    row.credentialRef && row.credentialVersion != null
      ? await t.app.services.store.get(row.credentialRef, row.credentialVersion, autocommit(t.app.db.orm))
      : null;
  return {
    view,
    detail: viaRest.body,
    version: secret.version,
    storage: secret.storage,
    stored: {
      credentialVersion: row.credentialVersion ?? null,
      credentials,
      vaultConnectionId: row.vaultConnection?.id ?? null,
      fieldMappings: row.fieldMappings ?? null,
    },
  };
}

/** A second member (admin) with a key that may update; its user id is learnt from a secret it creates. */
async function adminActor(team: TestTeam): Promise<{ key: string; userId: string }> {
  const key = await team.keyFor('admin', ['secrets:read', 'secrets:create', 'secrets:update']);
  const probe = await rest(t.url, key)('POST', `/v1/teams/${team.teamId}/secrets`, {
    name: `made-by-admin-${randomUUID()}`,
    secret_type: 'wasabi',
    auth_method: 'wasabi_access_key',
    credentials: AK,
  });
  expect(probe.status, probe.text).toBe(201);
  expect(probe.body.created_by).not.toBe(team.ownerId);
  return { key, userId: probe.body.created_by };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const byField = (mappings: Mapping[] | null) =>
  [...(mappings ?? [])].sort((a, b) => a.field_name.localeCompare(b.field_name));
const byId = (locations: LocationView[]) => [...locations].sort((a, b) => a.id.localeCompare(b.id));

function issueMatches(actual: { loc: Loc; code: string }, expected: IssueExp): boolean {
  const got = actual.loc.map(String);
  const locOk = expected.locs.some((loc) => {
    const want = loc.map(String);
    if (expected.prefix ? got.length < want.length : got.length !== want.length) return false;
    return want.every((part, i) => got[i] === part);
  });
  return locOk && (expected.code === undefined || actual.code === expected.code);
}

/** Exactly the expected entries, in any order (each expected entry matched by a distinct actual one). */
function expectIssues(actual: { loc: Loc; code: string }[], expected: IssueExp[]): void {
  const shown = JSON.stringify(actual);
  expect(actual, `issues: ${shown}`).toHaveLength(expected.length);
  const assign = (i: number, used: Set<number>): boolean => {
    if (i === expected.length) return true;
    return actual.some((issue, j) => {
      if (used.has(j) || !issueMatches(issue, expected[i])) return false;
      used.add(j);
      if (assign(i + 1, used)) return true;
      used.delete(j);
      return false;
    });
  };
  expect(assign(0, new Set()), `expected ${JSON.stringify(expected)}, got ${shown}`).toBe(true);
}

/** What one door answered, reduced to what the outcome checks need. */
type Answer =
  | { door: 'rest'; status: number; body: any; text: string }
  | { door: 'gql'; status: number; body: any; text: string; result: any };

async function send(door: 'rest' | 'gql', c: Case, ctx: Ctx, key: string, secretId = ctx.secretId) {
  if (door === 'rest') {
    const response = await rest(t.url, key)(
      'PATCH',
      `/v1/teams/${ctx.team.teamId}/secrets/${encodeURIComponent(secretId)}`,
      c.rest(ctx),
    );
    return { door, ...response } as Answer;
  }
  const response = await graphql(t.url, key)(UPDATE, {
    teamId: ctx.team.teamId,
    secretId,
    input: c.gql!(ctx),
  });
  return { door, ...response, result: response.body.data?.updateSecret ?? null } as Answer;
}

async function runCase(c: Case, door: 'rest' | 'gql'): Promise<void> {
  const team = await t.newTeam();
  const ctx = await c.setup(team);
  const actor = await adminActor(team);
  const before: State[] = [];
  for (const w of ctx.watch) before.push(await readState(w));
  await sleep(5); // so that an accepted change cannot share the creation's millisecond

  const outcome = door === 'gql' ? (c.gqlExpect ?? c.expect) : c.expect;
  const answer = await send(door, c, ctx, actor.key);
  const context = `${door} answered ${answer.status}: ${answer.text.slice(0, 2000)}`;
  // Responses never carry credentials, whatever the outcome.
  for (const value of CREDENTIAL_VALUES) expect(answer.text, context).not.toContain(value);

  if (outcome.kind === 'accepted') {
    let view: Json;
    if (answer.door === 'rest') {
      expect(answer.status, context).toBe(200);
      view = answer.body;
    } else {
      expect(answer.result?.__typename, context).toBe('UpdateSecretSuccess');
      view = viewOfGql(answer.result.secret);
      expect(answer.result.secret.version, context).toBe(before[0].version + 1);
    }
    const { updated_at, ...rest } = view;
    const { updated_at: previousUpdatedAt, ...previous } = before[0].view;
    expect(rest, context).toEqual({ ...previous, ...outcome.changes, updated_by: actor.userId });
    expect(updated_at, context).toMatch(ISO_UTC);
    expect(Date.parse(String(updated_at))).toBeGreaterThan(Date.parse(String(previousUpdatedAt)));

    const after = await readState(ctx.watch[0]);
    expect(after.view).toEqual(view);
    expect(after.version).toBe(before[0].version + 1);
    expect(after.storage).toBe(before[0].storage);
    expect(after.stored.vaultConnectionId).toBe(before[0].stored.vaultConnectionId);
    if (outcome.stored?.credentials) {
      expect(after.stored.credentials).toEqual(outcome.stored.credentials);
      expect(after.stored.credentialVersion).toBeGreaterThan(before[0].stored.credentialVersion!);
    } else {
      expect(after.stored.credentialVersion).toBe(before[0].stored.credentialVersion);
      expect(after.stored.credentials).toEqual(before[0].stored.credentials);
    }
    if (outcome.stored?.fieldMappings) {
      expect(byField(after.stored.fieldMappings)).toEqual(byField(outcome.stored.fieldMappings));
    } else {
      expect(after.stored.fieldMappings).toEqual(before[0].stored.fieldMappings);
    }
    for (let i = 1; i < ctx.watch.length; i++) expect(await readState(ctx.watch[i])).toEqual(before[i]);
    return;
  }

  switch (outcome.kind) {
    case 'unchanged':
      if (answer.door === 'rest') {
        expect(answer.status, context).toBe(200);
        expect(answer.body).toEqual(before[0].view);
      } else {
        expect(answer.result?.__typename, context).toBe('UpdateSecretSuccess');
        expect(viewOfGql(answer.result.secret)).toEqual(before[0].view);
        expect(answer.result.secret.version).toBe(before[0].version);
      }
      break;
    case 'invalid':
      if (answer.door === 'rest') {
        expect(answer.status, context).toBe(422);
        expect(Array.isArray(answer.body?.detail), context).toBe(true);
        for (const entry of answer.body.detail) expect(typeof entry.msg).toBe('string');
        expectIssues(
          answer.body.detail.map((d: any) => ({ loc: d.loc, code: d.type })),
          outcome.rest,
        );
      } else {
        expect(answer.result?.__typename, context).toBe('ValidationError');
        expectIssues(
          answer.result.issues.map((i: any) => ({ loc: i.path, code: i.code })),
          outcome.gql,
        );
      }
      break;
    case 'conflict':
      if (answer.door === 'rest') {
        expect(answer.status, context).toBe(409);
        expect(typeof answer.body?.detail, context).toBe('string');
        if (outcome.locations) {
          expect(byId(answer.body.locations ?? []), context).toEqual(byId(ctx.locations));
          for (const l of ctx.locations)
            expect.soft(answer.body.detail, 'detail names the location').toContain(l.name);
        }
      } else {
        expect(answer.result?.__typename, context).toBe('ConflictError');
        expect(typeof answer.result.message).toBe('string');
        if (outcome.locations) {
          for (const l of ctx.locations)
            expect.soft(answer.result.message, 'message names the location').toContain(l.name);
        }
      }
      break;
    case 'notFound': {
      const unknown = outcome.sameAsUnknown ? await send(door, c, ctx, actor.key, randomUUID()) : undefined;
      if (answer.door === 'rest') {
        expect(answer.status, context).toBe(404);
        expect(typeof answer.body?.detail, context).toBe('string');
        if (unknown)
          expect({ status: answer.status, body: answer.body }).toEqual({
            status: unknown.status,
            body: unknown.body,
          });
      } else {
        expect(answer.result?.__typename, context).toBe('NotFoundError');
        expect(typeof answer.result.message).toBe('string');
        if (unknown?.door === 'gql') expect(answer.result).toEqual(unknown.result);
      }
      break;
    }
    case 'badRequest':
      expect(answer.status, context).toBe(400);
      expect(typeof answer.body?.detail, context).toBe('string');
      break;
    case 'requestError':
      // Rejected by the schema before any resolver runs: a client error carrying a message (soft, so
      // that the no-partial-write check below still runs).
      expect.soft(answer.status, context).toBeLessThan(500);
      expect.soft(answer.door === 'gql' && answer.result, context).toBeNull();
      expect.soft(answer.body.errors?.length, context).toBeGreaterThan(0);
      expect.soft(answer.body.errors?.[0]?.message, context).toEqual(expect.stringMatching(/\S/));
      break;
  }

  // Nothing a rejected (or no-op) request touched may have changed: no partial write.
  for (let i = 0; i < ctx.watch.length; i++) {
    expect(await readState(ctx.watch[i]), `secret ${ctx.watch[i].id} after the request`).toEqual(before[i]);
  }
}

describe('PATCH /v1/teams/{team_id}/secrets/{secret_id} and updateSecret follow the same update rules alike', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it('REST PATCH', () => runCase(c, 'rest'));
      if (c.gql) it('GraphQL updateSecret', () => runCase(c, 'gql'));
    });
  }
});
