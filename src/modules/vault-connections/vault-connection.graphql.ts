import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import {
  connectionFrom,
  connectionOf,
  ORDER_FIELD_VALUES,
  pageArgs,
  SortOrderEnum,
} from '../../platform/graphql/connection.js';
import { VaultTypeEnum } from '../../platform/graphql/enums.js';
import {
  argumentPath,
  commandPathIn,
  MUTATION_ERRORS,
  nullIfNotFound,
  translate,
} from '../../platform/graphql/error-types.js';
import { idKey, resolveEntity } from '../../platform/graphql/federation.js';
import { idempotencyKeyArg, mutate } from '../../platform/graphql/idempotency.js';
import { TEAM_ID_DESCRIPTION, uuidArg, validatedId } from '../../platform/graphql/ids.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { descriptionSchema, nameSchema } from '../../shared/names.js';
import type { VaultConnectionListQuery, VaultConnectionView } from './vault-connection.repository.js';
import type {
  CreateVaultConnectionCommand,
  RotateVaultConnectionCommand,
  UpdateVaultConnectionCommand,
  VaultFieldsCommand,
} from './vault-connection.rules.js';
import type { VaultConnectionIds } from './vault-connection.service.js';

const setting = (key: string) => (c: VaultConnectionView) => c.settings[key] ?? null;

export const VaultConnectionRef = builder.objectRef<VaultConnectionView>('VaultConnection').implement({
  description:
    'A connection to an external vault. Its token or client secret is write-only and never returned.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The vault connection id (a UUID).' }),
    name: t.exposeString('name', { description: 'Unique within the team.' }),
    description: t.string({
      nullable: true,
      description: 'Free text for people; null when none was given.',
      resolve: (c) => c.description ?? null,
    }),
    vaultType: t.field({
      type: VaultTypeEnum,
      description: 'The vault service; fixed at creation. Decides which settings fields are set.',
      resolve: (c) => c.vaultType,
    }),
    project: t.string({
      nullable: true,
      description: 'Doppler: the project slug.',
      resolve: setting('project'),
    }),
    config: t.string({
      nullable: true,
      description: 'Doppler: the config name.',
      resolve: setting('config'),
    }),
    clientId: t.string({
      nullable: true,
      description: 'Infisical: the machine identity client id.',
      resolve: setting('client_id'),
    }),
    projectId: t.string({
      nullable: true,
      description: 'Infisical: the project id.',
      resolve: setting('project_id'),
    }),
    environment: t.string({
      nullable: true,
      description: 'Infisical: the environment slug.',
      resolve: setting('environment'),
    }),
    secretPath: t.string({
      nullable: true,
      description: 'Infisical: the folder secrets are read from.',
      resolve: setting('secret_path'),
    }),
    secretCount: t.int({
      description: 'How many secrets of the team use this connection.',
      resolve: async (connection, _, ctx) => {
        const teamId = connection.teamId;
        const loader = loaderFor(ctx, `vault-connection-secret-counts:${teamId}`, (ids: string[]) =>
          ctx.services.vaultConnections.secretCounts(teamId, ids),
        );
        return (await loader.load(connection.id)) ?? 0;
      },
    }),
    lastVerifiedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When the connection was last verified against the vault; null: never, or not since the last rotation.',
      resolve: (c) => c.lastVerifiedAt ?? null,
    }),
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the connection was created.',
      resolve: (c) => c.createdAt,
    }),
    createdBy: t.exposeID('createdBy', { description: 'The user who created the connection.' }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When the last change (or rotation) was made.',
      resolve: (c) => c.updatedAt,
    }),
    updatedBy: t.exposeID('updatedBy', { description: 'The user behind the last change.' }),
  }),
});

const OnePasswordSettingsInput = builder.inputType('OnePasswordSettingsInput', {
  description: '1Password settings. The token is write-only.',
  fields: (t) => ({
    accessToken: t.string({ required: true, description: 'A service account token (ops_...).' }),
  }),
});
const DopplerSettingsInput = builder.inputType('DopplerSettingsInput', {
  description: 'Doppler settings: one project config. The token is write-only.',
  fields: (t) => ({
    accessToken: t.string({ required: true, description: 'A service token (dp.st....).' }),
    project: t.string({ required: true, description: 'The project slug.' }),
    config: t.string({ required: true, description: 'The config name, e.g. prd.' }),
  }),
});
const InfisicalSettingsInput = builder.inputType('InfisicalSettingsInput', {
  description: 'Infisical settings: a machine identity and where to read. The client secret is write-only.',
  fields: (t) => ({
    clientId: t.string({ required: true, description: 'The machine identity client id.' }),
    clientSecret: t.string({
      required: true,
      description: 'The machine identity client secret. Write-only: never returned.',
    }),
    projectId: t.string({ required: true, description: 'The project id.' }),
    environment: t.string({ required: true, description: 'The environment slug, e.g. prod.' }),
    secretPath: t.string({ description: 'Default /.' }),
  }),
});
const VaultSettingsInput = builder.inputType('VaultSettingsInput', {
  description: 'Exactly one vault type and its settings.',
  isOneOf: true,
  fields: (t) => ({
    onepassword: t.field({ type: OnePasswordSettingsInput, description: 'A 1Password connection.' }),
    doppler: t.field({ type: DopplerSettingsInput, description: 'A Doppler connection.' }),
    infisical: t.field({ type: InfisicalSettingsInput, description: 'An Infisical connection.' }),
  }),
});

