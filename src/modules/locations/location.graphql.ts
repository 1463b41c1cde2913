import { z } from 'zod';
import { builder } from '../../platform/graphql/builder.js';
import {
  connectionFrom,
  connectionOf,
  ORDER_FIELD_VALUES,
  pageArgs,
  SortOrderEnum,
} from '../../platform/graphql/connection.js';
import { SecretTypeEnum } from '../../platform/graphql/enums.js';
import {
  argumentPath,
  commandPathIn,
  MUTATION_ERRORS,
  nullIfNotFound,
  translate,
} from '../../platform/graphql/error-types.js';
import { idKey, resolveEntity } from '../../platform/graphql/federation.js';
import { idempotencyKeyArg, mutate } from '../../platform/graphql/idempotency.js';
import { TEAM_ID_DESCRIPTION, uuidArg, validatedId } from '../../platform/graphql/ids.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { descriptionSchema, nameSchema } from '../../shared/names.js';
import { SecretRef } from '../secrets/secret.graphql.js';
import type { LocationListQuery, LocationView } from './location.repository.js';
import {
  bucketNameSchema,
  type CreateLocationCommand,
  endpointUrlSchema,
  regionSchema,
  secretIdSchema,
  type UpdateLocationCommand,
} from './location.rules.js';
import type { LocationIds } from './location.service.js';

export const LocationRef = builder.objectRef<LocationView>('Location').implement({
  description: "A bucket or container at a provider, reached with one of the team's secrets.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The location id (a UUID).' }),
    name: t.exposeString('name', { description: 'Unique within the team.' }),
    description: t.exposeString('description', {
      nullable: true,
      description: 'Free text for people; null when none was given.',
    }),
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
    createdAt: t.field({
      type: 'DateTime',
      description: 'When the location was created.',
      resolve: (l) => l.createdAt,
    }),
    createdBy: t.exposeID('createdBy', { description: 'The user who created the location.' }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When the last change was made.',
      resolve: (l) => l.updatedAt,
    }),
    updatedBy: t.exposeID('updatedBy', { description: 'The user behind the last change.' }),
  }),
});

/** The location the arguments name (Pothos has validated both ids). */
function locationIds(args: { teamId: string | number; locationId: string | number }): LocationIds {
  return { teamId: validatedId(args.teamId), locationId: validatedId(args.locationId) };
}

const LocationConnection = connectionOf('Location', LocationRef);

const LocationOrderFieldEnum = builder.enumType('LocationOrderField', {
  description: 'What locations can be sorted by.',
  values: ORDER_FIELD_VALUES,
});

const LocationFilter = builder.inputType('LocationFilter', {
  description: 'Narrows the list; every given condition must hold.',
  fields: (t) => ({
    locationType: t.field({ type: SecretTypeEnum, description: 'Only locations of this provider.' }),
    q: t.string({
      validate: z.string().max(255),
      description: 'Case-insensitive search in the name.',
    }),
  }),
});

