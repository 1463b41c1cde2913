import type { Location } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';

export function locationResponse(location: Location) {
  return {
    id: location.id,
    name: location.name,
    description: location.description ?? null,
    location_type: location.locationType,
    secret_id: location.secretId,
    bucket_name: location.bucketName,
    region: location.region ?? null,
    endpoint_url: location.endpointUrl ?? null,
    created_at: iso(location.createdAt),
    created_by: location.createdBy,
    updated_at: iso(location.updatedAt),
    updated_by: location.updatedBy,
  };
}

/** REST routes for this resource: thin translations to the shared service. */
export function locationRoutes({ locations }: Services): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/teams/:team_id/locations',
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: locationResponse(await locations.create(actor, meta, params.team_id, body)),
      }),
    },
  ];
}
