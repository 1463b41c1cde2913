import { z } from 'zod';
import { parseRestListQuery, restListQuerySchema, restPage, restPageSchema } from '../domain/paging.js';
import { VAULT_TYPES } from '../domain/vaults.js';
import type { VaultConnection } from '../entities/index.js';
import {
  conflict,
  credentialStoreUnavailable,
  deleted,
  errorResponseSchema,
  idSchema,
  notFound,
  timestampSchema,
} from '../http/rest-docs.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import {
  updateSchema as updateVaultConnectionSchema,
  VAULT_CONNECTION_SORTS,
  VAULT_INPUTS,
  VAULT_SETTINGS,
} from './vault-connection-service.js';

/** The create response (contract §4): never a token or client secret. */
export const vaultConnectionResponseSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    description: z.string().nullable(),
    vault_type: z.enum(VAULT_TYPES),
    last_verified_at: timestampSchema.nullable(),
    created_at: timestampSchema,
    created_by: idSchema,
  })
  .meta({ id: 'VaultConnectionResponse' });

export function vaultConnectionResponse(
  connection: VaultConnection,
): z.infer<typeof vaultConnectionResponseSchema> {
  return {
    id: connection.id,
    name: connection.name,
    description: connection.description ?? null,
    vault_type: connection.vaultType,
    last_verified_at: iso(connection.lastVerifiedAt),
    created_at: iso(connection.createdAt),
    created_by: connection.createdBy,
  };
}

export const vaultConnectionListItemSchema = vaultConnectionResponseSchema
  .extend({ updated_at: timestampSchema, updated_by: idSchema })
  .meta({ id: 'VaultConnectionListItem' });

/** A list item: the create response plus who changed it last. */
export function vaultConnectionListItem(
  connection: VaultConnection,
): z.infer<typeof vaultConnectionListItemSchema> {
  return {
    ...vaultConnectionResponse(connection),
    updated_at: iso(connection.updatedAt),
    updated_by: connection.updatedBy,
  };
}

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
export function vaultConnectionDetail(
  connection: VaultConnection,
  secretCount: number,
): z.infer<typeof vaultConnectionDetailSchema> {
  const settings = Object.fromEntries(
    VAULT_SETTINGS[connection.vaultType].map((key) => [key, connection.settings[key] ?? null]),
  );
  return { ...vaultConnectionListItem(connection), ...settings, secret_count: secretCount };
}

/** 409 on DELETE: the secrets that still use the connection. */
export const vaultConnectionConflictResponseSchema = errorResponseSchema
  .extend({ secrets: z.array(z.object({ id: idSchema, name: z.string() })).optional() })
  .meta({ id: 'VaultConnectionConflictResponse' });

/** What create and rotate validate with, per vault type (the service picks the one of the vault type). */
const createBodySchema = z.union([
  VAULT_INPUTS.onepassword.schema,
  VAULT_INPUTS.doppler.schema,
  VAULT_INPUTS.infisical.schema,
]);
const rotateBodySchema = z.union([
  VAULT_INPUTS.onepassword.rotate,
  VAULT_INPUTS.doppler.rotate,
  VAULT_INPUTS.infisical.rotate,
]);

const LIST_FILTERS = {
  vault_type: z.enum(VAULT_TYPES).optional().meta({ description: 'Only connections to this vault service.' }),
};
const parseQuery = (query: URLSearchParams) =>
  parseRestListQuery(query, VAULT_CONNECTION_SORTS, 'created_at', LIST_FILTERS);

const TAGS: ['Vault connections'] = ['Vault connections'];

