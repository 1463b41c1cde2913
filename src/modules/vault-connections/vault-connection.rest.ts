import { z } from 'zod';
import { descriptionSchema, nameSchema, patchOf, snakeCase } from '../../domain/names.js';
import { NAMED_RESOURCE_SORTS, restListQuery } from '../../domain/paging.js';
import { parseOrThrow } from '../../domain/validation.js';
import { VAULT_TYPES, type VaultType } from '../../domain/vaults.js';
import { teamResource } from '../../platform/http/resource-routes.js';
import {
  conflict,
  createdFields,
  credentialStoreUnavailable,
  errorResponseSchema,
  idSchema,
  namedResourceFields,
  timestampSchema,
  updatedFields,
} from '../../platform/http/rest-docs.js';
import type { RestRequest, Route } from '../../platform/http/rest-router.js';
import { restView, viewOf } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import type { VaultConnectionView } from './vault-connection.repository.js';
import {
  type CreateVaultConnectionCommand,
  ROTATION_FIELDS,
  type RotateVaultConnectionCommand,
  type UpdateVaultConnectionCommand,
  VAULT_FIELDS,
  VAULT_SETTINGS,
} from './vault-connection.rules.js';
import type { VaultConnectionIds } from './vault-connection.service.js';

/** A rules shape (command names) under the REST body's names. */
function bodyShape(shape: z.ZodRawShape): z.ZodRawShape {
  return Object.fromEntries(Object.entries(shape).map(([field, rule]) => [snakeCase(field), rule]));
}

const common = { name: nameSchema, description: descriptionSchema.nullish() };

/** POST body of a vault type: name, description, `vault_type` and the vault type's fields. */
const createBody = (type: VaultType) =>
  z.strictObject({ ...common, vault_type: z.literal(type), ...bodyShape(VAULT_FIELDS[type].shape) });
const CREATE_BODIES = {
  onepassword: createBody('onepassword'),
  doppler: createBody('doppler'),
  infisical: createBody('infisical'),
};

const vaultTypeSchema = z.looseObject({ vault_type: z.enum(VAULT_TYPES) });

/** The POST body as the create command: its `vault_type` decides which body it must be. */
export function createVaultConnectionCommand(body: unknown): CreateVaultConnectionCommand {
  const { vault_type: vaultType } = parseOrThrow(vaultTypeSchema, body);
  const input: Record<string, unknown> = parseOrThrow(CREATE_BODIES[vaultType], body);
  const fields = Object.keys(VAULT_FIELDS[vaultType].shape).filter((f) => input[snakeCase(f)] !== undefined);
  // The body was checked against the vault type's own fields: it is that vault type's command.
  return {
    name: input.name,
    ...(input.description !== undefined && { description: input.description }),
    vaultType,
    ...Object.fromEntries(fields.map((field) => [field, input[snakeCase(field)]])),
  } as CreateVaultConnectionCommand;
}

/**
 * POST .../rotate as sent: the write-only field of one vault type or another. Which one the
 * connection takes is a rule of its vault type (`checkRotation`).
 */
const rotateBodySchema = z.strictObject({
  access_token: z.string().optional(),
  client_secret: z.string().optional(),
});

/** PATCH body: only `name` (null: unchanged) and `description` (null: cleared). */
const updateFieldsSchema = z.object({ name: nameSchema.nullish(), description: descriptionSchema.nullish() });

/** Any other field of a PATCH body (a token above all) is refused by name, before the fields' own issues. */
const updateBodySchema = z.intersection(
  z.looseObject({}).superRefine((body, ctx) => {
    for (const key of Object.keys(body)) {
      if (Object.hasOwn(updateFieldsSchema.shape, key)) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: Object.hasOwn(rotateBodySchema.shape, key)
          ? `${key} changes only through POST .../vault-connections/{connection_id}/rotate`
          : 'Only name and description can be changed; create a new connection for other settings',
        params: { code: 'extra_forbidden' },
      });
    }
  }),
  updateFieldsSchema,
);

/** The PATCH body as the update command. */
export function updateVaultConnectionCommand(body: unknown): UpdateVaultConnectionCommand {
  return patchOf(parseOrThrow(updateBodySchema, body), ['description']);
}

/** The rotate body as the rotate command. */
export function rotateVaultConnectionCommand(body: unknown): RotateVaultConnectionCommand {
  return patchOf(parseOrThrow(rotateBodySchema, body));
}

/** The create response (docs/contract.md §4): never a token or client secret. */
export const vaultConnectionResponseSchema = z
  .object({
    ...namedResourceFields,
    vault_type: z.enum(VAULT_TYPES),
    last_verified_at: timestampSchema.nullable(),
    ...createdFields,
  })
  .meta({ id: 'VaultConnectionResponse' });

export const vaultConnectionResponse = restView(vaultConnectionResponseSchema);

export const vaultConnectionListItemSchema = vaultConnectionResponseSchema
  .extend(updatedFields)
  .meta({ id: 'VaultConnectionListItem' });

/** A list item: the create response plus who changed it last. */
export const vaultConnectionListItem = restView(vaultConnectionListItemSchema);

