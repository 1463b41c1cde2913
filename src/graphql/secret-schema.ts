import { z } from 'zod';
import { NotFoundError } from '../domain/errors.js';
import { CREDENTIAL_SHAPES } from '../domain/providers.js';
import { UUID_PATTERN } from '../domain/validation.js';
import type { Secret } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';
import type { UpdateResult } from '../secrets/secret-service.js';
import { builder } from './builder.js';
import { connectionOf, pageArgs, SortOrderEnum } from './connection.js';
import {
  type CredentialsArg,
  CredentialsInput,
  credentialsFromInput,
  type FieldMappingArg,
  FieldMappingInput,
  fieldMappingsFromInput,
} from './credential-inputs.js';
import { AuthMethodEnum, SecretStorageEnum, SecretTypeEnum } from './enums.js';
import {
  argumentPath,
  camel,
  defaultInputPath,
  type IssuePathMapper,
  MUTATION_ERRORS,
  translate,
  VERSIONED_MUTATION_ERRORS,
} from './error-types.js';

export const uuidArg = z.string().refine((v) => UUID_PATTERN.test(v), {
  message: 'Input should be a valid UUID',
  params: { code: 'uuid_parsing' },
});

export const SecretRef = builder.objectRef<Secret>('Secret').implement({
  description:
    'A named set of storage credentials. The credentials themselves are write-only and never returned.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Unique within the team.' }),
    description: t.string({ nullable: true, resolve: (s) => s.description ?? null }),
    secretType: t.field({ type: SecretTypeEnum, resolve: (s) => s.secretType }),
    authMethod: t.field({ type: AuthMethodEnum, resolve: (s) => s.authMethod }),
    storage: t.field({ type: SecretStorageEnum, resolve: (s) => s.storage }),
    version: t.exposeInt('version', { description: 'Incremented by every accepted change.' }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    createdBy: t.exposeID('createdBy', { description: 'The user who created the secret.' }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
    updatedBy: t.exposeID('updatedBy', { description: 'The user behind the last accepted change.' }),
  }),
});

const VaultValueInput = builder.inputType('VaultValueInput', {
  description: 'An external-vault secret: the connection and where each credential field lives in it.',
  fields: (t) => ({
    vaultConnectionId: t.id({ required: true }),
    fieldMappings: t.field({ type: [FieldMappingInput], required: true }),
  }),
});

const NewSecretValueInput = builder.inputType('NewSecretValueInput', {
  description:
    'Where the new secret keeps its credentials: natively, or in an external vault. Fixed at creation.',
  isOneOf: true,
  fields: (t) => ({
    credentials: t.field({ type: CredentialsInput }),
    vault: t.field({ type: VaultValueInput }),
  }),
});

const CreateSecretInput = builder.inputType('CreateSecretInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema, description: 'At most 2000 characters.' }),
    secretType: t.field({ type: SecretTypeEnum, required: true }),
    authMethod: t.field({
      type: AuthMethodEnum,
      required: true,
      description: 'Must be served by secretType.',
    }),
    value: t.field({ type: NewSecretValueInput, required: true }),
  }),
});