/** REST routes for this resource: thin translations to the shared service. */
export function vaultConnectionRoutes({ vaultConnections }: Services): Route[] {
  const detail = async (connection: VaultConnection) => ({
    status: 200,
    body: vaultConnectionDetail(
      connection,
      (await vaultConnections.secretCounts(connection.teamId, [connection.id])).get(connection.id) ?? 0,
    ),
  });
  return [
    {
      method: 'POST',
      path: '/v1/teams/:team_id/vault-connections',
      doc: {
        operationId: 'createVaultConnection',
        summary: 'Connect an external vault',
        description:
          'The body depends on `vault_type`. Tokens and client secrets go to the credential store and are never returned.',
        tags: TAGS,
        scope: 'vault_connections:create',
        body: createBodySchema,
        responses: {
          201: { description: 'The created connection.', schema: vaultConnectionResponseSchema },
          403: {
            description:
              "The API key lacks the scope or role, or the team's plan allows no more vault connections.",
            schema: errorResponseSchema,
          },
          409: conflict('A vault connection with this name exists in the team.'),
          503: credentialStoreUnavailable,
        },
      },
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: vaultConnectionResponse(await vaultConnections.create(actor, meta, params.team_id, body)),
      }),
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/vault-connections',
      doc: {
        operationId: 'listVaultConnections',
        summary: 'List vault connections',
        tags: TAGS,
        scope: 'vault_connections:read',
        query: restListQuerySchema(VAULT_CONNECTION_SORTS, 'created_at', LIST_FILTERS),
        responses: {
          200: {
            description: 'A page of vault connections.',
            schema: restPageSchema(vaultConnectionListItemSchema),
          },
        },
      },
      handle: async ({ actor, params, query }) => {
        let parsed: ReturnType<typeof parseQuery> | undefined;
        const result = await vaultConnections.list(actor, params.team_id, () => {
          parsed = parseQuery(query);
          return { ...parsed.list, vaultType: parsed.filters.vault_type };
        });
        return { status: 200, body: restPage(parsed!.page, parsed!.list, result, vaultConnectionListItem) };
      },
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/vault-connections/:connection_id',
      doc: {
        operationId: 'getVaultConnection',
        summary: 'Get a vault connection',
        tags: TAGS,
        scope: 'vault_connections:read',
        responses: {
          200: {
            description: 'The connection, its non-secret settings and how many secrets use it.',
            schema: vaultConnectionDetailSchema,
          },
          404: notFound('vault connection'),
        },
      },
      handle: async ({ actor, params }) =>
        detail(await vaultConnections.get(actor, params.team_id, params.connection_id)),
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/vault-connections/:connection_id',
      doc: {
        operationId: 'updateVaultConnection',
        summary: 'Rename or re-describe a vault connection',
        description:
          'Only `name` (null: unchanged) and `description` (null: cleared). Tokens change through the rotate endpoint; any other field is refused.',
        tags: TAGS,
        scope: 'vault_connections:update',
        // parseUpdate refuses every other key by name, so the body is closed.
        body: updateVaultConnectionSchema.strict(),
        responses: {
          200: { description: 'The connection after the change.', schema: vaultConnectionDetailSchema },
          404: notFound('vault connection'),
          409: conflict('A vault connection with the new name exists in the team.'),
        },
      },
      handle: async ({ actor, meta, params, body }) =>
        detail(await vaultConnections.update(actor, meta, params.team_id, params.connection_id, body)),
    },
    {
      method: 'POST',
      path: '/v1/teams/:team_id/vault-connections/:connection_id/rotate',
      doc: {
        operationId: 'rotateVaultConnection',
        summary: "Replace a vault connection's token",
        description:
          '`access_token` for 1Password (`ops_...`) and Doppler (`dp.st....`), `client_secret` for Infisical. The old value is removed from the credential store.',
        tags: TAGS,
        scope: 'vault_connections:update',
        body: rotateBodySchema,
        responses: {
          200: { description: 'The connection after the rotation.', schema: vaultConnectionDetailSchema },
          404: notFound('vault connection'),
          503: credentialStoreUnavailable,
        },
      },
      handle: async ({ actor, meta, params, body }) =>
        detail(await vaultConnections.rotate(actor, meta, params.team_id, params.connection_id, body)),
    },
    {
      method: 'DELETE',
      path: '/v1/teams/:team_id/vault-connections/:connection_id',
      doc: {
        operationId: 'deleteVaultConnection',
        summary: 'Delete a vault connection',
        description: 'Refused while secrets use it. The stored token is removed after the commit.',
        tags: TAGS,
        scope: 'vault_connections:delete',
        responses: {
          204: deleted('Vault connection'),
          404: notFound('vault connection'),
          409: conflict(
            'Secrets use the connection (listed in `secrets`).',
            vaultConnectionConflictResponseSchema,
          ),
        },
      },
      handle: async ({ actor, meta, params }) => {
        await vaultConnections.delete(actor, meta, params.team_id, params.connection_id);
        return { status: 204 };
      },
    },
  ];
}
