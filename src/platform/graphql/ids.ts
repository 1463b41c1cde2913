import type { ArgBuilder, ObjectRef } from '@pothos/core';
import { z } from 'zod';
import { UUID_PATTERN } from '../../domain/validation.js';
import type { TeamGet } from '../team-resource-service.js';
import { type BuilderTypes, builder, type GraphQLContext } from './builder.js';
import { nullIfNotFound } from './error-types.js';
import { rootFieldScope } from './shield.js';

/** An id argument's check (with `validate`): a UUID, any case, else the REST shim's `uuid_parsing`. */
export const uuidArg = z.string().refine((v) => UUID_PATTERN.test(v), {
  message: 'Input should be a valid UUID',
  params: { code: 'uuid_parsing' },
});

export const TEAM_ID_DESCRIPTION =
  "The team (a UUID). It must be the API key's own team: any other reads as not found.";

/** The `teamId` argument of every root field. */
export const teamIdArg = (arg: ArgBuilder<BuilderTypes>) =>
  arg.id({ required: true, validate: uuidArg, description: TEAM_ID_DESCRIPTION });

/** The id argument naming one resource of the team: `resourceIdArg(t.arg, 'location')`. */
export const resourceIdArg = (arg: ArgBuilder<BuilderTypes>, resource: string) =>
  arg.id({ required: true, validate: uuidArg, description: `The ${resource}'s id (a UUID).` });

/** An id argument `uuidArg` has validated, as the services take it (lower case). */
export function validatedId(id: string | number): string {
  return String(id).toLowerCase();
}

/** `teamId` and the id argument `Id`, as `resourceArgs` returns them. */
export type ResourceArgs<Id extends string> = { teamId: ReturnType<typeof teamIdArg> } & {
  [K in Id]: ReturnType<typeof resourceIdArg>;
};

/** `teamId`, then the id argument `id` naming one `resource` of the team: `resourceArgs(t.arg, 'locationId', 'location')`. */
export function resourceArgs<Id extends string>(
  arg: ArgBuilder<BuilderTypes>,
  id: Id,
  resource: string,
): ResourceArgs<Id> {
  return { teamId: teamIdArg(arg), [id]: resourceIdArg(arg, resource) } as ResourceArgs<Id>;
}

/**
 * The ids the arguments name as the service takes them (Pothos has validated both):
 * `resourceIds(args, 'id', 'connectionId')` reads the `id` argument as `connectionId`.
 */
export function resourceIds<Arg extends string, Key extends string = Arg>(
  args: { teamId: string } & { [K in Arg]: string },
  arg: Arg,
  key: Key = arg as unknown as Key,
): { teamId: string } & { [K in Key]: string } {
  return { teamId: validatedId(args.teamId), [key]: validatedId(args[arg]) } as never;
}

/**
 * An id argument naming one resource of the team: the argument, the resource as descriptions name it,
 * and the key the services take the id as when it is not the argument's name:
 * `['locationId', 'location']`, `['id', 'API key', 'apiKeyId']`.
 */
export type ResourceIdArg = readonly [arg: string, resource: string, key?: string];

/** The ids a `ResourceIdArg` names, as the services take them: `{ teamId, locationId }`. */
export type IdsOf<Id extends ResourceIdArg> = { teamId: string } & {
  [K in Id extends readonly [string, string, infer Key extends string] ? Key : Id[0]]: string;
};

/** `resourceIds` for a `ResourceIdArg`. */
export function idsOf<const Id extends ResourceIdArg>(
  args: Record<string, string>,
  [arg, , key]: Id,
): IdsOf<Id> {
  return resourceIds(args as { teamId: string } & Record<string, string>, arg, key ?? arg) as IdsOf<Id>;
}

/**
 * `name(teamId, id)`, a root field that reads one `resource` of the team by id (`secret`, `location`,
 * ...): null when there is none with this id, or the team is not the caller's, rather than an error.
 * `read` is the resource's service, whose `get` takes the ids as `{ teamId, <key> }`.
 */
export function lookupField<T, const Key extends string>(
  name: string,
  type: ObjectRef<BuilderTypes, T>,
  [resource, key]: readonly [resource: string, key: Key],
  read: (ctx: GraphQLContext) => TeamGet<IdsOf<['id', string, Key]>, T>,
) {
  builder.queryField(name, (t) =>
    t.field({
      type,
      nullable: true,
      description: `One ${resource} of the team, or null when there is none with this id. Needs ${rootFieldScope('Query', name)}.`,
      args: resourceArgs(t.arg, 'id', resource),
      resolve: (_, args, ctx) => {
        const ids = idsOf(args, ['id', resource, key]);
        // Pothos types a resolver's result by whether T is a list, which it cannot decide for a type
        // parameter: the promise is a `T | null`, what `nullable: true` of `type` asks for.
        return nullIfNotFound(async () => read(ctx).get(await ctx.actor(), ids)) as never;
      },
    }),
  );
}
