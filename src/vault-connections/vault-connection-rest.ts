import { z } from 'zod';
import { parseRestListQuery, restPage } from '../domain/paging.js';
import { VAULT_TYPES } from '../domain/vaults.js';
import type { VaultConnection } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { VAULT_CONNECTION_SORTS, VAULT_SETTINGS } from './vault-connection-service.js';

/** The create response (contract §4). */
export function vaultConnectionResponse(connection: VaultConnection) {
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

/** A list item: the create response plus who changed it last. */
export function vaultConnectionListItem(connection: VaultConnection) {
  return {
    ...vaultConnectionResponse(connection),
    updated_at: iso(connection.updatedAt),
    updated_by: connection.updatedBy,
  };
}

/** GET, PATCH and rotate: the list item plus the non-secret settings of its vault type and its secret count. */
export function vaultConnectionDetail(connection: VaultConnection, secretCount: number) {
  const settings = Object.fromEntries(
    VAULT_SETTINGS[connection.vaultType].map((key) => [key, connection.settings[key] ?? null]),
  );
  return { ...vaultConnectionListItem(connection), ...settings, secret_count: secretCount };
}

const LIST_FILTERS = { vault_type: z.enum(VAULT_TYPES).optional() };
const parseQuery = (query: URLSearchParams) =>
  parseRestListQuery(query, VAULT_CONNECTION_SORTS, 'created_at', LIST_FILTERS);

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
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: vaultConnectionResponse(await vaultConnections.create(actor, meta, params.team_id, body)),
      }),
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/vault-connections',
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
      handle: async ({ actor, params }) =>
        detail(await vaultConnections.get(actor, params.team_id, params.connection_id)),
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/vault-connections/:connection_id',
      handle: async ({ actor, meta, params, body }) =>
        detail(await vaultConnections.update(actor, meta, params.team_id, params.connection_id, body)),
    },
    {
      method: 'POST',
      path: '/v1/teams/:team_id/vault-connections/:connection_id/rotate',
      handle: async ({ actor, meta, params, body }) =>
        detail(await vaultConnections.rotate(actor, meta, params.team_id, params.connection_id, body)),
    },
    {
      method: 'DELETE',
      path: '/v1/teams/:team_id/vault-connections/:connection_id',
      handle: async ({ actor, meta, params }) => {
        await vaultConnections.delete(actor, meta, params.team_id, params.connection_id);
        return { status: 204 };
      },
    },
  ];
}
