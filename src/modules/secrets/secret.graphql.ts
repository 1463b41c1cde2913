import type { InputFieldMap } from '@pothos/core';
import { z } from 'zod';
import { patchOf } from '../../domain/names.js';
import { builder, type InputFieldBuilder } from '../../platform/graphql/builder.js';
import { ORDER_FIELD_VALUES } from '../../platform/graphql/connection.js';
import { AuthMethodEnum, SecretStorageEnum, SecretTypeEnum } from '../../platform/graphql/enums.js';
import { directResult, VERSIONED_MUTATION_ERRORS } from '../../platform/graphql/error-types.js';
import { asTeamEntity } from '../../platform/graphql/federation.js';
import { idempotencyKeyArg, mutate, mutateCommand } from '../../platform/graphql/idempotency.js';
import { lookupField, resourceArgs, resourceIds } from '../../platform/graphql/ids.js';
import { enumFilter, listField } from '../../platform/graphql/lists.js';
import { changedResult, createField, inputArg } from '../../platform/graphql/mutations.js';
import {
  namedCreateInput,
  namedPatchInput,
  namedResourceType,
} from '../../platform/graphql/resource-fields.js';
import {
  type CredentialsArg,
  CredentialsInput,
  credentialsFromInput,
  type FieldMappingArg,
  FieldMappingInput,
  fieldMappingsFromInput,
} from './credential-inputs.graphql.js';
import type { SecretView } from './secret.repository.js';
import {
  type CreateSecretCommand,
  FIELD_MAPPINGS_MAX,
  type NewSecretValue,
  type SecretValue,
  type UpdateSecretCommand,
} from './secret.rules.js';
import type { UpdateResult } from './secret.service.js';

export const SecretRef = namedResourceType<SecretView>('Secret', {
  description:
    'A named set of storage credentials. The credentials themselves are write-only and never returned.',
  resource: 'secret',
  changes: { lastChange: 'accepted change' },
  fields: (t) => ({
    secretType: t.field({
      type: SecretTypeEnum,
      description: 'The provider; every location using the secret has this type.',
      resolve: (s) => s.secretType,
    }),
    authMethod: t.field({
      type: AuthMethodEnum,
      description: 'How the credentials authenticate; decides which credential fields exist.',
      resolve: (s) => s.authMethod,
    }),
    storage: t.field({
      type: SecretStorageEnum,
      description: 'Where the credentials live; fixed at creation.',
      resolve: (s) => s.storage,
    }),
    version: t.exposeInt('version', { description: 'Incremented by every accepted change.' }),
  }),
});

/** A value's `fieldMappings` (`required` in a vault value, not in a @oneOf): at most FIELD_MAPPINGS_MAX. */
function fieldMappingsField<Required extends boolean>(
  t: InputFieldBuilder,
  description: string,
  required: Required,
) {
  const limit = z.array(z.unknown()).max(FIELD_MAPPINGS_MAX);
  return t.field({ type: [FieldMappingInput], required, validate: limit, description });
}

/**
 * A @oneOf input of where a secret's credentials are: `credentials`, kept natively (described by
 * `credentials`), or the external-vault variant of `fields`.
 */
function secretValueInput<Fields extends InputFieldMap>(
  name: string,
  options: { description: string; credentials: string; fields: (t: InputFieldBuilder) => Fields },
) {
  return builder.inputType(name, {
    description: options.description,
    isOneOf: true,
    fields: (t) => ({
      credentials: t.field({ type: CredentialsInput, description: options.credentials }),
      ...options.fields(t),
    }),
  });
}

const VaultValueInput = builder.inputType('VaultValueInput', {
  description: 'An external-vault secret: the connection and where each credential field lives in it.',
  fields: (t) => ({
    vaultConnectionId: t.id({ required: true, description: 'A vault connection of the team.' }),
    fieldMappings: fieldMappingsField(t, 'One mapping per credential field the auth method needs.', true),
  }),
});

const NewSecretValueInput = secretValueInput('NewSecretValueInput', {
  description:
    'Where the new secret keeps its credentials: natively, or in an external vault. Fixed at creation.',
  credentials: 'Native storage: the credentials, encrypted at rest and never returned.',
  fields: (t) => ({
    vault: t.field({
      type: VaultValueInput,
      description: 'External-vault storage: where the credentials live.',
    }),
  }),
});

const CreateSecretInput = namedCreateInput('CreateSecretInput', {
  description: 'A new secret: its name, provider, auth method and credentials (or vault references).',
  fields: (t) => ({
    secretType: t.field({ type: SecretTypeEnum, required: true, description: 'The provider.' }),
    authMethod: t.field({
      type: AuthMethodEnum,
      required: true,
      description: 'Must be served by secretType.',
    }),
    value: t.field({
      type: NewSecretValueInput,
      required: true,
      description: 'The credentials, or the vault connection and field mappings.',
    }),
  }),
});

const SecretValueInput = secretValueInput('SecretValueInput', {
  description:
    'Rotate the credentials (native secrets) or replace the field mappings (external-vault secrets).',
  credentials: 'Native secrets: the new credentials, in the variant the auth method needs.',
  fields: (t) => ({
    fieldMappings: fieldMappingsField(
      t,
      'External-vault secrets: the new mappings, replacing all current ones.',
      false,
    ),
  }),
});

