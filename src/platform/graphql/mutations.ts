import type { ArgBuilder, InputObjectRef } from '@pothos/core';
import { camelCase } from '../../domain/names.js';
import type { Actor } from '../../domain/scopes.js';
import { type BuilderTypes, builder, type GraphQLContext } from './builder.js';
import { deletedResult, wrappedResult } from './error-types.js';
import { idempotencyKeyArg, mutate } from './idempotency.js';
import { resourceArgs, resourceIds } from './ids.js';
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
      args: {
        ...resourceArgs(t.arg, ...options.id),
        idempotencyKey: idempotencyKeyArg(t.arg),
      },
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
