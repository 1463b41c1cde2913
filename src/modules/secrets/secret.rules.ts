import { z } from 'zod';
import { type Issue, ValidationError } from '../../domain/errors.js';
import {
  type AuthMethod,
  CREDENTIAL_FORMATS,
  type CredentialField,
  credentialFieldsOf,
  isAuthMethodOf,
  type SecretType,
  sameFieldSet,
} from '../../domain/providers.js';
import { checkReference, type VaultType } from '../../domain/vaults.js';
import type { CredentialValue } from '../../platform/credentials/credential-store.js';
import type { FieldMapping } from './secret.entity.js';

export const CREDENTIAL_VALUE_MAX = 4096;
export const REFERENCE_MAX = 1000;
export const FIELD_MAPPINGS_MAX = 16;

export const referenceSchema = z.string().min(1).max(REFERENCE_MAX);
/** Credentials as sent: field name → value, checked against the auth method by `checkCredentials`. */
export type CredentialsInput = Readonly<Record<string, unknown>>;

/** A secret's credentials (native) or where they live in its external vault: exactly one. */
export type SecretValue = { credentials: CredentialsInput } | { fieldMappings: FieldMapping[] };

/** A new secret's value: native credentials, or an external vault connection with field mappings. */
export type NewSecretValue =
  | { credentials: CredentialsInput }
  | { vault: { vaultConnectionId: string; fieldMappings: FieldMapping[] } };

/**
 * The use cases' inputs, in domain terms, whichever door they came through. Issues about them carry
 * paths into these commands (`['value', 'credentials', 'sas_url']`); each door renders those once.
 */
export interface CreateSecretCommand {
  name: string;
  description?: string | null;
  secretType: SecretType;
  authMethod: AuthMethod;
  value: NewSecretValue;
}

/** Omitted: unchanged; `description: null` clears it. */
export interface UpdateSecretCommand {
  name?: string;
  description?: string | null;
  secretType?: SecretType;
  authMethod?: AuthMethod;
  value?: SecretValue;
}

export interface RollbackSecretCommand {
  version: number;
}

const CREDENTIALS_AT = ['value', 'credentials'];
const FIELD_MAPPINGS_AT = ['value', 'fieldMappings'];

/** The credentials must be exactly the auth method's fields, each a non-empty string of the right format. */
export function checkCredentials(authMethod: AuthMethod, credentials: CredentialsInput): CredentialValue {
  const required = credentialFieldsOf(authMethod);
  const issues: Issue[] = [];
  const at = (field: string) => [...CREDENTIALS_AT, field];
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
  at: Issue['path'] = FIELD_MAPPINGS_AT,
): FieldMapping[] {
  const required = credentialFieldsOf(authMethod) as readonly string[];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  mappings.forEach((mapping, i) => {
    if (!required.includes(mapping.field_name)) {
      issues.push({
        path: [...at, i, 'field_name'],
        message: `Not a credential field of auth method ${authMethod} (expected ${required.join(', ')})`,
        code: 'value_error',
      });
    } else if (seen.has(mapping.field_name)) {
      issues.push({
        path: [...at, i, 'field_name'],
        message: `Field '${mapping.field_name}' is mapped more than once`,
        code: 'value_error',
      });
    }
    seen.add(mapping.field_name);
    const problem = checkReference(vaultType, mapping.reference);
    if (problem) issues.push({ path: [...at, i, 'reference'], message: problem, code: 'value_error' });
  });
  for (const field of required) {
    if (!seen.has(field)) {
      issues.push({ path: at, message: `Field '${field}' is not mapped`, code: 'missing' });
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
      ['secretType'],
      `The current auth method '${authMethod}' does not serve secret type '${secretType}'; send a matching auth method too`,
    );
  }
  throw ValidationError.single(
    ['authMethod'],
    `Auth method '${authMethod}' is not valid for secret type '${secretType}'`,
    'enum',
  );
}

/** What an accepted update changes. `changedFields` are the fields' REST names, in a stable order. */
export interface SecretChange {
  name?: string;
  description?: string | null;
  secretType?: SecretType;
  authMethod?: AuthMethod;
  credentials?: CredentialValue;
  fieldMappings?: FieldMapping[];
  changedFields: string[];
}

/** The part of a stored secret the update rules read. */
export interface SecretState {
  name: string;
  description?: string | null;
  secretType: SecretType;
  authMethod: AuthMethod;
  storage: 'native' | 'external_vault';
}

/** The update rules, which need the stored secret (and, for an external-vault secret, its vault type). */
export function planSecretUpdate(
  current: SecretState,
  command: UpdateSecretCommand,
  vaultType: VaultType | null,
): SecretChange {
  const change: SecretChange = { changedFields: [] };
  const newType = command.secretType ?? current.secretType;
  const newAuth = command.authMethod ?? current.authMethod;
  checkAuthMethodServes(
    newType,
    newAuth,
    command.secretType !== undefined && command.authMethod === undefined,
  );

  const native = current.storage === 'native';
  const value = command.value;
  if (value && 'credentials' in value && !native) {
    throw ValidationError.single(
      CREDENTIALS_AT,
      'This secret is stored in an external vault; its credentials are managed there. Send field mappings instead',
    );
  }
  if (value && 'fieldMappings' in value && native) {
    throw ValidationError.single(
      FIELD_MAPPINGS_AT,
      'This secret stores its credentials natively; send credentials instead of field mappings',
    );
  }
  if (!sameFieldSet(newAuth, current.authMethod) && !value) {
    throw ValidationError.single(
      native ? CREDENTIALS_AT : FIELD_MAPPINGS_AT,
      `Auth method '${newAuth}' needs the fields ${credentialFieldsOf(newAuth).join(', ')}; send new ${native ? 'credentials' : 'field mappings'} in the same request`,
      'missing',
    );
  }
  if (value && 'credentials' in value) change.credentials = checkCredentials(newAuth, value.credentials);
  if (value && 'fieldMappings' in value) {
    change.fieldMappings = checkFieldMappings(newAuth, vaultType!, value.fieldMappings);
  }

  if (command.name !== undefined && command.name !== current.name) change.name = command.name;
  if (command.description !== undefined && command.description !== (current.description ?? null)) {
    change.description = command.description;
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
