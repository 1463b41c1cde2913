import {
  AUTH_METHODS,
  CREDENTIAL_FIELDS,
  CREDENTIAL_SHAPES,
  type CredentialField,
  PROVIDERS,
  SECRET_TYPES,
} from '../../domain/providers.js';
import type { VaultType } from '../../domain/vaults.js';
import { VAULT_TYPES } from '../../domain/vaults.js';
import { builder } from './builder.js';

/**
 * GraphQL enums use the upper-case REST strings as names (a dot as `_`: `secret.rotated` is
 * SECRET_ROTATED) and the REST strings as internal values.
 */
export function valuesOf<T extends string>(items: readonly T[], describe: (item: T) => string) {
  return Object.fromEntries(
    items.map((item) => [
      item.toUpperCase().replaceAll('.', '_'),
      { value: item, description: describe(item) },
    ]),
  ) as Record<string, { value: T; description: string }>;
}

/** `valuesOf` the REST strings described: `describedValues({ pending: 'Not delivered yet.' })`. */
export function describedValues<T extends string>(descriptions: Record<T, string>) {
  return valuesOf(Object.keys(descriptions) as T[], (item) => descriptions[item]);
}

export const SecretTypeEnum = builder.enumType('SecretType', {
  description: 'A cloud storage provider.',
  values: valuesOf(SECRET_TYPES, (t) => PROVIDERS[t].label),
});

/** "AWS S3, with accessKey credentials (access_key_id, secret_access_key)", from the provider table. */
function describeAuthMethod(method: string): string {
  for (const provider of Object.values(PROVIDERS)) {
    const shape = (provider.authMethods as Record<string, keyof typeof CREDENTIAL_SHAPES>)[method];
    if (shape)
      return `${provider.label}, with ${shape} credentials (${CREDENTIAL_SHAPES[shape].join(', ')}).`;
  }
  return method;
}

export const CREDENTIAL_FIELD_DESCRIPTIONS: Record<CredentialField, string> = {
  access_key_id: 'The access key id of an S3-style access key.',
  secret_access_key: 'The secret access key of an S3-style access key.',
  sas_url: 'An Azure shared access signature URL.',
  account_name: 'The Azure storage account name.',
  account_key: 'The Azure storage account key.',
  service_account_json: 'A Google Cloud service account key, as its JSON document.',
  application_key_id: 'The Backblaze B2 application key id.',
  application_key: 'The Backblaze B2 application key.',
};

const VAULT_TYPE_DESCRIPTIONS: Record<VaultType, string> = {
  onepassword: '1Password, read with a service account token.',
  doppler: 'Doppler, read with a service token for one project config.',
  infisical: 'Infisical, read with a machine identity (client id and secret).',
};

export const AuthMethodEnum = builder.enumType('AuthMethod', {
  description: 'How a secret authenticates to its provider; each provider serves one or more.',
  values: valuesOf(AUTH_METHODS, describeAuthMethod),
});

export const CredentialFieldEnum = builder.enumType('CredentialField', {
  description: 'A credential field name, as used in field mappings.',
  values: valuesOf(CREDENTIAL_FIELDS, (field) => CREDENTIAL_FIELD_DESCRIPTIONS[field]),
});

export const VaultTypeEnum = builder.enumType('VaultType', {
  description: 'An external vault service.',
  values: valuesOf(VAULT_TYPES, (type) => VAULT_TYPE_DESCRIPTIONS[type]),
});

export const SecretStorageEnum = builder.enumType('SecretStorage', {
  description: 'Where the credentials live, fixed at creation.',
  values: describedValues({
    native: 'Encrypted in our credential store; never returned.',
    external_vault: 'In an external vault, referenced by field mappings.',
  }),
});
