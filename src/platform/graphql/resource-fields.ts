import type { FieldMap, InputFieldMap } from '@pothos/core';
import { descriptionSchema, nameSchema } from '../../domain/names.js';
import { type BuilderTypes, builder, type InputFieldBuilder } from './builder.js';

/** Fields several object types share word for word, apart from the resource's name. */

type FieldBuilder<T> = PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, T>;

type NamedResource = { id: string; name: string; description?: string | null };
type ChangeTracked = { createdAt: Date; createdBy: string; updatedAt: Date; updatedBy: string };

/** `id`, `name` (unique in the team) and `description` of a named resource: `namedFields(t, 'location')`. */
export function namedFields<T extends NamedResource>(t: FieldBuilder<T>, resource: string) {
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
export function changeTrackingFields<T extends ChangeTracked>(
  t: FieldBuilder<T>,
  resource: string,
  lastChange = 'change',
  lastChangeBy = lastChange,
) {
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

/** The properties of `T` that hold a time, or none. */
type OptionalTimeKey<T> = { [K in keyof T]: T[K] extends Date | null | undefined ? K : never }[keyof T];

/** Nullable DateTime fields, from a table of `{ property: description }`: each reads its property (absent: null). */
export function nullableTimeFields<T>(
  t: FieldBuilder<T>,
  descriptions: Partial<Record<OptionalTimeKey<T>, string>>,
) {
  return Object.fromEntries(
    Object.entries<string | undefined>(descriptions).map(([property, description]) => [
      property,
      t.field({
        type: 'DateTime',
        nullable: true,
        description,
        resolve: (parent) => (parent[property as keyof T] as Date | null | undefined) ?? null,
      }),
    ]),
  );
}

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

/** A named resource's change tracking, when `changeTrackingFields` words it otherwise than the type. */
interface ChangeWording {
  resource?: string;
  lastChange?: string;
  lastChangeBy?: string;
}

/**
 * A named resource's object type: `namedFields`, the type's own `fields`, `changeTrackingFields`;
 * `resource` names it in their descriptions (`changes`: otherwise in the change tracking).
 */
export function namedResourceType<T extends NamedResource & ChangeTracked>(
  name: string,
  options: {
    description: string;
    resource: string;
    changes?: ChangeWording;
    fields: (t: FieldBuilder<T>) => FieldMap;
  },
) {
  const { resource, changes = {} } = options;
  return builder.objectRef<T>(name).implement({
    description: options.description,
    fields: (t) => ({
      ...namedFields(t, resource),
      ...options.fields(t),
      ...changeTrackingFields(t, changes.resource ?? resource, changes.lastChange, changes.lastChangeBy),
    }),
  });
}

/** A named resource's input: its description, a check of its fields together (`validate`), its own fields. */
interface NamedInputOptions<Fields extends InputFieldMap> {
  description: string;
  validate?: PothosSchemaTypes.InputObjectTypeOptions<BuilderTypes, Fields>['validate'];
  fields: (t: InputFieldBuilder) => Fields;
}

/** A create input: `namedInputFields`, then the input's own fields. */
export function namedCreateInput<Fields extends InputFieldMap>(
  name: string,
  options: NamedInputOptions<Fields>,
) {
  return builder.inputType(name, {
    ...options,
    fields: (t) => ({ ...namedInputFields(t), ...options.fields(t) }),
  });
}

/** An update input: `namedPatchFields` (`nameDescription`: how its `name` is described), then its own fields. */
export function namedPatchInput<Fields extends InputFieldMap = Record<string, never>>(
  name: string,
  options: {
    description: string;
    validate?: NamedInputOptions<Fields>['validate'];
    nameDescription?: string;
    fields?: (t: InputFieldBuilder) => Fields;
  },
) {
  const { nameDescription, fields = () => ({}) as Fields, ...input } = options;
  return builder.inputType(name, {
    ...input,
    fields: (t) => ({ ...namedPatchFields(t, nameDescription), ...fields(t) }),
  });
}
