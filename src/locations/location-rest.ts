import { z } from 'zod';
import { parseRestListQuery, restPage } from '../domain/paging.js';
import { SECRET_TYPES } from '../domain/providers.js';
import type { Location } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { LOCATION_SORTS } from './location-service.js';

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

/** GET one location: the location plus the name of the secret it uses. */
export function locationDetailResponse(location: Location, secretName: string | null) {
  return { ...locationResponse(location), secret_name: secretName };
}

const LIST_FILTERS = { location_type: z.enum(SECRET_TYPES).optional() };
const parseQuery = (query: URLSearchParams) =>
  parseRestListQuery(query, LOCATION_SORTS, 'created_at', LIST_FILTERS);

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
    {
      method: 'GET',
      path: '/v1/teams/:team_id/locations',
      handle: async ({ actor, params, query }) => {
        let parsed: ReturnType<typeof parseQuery> | undefined;
        const result = await locations.list(actor, params.team_id, () => {
          parsed = parseQuery(query);
          return { ...parsed.list, locationType: parsed.filters.location_type };
        });
        return { status: 200, body: restPage(parsed!.page, parsed!.list, result, locationResponse) };
      },
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/locations/:location_id',
      handle: async ({ actor, params }) => {
        const { location, secretName } = await locations.getDetail(actor, params.team_id, params.location_id);
        return { status: 200, body: locationDetailResponse(location, secretName) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/locations/:location_id',
      handle: async ({ actor, meta, params, body }) => ({
        status: 200,
        body: locationResponse(await locations.update(actor, meta, params.team_id, params.location_id, body)),
      }),
    },
    {
      method: 'DELETE',
      path: '/v1/teams/:team_id/locations/:location_id',
      handle: async ({ actor, meta, params }) => {
        await locations.delete(actor, meta, params.team_id, params.location_id);
        return { status: 204 };
      },
    },
  ];
}