const CreateVaultConnectionInput = builder.inputType('CreateVaultConnectionInput', {
  description: 'A new vault connection: its name and the settings of one vault type.',
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema, description: 'At most 2000 characters.' }),
    settings: t.field({
      type: VaultSettingsInput,
      required: true,
      description: 'The vault type (the one key given) and its settings.',
    }),
  }),
});

type VaultSettingsArg = {
  onepassword?: { accessToken: string } | null;
  doppler?: { accessToken: string; project: string; config: string } | null;
  infisical?: {
    clientId: string;
    clientSecret: string;
    projectId: string;
    environment: string;
    secretPath?: string | null;
  } | null;
};

/** The @oneOf `VaultSettingsInput` as the create command's vault type and fields. */
function vaultFields(settings: VaultSettingsArg): VaultFieldsCommand {
  if (settings.onepassword) return { vaultType: 'onepassword', ...settings.onepassword };
  if (settings.doppler) return { vaultType: 'doppler', ...settings.doppler };
  return { vaultType: 'infisical', ...settings.infisical! };
}

/** The connection the arguments name (Pothos has validated both ids). */
function vaultConnectionIds(args: { teamId: string | number; id: string | number }): VaultConnectionIds {
  return { teamId: validatedId(args.teamId), connectionId: validatedId(args.id) };
}

builder.mutationField('createVaultConnection', (t) =>
  t.field({
    type: VaultConnectionRef,
    description: 'Connects an external vault. Needs vault_connections:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      input: t.arg({
        type: CreateVaultConnectionInput,
        required: true,
        description: 'The new vault connection.',
      }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateVaultConnectionSuccess', description: 'The vault connection was created.' },
      union: {
        name: 'CreateVaultConnectionResult',
        description: 'The created vault connection, or why nothing was created.',
      },
      dataField: { name: 'vaultConnection', description: 'The vault connection, as created.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: CreateVaultConnectionCommand = {
        name: input.name,
        description: input.description ?? null,
        ...vaultFields(input.settings),
      };
      const teamId = validatedId(args.teamId);
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.vaultConnections.create(actor, ctx.meta, teamId, command),
        // The service's issues are about the vault type's fields (the name and description are
        // checked above, by the input's own validation).
        commandPathIn(info, args, ['input', 'settings']),
      );
    },
  }),
);

const VaultConnectionConnection = connectionOf('VaultConnection', VaultConnectionRef);

const VaultConnectionOrderFieldEnum = builder.enumType('VaultConnectionOrderField', {
  description: 'What vault connections can be sorted by.',
  values: ORDER_FIELD_VALUES,
});

const VaultConnectionFilter = builder.inputType('VaultConnectionFilter', {
  description: 'Narrows the list; every given condition must hold.',
  fields: (t) => ({
    vaultType: t.field({ type: VaultTypeEnum, description: 'Only connections to this vault service.' }),
    q: t.string({ validate: z.string().max(255), description: 'Case-insensitive search in the name.' }),
  }),
});

const VaultConnectionOrder = builder.inputType('VaultConnectionOrder', {
  description: 'How to sort the vault connections; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: VaultConnectionOrderFieldEnum, required: true, description: 'The sort key.' }),
    direction: t.field({ type: SortOrderEnum, description: 'Default DESC.' }),
  }),
});

const UpdateVaultConnectionInput = builder.inputType('UpdateVaultConnectionInput', {
  description:
    'A partial update of the name and description. Tokens change only through rotateVaultConnection; other settings never change.',
  fields: (t) => ({
    name: t.string({ validate: nameSchema.nullish(), description: 'Omitted or null: unchanged.' }),
    description: t.string({
      validate: descriptionSchema.nullish(),
      description: 'Omitted: unchanged; null: cleared.',
    }),
  }),
});

const RotateVaultConnectionInput = builder.inputType('RotateVaultConnectionInput', {
  description:
    'The new write-only value: accessToken for ONEPASSWORD and DOPPLER, clientSecret for INFISICAL.',
  isOneOf: true,
  fields: (t) => ({
    accessToken: t.string({ description: 'ONEPASSWORD: ops_...; DOPPLER: dp.st....' }),
    clientSecret: t.string({ description: 'INFISICAL: the machine identity client secret.' }),
  }),
});

