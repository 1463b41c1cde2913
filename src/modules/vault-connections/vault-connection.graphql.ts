import { builder } from '../../platform/graphql/builder.js';
import { VaultTypeEnum } from '../../platform/graphql/enums.js';
import { wrappedResult } from '../../platform/graphql/error-types.js';
import { asTeamEntity } from '../../platform/graphql/federation.js';
import { lookupField } from '../../platform/graphql/ids.js';
import { enumFilter, LIST_WORDING, listField } from '../../platform/graphql/lists.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { createField, deleteField, patchField } from '../../platform/graphql/mutations.js';
import {
  namedCreateInput,
  namedPatchInput,
  namedResourceType,
} from '../../platform/graphql/resource-fields.js';
import type { VaultConnectionView } from './vault-connection.repository.js';
import type { CreateVaultConnectionCommand, VaultFieldsCommand } from './vault-connection.rules.js';

const setting = (key: string) => (c: VaultConnectionView) => c.settings[key] ?? null;

export const VaultConnectionRef = namedResourceType<VaultConnectionView>('VaultConnection', {
  description:
    'A connection to an external vault. Its token or client secret is write-only and never returned.',
  resource: 'vault connection',
  changes: { resource: 'connection', lastChange: 'change (or rotation)', lastChangeBy: 'change' },
  fields: (t) => ({
    vaultType: t.expose('vaultType', {
      type: VaultTypeEnum,
      description: 'The vault service; fixed at creation. Decides which settings fields are set.',
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

const CreateVaultConnectionInput = namedCreateInput('CreateVaultConnectionInput', {
  description: 'A new vault connection: its name and the settings of one vault type.',
  fields: (t) => ({
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

createField('createVaultConnection', {
  type: VaultConnectionRef,
  what: 'Connects an external vault.',
  input: CreateVaultConnectionInput,
  // The service's issues are about the vault type's fields (the name and description are checked
  // before, by the input's own validation).
  commandAt: ['input', 'settings'],
  create: (ctx, actor, teamId, input) => {
    const command: CreateVaultConnectionCommand = {
      name: input.name,
      description: input.description ?? null,
      ...vaultFields(input.settings),
    };
    return ctx.services.vaultConnections.create(actor, ctx.meta, teamId, command);
  },
});

const UpdateVaultConnectionInput = namedPatchInput('UpdateVaultConnectionInput', {
  description:
    'A partial update of the name and description. Tokens change only through rotateVaultConnection; other settings never change.',
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

lookupField(
  'vaultConnection',
  VaultConnectionRef,
  ['vault connection', 'connectionId'],
  (ctx) => ctx.services.vaultConnections,
);

listField('vaultConnections', {
  type: VaultConnectionRef,
  wording: LIST_WORDING.SPELLED_OUT,
  filter: enumFilter('vaultType', VaultTypeEnum, 'Only connections to this vault service.'),
  list: (ctx) => ctx.services.vaultConnections,
});

/** The id argument of a mutation of one connection, and the key the services take it as. */
const CONNECTION_ID = ['id', 'vault connection', 'connectionId'] as const;

patchField('updateVaultConnection', {
  type: VaultConnectionRef,
  what: 'Renames or re-describes a vault connection.',
  id: CONNECTION_ID,
  input: UpdateVaultConnectionInput,
  clearable: ['description'],
  apply: (ctx, actor, ids, patch) => ctx.services.vaultConnections.update(actor, ctx.meta, ids, patch),
});

patchField('rotateVaultConnection', {
  type: VaultConnectionRef,
  what: "Replaces a vault connection's token or client secret; the old one stops being used at once.",
  id: CONNECTION_ID,
  input: RotateVaultConnectionInput,
  inputDescription: 'The new token or secret.',
  errors: wrappedResult('RotateVaultConnection', {
    success: "The vault connection's token or client secret was replaced.",
    union: 'The rotated vault connection, or why nothing was changed.',
    data: ['vaultConnection', 'The vault connection after the rotation.'],
  }),
  apply: (ctx, actor, ids, patch) => ctx.services.vaultConnections.rotate(actor, ctx.meta, ids, patch),
});

deleteField('deleteVaultConnection', {
  id: CONNECTION_ID,
  what: 'Deletes a vault connection that no secret uses (else ConflictError) and its stored token.',
  remove: (ctx, actor, ids) => ctx.services.vaultConnections.delete(actor, ctx.meta, ids),
});

asTeamEntity(VaultConnectionRef, (ctx, actor, ids) => ctx.services.vaultConnections.findForActor(actor, ids));
