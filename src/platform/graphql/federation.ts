import { LocationRef } from '../../modules/locations/location.graphql.js';
import { SecretRef } from '../../modules/secrets/secret.graphql.js';
import { VaultConnectionRef } from '../../modules/vault-connections/vault-connection.graphql.js';
import { isUuid } from '../../shared/ids.js';
import type { Actor } from '../../shared/scopes.js';
import { builder, type GraphQLContext } from './builder.js';
import { loaderFor } from './loaders.js';

/**
 * Federation entities, keyed by `id`. A gateway sends only the id, so each reference is loaded for the
 * caller's own team through the same service and scope check as the direct query: another team's id
 * (or an unknown one) resolves to null, and a key without the read scope gets FORBIDDEN.
 */

const idKey = builder.selection<{ id: string }>('id');

/** Batches the request's references of one type into one lookup. */
async function resolveEntity<T>(
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

builder.asEntity(SecretRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'Secret', id, (actor, ids) => ctx.services.secrets.findForActor(actor, ids)),
});

builder.asEntity(LocationRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'Location', id, (actor, ids) => ctx.services.locations.findForActor(actor, ids)),
});

builder.asEntity(VaultConnectionRef, {
  key: idKey,
  resolveReference: ({ id }, ctx) =>
    resolveEntity(ctx, 'VaultConnection', id, (actor, ids) =>
      ctx.services.vaultConnections.findForActor(actor, ids),
    ),
});

export const TeamRef = builder.objectRef<{ id: string }>('Team').implement({
  description:
    'A team: the tenant that owns secrets, locations, vault connections and API keys. Here only its id, for other services to extend.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The team id, as passed in `teamId` arguments.' }),
  }),
});

builder.asEntity(TeamRef, {
  key: idKey,
  // Only the caller's own team resolves; any valid key may see its own team's id.
  resolveReference: async ({ id }, ctx) => {
    const actor = await ctx.actor();
    return String(id).toLowerCase() === actor.teamId ? { id: actor.teamId } : null;
  },
});