const LocationOrder = builder.inputType('LocationOrder', {
  description: 'How to sort the locations; ties are broken by id.',
  fields: (t) => ({
    field: t.field({ type: LocationOrderFieldEnum, required: true, description: 'The sort key.' }),
    direction: t.field({ type: SortOrderEnum, description: 'Default DESC.' }),
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

const CreateLocationInput = builder.inputType('CreateLocationInput', {
  description: 'A new location: a bucket at a provider and the secret that reaches it.',
  validate: createLocationFields,
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema, description: 'At most 2000 characters.' }),
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

const UpdateLocationInput = builder.inputType('UpdateLocationInput', {
  description:
    'A partial update: only the fields sent change. An empty input changes nothing. The location type is immutable.',
  validate: updateLocationFields,
  fields: (t) => ({
    name: t.string({
      validate: nameSchema.nullish(),
      description: '1–255 characters, unique in the team. Omitted or null: unchanged.',
    }),
    description: t.string({
      validate: descriptionSchema.nullish(),
      description: 'Omitted: unchanged; null: cleared.',
    }),
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

builder.queryField('location', (t) =>
  t.field({
    type: LocationRef,
    nullable: true,
    description: 'One location of the team, or null when there is none with this id. Needs locations:read.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      id: t.arg.id({ required: true, validate: uuidArg, description: "The location's id (a UUID)." }),
    },
    resolve: async (_, args, ctx) => {
      const ids = locationIds({ teamId: args.teamId, locationId: args.id });
      return nullIfNotFound(async () => ctx.services.locations.get(await ctx.actor(), ids));
    },
  }),
);

builder.queryField('locations', (t) =>
  t.field({
    type: LocationConnection,
    description:
      "The team's locations, newest first unless `orderBy` says otherwise. Needs locations:read. Another team's id is a NOT_FOUND error.",
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      first: t.arg.int({ description: 'Page size, 1–100 (default 50).' }),
      after: t.arg.string({ description: 'The endCursor of the previous page.' }),
      filter: t.arg({ type: LocationFilter, description: 'Omitted: all locations of the team.' }),
      orderBy: t.arg({ type: LocationOrder, description: 'Omitted: newest first.' }),
    },
    resolve: async (_, args, ctx) => {
      const actor = await ctx.actor();
      let offset = 0;
      const readQuery = (): LocationListQuery => {
        const page = pageArgs(args);
        offset = page.offset;
        return {
          ...page,
          sortBy: args.orderBy?.field ?? 'created_at',
          sortOrder: args.orderBy?.direction ?? 'desc',
          q: args.filter?.q || undefined,
          locationType: args.filter?.locationType ?? undefined,
        };
      };
      const page = await translate(
        () => ctx.services.locations.list(actor, validatedId(args.teamId), readQuery),
        argumentPath,
      );
      return connectionFrom(page, offset);
    },
  }),
);

builder.mutationField('createLocation', (t) =>
  t.field({
    type: LocationRef,
    description: 'Creates a location. Needs locations:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      input: t.arg({ type: CreateLocationInput, required: true, description: 'The new location.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateLocationSuccess', description: 'The location was created.' },
      union: {
        name: 'CreateLocationResult',
        description: 'The created location, or why nothing was created.',
      },
      dataField: { name: 'location', description: 'The location, as created.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: CreateLocationCommand = {
        name: input.name,
        description: input.description,
        locationType: input.locationType,
        secretId: String(input.secretId),
        bucketName: input.bucketName,
        region: input.region,
        endpointUrl: input.endpointUrl,
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.locations.create(actor, ctx.meta, validatedId(args.teamId), command),
        commandPathIn(info, args),
      );
    },
  }),
);

builder.mutationField('updateLocation', (t) =>
  t.field({
    type: LocationRef,
    description:
      'Renames, re-describes, or points a location at another bucket, region, endpoint or secret, in one atomic change. Needs locations:update and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      locationId: t.arg.id({ required: true, validate: uuidArg, description: "The location's id (a UUID)." }),
      input: t.arg({ type: UpdateLocationInput, required: true, description: 'The fields to change.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'UpdateLocationSuccess', description: 'The location was updated.' },
      union: {
        name: 'UpdateLocationResult',
        description: 'The updated location, or why nothing was changed.',
      },
      dataField: { name: 'location', description: 'The location, as updated.' },
    },
    resolve: async (_, args, ctx, info) => {
      const { input } = args;
      const command: UpdateLocationCommand = {
        ...(input.name != null && { name: input.name }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.bucketName != null && { bucketName: input.bucketName }),
        ...(input.region !== undefined && { region: input.region }),
        ...(input.endpointUrl !== undefined && { endpointUrl: input.endpointUrl }),
        ...(input.secretId != null && { secretId: String(input.secretId) }),
      };
      const actor = await ctx.actor();
      return mutate(
        ctx,
        info,
        args,
        () => ctx.services.locations.update(actor, ctx.meta, locationIds(args), command),
        commandPathIn(info, args),
      );
    },
  }),
);

builder.mutationField('deleteLocation', (t) =>
  t.field({
    type: 'ID',
    description: 'Deletes a location. Needs locations:delete and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION }),
      locationId: t.arg.id({ required: true, validate: uuidArg, description: "The location's id (a UUID)." }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'DeleteLocationSuccess', description: 'The location was deleted.' },
      union: { name: 'DeleteLocationResult', description: 'The deleted id, or why nothing was deleted.' },
      dataField: { name: 'deletedId', description: 'The id of the deleted location.' },
    },
    resolve: async (_, args, ctx, info) => {
      const actor = await ctx.actor();
      const ids = locationIds(args);
      return mutate(ctx, info, args, async () => {
        await ctx.services.locations.delete(actor, ctx.meta, ids);
        return ids.locationId;
      });
    },
  }),
);

/** A federation entity, keyed by `id`: the caller's own team's only, as the direct query (src/platform/graphql/federation.ts). */
builder.asEntity(LocationRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'Location', id, (actor, ids) => ctx.services.locations.findForActor(actor, ids)),
});

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
