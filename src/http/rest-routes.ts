import type { Services } from '../services.js';
import type { Route } from './rest-router.js';
import { locationResponse, secretResponse, vaultConnectionResponse } from './rest-views.js';

/** The REST shim: thin translations from DataRaven's paths to the shared services. */
export function restRoutes(services: Services): Route[] {
  const { secrets, locations, vaultConnections } = services;
  return [
    {
      method: 'POST',
      path: '/v1/teams/:team_id/secrets',
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: secretResponse(await secrets.create(actor, meta, params.team_id, body)),
      }),
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      handle: async ({ actor, params }) => ({
        status: 200,
        body: secretResponse(await secrets.get(actor, params.team_id, params.secret_id)),
      }),
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      handle: async ({ actor, meta, params, body }) => ({
        status: 200,
        body: secretResponse(await secrets.update(actor, meta, params.team_id, params.secret_id, body)),
      }),
    },
    {
      method: 'POST',
      path: '/v1/teams/:team_id/locations',
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: locationResponse(await locations.create(actor, meta, params.team_id, body)),
      }),
    },
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
