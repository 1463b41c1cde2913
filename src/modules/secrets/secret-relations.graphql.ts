import { builder } from '../../platform/graphql/builder.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { type Actor, authorize } from '../../shared/scopes.js';
import { LocationRef } from '../locations/location.graphql.js';
import { VaultConnectionRef } from '../vault-connections/vault-connection.graphql.js';
import { SecretRef } from './secret.graphql.js';

/** Secret's relations, each batched per request so a list of secrets costs one query per relation. */

builder.objectFields(SecretRef, (t) => ({
  locations: t.field({
    type: [LocationRef],
    description:
      'The locations that use this secret, by name. Needs locations:read (else FORBIDDEN on this field).',
    resolve: async (secret, _, ctx) => {
      const actor = await ctx.actor();
      const teamId = secret.teamId;
      const loader = loaderFor(ctx, `locations-by-secret:${teamId}`, (ids: string[]) =>
        ctx.services.locations.bySecrets(actor, teamId, ids),
      );
      return (await loader.load(secret.id)) ?? [];
    },
  }),
  vaultConnection: t.field({
    type: VaultConnectionRef,
    nullable: true,
    description: 'The external vault, for EXTERNAL_VAULT secrets. Needs vault_connections:read.',
    resolve: async (secret, _, ctx) => {
      if (!secret.vaultConnectionId) return null;
      const actor = await ctx.actor();
      authorize(actor, secret.teamId, 'vault_connections:read');
      const loader = loaderFor(ctx, 'vaultConnectionById', (ids: string[]) =>
        ctx.services.vaultConnections.findForActor(actor, ids),
      );
      return (await loader.load(secret.vaultConnectionId)) ?? null;
    },
  }),
  viewerCanUpdate: t.boolean({
    description:
      'Whether the calling API key may update this secret (scope secrets:update and role admin or above).',
    resolve: async (secret, _, ctx) => canDo(await ctx.actor(), secret.teamId),
  }),
}));

function canDo(actor: Actor, teamId: string): boolean {
  try {
    authorize(actor, teamId, 'secrets:update');
    return true;
  } catch {
    return false;
  }
}
