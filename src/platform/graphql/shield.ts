import { createRequire } from 'node:module';
import { GraphQLError, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import type { IRule } from 'graphql-shield';

import { assertPermitted, type Scope } from '../../domain/scopes.js';
import type { GraphQLContext } from './builder.js';
import { toGraphQLError } from './error-types.js';

// graphql-shield's ES module build (7.6.5, its last release) imports `isUndefined` from `util`, which
// Node 23 removed: on Node 24 it fails to load. Its CommonJS build reads it only inside `chain` and
// `race`, which we do not use.
const { allow, deny, rule, shield } = createRequire(import.meta.url)(
  'graphql-shield',
) as typeof import('graphql-shield');

/** The scope each root field needs (its minimum role comes with it: `SCOPE_MIN_ROLE`). */
export const ROOT_FIELD_SCOPES: Record<'Query' | 'Mutation' | 'Subscription', Record<string, Scope>> = {
  Query: {
    secret: 'secrets:read',
    secrets: 'secrets:read',
    location: 'locations:read',
    locations: 'locations:read',
    vaultConnection: 'vault_connections:read',
    vaultConnections: 'vault_connections:read',
    apiKey: 'api_keys:read',
    apiKeys: 'api_keys:read',
    auditEvents: 'audit:read',
    webhook: 'webhooks:read',
    webhooks: 'webhooks:read',
    webhookDeliveries: 'webhooks:read',
  },
  Mutation: {
    createSecret: 'secrets:create',
    updateSecret: 'secrets:update',
    rollbackSecret: 'secrets:update',
    deleteSecret: 'secrets:delete',
    createLocation: 'locations:create',
    updateLocation: 'locations:update',
    deleteLocation: 'locations:delete',
    createVaultConnection: 'vault_connections:create',
    updateVaultConnection: 'vault_connections:update',
    rotateVaultConnection: 'vault_connections:update',
    deleteVaultConnection: 'vault_connections:delete',
    createApiKey: 'api_keys:create',
    rotateApiKey: 'api_keys:create',
    revokeApiKey: 'api_keys:delete',
    deleteApiKey: 'api_keys:delete',
    createWebhook: 'webhooks:create',
    updateWebhook: 'webhooks:update',
    deleteWebhook: 'webhooks:delete',
  },
  Subscription: {
    secretEvents: 'secrets:read',
  },
};

/** The scope the root field `type.field` needs; throws for a field `ROOT_FIELD_SCOPES` does not list. */
export function rootFieldScope(type: keyof typeof ROOT_FIELD_SCOPES, field: string): Scope {
  const scope = ROOT_FIELD_SCOPES[type][field];
  if (!scope) throw new Error(`No scope for ${type}.${field} in ROOT_FIELD_SCOPES`);
  return scope;
}

/**
 * Rules return their refusal as a GraphQLError with its code: shield turns a thrown error into its
 * fallback, which would hide why.
 */
async function refusal(check: () => Promise<unknown>) {
  try {
    await check();
    return true;
  } catch (error) {
    return toGraphQLError(error) ?? false;
  }
}

const authenticated = rule('authenticated')((_parent, _args, ctx: GraphQLContext) =>
  refusal(() => ctx.actor()),
);

/** A rule per root field (shield tells rules apart by name): authenticated, with the field's scope and role. */
function rulesFor(type: keyof typeof ROOT_FIELD_SCOPES): Record<string, IRule> {
  return Object.fromEntries(
    Object.entries(ROOT_FIELD_SCOPES[type]).map(([field, scope]) => [
      field,
      rule(`${type}.${field} needs ${scope}`)((_parent, args, ctx: GraphQLContext) =>
        refusal(async () => {
          const actor = await ctx.actor();
          // Another team's id: the resolver answers NotFound, as REST does (the team before the scope).
          if (typeof args.teamId === 'string' && args.teamId.toLowerCase() !== actor.teamId) return;
          assertPermitted(actor, scope);
        }),
      ),
    ]),
  );
}

/**
 * The GraphQL door's authorization (graphql-shield), on the root fields only: every other field
 * keeps its plain, synchronous resolver (shield over the whole schema made every resolver async:
 * 6.4× the CPU of a 50-row list). A key is authenticated and permitted (scope, role) here; the team
 * is checked by the service, which knows it. `_entities` needs a valid key (each type's lookup checks
 * its scope); `_service` needs one only with introspection off. Unlisted root fields are denied.
 */
export function withShield(
  schema: GraphQLSchema,
  { introspection }: { introspection: boolean },
): GraphQLSchema {
  const middleware = shield(
    {
      Query: {
        ...rulesFor('Query'),
        _entities: authenticated,
        _service: introspection ? allow : authenticated,
      },
      Mutation: rulesFor('Mutation'),
      Subscription: rulesFor('Subscription'),
    },
    {
      fallbackRule: deny,
      fallbackError: new GraphQLError('Not permitted', { extensions: { code: 'FORBIDDEN' } }),
      allowExternalErrors: true,
    },
  ).generate(schema);
  const rootTypes = [schema.getQueryType()?.name, schema.getMutationType()?.name];
  const rootOnly = Object.fromEntries(
    Object.entries(middleware).filter(([type]) => rootTypes.includes(type)),
  );
  const shielded = applyMiddleware(schema, rootOnly);
  guardSubscriptions(shielded, middleware);
  return shielded;
}

type FieldMiddleware = (
  resolve: GraphQLFieldResolver<unknown, unknown>,
  ...args: Parameters<GraphQLFieldResolver<unknown, unknown>>
) => unknown;

/**
 * Subscription fields get their rule where the stream is opened (`subscribe`): graphql-middleware
 * wraps a field's `resolve` when it has one, which for a subscription runs once per event, after the
 * stream has been opened without a check.
 */
function guardSubscriptions(
  schema: GraphQLSchema,
  middleware: ReturnType<ReturnType<typeof shield>['generate']>,
) {
  const rules = (middleware as Record<string, Record<string, FieldMiddleware | { resolve: FieldMiddleware }>>)
    .Subscription;
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const rule = rules?.[field.name];
    const subscribe = field.subscribe;
    if (!rule || !subscribe) throw new Error(`Subscription.${field.name} has no rule or no subscribe`);
    const check = typeof rule === 'function' ? rule : rule.resolve;
    field.subscribe = (parent, args, ctx, info) => check(subscribe, parent, args, ctx, info);
  }
}
