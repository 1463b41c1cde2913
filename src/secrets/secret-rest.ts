import type { Secret } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';

export function secretResponse(secret: Secret) {
  return {
    id: secret.id,
    name: secret.name,
    description: secret.description ?? null,
    secret_type: secret.secretType,
    auth_method: secret.authMethod,
    created_at: iso(secret.createdAt),
    created_by: secret.createdBy,
    updated_at: iso(secret.updatedAt),
    updated_by: secret.updatedBy,
  };
}

/** REST routes for this resource: thin translations to the shared service. */
export function secretRoutes({ secrets }: Services): Route[] {
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
  ];
}
