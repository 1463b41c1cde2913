import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import {
  connectionFrom,
  connectionOf,
  ORDER_FIELD_VALUES,
  pageArgs,
  SortOrderEnum,
} from '../../platform/graphql/connection.js';
import { AuthMethodEnum, SecretStorageEnum, SecretTypeEnum } from '../../platform/graphql/enums.js';
import {
  argumentPath,
  commandPathIn,
  MUTATION_ERRORS,
  nullIfNotFound,
  translate,
  VERSIONED_MUTATION_ERRORS,
} from '../../platform/graphql/error-types.js';
import { idKey, resolveEntity } from '../../platform/graphql/federation.js';
import { idempotencyKeyArg, mutate } from '../../platform/graphql/idempotency.js';
import { TEAM_ID_DESCRIPTION, uuidArg, validatedId } from '../../platform/graphql/ids.js';
import { descriptionSchema, nameSchema } from '../../shared/names.js';
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
import type { SecretIds, UpdateResult } from './secret.service.js';

export const SecretRef = builder.objectRef<SecretView>('Secret').implement({
  description:
    'A named set of storage credentials. The credentials themselves are write-only and never returned.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The secret id (a UUID).' }),
    name: t.exposeString('name', { description: 'Unique within the team.' }),
    description: t.string({
      nullable: true,
      description: 'Free text for people; null when none was given.',
      resolve: (s) => s.description ?? null,
    }),
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
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the secret was created.',
      resolve: (s) => s.createdAt,
    }),
    createdBy: t.exposeID('createdBy', { description: 'The user who created the secret.' }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When the last accepted change was made.',
      resolve: (s) => s.updatedAt,
    }),
    updatedBy: t.exposeID('updatedBy', { description: 'The user behind the last accepted change.' }),
  }),
});

const fieldMappingsLimit = z.array(z.unknown()).max(FIELD_MAPPINGS_MAX);

const VaultValueInput = builder.inputType('VaultValueInput', {
  description: 'An external-vault secret: the connection and where each credential field lives in it.',
  fields: (t) => ({
    vaultConnectionId: t.id({ required: true, description: 'A vault connection of the team.' }),
    fieldMappings: t.field({
      type: [FieldMappingInput],
      required: true,
      validate: fieldMappingsLimit,
      description: 'One mapping per credential field the auth method needs.',
    }),
  }),
});

const NewSecretValueInput = builder.inputType('NewSecretValueInput', {
  description:
    'Where the new secret keeps its credentials: natively, or in an external vault. Fixed at creation.',
  isOneOf: true,
  fields: (t) => ({
    credentials: t.field({
      type: CredentialsInput,
      description: 'Native storage: the credentials, encrypted at rest and never returned.',
    }),
    vault: t.field({
      type: VaultValueInput,
      description: 'External-vault storage: where the credentials live.',
    }),
  }),
});

const CreateSecretInput = builder.inputType('CreateSecretInput', {
  description: 'A new secret: its name, provider, auth method and credentials (or vault references).',
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema, description: 'At most 2000 characters.' }),
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

const SecretValueInput = builder.inputType('SecretValueInput', {
  description:
    'Rotate the credentials (native secrets) or replace the field mappings (external-vault secrets).',
  isOneOf: true,
  fields: (t) => ({
    credentials: t.field({
      type: CredentialsInput,
      description: 'Native secrets: the new credentials, in the variant the auth method needs.',
    }),
    fieldMappings: t.field({
      type: [FieldMappingInput],
      validate: fieldMappingsLimit,
      description: 'External-vault secrets: the new mappings, replacing all current ones.',
    }),
  }),
});