const SecretValueInput = builder.inputType('SecretValueInput', {
  description:
    'Rotate the credentials (native secrets) or replace the field mappings (external-vault secrets).',
  isOneOf: true,
  fields: (t) => ({
    credentials: t.field({ type: CredentialsInput }),
    fieldMappings: t.field({ type: [FieldMappingInput] }),
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

type ValueArg = {
  credentials?: CredentialsArg | null;
  fieldMappings?: FieldMappingArg[] | null;
  vault?: VaultArg | null;
};
type VaultArg = { vaultConnectionId: string | number; fieldMappings: FieldMappingArg[] };

/** Translates the GraphQL value input to the service's body fields, remembering the credentials variant for error paths. */
function valueFields(value: ValueArg | null | undefined) {
  const body: Record<string, unknown> = {};
  let shape = '';
  if (value?.credentials) {
    const credentials = credentialsFromInput(value.credentials);
    shape = credentials.shape;
    body.credentials = credentials.value;
  }
  if (value?.fieldMappings) body.field_mappings = fieldMappingsFromInput(value.fieldMappings);
  if (value?.vault) {
    body.vault_connection_id = String(value.vault.vaultConnectionId);
    body.field_mappings = fieldMappingsFromInput(value.vault.fieldMappings);
  }
  return { body, shape };
}

function secretInputPath(shape: string, vault: boolean): IssuePathMapper {
  const shapeFields = (CREDENTIAL_SHAPES as Record<string, readonly string[]>)[shape] ?? [];
  const mappingsAt = vault
    ? ['input', 'value', 'vault', 'fieldMappings']
    : ['input', 'value', 'fieldMappings'];
  return (path, source) => {
    const [head, ...rest] = path.map(String);
    if (source !== 'path' && head === 'credentials') {
      const field = rest[0];
      const base = ['input', 'value', 'credentials'];
      return field && shapeFields.includes(field) ? [...base, shape, camel(field)] : base;
    }
    if (source !== 'path' && head === 'field_mappings') return [...mappingsAt, ...rest.map(camel)];
    if (source !== 'path' && head === 'vault_connection_id')
      return ['input', 'value', 'vault', 'vaultConnectionId'];
    return defaultInputPath(path, source);
  };
}

builder.queryField('secret', (t) =>
  t.field({
    type: SecretRef,
    nullable: true,
    description: 'One secret of the team, or null when there is none with this id. Needs secrets:read.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      id: t.arg.id({ required: true, validate: uuidArg }),
    },
    resolve: async (_, args, ctx) => {
      try {
        return await ctx.services.secrets.get(await ctx.actor(), String(args.teamId), String(args.id));
      } catch (error) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
    },
  }),
);

builder.mutationField('createSecret', (t) =>
  t.field({
    type: SecretRef,
    description:
      'Creates a secret (native credentials or external-vault references). Needs secrets:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      input: t.arg({ type: CreateSecretInput, required: true }),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateSecretSuccess' },
      union: { name: 'CreateSecretResult' },
      dataField: { name: 'secret' },
    },
    resolve: async (_, { teamId, input }, ctx) => {
      const { body, shape } = valueFields(input.value as ValueArg);
      const actor = await ctx.actor();
      return translate(
        () =>
          ctx.services.secrets.create(actor, ctx.meta, String(teamId), {
            name: input.name,
            description: input.description,
            secret_type: input.secretType,
            auth_method: input.authMethod,
            ...body,
          }),
        secretInputPath(shape, true),
      );
    },
  }),
);

const UpdateSecretSuccess = builder.objectRef<UpdateResult>('UpdateSecretSuccess').implement({
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
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      secretId: t.arg.id({ required: true, validate: uuidArg }),
      input: t.arg({ type: UpdateSecretInput, required: true }),
      expectedVersion: t.arg.int({
        description: 'Apply only if the secret is still at this version (else VersionConflictError).',
      }),
      dryRun: t.arg.boolean({
        description: 'Run every check and preview the change without writing anything.',
      }),
    },
    errors: {
      types: VERSIONED_MUTATION_ERRORS,
      union: { name: 'UpdateSecretResult' },
      directResult: true,
    },
    resolve: async (_, { teamId, secretId, input, expectedVersion, dryRun }, ctx) => {
      const { body, shape } = valueFields(input.value as ValueArg);
      const patch: Record<string, unknown> = {
        name: input.name,
        secret_type: input.secretType,
        auth_method: input.authMethod,
        ...body,
      };
      if (input.description !== undefined) patch.description = input.description;
      const actor = await ctx.actor();
      return translate(
        () =>
          ctx.services.secrets.update(actor, ctx.meta, String(teamId), String(secretId), patch, {
            expectedVersion: expectedVersion ?? undefined,
            dryRun: dryRun ?? false,
          }),
        secretInputPath(shape, false),
      );
    },
  }),
);

const SecretConnection = connectionOf('Secret', SecretRef);

const SecretFilter = builder.inputType('SecretFilter', {
  fields: (t) => ({
    secretType: t.field({ type: SecretTypeEnum }),
    q: t.string({ description: 'Case-insensitive substring of the name.', validate: z.string().max(255) }),
  }),
});

const SecretOrderField = builder.enumType('SecretOrderField', {
  values: {
    NAME: { value: 'name' },
    CREATED_AT: { value: 'created_at' },
    UPDATED_AT: { value: 'updated_at' },
  } as const,
});

const SecretOrder = builder.inputType('SecretOrder', {
  fields: (t) => ({
    field: t.field({ type: SecretOrderField, required: true }),
    direction: t.field({ type: SortOrderEnum, defaultValue: 'desc' }),
  }),
});

builder.queryField('secrets', (t) =>
  t.field({
    type: SecretConnection,
    description: "The team's secrets, newest first unless `orderBy` says otherwise. Needs secrets:read.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      first: t.arg.int({ description: '1–100, default 50.' }),
      after: t.arg.string({ description: 'The `endCursor` of the previous page.' }),
      filter: t.arg({ type: SecretFilter }),
      orderBy: t.arg({ type: SecretOrder }),
    },
    resolve: async (_, args, ctx) => {
      const actor = await ctx.actor();
      const { offset, limit } = await translate(async () => pageArgs(args), argumentPath);
      const page = await ctx.services.secrets.list(
        actor,
        String(args.teamId),
        {
          offset,
          limit,
          sortBy: args.orderBy?.field ?? 'created_at',
          sortOrder: args.orderBy?.direction ?? 'desc',
        },
        { q: args.filter?.q ?? undefined, secretType: args.filter?.secretType ?? undefined },
      );
      return { ...page, offset };
    },
  }),
);

const DeleteSecretSuccess = builder.objectRef<{ deletedId: string }>('DeleteSecretSuccess').implement({
  fields: (t) => ({ deletedId: t.exposeID('deletedId') }),
});

builder.mutationField('deleteSecret', (t) =>
  t.field({
    type: DeleteSecretSuccess,
    description:
      'Deletes a secret and (after the commit, retried until done) its stored credentials. ConflictError while locations use it. Needs secrets:delete and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      secretId: t.arg.id({ required: true, validate: uuidArg }),
      expectedVersion: t.arg.int({ description: 'Delete only if the secret is still at this version.' }),
    },
    errors: {
      types: VERSIONED_MUTATION_ERRORS,
      union: { name: 'DeleteSecretResult' },
      directResult: true,
    },
    resolve: async (_, { teamId, secretId, expectedVersion }, ctx) => {
      const actor = await ctx.actor();
      await translate(() =>
        ctx.services.secrets.delete(actor, ctx.meta, String(teamId), String(secretId), {
          expectedVersion: expectedVersion ?? undefined,
        }),
      );
      return { deletedId: String(secretId).toLowerCase() };
    },
  }),
);
