import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { type SnakeCase, snakeCase } from '../../domain/names.js';

/** Every timestamp column: timestamptz with millisecond precision (what JavaScript dates hold). */
export const timestamp = () => p.datetime().columnType('timestamptz(3)');

/** An entity whose rows record when they were created: its `properties`, then `createdAt`. */
export function defineEntityWithCreatedAt<const Properties extends Record<string, unknown>>(
  name: string,
  tableName: string,
  properties: Properties,
) {
  return defineEntity({ name, tableName, properties: { ...properties, createdAt: timestamp() } });
}

/** A new row's authorship: created and last changed by `userId`, now. */
export function authoredBy(userId: string) {
  const now = new Date();
  return { createdAt: now, createdBy: userId, updatedAt: now, updatedBy: userId };
}

/**
 * A new named resource's columns of `namedColumns` and `authorshipColumns`: its id (a new one unless
 * given), team, name and description, created by `userId` now.
 */
export function newNamedResource(
  teamId: string,
  { name, description }: { name: string; description?: string | null },
  userId: string,
  id: string = randomUUID(),
) {
  return { id, teamId, name, description: description ?? null, ...authoredBy(userId) };
}

/** A changed row's last-change columns: by `userId`, now. */
export function changedBy(userId: string) {
  return { updatedAt: new Date(), updatedBy: userId };
}

/** The columns every named resource of a team starts with (secrets, locations, vault connections, webhooks). */
const namedColumns = () => ({
  id: p.uuid().primary(),
  teamId: p.uuid(),
  name: p.string().length(255),
  description: p.text().nullable(),
});

/** The columns every named resource ends with: `authoredBy` and `changedBy` set them. */
const authorshipColumns = () => ({
  createdAt: timestamp(),
  createdBy: p.uuid(),
  updatedAt: timestamp(),
  updatedBy: p.uuid(),
});

/** A named resource's entity: `namedColumns`, then its own `properties`, then `authorshipColumns`. */
export function defineNamedResource<const Properties extends Record<string, unknown>>(
  name: string,
  tableName: string,
  properties: Properties,
) {
  return defineEntity({
    name,
    tableName,
    properties: { ...namedColumns(), ...properties, ...authorshipColumns() },
  });
}

/** What the doors show of those columns. */
export interface NamedResourceView {
  id: string;
  teamId: string;
  name: string;
  description: string | null;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

/** Those fields in the order views show them. */
const NAMED_RESOURCE_FIELDS = [
  'id',
  'teamId',
  'name',
  'description',
  'createdAt',
  'createdBy',
  'updatedAt',
  'updatedBy',
] as const satisfies readonly (keyof NamedResourceView)[];

/** A view's fields as a tuned statement returns them: the same values under snake_case column names. */
export type RowOf<View> = { [F in keyof View & string as SnakeCase<F>]: View[F] };

/** An entity's value as a view shows it: null where the entity has none. */
type Shown<Value> = Exclude<Value, undefined> | (undefined extends Value ? null : never);
/** The id of a referenced entity (null where there is none). */
type IdOf<Reference> = Shown<Reference> extends infer R ? (R extends { id: infer Id } ? Id : R) : never;

/** The view of a named resource kind of entity `Entity` with its own `Fields`, `References` naming ids. */
type ResourceView<Entity, Fields extends readonly string[], References> = NamedResourceView & {
  [F in Fields[number]]: F extends keyof References
    ? IdOf<Entity[References[F] & keyof Entity]>
    : Shown<Entity[F & keyof Entity]>;
};

/**
 * A named resource kind's views, from one list of its own view fields (`fields`, in order, after the
 * named resource's). `view` renders an entity: a missing value as null, a field of `references` as
 * the id of the entity it names (`secretId`: the location's `secret`). `fromRow` renders a tuned
 * statement's row: each field from its snake_case column (`secret_id`), no other column (a row may
 * hold credentials). The column names are computed here, once: `fromRow` is on the read path.
 */
export const namedResourceViews =
  <Entity extends object>() =>
  <
    const Fields extends readonly ((keyof Entity | keyof References) & string)[],
    const References extends Record<string, keyof Entity & string> = Record<never, never>,
  >(
    fields: Fields,
    references: References = {} as References,
  ) => {
    type View = ResourceView<Entity, Fields, References>;
    const names: readonly string[] = [...NAMED_RESOURCE_FIELDS, ...fields];
    const properties = names.map((name) => references[name] ?? name);
    const referenced = names.map((name) => name in references);
    const columns = names.map(snakeCase);
    return {
      view(entity: Entity): View {
        const read = entity as Record<string, unknown>;
        const view: Record<string, unknown> = {};
        for (let i = 0; i < names.length; i++) {
          const value = read[properties[i]!];
          view[names[i]!] =
            (referenced[i] ? (value as { id: unknown } | null | undefined)?.id : value) ?? null;
        }
        return view as View;
      },
      fromRow(row: RowOf<View>): View {
        const read = row as Record<string, unknown>;
        const view: Record<string, unknown> = {};
        for (let i = 0; i < names.length; i++) view[names[i]!] = read[columns[i]!];
        return view as View;
      },
    };
  };

/** The named resource's part of a view: `namedResourceViews` with no fields of its own. */
export const namedResourceView = namedResourceViews<
  Omit<NamedResourceView, 'description'> & { description?: string | null }
>()([]).view;
