import type { ObjectRef } from '@pothos/core';
import { isUuid } from '../../domain/ids.js';
import type { Actor } from '../../domain/scopes.js';
import { type BuilderTypes, builder, type GraphQLContext } from './builder.js';
import { loaderFor } from './loaders.js';

/**
 * Federation entities, keyed by `id`. A gateway sends only the id, so each reference is loaded for the
 * caller's own team through the same service and scope check as the direct query: another team's id
 * (or an unknown one) resolves to null, and a key without the read scope gets FORBIDDEN.
 */

export const idKey = builder.selection<{ id: string }>('id');

/** Batches the request's references of one type into one lookup. */
export async function resolveEntity<T>(
  ctx: GraphQLContext,
  type: string,
  id: string,
  find: (actor: Actor, ids: string[]) => Promise<Map<string, T>>,
): Promise<T | null> {
  const actor = await ctx.actor();
  // A representation's id is the gateway's input: anything but a UUID names nothing.
  if (!isUuid(id)) return null;
  const loader = loaderFor(ctx, `entities:${type}`, (ids: string[]) => find(actor, ids));
  return (await loader.load(id.toLowerCase())) ?? null;
}

/** Makes `ref` a federation entity keyed by `id`, found through the direct query's lookup (`find`). */
export function asTeamEntity<T>(
  ref: ObjectRef<BuilderTypes, T>,
  find: (ctx: GraphQLContext, actor: Actor, ids: string[]) => Promise<Map<string, T>>,
): void {
  builder.asEntity(ref, {
    key: idKey,
    resolveReference: ({ id }, ctx) =>
      resolveEntity(ctx, ref.name, id, (actor, ids) => find(ctx, actor, ids)),
  });
}
