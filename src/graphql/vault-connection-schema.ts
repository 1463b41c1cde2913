import type { VaultConnection } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';
import { builder } from './builder.js';
import { VaultTypeEnum } from './enums.js';
import { camel, defaultInputPath, MUTATION_ERRORS, translate } from './error-types.js';
import { uuidArg } from './secret-schema.js';

export const VaultConnectionRef = builder.objectRef<VaultConnection>('VaultConnection').implement({
  description:
    'A connection to an external vault. Its token or client secret is write-only and never returned.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.string({ nullable: true, resolve: (c) => c.description ?? null }),
    vaultType: t.field({ type: VaultTypeEnum, resolve: (c) => c.vaultType }),
    lastVerifiedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.lastVerifiedAt ?? null }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    createdBy: t.exposeID('createdBy'),
  }),
});

const OnePasswordSettingsInput = builder.inputType('OnePasswordSettingsInput', {
  fields: (t) => ({
    accessToken: t.string({ required: true, description: 'A service account token (ops_...).' }),
  }),
});
const DopplerSettingsInput = builder.inputType('DopplerSettingsInput', {
  fields: (t) => ({
    accessToken: t.string({ required: true, description: 'A service token (dp.st....).' }),
    project: t.string({ required: true }),
    config: t.string({ required: true }),
  }),
});
const InfisicalSettingsInput = builder.inputType('InfisicalSettingsInput', {
  fields: (t) => ({
    clientId: t.string({ required: true }),
    clientSecret: t.string({ required: true }),
    projectId: t.string({ required: true }),
    environment: t.string({ required: true }),
    secretPath: t.string({ description: 'Default /.' }),
  }),
});
const VaultSettingsInput = builder.inputType('VaultSettingsInput', {
  description: 'Exactly one vault type and its settings.',
  isOneOf: true,
  fields: (t) => ({
    onepassword: t.field({ type: OnePasswordSettingsInput }),
    doppler: t.field({ type: DopplerSettingsInput }),
    infisical: t.field({ type: InfisicalSettingsInput }),
  }),
});

const CreateVaultConnectionInput = builder.inputType('CreateVaultConnectionInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    description: t.string({ validate: descriptionSchema }),
    settings: t.field({ type: VaultSettingsInput, required: true }),
  }),
});

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

builder.mutationField('createVaultConnection', (t) =>
  t.field({
    type: VaultConnectionRef,
    description: 'Connects an external vault. Needs vault_connections:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      input: t.arg({ type: CreateVaultConnectionInput, required: true }),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateVaultConnectionSuccess' },
      union: { name: 'CreateVaultConnectionResult' },
      dataField: { name: 'vaultConnection' },
    },
    resolve: async (_, { teamId, input }, ctx) => {
      const [vaultType, settings] = Object.entries(input.settings).find(([, v]) => v != null)!;
      const body: Record<string, unknown> = {
        name: input.name,
        description: input.description,
        vault_type: vaultType,
      };
      for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
        if (value != null) body[snake(key)] = value;
      }
      const actor = await ctx.actor();
      return translate(
        () => ctx.services.vaultConnections.create(actor, ctx.meta, String(teamId), body),
        (path, source) =>
          source === 'path' || ['name', 'description'].includes(String(path[0]))
            ? defaultInputPath(path, source)
            : ['input', 'settings', vaultType, ...path.map((p) => camel(String(p)))],
      );
    },
  }),
);
