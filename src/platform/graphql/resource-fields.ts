import { descriptionSchema, nameSchema } from '../../domain/names.js';
import type { BuilderTypes } from './builder.js';

/** Fields several object types share word for word, apart from the resource's name. */

type FieldBuilder<T> = PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, T>;

/** `id`, `name` (unique in the team) and `description` of a named resource: `namedFields(t, 'location')`. */
export function namedFields<T extends { id: string; name: string; description?: string | null }>(
  t: FieldBuilder<T>,
  resource: string,
) {
  return {
    id: t.id({ description: `The ${resource} id (a UUID).`, resolve: (r) => r.id }),
    name: t.string({ description: 'Unique within the team.', resolve: (r) => r.name }),
    description: t.string({
      nullable: true,
      description: 'Free text for people; null when none was given.',
      resolve: (r) => r.description ?? null,
    }),
  };
}

/**
 * `createdAt`, `createdBy`, `updatedAt`, `updatedBy`: when and by whom the resource was created and
 * last changed (`lastChange` and `lastChangeBy` name that change, e.g. 'accepted change').
 */
export function changeTrackingFields<
  T extends { createdAt: Date; createdBy: string; updatedAt: Date; updatedBy: string },
>(t: FieldBuilder<T>, resource: string, lastChange = 'change', lastChangeBy = lastChange) {
  return {
    createdAt: t.field({
      type: 'DateTime',
      description: `When the ${resource} was created.`,
      resolve: (r) => r.createdAt,
    }),
    createdBy: t.id({ description: `The user who created the ${resource}.`, resolve: (r) => r.createdBy }),
    updatedAt: t.field({
      type: 'DateTime',
      description: `When the last ${lastChange} was made.`,
      resolve: (r) => r.updatedAt,
    }),
    updatedBy: t.id({
      description: `The user behind the last ${lastChangeBy}.`,
      resolve: (r) => r.updatedBy,
    }),
  };
}

type InputFieldBuilder = PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>;

/** `name` and `description` of a create input. */
export function namedInputFields(t: InputFieldBuilder) {
  return {
    name: t.string({
      required: true,
      validate: nameSchema,
      description: '1–255 characters, unique in the team.',
    }),
    description: t.string({ validate: descriptionSchema, description: 'At most 2000 characters.' }),
  };
}

/** `name` (null: unchanged) and `description` (null: cleared) of an update input. */
export function namedPatchFields(t: InputFieldBuilder, nameDescription = 'Omitted or null: unchanged.') {
  return {
    name: t.string({ validate: nameSchema.nullish(), description: nameDescription }),
    description: t.string({
      validate: descriptionSchema.nullish(),
      description: 'Omitted: unchanged; null: cleared.',
    }),
  };
}
