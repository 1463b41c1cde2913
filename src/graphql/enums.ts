import { AUTH_METHODS, CREDENTIAL_FIELDS, PROVIDERS, SECRET_TYPES } from '../domain/providers.js';
import { VAULT_TYPES } from '../domain/vaults.js';
import { builder } from './builder.js';

/** GraphQL enums use the upper-case REST strings as names and the REST strings as internal values. */
function valuesOf<T extends string>(items: readonly T[], describe?: (item: T) => string) {
  return Object.fromEntries(
    items.map((item) => [item.toUpperCase(), { value: item, description: describe?.(item) }]),
  ) as Record<string, { value: T; description?: string }>;
}

export const SecretTypeEnum = builder.enumType('SecretType', {
  description: 'A cloud storage provider.',
  values: valuesOf(SECRET_TYPES, (t) => PROVIDERS[t].label),
});

export const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'How a secret authenticates to its provider; each provider serves one or more.',
  values: valuesOf(AUTH_METHODS),
});

export const CredentialFieldEnum = builder.enumType('CredentialField', {
  description: 'A credential field name, as used in field mappings.',
  values: valuesOf(CREDENTIAL_FIELDS),
});

export const VaultTypeEnum = builder.enumType('VaultType', {
  description: 'An external vault service.',
  values: valuesOf(VAULT_TYPES),
});

export const SecretStorageEnum = builder.enumType('SecretStorage', {
  description: 'Where the credentials live, fixed at creation.',
  values: {
    NATIVE: { value: 'native', description: 'Encrypted in our credential store; never returned.' },
    EXTERNAL_VAULT: {
      value: 'external_vault',
      description: 'In an external vault, referenced by field mappings.',
    },
  } as const,
});
