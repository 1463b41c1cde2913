import { authorize, permits } from '../../domain/scopes.js';
import { builder } from '../../platform/graphql/builder.js';
import { loaderFor } from '../../platform/graphql/loaders.js';
import { VaultConnectionRef } from '../vault-connections/vault-connection.graphql.js';
import { SecretRef } from './secret.graphql.js';

/** Secret's connection (batched per request: a list of secrets costs one query) and what its caller may do. */

builder.objectFields(SecretRef, (t) => ({
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
    resolve: async (secret, _, ctx) => permits(await ctx.actor(), secret.teamId, 'secrets:update'),
  }),
}));