const UpdateSecretInput = builder.inputType('UpdateSecretInput', {
  description: 'A partial update: only the fields sent change. An empty input changes nothing.',
  fields: (t) => ({
    name: t.string({ validate: nameSchema.nullish(), description: 'Omitted or null: unchanged.' }),
    description: t.string({
      validate: descriptionSchema.nullish(),
      description: 'Omitted: unchanged; null: cleared.',
    }),
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

/** The secret the arguments name (Pothos has validated both ids). */
export function secretIds(args: { teamId: string | number; secretId: string | number }): SecretIds {
  return { teamId: validatedId(args.teamId), secretId: validatedId(args.secretId) };
}

builder.queryField('secret', (t) =>
  t.field({
    type: SecretRef,
    nullable: true,
    description: 'One secret of the team, or null when there is none with this id. Needs secrets:read.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The secret's id (a UUID)." }),
    },
    resolve: async (_, args, ctx) => {
      const ids = secretIds({ teamId: args.teamId, secretId: args.id });
      return nullIfNotFound(async () => ctx.services.secrets.get(await ctx.actor(), ids));
    },
  }),
);

builder.mutationField('createSecret', (t) =>
  t.field({
    type: SecretRef,
    description:
      'Creates a secret (native credentials or external-vault references). Needs secrets:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      input: t.arg({ type: CreateSecretInput, required: true, description: 'The new secret.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateSecretSuccess', description: 'The secret was created.' },
      union: {
        name: 'CreateSecretResult',
        description: 'The created secret, or why nothing was created.',
      },
      dataField: { name: 'secret', description: 'The new secret.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: CreateSecretCommand = {
        name: input.name,
        description: input.description,
        secretType: input.secretType,
        authMethod: input.authMethod,
        value: newSecretValue(input.value as CredentialsValue | VaultValue),
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.secrets.create(actor, ctx.meta, validatedId(args.teamId), command),
        commandPathIn(info, args),
      );
    },
  }),
);

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
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      secretId: t.arg.id({ required: true, validate: uuidArg, description: "The secret's id (a UUID)." }),
      input: t.arg({ type: UpdateSecretInput, required: true, description: 'The fields to change.' }),
      expectedVersion: t.arg.int({
        description: 'Apply only if the secret is still at this version (else VersionConflictError).',
      }),
      dryRun: t.arg.boolean({
        description: 'Run every check and preview the change without writing anything.',
      }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: VERSIONED_MUTATION_ERRORS,
      union: {
        name: 'UpdateSecretResult',
        description: 'The updated secret, or why nothing was changed.',
      },
      directResult: true,
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: UpdateSecretCommand = {
        ...(input.name != null && { name: input.name }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.secretType != null && { secretType: input.secretType }),
        ...(input.authMethod != null && { authMethod: input.authMethod }),
        ...(input.value != null && { value: secretValue(input.value as CredentialsValue | MappingsValue) }),
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () =>
          ctx.services.secrets.update(actor, ctx.meta, secretIds(args), command, {
            expectedVersion: args.expectedVersion ?? undefined,
            dryRun: args.dryRun ?? false,
          }),
        commandPathIn(info, args),
      );
    },
  }),
);

const SecretConnection = connectionOf('Secret', SecretRef);

const SecretFilter = builder.inputType('SecretFilter', {
  description: 'Narrows the list; every given condition must hold.',
  fields: (t) => ({
    secretType: t.field({ type: SecretTypeEnum, description: 'Only secrets of this provider.' }),
    q: t.string({ description: 'Case-insensitive substring of the name.', validate: z.string().max(255) }),
  }),
});

const SecretOrderField = builder.enumType('SecretOrderField', {
  description: 'What secrets can be sorted by.',
  values: ORDER_FIELD_VALUES,
});

const SecretOrder = builder.inputType('SecretOrder', {
  description: 'How to sort the secrets; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: SecretOrderField, required: true, description: 'The sort key.' }),
    direction: t.field({ type: SortOrderEnum, defaultValue: 'desc', description: 'Default DESC.' }),
  }),
});

builder.queryField('secrets', (t) =>
  t.field({
    type: SecretConnection,
    description: "The team's secrets, newest first unless `orderBy` says otherwise. Needs secrets:read.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      first: t.arg.int({ description: '1–100, default 50.' }),
      after: t.arg.string({ description: 'The `endCursor` of the previous page.' }),
      filter: t.arg({ type: SecretFilter, description: 'Omitted: all secrets of the team.' }),
      orderBy: t.arg({ type: SecretOrder, description: 'Omitted: newest first.' }),
    },
    resolve: async (_, args, ctx) => {
      const actor = await ctx.actor();
      const { offset, limit } = await translate(async () => pageArgs(args), argumentPath);
      const page = await ctx.services.secrets.list(
        actor,
        validatedId(args.teamId),
        {
          offset,
          limit,
          sortBy: args.orderBy?.field ?? 'created_at',
          sortOrder: args.orderBy?.direction ?? 'desc',
        },
        { q: args.filter?.q ?? undefined, secretType: args.filter?.secretType ?? undefined },
      );
      return connectionFrom(page, offset);
    },
  }),
);

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
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      secretId: t.arg.id({ required: true, validate: uuidArg, description: "The secret's id (a UUID)." }),
      expectedVersion: t.arg.int({ description: 'Delete only if the secret is still at this version.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: VERSIONED_MUTATION_ERRORS,
      union: { name: 'DeleteSecretResult', description: 'The deleted id, or why nothing was deleted.' },
      directResult: true,
    },
    resolve: async (_, args, ctx, info) => {
      const { expectedVersion } = args;
      const actor = await ctx.actor();
      const ids = secretIds(args);
      return mutate(ctx, info, args, async () => {
        await ctx.services.secrets.delete(actor, ctx.meta, ids, {
          expectedVersion: expectedVersion ?? undefined,
        });
        return { deletedId: ids.secretId };
      });
    },
  }),
);

/** A federation entity, keyed by `id`: the caller's own team's only, as the direct query (src/platform/graphql/federation.ts). */
builder.asEntity(SecretRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'Secret', id, (actor, ids) => ctx.services.secrets.findForActor(actor, ids)),
});