const UpdateSecretInput = namedPatchInput('UpdateSecretInput', {
  description: 'A partial update: only the fields sent change. An empty input changes nothing.',
  fields: (t) => ({
    secretType: t.field({
      type: SecretTypeEnum,
      description:
        'Omitted or null: unchanged. Every linked location must already have this type, else ConflictError.',
    }),
    authMethod: t.field({
      type: AuthMethodEnum,
      description:
        'Omitted or null: unchanged. Must be served by the (new or current) secretType; a different credential field set needs a new `value` too.',
    }),
    value: t.field({
      type: SecretValueInput,
      description: 'Omitted or null: credentials and mappings unchanged.',
    }),
  }),
});

type CredentialsValue = { credentials: CredentialsArg };
type MappingsValue = { fieldMappings: FieldMappingArg[] };
type VaultValue = { vault: { vaultConnectionId: string | number; fieldMappings: FieldMappingArg[] } };

/** The @oneOf `SecretValueInput` as the commands' value. */
function secretValue(value: CredentialsValue | MappingsValue): SecretValue {
  return 'credentials' in value
    ? { credentials: credentialsFromInput(value.credentials) }
    : { fieldMappings: fieldMappingsFromInput(value.fieldMappings) };
}

/** The @oneOf `NewSecretValueInput` as the create command's value. */
function newSecretValue(value: CredentialsValue | VaultValue): NewSecretValue {
  if ('credentials' in value) return { credentials: credentialsFromInput(value.credentials) };
  return {
    vault: {
      vaultConnectionId: String(value.vault.vaultConnectionId),
      fieldMappings: fieldMappingsFromInput(value.vault.fieldMappings),
    },
  };
}

lookupField('secret', SecretRef, ['secret', 'secretId'], (ctx) => ctx.services.secrets);

createField('createSecret', {
  type: SecretRef,
  what: 'Creates a secret (native credentials or external-vault references).',
  input: CreateSecretInput,
  errors: changedResult('CreateSecret', 'secret', 'created', 'The new secret.'),
  create: (ctx, actor, teamId, input) => {
    const command: CreateSecretCommand = {
      name: input.name,
      description: input.description,
      secretType: input.secretType,
      authMethod: input.authMethod,
      value: newSecretValue(input.value as CredentialsValue | VaultValue),
    };
    return ctx.services.secrets.create(actor, ctx.meta, teamId, command);
  },
});

const UpdateSecretSuccess = builder.objectRef<UpdateResult>('UpdateSecretSuccess').implement({
  description: 'The update was applied (or, in a dry run, would be).',
  fields: (t) => ({
    secret: t.field({
      type: SecretRef,
      resolve: (r) => r.secret,
      description: 'The secret after the change (dry run: as it would be).',
    }),
    changedFields: t.exposeStringList('changedFields', {
      description:
        'Fields the update changed (or would change), in REST names, e.g. ["name", "credentials"].',
    }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when nothing was written.' }),
  }),
});

builder.mutationField('updateSecret', (t) =>
  t.field({
    type: UpdateSecretSuccess,
    description:
      'Renames, re-describes, re-types, changes the auth method, rotates credentials or replaces field mappings, all in one atomic change. Needs secrets:update and admin.',
    args: {
      ...resourceArgs(t.arg, 'secretId', 'secret'),
      input: inputArg(t.arg, UpdateSecretInput, 'The fields to change.'),
      expectedVersion: t.arg.int({
        description: 'Apply only if the secret is still at this version (else VersionConflictError).',
      }),
      dryRun: t.arg.boolean({
        description: 'Run every check and preview the change without writing anything.',
      }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: directResult(
      'UpdateSecret',
      'The updated secret, or why nothing was changed.',
      VERSIONED_MUTATION_ERRORS,
    ),
    resolve: async (_, args, ctx, info) => {
      const { value, ...fields } = args.input;
      const command: UpdateSecretCommand = {
        ...patchOf(fields, ['description']),
        ...(value != null && { value: secretValue(value as CredentialsValue | MappingsValue) }),
      };
      return mutateCommand(ctx, info, args, (actor) =>
        ctx.services.secrets.update(actor, ctx.meta, resourceIds(args, 'secretId'), command, {
          expectedVersion: args.expectedVersion ?? undefined,
          dryRun: args.dryRun ?? false,
        }),
      );
    },
  }),
);

listField('secrets', {
  type: SecretRef,
  filter: enumFilter('secretType', SecretTypeEnum, 'Only secrets of this provider.'),
  order: { values: ORDER_FIELD_VALUES, declareDefaultDirection: true },
  list: (ctx) => ctx.services.secrets,
});

const DeleteSecretSuccess = builder.objectRef<{ deletedId: string }>('DeleteSecretSuccess').implement({
  description: 'The secret was deleted.',
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'The id of the deleted secret.' }) }),
});

builder.mutationField('deleteSecret', (t) =>
  t.field({
    type: DeleteSecretSuccess,
    description:
      'Deletes a secret and (after the commit, retried until done) its stored credentials. ConflictError while locations use it. Needs secrets:delete and admin.',
    args: {
      ...resourceArgs(t.arg, 'secretId', 'secret'),
      expectedVersion: t.arg.int({ description: 'Delete only if the secret is still at this version.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: directResult(
      'DeleteSecret',
      'The deleted id, or why nothing was deleted.',
      VERSIONED_MUTATION_ERRORS,
    ),
    resolve: async (_, args, ctx, info) => {
      const { expectedVersion } = args;
      const ids = resourceIds(args, 'secretId');
      return mutate(ctx, info, args, async (actor) => {
        await ctx.services.secrets.delete(actor, ctx.meta, ids, {
          expectedVersion: expectedVersion ?? undefined,
        });
        return { deletedId: ids.secretId };
      });
    },
  }),
);

asTeamEntity(SecretRef, (ctx, actor, ids) => ctx.services.secrets.findForActor(actor, ids));
