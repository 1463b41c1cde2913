import { builder } from '../../platform/graphql/builder.js';
import { idKey } from '../../platform/graphql/federation.js';

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
