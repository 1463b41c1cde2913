import { camelCase, capitalized } from '../../domain/names.js';
import {
  CREDENTIAL_SHAPES,
  type CredentialField,
  type CredentialShape,
  PROVIDERS,
} from '../../domain/providers.js';
import { builder } from '../../platform/graphql/builder.js';
import { CREDENTIAL_FIELD_DESCRIPTIONS, CredentialFieldEnum } from '../../platform/graphql/enums.js';
import { referenceSchema } from './secret.rules.js';

/** One input per credential shape of the provider table, e.g. `AccessKeyCredentialsInput { accessKeyId, secretAccessKey }`. */
const shapeInputs = Object.fromEntries(
  Object.entries(CREDENTIAL_SHAPES).map(([shape, fields]) => [
    shape,
    builder.inputType(`${capitalized(shape)}CredentialsInput`, {
      description: `Credential fields ${fields.join(', ')}. Write-only: never returned.`,
      fields: (t) =>
        Object.fromEntries(
          fields.map((field: CredentialField) => [
            camelCase(field),
            t.string({ required: true, description: CREDENTIAL_FIELD_DESCRIPTIONS[field] }),
          ]),
        ),
    }),
  ]),
) as Record<CredentialShape, ReturnType<typeof builder.inputType>>;

/** The auth methods (GraphQL names) whose credentials have this shape, from the provider table. */
function authMethodsUsing(shape: string): string {
  return Object.values(PROVIDERS)
    .flatMap((provider) => Object.entries(provider.authMethods as Record<string, string>))
    .filter(([, s]) => s === shape)
    .map(([method]) => method.toUpperCase())
    .join(', ');
}

export const CredentialsInput = builder.inputType('CredentialsInput', {
  description: 'New credentials: exactly one variant, the one the auth method needs.',
  isOneOf: true,
  fields: (t) =>
    Object.fromEntries(
      Object.entries(shapeInputs).map(([shape, input]) => [
        shape,
        t.field({ type: input, required: false, description: `For ${authMethodsUsing(shape)}.` }),
      ]),
    ),
});

export const FieldMappingInput = builder.inputType('FieldMappingInput', {
  description: 'Where one credential field lives in the external vault.',
  fields: (t) => ({
    fieldName: t.field({
      type: CredentialFieldEnum,
      required: true,
      description: 'The credential field this reference supplies.',
    }),
    reference: t.string({
      required: true,
      validate: referenceSchema,
      description: '1Password: op://<vault>/<item>/<field>; Doppler and Infisical: the secret name.',
    }),
  }),
});

export type CredentialsArg = Partial<Record<CredentialShape, Record<string, string>>>;
export type FieldMappingArg = { fieldName: string; reference: string };

/** `{ accessKey: { accessKeyId, ... } }` → `{ access_key_id, ... }`, the provider table's field names. */
export function credentialsFromInput(input: CredentialsArg): Record<string, string> {
  const [shape, fields] = Object.entries(input).find(([, v]) => v != null) ?? ['', {}];
  const names = (CREDENTIAL_SHAPES as Record<string, readonly string[]>)[shape] ?? [];
  const values = fields as Record<string, string>;
  const credentials: Record<string, string> = {};
  for (const name of names) {
    const value = values[camelCase(name)];
    if (value !== undefined) credentials[name] = value;
  }
  return credentials;
}

export function fieldMappingsFromInput(input: FieldMappingArg[]) {
  return input.map((m) => ({ field_name: m.fieldName, reference: m.reference }));
}
