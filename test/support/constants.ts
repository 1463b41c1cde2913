/** Values the test files share instead of redefining them. */
import { randomBytes } from 'node:crypto';

/** A well-formed UUID (version 4) that no resource has. */
export const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

/** Access-key credentials that pass every check of the S3-style providers (s3, r2, s3_compatible, ...). */
export const S3_CREDENTIALS = { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'x'.repeat(30) };

/** Access-key credentials of random values, different on every call. */
export const randomS3Credentials = () => ({
  access_key_id: `AKIA${randomBytes(6).toString('hex').toUpperCase()}`,
  secret_access_key: randomBytes(20).toString('base64url'),
});

/** A service-account key file that passes the gcs_service_account format check. */
export const GCS_SERVICE_ACCOUNT_JSON = JSON.stringify({
  type: 'service_account',
  client_email: 'sa@example.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n',
});

/** The fields of a `SecretResponse` (REST create, update, rollback), sorted. */
export const SECRET_RESPONSE_KEYS = [
  'auth_method',
  'created_at',
  'created_by',
  'description',
  'id',
  'name',
  'secret_type',
  'updated_at',
  'updated_by',
];

/** The fields of a vault connection as created (`VaultConnectionResponse`), sorted. */
export const VAULT_CONNECTION_RESPONSE_KEYS = [
  'created_at',
  'created_by',
  'description',
  'id',
  'last_verified_at',
  'name',
  'vault_type',
];

/** A timestamp as the API writes it: ISO-8601 in UTC with milliseconds. */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The headers of a JSON request body. */
export const JSON_HEADERS = { 'content-type': 'application/json' };

let counter = 0;
/** A name no other test uses: `prefix-<n>-<8 hex>`. */
export const unique = (prefix: string) => `${prefix}-${++counter}-${randomBytes(4).toString('hex')}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
