import { z } from 'zod';
import { camelKeys, descriptionSchema, nameSchema, patchOf } from '../../domain/names.js';
import { NAMED_RESOURCE_SORTS, restListQuery } from '../../domain/paging.js';
import { SECRET_TYPES } from '../../domain/providers.js';
import { parseOrThrow } from '../../domain/validation.js';
import { teamResource } from '../../platform/http/resource-routes.js';
import { idSchema, namedResourceResponseSchema } from '../../platform/http/rest-docs.js';
import type { Route } from '../../platform/http/rest-router.js';
import { restView, viewOf } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import type { LocationDetail } from './location.repository.js';
import {
  bucketNameSchema,
  type CreateLocationCommand,
  endpointUrlSchema,
  LOCATION_TYPE_IMMUTABLE,
  regionSchema,
  secretIdSchema,
  type UpdateLocationCommand,
} from './location.rules.js';

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

export const locationResponseSchema = namedResourceResponseSchema('LocationResponse', {
  location_type: z.enum(SECRET_TYPES),
  secret_id: idSchema,
  bucket_name: z.string(),
  region: z.string().nullable(),
  endpoint_url: z.string().nullable(),
});

export const locationResponse = restView(locationResponseSchema);

export const locationDetailResponseSchema = locationResponseSchema
  .extend({ secret_name: z.string().nullable() })
  .meta({ id: 'LocationDetailResponse' });

/** GET one location: the location plus the name of the secret it uses. */
export const locationDetailResponse = viewOf(
  locationDetailResponseSchema,
  ({ location, secretName }: LocationDetail) => ({ ...locationResponse(location), secret_name: secretName }),
);

const LIST_QUERY = restListQuery(NAMED_RESOURCE_SORTS, 'created_at', {
  location_type: z.enum(SECRET_TYPES).optional().meta({ description: 'Only locations of this provider.' }),
});

const LOCATIONS = teamResource('/v1/teams/:team_id/locations/:location_id', 'location', {
  uniqueNames: true,
});

/** REST routes for this resource: thin translations to the shared service. */
export function locationRoutes({ locations }: Services): Route[] {
  return [
    LOCATIONS.create({
      description:
        '`secret_id` must be a secret of the team whose `secret_type` equals `location_type`. `endpoint_url` is required for s3_compatible and accepted only by S3-style providers.',
      body: createLocationSchema,
      response: 'The created location.',
      service: locations,
      command: createLocationCommand,
      view: locationResponse,
    }),
    LOCATIONS.list({ query: LIST_QUERY, service: locations, view: locationResponse }),
    LOCATIONS.get({
      response: 'The location, with the name of its secret.',
      run: ({ actor }, ids) => locations.getDetail(actor, ids),
      view: locationDetailResponse,
    }),
    LOCATIONS.update({
      description:
        'Omitted or null means unchanged, except `description`, `region` and `endpoint_url`, where null clears. `location_type` cannot change.',
      body: updateLocationSchema,
      response: 'The location after the change.',
      run: ({ actor, meta, body }, ids) => locations.update(actor, meta, ids, updateLocationCommand(body)),
      view: locationResponse,
    }),
    LOCATIONS.delete({
      delete: ({ actor, meta }, ids) => locations.delete(actor, meta, ids),
    }),
  ];
}
