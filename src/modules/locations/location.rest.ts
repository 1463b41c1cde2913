import { z } from 'zod';
import { camelKeys, descriptionSchema, nameSchema, patchOf } from '../../domain/names.js';
import { NAMED_RESOURCE_SORTS, restListQuery } from '../../domain/paging.js';
import { SECRET_TYPES } from '../../domain/providers.js';
import { parseOrThrow } from '../../domain/validation.js';
import { deleteRoute, itemRoute, listRoute } from '../../platform/http/resource-routes.js';
import {
  conflict,
  createdFields,
  idSchema,
  namedResourceFields,
  updatedFields,
} from '../../platform/http/rest-docs.js';
import type { PathParams, Route } from '../../platform/http/rest-router.js';
import { restBody } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import type { LocationDetail, LocationView } from './location.repository.js';
import {
  bucketNameSchema,
  type CreateLocationCommand,
  endpointUrlSchema,
  LOCATION_TYPE_IMMUTABLE,
  regionSchema,
  secretIdSchema,
  type UpdateLocationCommand,
} from './location.rules.js';
import type { LocationIds } from './location.service.js';

export const createLocationSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  location_type: z.enum(SECRET_TYPES),
  secret_id: secretIdSchema,
  bucket_name: bucketNameSchema,
  region: regionSchema.nullish(),
  endpoint_url: endpointUrlSchema.nullish(),
});

/**
 * PATCH body. Omitted or null means unchanged, except `description`, `region` and `endpoint_url`,
 * where null clears. `location_type` is immutable: sending it at all is a 422.
 */
export const updateLocationSchema = z.strictObject({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
  bucket_name: bucketNameSchema.nullish(),
  region: regionSchema.nullish(),
  endpoint_url: endpointUrlSchema.nullish(),
  secret_id: secretIdSchema.nullish(),
  location_type: z
    .unknown()
    .refine((v) => v === undefined, LOCATION_TYPE_IMMUTABLE)
    .optional(),
});

/** The POST body as the create command. */
export function createLocationCommand(body: unknown): CreateLocationCommand {
  return camelKeys(parseOrThrow(createLocationSchema, body));
}

/** The PATCH body as the update command. */
export function updateLocationCommand(body: unknown): UpdateLocationCommand {
  const { location_type: _immutable, ...patch } = parseOrThrow(updateLocationSchema, body);
  return patchOf(patch, ['description', 'region', 'endpoint_url']);
}

/** The location a route's path names (the router has validated both ids). */
export function locationIds(params: PathParams): LocationIds {
  return { teamId: params.team_id, locationId: params.location_id! };
}

export const locationResponseSchema = z
  .object({
    ...namedResourceFields,
    location_type: z.enum(SECRET_TYPES),
    secret_id: idSchema,
    bucket_name: z.string(),
    region: z.string().nullable(),
    endpoint_url: z.string().nullable(),
    ...createdFields,
    ...updatedFields,
  })
  .meta({ id: 'LocationResponse' });

export function locationResponse(location: LocationView): z.infer<typeof locationResponseSchema> {
  return restBody(locationResponseSchema, location);
}

export const locationDetailResponseSchema = locationResponseSchema
  .extend({ secret_name: z.string().nullable() })
  .meta({ id: 'LocationDetailResponse' });

/** GET one location: the location plus the name of the secret it uses. */
export function locationDetailResponse({
  location,
  secretName,
}: LocationDetail): z.infer<typeof locationDetailResponseSchema> {
  return { ...locationResponse(location), secret_name: secretName };
}

const LIST_QUERY = restListQuery(NAMED_RESOURCE_SORTS, 'created_at', {
  location_type: z.enum(SECRET_TYPES).optional().meta({ description: 'Only locations of this provider.' }),
});

const TAGS: ['Locations'] = ['Locations'];

/** REST routes for this resource: thin translations to the shared service. */
export function locationRoutes({ locations }: Services): Route[] {
  const base = '/v1/teams/:team_id/locations';
  return [
    {
      method: 'POST',
      path: base,
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
        body: locationResponse(
          await locations.create(actor, meta, params.team_id, createLocationCommand(body)),
        ),
      }),
    },
    listRoute({
      path: base,
      doc: { operationId: 'listLocations', summary: 'List locations', tags: TAGS, scope: 'locations:read' },
      query: LIST_QUERY,
      page: ['A page of locations.', locationResponseSchema],
      list: ({ actor, params }, { list, filters }) =>
        locations.list(actor, params.team_id, { ...list, locationType: filters.location_type }),
      view: locationResponse,
    }),
    itemRoute({
      method: 'GET',
      path: `${base}/:location_id`,
      what: 'location',
      doc: { operationId: 'getLocation', summary: 'Get a location', tags: TAGS, scope: 'locations:read' },
      response: {
        description: 'The location, with the name of its secret.',
        schema: locationDetailResponseSchema,
      },
      run: ({ actor, params }) => locations.getDetail(actor, locationIds(params)),
      view: locationDetailResponse,
    }),
    itemRoute({
      method: 'PATCH',
      path: `${base}/:location_id`,
      what: 'location',
      doc: {
        operationId: 'updateLocation',
        summary: 'Update a location',
        description:
          'Omitted or null means unchanged, except `description`, `region` and `endpoint_url`, where null clears. `location_type` cannot change.',
        tags: TAGS,
        scope: 'locations:update',
        body: updateLocationSchema,
        responses: { 409: conflict('A location with the new name exists in the team.') },
      },
      response: { description: 'The location after the change.', schema: locationResponseSchema },
      run: ({ actor, meta, params, body }) =>
        locations.update(actor, meta, locationIds(params), updateLocationCommand(body)),
      view: locationResponse,
    }),
    deleteRoute({
      path: `${base}/:location_id`,
      what: 'location',
      doc: {
        operationId: 'deleteLocation',
        summary: 'Delete a location',
        tags: TAGS,
        scope: 'locations:delete',
      },
      delete: ({ actor, meta, params }) => locations.delete(actor, meta, locationIds(params)),
    }),
  ];
}
