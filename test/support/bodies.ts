/**
 * Request bodies the tests and the fuzz fixture send (no vitest import: scripts/fuzz.ts uses them too).
 */
import { unique } from './constants.js';

/** The field mappings of an s3 vault secret: the vault's reference for each of its two fields. */
export const s3FieldMappings = (accessKeyId: string, secretAccessKey: string) => [
  { field_name: 'access_key_id', reference: accessKeyId },
  { field_name: 'secret_access_key', reference: secretAccessKey },
];

/** Environment-style references (Doppler, Infisical). */
export const ENV_MAPPINGS = s3FieldMappings('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY');

/** 1Password references. */
export const ONEPASSWORD_MAPPINGS = s3FieldMappings(
  'op://Ops/AWS/access_key_id',
  'op://Ops/AWS/secret_access_key',
);

/** The body creating an s3 secret whose credentials live in the vault connection (a name of its own). */
export const vaultSecretBody = (connectionId: string, fieldMappings = ENV_MAPPINGS) => ({
  name: unique('vault-secret'),
  secret_type: 's3',
  auth_method: 's3_access_key',
  vault_connection_id: connectionId,
  field_mappings: fieldMappings,
});
