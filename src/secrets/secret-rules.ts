import { z } from 'zod';
import type { CredentialValue } from '../credentials/credential-store.js';
import { type Issue, ValidationError } from '../domain/errors.js';
import {
  AUTH_METHODS,
  type AuthMethod,
  CREDENTIAL_FORMATS,
  type CredentialField,
  credentialFieldsOf,
  isAuthMethodOf,
  SECRET_TYPES,
  type SecretType,
  sameFieldSet,
} from '../domain/providers.js';
import { plainObject } from '../domain/validation.js';
import { checkReference, type VaultType } from '../domain/vaults.js';
import type { FieldMapping, Secret } from '../entities/index.js';

export const NAME_MAX = 255;
export const DESCRIPTION_MAX = 2000;
export const CREDENTIAL_VALUE_MAX = 4096;
export const REFERENCE_MAX = 1000;

export const nameSchema = z.string().min(1).max(NAME_MAX);
export const descriptionSchema = z.string().max(DESCRIPTION_MAX);
const fieldMappingSchema = z.strictObject({
  field_name: z.string().max(64),
  reference: z.string().min(1).max(REFERENCE_MAX),
});
const fieldMappingsSchema = z.array(fieldMappingSchema).max(16);

/** PATCH body: every field optional; null means unchanged, except `description: null`, which clears it. */
export const updateSecretSchema = z.strictObject({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
  secret_type: z.enum(SECRET_TYPES).nullish(),
  auth_method: z.enum(AUTH_METHODS).nullish(),
  credentials: plainObject.nullish(),
  field_mappings: fieldMappingsSchema.nullish(),
  vault_connection_id: z
    .unknown()
    .refine((v) => v === undefined, 'vault_connection_id cannot be changed after creation')
    .optional(),
});
export type UpdateSecretPatch = z.output<typeof updateSecretSchema>;

export const createSecretSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  secret_type: z.enum(SECRET_TYPES),
  auth_method: z.enum(AUTH_METHODS),
  credentials: plainObject.nullish(),
  vault_connection_id: z.string().nullish(),
  field_mappings: fieldMappingsSchema.nullish(),
});
export type CreateSecretInput = z.output<typeof createSecretSchema>;

