import { z } from 'zod';
import { parseRestListQuery, restListQuerySchema, restPage, restPageSchema } from '../domain/paging.js';
import { SECRET_TYPES } from '../domain/providers.js';
import type { Location } from '../entities/index.js';
import { conflict, deleted, idSchema, notFound, timestampSchema } from '../http/rest-docs.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { createLocationSchema, LOCATION_SORTS, updateLocationSchema } from './location-service.js';

export const locationResponseSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    description: z.string().nullable(),
    location_type: z.enum(SECRET_TYPES),
    secret_id: idSchema,
    bucket_name: z.string(),
    region: z.string().nullable(),
    endpoint_url: z.string().nullable(),
    created_at: timestampSchema,
    created_by: idSchema,
    updated_at: timestampSchema,
    updated_by: idSchema,
  })
  .meta({ id: 'LocationResponse' });

export function locationResponse(location: Location): z.infer<typeof locationResponseSchema> {
  return {
    id: location.id,
    name: location.name,
    description: location.description ?? null,
    location_type: location.locationType,
    secret_id: location.secret.id,
    bucket_name: location.bucketName,
    region: location.region ?? null,
    endpoint_url: location.endpointUrl ?? null,
    created_at: iso(location.createdAt),
    created_by: location.createdBy,
    updated_at: iso(location.updatedAt),
    updated_by: location.updatedBy,
  };
}

export const locationDetailResponseSchema = locationResponseSchema
  .extend({ secret_name: z.string().nullable() })
  .meta({ id: 'LocationDetailResponse' });

/** GET one location: the location plus the name of the secret it uses. */
export function locationDetailResponse(
  location: Location,
  secretName: string | null,
): z.infer<typeof locationDetailResponseSchema> {
  return { ...locationResponse(location), secret_name: secretName };
}

const LIST_FILTERS = {
  location_type: z.enum(SECRET_TYPES).optional().meta({ description: 'Only locations of this provider.' }),
};
const parseQuery = (query: URLSearchParams) =>
  parseRestListQuery(query, LOCATION_SORTS, 'created_at', LIST_FILTERS);

const TAGS: ['Locations'] = ['Locations'];

/** REST routes for this resource: thin translations to the shared service. */
export function locationRoutes({ locations }: Services): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/teams/:team_id/locations',
      doc: {
        operationId: 'createLocation',
        summary: 'Create a location',
        description:
          '`secret_id` must be a secret of the team whose `secret_type` equals `location_type`. `endpoint_url` is required for s3_compatible and accepted only by S3-style providers.',
        tags: TAGS,
        scope: 'locations:create',
        body: createLocationSchema,
        responses: {
          201: { description: 'The created location.', schema: locationResponseSchema },
          409: conflict('A location with this name exists in the team.'),
        },
      },
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: locationResponse(await locations.create(actor, meta, params.team_id, body)),
      }),
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/locations',
      doc: {
        operationId: 'listLocations',
        summary: 'List locations',
        tags: TAGS,
        scope: 'locations:read',
        query: restListQuerySchema(LOCATION_SORTS, 'created_at', LIST_FILTERS),
        responses: {
          200: { description: 'A page of locations.', schema: restPageSchema(locationResponseSchema) },
        },
      },
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
      doc: {
        operationId: 'getLocation',
        summary: 'Get a location',
        tags: TAGS,
        scope: 'locations:read',
        responses: {
          200: {
            description: 'The location, with the name of its secret.',
            schema: locationDetailResponseSchema,
          },
          404: notFound('location'),
        },
      },
      handle: async ({ actor, params }) => {
        const { location, secretName } = await locations.getDetail(actor, params.team_id, params.location_id);
        return { status: 200, body: locationDetailResponse(location, secretName) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/locations/:location_id',
      doc: {
        operationId: 'updateLocation',
        summary: 'Update a location',
        description:
          'Omitted or null means unchanged, except `description`, `region` and `endpoint_url`, where null clears. `location_type` cannot change.',
        tags: TAGS,
        scope: 'locations:update',
        body: updateLocationSchema,
        responses: {
          200: { description: 'The location after the change.', schema: locationResponseSchema },
          404: notFound('location'),
          409: conflict('A location with the new name exists in the team.'),
        },
      },
      handle: async ({ actor, meta, params, body }) => ({
        status: 200,
        body: locationResponse(await locations.update(actor, meta, params.team_id, params.location_id, body)),
      }),
    },
    {
      method: 'DELETE',
      path: '/v1/teams/:team_id/locations/:location_id',
      doc: {
        operationId: 'deleteLocation',
        summary: 'Delete a location',
        tags: TAGS,
        scope: 'locations:delete',
        responses: { 204: deleted('Location'), 404: notFound('location') },
      },
      handle: async ({ actor, meta, params }) => {
        await locations.delete(actor, meta, params.team_id, params.location_id);
        return { status: 204 };
      },
    },
  ];
}