builder.queryField('vaultConnection', (t) =>
  t.field({
    type: VaultConnectionRef,
    nullable: true,
    description:
      'One vault connection of the team, or null when there is none with this id. Needs vault_connections:read.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The vault connection's id (a UUID)." }),
    },
    resolve: async (_, args, ctx) => {
      const ids = vaultConnectionIds(args);
      return nullIfNotFound(async () => ctx.services.vaultConnections.get(await ctx.actor(), ids));
    },
  }),
);

builder.queryField('vaultConnections', (t) =>
  t.field({
    type: VaultConnectionConnection,
    description:
      "The team's vault connections, newest first unless `orderBy` says otherwise. Needs vault_connections:read. Another team's id is a NOT_FOUND error.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      first: t.arg.int({ description: 'Page size, 1–100 (default 50).' }),
      after: t.arg.string({ description: 'The endCursor of the previous page.' }),
      filter: t.arg({
        type: VaultConnectionFilter,
        description: 'Omitted: all vault connections of the team.',
      }),
      orderBy: t.arg({ type: VaultConnectionOrder, description: 'Omitted: newest first.' }),
    },
    resolve: async (_, args, ctx) => {
      const actor = await ctx.actor();
      let offset = 0;
      const readQuery = (): VaultConnectionListQuery => {
        const page = pageArgs(args);
        offset = page.offset;
        return {
          ...page,
          sortBy: args.orderBy?.field ?? 'created_at',
          sortOrder: args.orderBy?.direction ?? 'desc',
          q: args.filter?.q || undefined,
          vaultType: args.filter?.vaultType ?? undefined,
        };
      };
      const page = await translate(
        () => ctx.services.vaultConnections.list(actor, validatedId(args.teamId), readQuery),
        argumentPath,
      );
      return connectionFrom(page, offset);
    },
  }),
);

builder.mutationField('updateVaultConnection', (t) =>
  t.field({
    type: VaultConnectionRef,
    description: 'Renames or re-describes a vault connection. Needs vault_connections:update and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The vault connection's id (a UUID)." }),
      input: t.arg({
        type: UpdateVaultConnectionInput,
        required: true,
        description: 'The fields to change.',
      }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'UpdateVaultConnectionSuccess', description: 'The vault connection was updated.' },
      union: {
        name: 'UpdateVaultConnectionResult',
        description: 'The updated vault connection, or why nothing was changed.',
      },
      dataField: { name: 'vaultConnection', description: 'The vault connection, as updated.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: UpdateVaultConnectionCommand = {
        ...(input.name != null && { name: input.name }),
        ...(input.description !== undefined && { description: input.description }),
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.vaultConnections.update(actor, ctx.meta, vaultConnectionIds(args), command),
        commandPathIn(info, args),
      );
    },
  }),
);

builder.mutationField('rotateVaultConnection', (t) =>
  t.field({
    type: VaultConnectionRef,
    description:
      "Replaces a vault connection's token or client secret; the old one stops being used at once. Needs vault_connections:update and admin.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The vault connection's id (a UUID)." }),
      input: t.arg({
        type: RotateVaultConnectionInput,
        required: true,
        description: 'The new token or secret.',
      }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: {
        name: 'RotateVaultConnectionSuccess',
        description: "The vault connection's token or client secret was replaced.",
      },
      union: {
        name: 'RotateVaultConnectionResult',
        description: 'The rotated vault connection, or why nothing was changed.',
      },
      dataField: { name: 'vaultConnection', description: 'The vault connection after the rotation.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: RotateVaultConnectionCommand = {
        ...(input.accessToken != null && { accessToken: input.accessToken }),
        ...(input.clientSecret != null && { clientSecret: input.clientSecret }),
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.vaultConnections.rotate(actor, ctx.meta, vaultConnectionIds(args), command),
        commandPathIn(info, args),
      );
    },
  }),
);

builder.mutationField('deleteVaultConnection', (t) =>
  t.field({
    type: 'ID',
    description:
      'Deletes a vault connection that no secret uses (else ConflictError) and its stored token. Needs vault_connections:delete and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The vault connection's id (a UUID)." }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'DeleteVaultConnectionSuccess', description: 'The vault connection was deleted.' },
      union: {
        name: 'DeleteVaultConnectionResult',
        description: 'The deleted id, or why nothing was deleted.',
      },
      dataField: { name: 'deletedId', description: 'The id of the deleted vault connection.' },
    },
    resolve: async (_, args, ctx, info) => {
      const actor = await ctx.actor();
      const ids = vaultConnectionIds(args);
      return mutate(ctx, info, args, async () => {
        await ctx.services.vaultConnections.delete(actor, ctx.meta, ids);
        return ids.connectionId;
      });
    },
  }),
);

/** A federation entity, keyed by `id`: the caller's own team's only, as the direct query (src/platform/graphql/federation.ts). */
builder.asEntity(VaultConnectionRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'VaultConnection', id, (actor, ids) =>
      ctx.services.vaultConnections.findForActor(actor, ids),
    ),
});