/** The credentials must be exactly the auth method's fields, each a non-empty string of the right format. */
export function checkCredentials(
  authMethod: AuthMethod,
  credentials: Record<string, unknown>,
): CredentialValue {
  const required = credentialFieldsOf(authMethod);
  const issues: Issue[] = [];
  const at = (field: string) => ['credentials', field];
  for (const field of required) {
    const value = Object.hasOwn(credentials, field) ? credentials[field] : undefined;
    if (value === undefined || value === null) {
      issues.push({
        path: at(field),
        message: `Field '${field}' is required for auth method ${authMethod}`,
        code: 'missing',
      });
    } else if (typeof value !== 'string') {
      issues.push({ path: at(field), message: 'Input should be a valid string', code: 'string_type' });
    } else if (value.trim() === '') {
      issues.push({ path: at(field), message: 'Must be a non-empty string', code: 'string_too_short' });
    } else if (value.length > CREDENTIAL_VALUE_MAX) {
      issues.push({
        path: at(field),
        message: `String should have at most ${CREDENTIAL_VALUE_MAX} characters`,
        code: 'string_too_long',
      });
    } else {
      const problem = CREDENTIAL_FORMATS[field]?.(value);
      if (problem) issues.push({ path: at(field), message: problem, code: 'value_error' });
    }
  }
  for (const field of Object.keys(credentials)) {
    if (!(required as readonly string[]).includes(field)) {
      issues.push({
        path: at(field),
        message: `'${field}' is not a credential field of auth method ${authMethod} (expected ${required.join(', ')})`,
        code: 'extra_forbidden',
      });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return Object.fromEntries(required.map((field) => [field, credentials[field] as string]));
}

/** Every required field mapped exactly once, to a reference the vault type understands; nothing else. */
export function checkFieldMappings(
  authMethod: AuthMethod,
  vaultType: VaultType,
  mappings: FieldMapping[],
): FieldMapping[] {
  const required = credentialFieldsOf(authMethod) as readonly string[];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  mappings.forEach((mapping, i) => {
    if (!required.includes(mapping.field_name)) {
      issues.push({
        path: ['field_mappings', i, 'field_name'],
        message: `Not a credential field of auth method ${authMethod} (expected ${required.join(', ')})`,
        code: 'value_error',
      });
    } else if (seen.has(mapping.field_name)) {
      issues.push({
        path: ['field_mappings', i, 'field_name'],
        message: `Field '${mapping.field_name}' is mapped more than once`,
        code: 'value_error',
      });
    }
    seen.add(mapping.field_name);
    const problem = checkReference(vaultType, mapping.reference);
    if (problem)
      issues.push({ path: ['field_mappings', i, 'reference'], message: problem, code: 'value_error' });
  });
  for (const field of required) {
    if (!seen.has(field)) {
      issues.push({ path: ['field_mappings'], message: `Field '${field}' is not mapped`, code: 'missing' });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return required.map((field) => mappings.find((m) => m.field_name === field)!);
}

export function checkAuthMethodServes(
  secretType: SecretType,
  authMethod: AuthMethod,
  changedTypeOnly: boolean,
): void {
  if (isAuthMethodOf(secretType, authMethod)) return;
  if (changedTypeOnly) {
    throw ValidationError.single(
      ['secret_type'],
      `The current auth method '${authMethod}' does not serve secret type '${secretType}'; send a matching auth_method too`,
    );
  }
  throw ValidationError.single(
    ['auth_method'],
    `Auth method '${authMethod}' is not valid for secret type '${secretType}'`,
    'enum',
  );
}

/** What an accepted PATCH changes. `changedFields` are REST field names, in a stable order. */
export interface SecretChange {
  name?: string;
  description?: string | null;
  secretType?: SecretType;
  authMethod?: AuthMethod;
  credentials?: CredentialValue;
  fieldMappings?: FieldMapping[];
  changedFields: string[];
}

/** The update rules that need the stored secret (and, for external-vault secrets, its vault type). */
export function planSecretUpdate(
  current: Secret,
  patch: UpdateSecretPatch,
  vaultType: VaultType | null,
): SecretChange {
  const change: SecretChange = { changedFields: [] };
  const newType = patch.secret_type ?? current.secretType;
  const newAuth = patch.auth_method ?? current.authMethod;
  checkAuthMethodServes(newType, newAuth, patch.secret_type != null && patch.auth_method == null);

  const native = current.storage === 'native';
  if (patch.credentials != null && !native) {
    throw ValidationError.single(
      ['credentials'],
      'This secret is stored in an external vault; its credentials are managed there. Send field_mappings instead',
    );
  }
  if (patch.field_mappings != null && native) {
    throw ValidationError.single(
      ['field_mappings'],
      'This secret stores its credentials natively; send credentials instead of field_mappings',
    );
  }
  if (
    !sameFieldSet(newAuth, current.authMethod) &&
    patch.credentials == null &&
    patch.field_mappings == null
  ) {
    const field = native ? 'credentials' : 'field_mappings';
    throw ValidationError.single(
      [field],
      `Auth method '${newAuth}' needs the fields ${credentialFieldsOf(newAuth).join(', ')}; send new ${field} in the same request`,
      'missing',
    );
  }
  if (patch.credentials != null) change.credentials = checkCredentials(newAuth, patch.credentials);
  if (patch.field_mappings != null) {
    change.fieldMappings = checkFieldMappings(newAuth, vaultType!, patch.field_mappings);
  }

  if (patch.name != null && patch.name !== current.name) change.name = patch.name;
  if (patch.description !== undefined && patch.description !== current.description) {
    change.description = patch.description;
  }
  if (newType !== current.secretType) change.secretType = newType;
  if (newAuth !== current.authMethod) change.authMethod = newAuth;
  const changed: [keyof SecretChange, string][] = [
    ['name', 'name'],
    ['description', 'description'],
    ['secretType', 'secret_type'],
    ['authMethod', 'auth_method'],
    ['credentials', 'credentials'],
    ['fieldMappings', 'field_mappings'],
  ];
  change.changedFields = changed.filter(([key]) => key in change).map(([, field]) => field);
  return change;
}

export type { CredentialField };
