import type { VaultConnection } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';

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

/** REST routes for this resource: thin translations to the shared service. */
export function vaultConnectionRoutes({ vaultConnections }: Services): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/teams/:team_id/vault-connections',
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: vaultConnectionResponse(await vaultConnections.create(actor, meta, params.team_id, body)),
      }),
    },
  ];
}
