import type { ArgBuilder, InputObjectRef } from '@pothos/core';
import { camelCase } from '../../domain/names.js';
import type { Actor } from '../../domain/scopes.js';
import { type BuilderTypes, builder, type GraphQLContext } from './builder.js';
import { deletedResult, wrappedResult } from './error-types.js';
import { idempotencyKeyArg, mutate } from './idempotency.js';
import { type ResourceArgs, resourceArgs, resourceIds, teamIdArg } from './ids.js';
import { ROOT_FIELD_SCOPES } from './shield.js';

/** The pieces every mutation of a team's resources is made of, worded alike across the schema. */

/** A mutation's required `input` argument. */
export function inputArg<Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  type: InputObjectRef<BuilderTypes, Fields>,
  description: string,
) {
  return arg({ type, required: true, description });
}

type IdempotencyKeyArg = { idempotencyKey: ReturnType<typeof idempotencyKeyArg> };

/** A create mutation's arguments: `teamId`, `input` and `idempotencyKey` (`note`: what differs for this one). */
export function createArgs<Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  input: InputObjectRef<BuilderTypes, Fields>,
  description: string,
  idempotencyNote?: string,
) {
  return {
    teamId: teamIdArg(arg),
    input: inputArg(arg, input, description),
    idempotencyKey: idempotencyKeyArg(arg, idempotencyNote),
  };
}

/** The arguments of a mutation of one resource: `teamId`, the id argument naming it, `idempotencyKey`. */
export function resourceMutationArgs<const Id extends string>(
  arg: ArgBuilder<BuilderTypes>,
  [id, resource]: [arg: Id, resource: string],
  idempotencyNote?: string,
): ResourceArgs<Id> & IdempotencyKeyArg {
  return { ...resourceArgs(arg, id, resource), idempotencyKey: idempotencyKeyArg(arg, idempotencyNote) };
}

/** A change mutation's arguments: `resourceMutationArgs` with the `input` (the fields to change) before the key. */
export function changeArgs<const Id extends string, Fields extends object>(
  arg: ArgBuilder<BuilderTypes>,
  id: [arg: Id, resource: string],
  input: InputObjectRef<BuilderTypes, Fields>,
  description = 'The fields to change.',
): ResourceArgs<Id> & { input: ReturnType<typeof inputArg<Fields>> } & IdempotencyKeyArg {
  return {
    ...resourceArgs(arg, ...id),
    input: inputArg(arg, input, description),
    idempotencyKey: idempotencyKeyArg(arg),
  };
}

/**
 * `<name>Result` of a mutation whose payload is the resource it has `verb` (created, updated,
 * revoked): `changedResult('UpdateLocation', 'location', 'updated')`.
 */
export function changedResult(
  name: string,
  resource: string,
  verb: 'created' | 'updated' | 'revoked',
  dataDescription = `The ${resource}, as ${verb}.`,
) {
  return wrappedResult(name, {
    success: `The ${resource} was ${verb}.`,
    union: `The ${verb} ${resource}, or why nothing was ${verb === 'created' ? 'created' : 'changed'}.`,
    data: [camelCase(resource.toLowerCase().replaceAll(' ', '_')), dataDescription],
  });
}

/**
 * `name(teamId, <id>, idempotencyKey)`, e.g. `deleteLocation`: removes one `resource` of the team
 * and returns its id (`DeleteLocationResult`). `what` says what it removes; the scope is added.
 */
export function deleteField(
  name: `delete${string}`,
  options: {
    /** The id argument and the resource it names: `['locationId', 'location']`. */
    id: [arg: string, resource: string];
    what: string;
    remove(ctx: GraphQLContext, actor: Actor, ids: { teamId: string; id: string }): Promise<void>;
  },
) {
  builder.mutationField(name, (t) =>
    t.field({
      type: 'ID',
      description: `${options.what} Needs ${ROOT_FIELD_SCOPES.Mutation[name]} and admin.`,
      args: resourceMutationArgs(t.arg, options.id),
      errors: deletedResult(name.slice('delete'.length), options.id[1]),
      resolve: (_, args, ctx, info) => {
        const ids = resourceIds(args as Record<string, string> & { teamId: string }, options.id[0], 'id');
        return mutate(ctx, info, args, async (actor) => {
          await options.remove(ctx, actor, ids);
          return ids.id;
        });
      },
    }),
  );
}
