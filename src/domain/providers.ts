/**
 * The provider table: the one source of truth for storage providers, their auth methods and the
 * credential fields each auth method needs. Validation (REST and GraphQL), GraphQL enums and inputs,
 * and the location rules all derive from here. Adding a provider is one row.
 */

export const CREDENTIAL_FIELDS = [
  'access_key_id',
  'secret_access_key',
  'sas_url',
  'account_name',
  'account_key',
  'service_account_json',
  'application_key_id',
  'application_key',
] as const;
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

/** Credential shapes: groups of fields that several auth methods share (also the GraphQL `CredentialsInput` variants). */
export const CREDENTIAL_SHAPES = {
  accessKey: ['access_key_id', 'secret_access_key'],
  azureSasUrl: ['sas_url'],
  azureAccountKey: ['account_name', 'account_key'],
  gcsServiceAccount: ['service_account_json'],
  b2ApplicationKey: ['application_key_id', 'application_key'],
} as const satisfies Record<string, readonly CredentialField[]>;
export type CredentialShape = keyof typeof CREDENTIAL_SHAPES;

interface ProviderRow {
  label: string;
  /** auth_method → the credential shape it needs */
  authMethods: Record<string, CredentialShape>;
  /** Speaks the S3 API, so a location may carry a custom `endpoint_url`. */
  s3Style: boolean;
  /** A location of this type cannot work without an `endpoint_url`. */
  endpointRequired: boolean;
}

export const PROVIDERS = {
  s3: {
    label: 'AWS S3',
    authMethods: { s3_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  azure_blob: {
    label: 'Azure Blob Storage',
    authMethods: { azure_sas_url: 'azureSasUrl', azure_account_key: 'azureAccountKey' },
    s3Style: false,
    endpointRequired: false,
  },
  gcs: {
    label: 'Google Cloud Storage',
    authMethods: { gcs_service_account: 'gcsServiceAccount' },
    s3Style: false,
    endpointRequired: false,
  },
  r2: {
    label: 'Cloudflare R2',
    authMethods: { r2_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  b2: {
    label: 'Backblaze B2',
    authMethods: { b2_application_key: 'b2ApplicationKey' },
    s3Style: false,
    endpointRequired: false,
  },
  wasabi: {
    label: 'Wasabi',
    authMethods: { wasabi_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  railway: {
    label: 'Railway',
    authMethods: { railway_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  oracle_object_storage_s3: {
    label: 'Oracle Object Storage',
    authMethods: { oracle_object_storage_s3_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  s3_compatible: {
    label: 'S3 Compatible',
    authMethods: { s3_compatible_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: true,
  },
  tigris: {
    label: 'Tigris',
    authMethods: { tigris_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  digitalocean_spaces: {
    label: 'DigitalOcean Spaces',
    authMethods: { digitalocean_spaces_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  hetzner: {
    label: 'Hetzner Object Storage',
    authMethods: { hetzner_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
  rabata: {
    label: 'Rabata',
    authMethods: { rabata_access_key: 'accessKey' },
    s3Style: true,
    endpointRequired: false,
  },
} as const satisfies Record<string, ProviderRow>;

export type SecretType = keyof typeof PROVIDERS;
export const SECRET_TYPES = Object.keys(PROVIDERS) as [SecretType, ...SecretType[]];

type AuthMethodsOf<T extends SecretType> = keyof (typeof PROVIDERS)[T]['authMethods'];
export type AuthMethod = { [T in SecretType]: AuthMethodsOf<T> }[SecretType] & string;

const authMethodRows = Object.entries(PROVIDERS).flatMap(([secretType, row]) =>
  Object.entries(row.authMethods).map(([authMethod, shape]) => ({
    authMethod: authMethod as AuthMethod,
    secretType: secretType as SecretType,
    shape: shape as CredentialShape,
  })),
);
export const AUTH_METHODS = authMethodRows.map((r) => r.authMethod) as [AuthMethod, ...AuthMethod[]];

export function authMethodsFor(secretType: SecretType): AuthMethod[] {
  return Object.keys(PROVIDERS[secretType].authMethods) as AuthMethod[];
}

export function isAuthMethodOf(secretType: SecretType, authMethod: AuthMethod): boolean {
  return authMethod in PROVIDERS[secretType].authMethods;
}

export function shapeOf(authMethod: AuthMethod): CredentialShape {
  const row = authMethodRows.find((r) => r.authMethod === authMethod);
  if (!row) throw new Error(`unknown auth method ${authMethod}`);
  return row.shape;
}

export function credentialFieldsOf(authMethod: AuthMethod): readonly CredentialField[] {
  return CREDENTIAL_SHAPES[shapeOf(authMethod)];
}

export function sameFieldSet(a: AuthMethod, b: AuthMethod): boolean {
  return shapeOf(a) === shapeOf(b);
}

/** Format checks on top of "non-empty string"; each returns a message when the value is wrong. */
export const CREDENTIAL_FORMATS: Partial<Record<CredentialField, (value: string) => string | undefined>> = {
  sas_url: checkSasUrl,
  service_account_json: checkServiceAccountJson,
};

function checkSasUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (!url.hostname.endsWith('.blob.core.windows.net') || url.hostname === '.blob.core.windows.net') {
    return 'host must be <account>.blob.core.windows.net';
  }
  for (const param of ['sig', 'se']) {
    if (!url.searchParams.get(param)) return `query must carry the SAS parameter '${param}'`;
  }
  return undefined;
}

function checkServiceAccountJson(value: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'must be the JSON key file of a service account';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'must be a JSON object';
  const key = parsed as Record<string, unknown>;
  if (key.type !== 'service_account') return "must have type 'service_account'";
  for (const field of ['client_email', 'private_key']) {
    if (typeof key[field] !== 'string' || key[field] === '') return `must have a non-empty '${field}'`;
  }
  return undefined;
}

export function endpointUrlAllowed(secretType: SecretType): boolean {
  return PROVIDERS[secretType].s3Style;
}

export function endpointUrlRequired(secretType: SecretType): boolean {
  return PROVIDERS[secretType].endpointRequired;
}