/** The non-secret settings of every vault type (VAULT_SETTINGS); a detail carries its own type's. */
const SETTINGS_FIELDS = Object.fromEntries(
  [...new Set(Object.values(VAULT_SETTINGS).flat())].map((key) => {
    const types = VAULT_TYPES.filter((type) => VAULT_SETTINGS[type].includes(key));
    return [
      key,
      z
        .string()
        .nullable()
        .optional()
        .meta({ description: `Present for ${types.join(', ')}.` }),
    ];
  }),
);

export const vaultConnectionDetailSchema = vaultConnectionListItemSchema
  .extend({ ...SETTINGS_FIELDS, secret_count: z.number().int().min(0) })
  .meta({ id: 'VaultConnectionDetail' });

/** GET, PATCH and rotate: the list item plus the non-secret settings of its vault type and its secret count. */
export const vaultConnectionDetail = viewOf(
  vaultConnectionDetailSchema,
  ({ connection, secretCount }: { connection: VaultConnectionView; secretCount: number }) => {
    const settings = Object.fromEntries(
      VAULT_SETTINGS[connection.vaultType].map((key) => [key, connection.settings[key] ?? null]),
    );
    return { ...vaultConnectionListItem(connection), ...settings, secret_count: secretCount };
  },
);

/** 409 on DELETE: the secrets that still use the connection. */
export const vaultConnectionConflictResponseSchema = errorResponseSchema
  .extend({ secrets: z.array(z.object({ id: idSchema, name: z.string() })).optional() })
  .meta({ id: 'VaultConnectionConflictResponse' });

/** What the OpenAPI document says create and rotate take: one body per vault type. */
const createBodyDoc = z.union([CREATE_BODIES.onepassword, CREATE_BODIES.doppler, CREATE_BODIES.infisical]);
const rotateBodyDoc = z.union(
  VAULT_TYPES.map((type) => z.strictObject(bodyShape(ROTATION_FIELDS[type].shape))),
);

const LIST_QUERY = restListQuery(NAMED_RESOURCE_SORTS, 'created_at', {
  vault_type: z.enum(VAULT_TYPES).optional().meta({ description: 'Only connections to this vault service.' }),
});

const VAULT_CONNECTIONS = teamResource(
  '/v1/teams/:team_id/vault-connections/:connection_id',
  'vault connection',
  { uniqueNames: true },
);

/** REST routes for this resource: thin translations to the shared service. */
export function vaultConnectionRoutes({ vaultConnections }: Services): Route[] {
  /** What GET, PATCH and rotate answer: the connection `run` gives, with its secret count, as its detail. */
  const detail = (
    description: string,
    run: (request: RestRequest, ids: VaultConnectionIds) => Promise<VaultConnectionView>,
  ) => ({
    response: description,
    run: async (request: RestRequest, ids: VaultConnectionIds) => {
      const connection = await run(request, ids);
      const counts = await vaultConnections.secretCounts(connection.teamId, [connection.id]);
      return { connection, secretCount: counts.get(connection.id) ?? 0 };
    },
    view: vaultConnectionDetail,
  });
  return [
    VAULT_CONNECTIONS.create({
      summary: 'Connect an external vault',
      description:
        'The body depends on `vault_type`. Tokens and client secrets go to the credential store and are never returned.',
      body: createBodyDoc,
      response: 'The created connection.',
      responses: {
        403: {
          description:
            "The API key lacks the scope or role, or the team's plan allows no more vault connections.",
          schema: errorResponseSchema,
        },
        503: credentialStoreUnavailable,
      },
      service: vaultConnections,
      command: createVaultConnectionCommand,
      view: vaultConnectionResponse,
    }),
    VAULT_CONNECTIONS.list({ query: LIST_QUERY, service: vaultConnections, view: vaultConnectionListItem }),
    VAULT_CONNECTIONS.get(
      detail('The connection, its non-secret settings and how many secrets use it.', ({ actor }, ids) =>
        vaultConnections.get(actor, ids),
      ),
    ),
    VAULT_CONNECTIONS.update({
      summary: 'Rename or re-describe a vault connection',
      description:
        'Only `name` (null: unchanged) and `description` (null: cleared). Tokens change through the rotate endpoint; any other field is refused.',
      // Every other key is refused by name, so the body is closed.
      body: updateFieldsSchema.strict(),
      ...detail('The connection after the change.', ({ actor, meta, body }, ids) =>
        vaultConnections.update(actor, meta, ids, updateVaultConnectionCommand(body)),
      ),
    }),
    VAULT_CONNECTIONS.action('rotate', {
      summary: "Replace a vault connection's token",
      description:
        '`access_token` for 1Password (`ops_...`) and Doppler (`dp.st....`), `client_secret` for Infisical. The old value is never returned again; the SSM store keeps it in the parameter history until the connection is deleted.',
      action: 'update',
      body: rotateBodyDoc,
      responses: { 503: credentialStoreUnavailable },
      ...detail('The connection after the rotation.', ({ actor, meta, body }, ids) =>
        vaultConnections.rotate(actor, meta, ids, rotateVaultConnectionCommand(body)),
      ),
    }),
    VAULT_CONNECTIONS.delete({
      description: 'Refused while secrets use it. The stored token is removed after the commit.',
      responses: {
        409: conflict(
          'Secrets use the connection (listed in `secrets`).',
          vaultConnectionConflictResponseSchema,
        ),
      },
      delete: ({ actor, meta }, ids) => vaultConnections.delete(actor, meta, ids),
    }),
  ];
}
