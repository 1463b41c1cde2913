import type { Location } from '../entities/index.js';
import { descriptionSchema, nameSchema } from '../secrets/secret-rules.js';
import { builder } from './builder.js';
import { SecretTypeEnum } from './enums.js';
import { MUTATION_ERRORS, translate } from './error-types.js';
import { uuidArg } from './secret-schema.js';

export const LocationRef = builder.objectRef<Location>('Location').implement({
  description: "A bucket or container at a provider, reached with one of the team's secrets.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.string({ nullable: true, resolve: (l) => l.description ?? null }),
    locationType: t.field({ type: SecretTypeEnum, resolve: (l) => l.locationType }),
    secretId: t.exposeID('secretId'),
    bucketName: t.exposeString('bucketName'),
    region: t.string({ nullable: true, resolve: (l) => l.region ?? null }),
    endpointUrl: t.string({ nullable: true, resolve: (l) => l.endpointUrl ?? null }),
    createdAt: t.field({ type: 'DateTime', resolve: (l) => l.createdAt }),
    createdBy: t.exposeID('createdBy'),
    updatedAt: t.field({ type: 'DateTime', resolve: (l) => l.updatedAt }),
    updatedBy: t.exposeID('updatedBy'),
  }),
});

const CreateLocationInput = builder.inputType('CreateLocationInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema }),
    locationType: t.field({ type: SecretTypeEnum, required: true }),
    secretId: t.id({
      required: true,
      description: 'A secret of the team whose secretType equals locationType.',
    }),
    bucketName: t.string({ required: true }),
    region: t.string(),
    endpointUrl: t.string({
      description: 'Required for S3_COMPATIBLE; accepted only by S3-style providers.',
    }),
  }),
});

builder.mutationField('createLocation', (t) =>
  t.field({
    type: LocationRef,
    description: 'Creates a location. Needs locations:create and admin.',
    args: {
      teamId: t.arg.id({ required: true, validate: uuidArg }),
      input: t.arg({ type: CreateLocationInput, required: true }),
    },
    errors: {
      types: MUTATION_ERRORS,
      result: { name: 'CreateLocationSuccess' },
      union: { name: 'CreateLocationResult' },
      dataField: { name: 'location' },
    },
    resolve: async (_, { teamId, input }, ctx) => {
      const actor = await ctx.actor();
      return translate(() =>
        ctx.services.locations.create(actor, ctx.meta, String(teamId), {
          name: input.name,
          description: input.description,
          location_type: input.locationType,
          secret_id: String(input.secretId),
          bucket_name: input.bucketName,
          region: input.region,
          endpoint_url: input.endpointUrl,
        }),
      );
    },
  }),
);
