import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import { SecretTypeEnum } from '../../platform/graphql/enums.js';
import { asTeamEntity } from '../../platform/graphql/federation.js';
import { lookupField } from '../../platform/graphql/ids.js';
import { enumFilter, LIST_WORDING, listField } from '../../platform/graphql/lists.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { createField, deleteField, patchField } from '../../platform/graphql/mutations.js';
import {
  namedCreateInput,
  namedPatchInput,
  namedResourceType,
} from '../../platform/graphql/resource-fields.js';
import { SecretRef } from '../secrets/secret.graphql.js';
import type { LocationView } from './location.repository.js';
import { bucketNameSchema, endpointUrlSchema, regionSchema, secretIdSchema } from './location.rules.js';

export const LocationRef = namedResourceType<LocationView>('Location', {
  description: "A bucket or container at a provider, reached with one of the team's secrets.",
  resource: 'location',
  fields: (t) => ({
    locationType: t.field({
      type: SecretTypeEnum,
      description: 'The provider; fixed at creation, and always the secretType of its secret.',
      resolve: (l) => l.locationType,
    }),
    secretId: t.exposeID('secretId', {
      description: 'The id of the secret the location authenticates with (readable without secrets:read).',
    }),
    secret: t.field({
      type: SecretRef,
      nullable: true,
      description:
        'The secret the location authenticates with. Needs secrets:read (else a FORBIDDEN error on this field).',
      resolve: async (location, _, ctx) => {
        const actor = await ctx.actor();
        const teamId = location.teamId;
        const loader = loaderFor(ctx, `location-secrets:${teamId}`, (ids: string[]) =>
          ctx.services.locations.secretsByIds(actor, teamId, ids),
        );
        return (await loader.load(location.secretId)) ?? null;
      },
    }),
    bucketName: t.exposeString('bucketName', {
      description: 'The bucket or container name at the provider.',
    }),
    region: t.exposeString('region', {
      nullable: true,
      description: 'The provider region, e.g. eu-west-1; null when none was given.',
    }),
    endpointUrl: t.exposeString('endpointUrl', {
      nullable: true,
      description: 'A custom S3 endpoint (S3-style providers only); null when none was given.',
    }),
  }),
});

/**
 * The fields the REST door checks together, checked here together too (every problem in one answer);
 * a field-level `validate` stops at the input's first invalid field.
 */
const createLocationFields = z.looseObject({
  secretId: secretIdSchema,
  bucketName: bucketNameSchema,
  region: regionSchema.nullish(),
  endpointUrl: endpointUrlSchema.nullish(),
});

const CreateLocationInput = namedCreateInput('CreateLocationInput', {
  description: 'A new location: a bucket at a provider and the secret that reaches it.',
  validate: createLocationFields,
  fields: (t) => ({
    locationType: t.field({
      type: SecretTypeEnum,
      required: true,
      description: 'The provider; fixed once created.',
    }),
    secretId: t.id({
      required: true,
      description: 'A secret of the team whose secretType equals locationType.',
    }),
    bucketName: t.string({ required: true, description: '1–255 characters.' }),
    region: t.string({ description: '1–100 characters; omitted or null: none.' }),
    endpointUrl: t.string({
      description: 'Required for S3_COMPATIBLE; accepted only by S3-style providers.',
    }),
  }),
});

const updateLocationFields = z.looseObject({
  bucketName: bucketNameSchema.nullish(),
  region: regionSchema.nullish(),
  endpointUrl: endpointUrlSchema.nullish(),
  secretId: secretIdSchema.nullish(),
});

const UpdateLocationInput = namedPatchInput('UpdateLocationInput', {
  description:
    'A partial update: only the fields sent change. An empty input changes nothing. The location type is immutable.',
  validate: updateLocationFields,
  nameDescription: '1–255 characters, unique in the team. Omitted or null: unchanged.',
  fields: (t) => ({
    bucketName: t.string({ description: '1–255 characters. Omitted or null: unchanged.' }),
    region: t.string({ description: 'Omitted: unchanged; null: cleared.' }),
    endpointUrl: t.string({
      description:
        'Omitted: unchanged; null: cleared (not for S3_COMPATIBLE, which needs one). Accepted only by S3-style providers.',
    }),
    secretId: t.id({
      description:
        'A secret of the team whose secretType equals the locationType. Omitted or null: unchanged.',
    }),
  }),
});

lookupField('location', LocationRef, ['location', 'locationId'], (ctx) => ctx.services.locations);

listField('locations', {
  type: LocationRef,
  wording: LIST_WORDING.SPELLED_OUT,
  filter: enumFilter('locationType', SecretTypeEnum, 'Only locations of this provider.'),
  list: (ctx) => ctx.services.locations,
});

createField('createLocation', {
  type: LocationRef,
  what: 'Creates a location.',
  input: CreateLocationInput,
  create: (ctx, actor, teamId, input) => ctx.services.locations.create(actor, ctx.meta, teamId, input),
});

patchField('updateLocation', {
  type: LocationRef,
  what: 'Renames, re-describes, or points a location at another bucket, region, endpoint or secret, in one atomic change.',
  input: UpdateLocationInput,
  clearable: ['description', 'region', 'endpointUrl'],
  apply: (ctx, actor, ids, patch) => ctx.services.locations.update(actor, ctx.meta, ids, patch),
});

deleteField('deleteLocation', {
  what: 'Deletes a location.',
  remove: (ctx, actor, ids) => ctx.services.locations.delete(actor, ctx.meta, ids),
});

asTeamEntity(LocationRef, (ctx, actor, ids) => ctx.services.locations.findForActor(actor, ids));

/** Secret.locations, batched per request: a list of secrets costs one query. */
builder.objectFields(SecretRef, (t) => ({
  locations: t.field({
    type: [LocationRef],
    description:
      'The locations that use this secret, by name. Needs locations:read (else FORBIDDEN on this field).',
    resolve: async (secret, _, ctx) => {
      const actor = await ctx.actor();
      const teamId = secret.teamId;
      const loader = loaderFor(ctx, `locations-by-secret:${teamId}`, (ids: string[]) =>
        ctx.services.locations.bySecrets(actor, teamId, ids),
      );
      return (await loader.load(secret.id)) ?? [];
    },
  }),
}));
