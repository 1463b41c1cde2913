import { type GraphQLSchema, lexicographicSortSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, rule, shield } from 'graphql-shield';
import { builder, type GraphQLContext } from './builder.js';
import { toGraphQLError } from './error-types.js';
import './secret-schema.js';
import './location-schema.js';
import './vault-connection-schema.js';
import './api-key-schema.js';
import './audit-schema.js';
import './secret-relations.js';

/** The Pothos schema as written (printed to schema.graphql). */
export function buildSchema(): GraphQLSchema {
  return builder.toSchema({ sortSchema: false });
}

/** Coarse rule at the door: every operation needs a valid API key. Scopes and roles are checked by the services. */
const isAuthenticated = rule({ cache: 'contextual' })(async (_parent, _args, ctx: GraphQLContext) => {
  try {
    await ctx.actor();
    return true;
  } catch (error) {
    return toGraphQLError(error) ?? (error as Error);
  }
});

export function buildExecutableSchema(): GraphQLSchema {
  return applyMiddleware(
    buildSchema(),
    shield(
      { Query: { '*': isAuthenticated }, Mutation: { '*': isAuthenticated } },
      { allowExternalErrors: true, fallbackRule: allow },
    ),
  );
}

export function printableSchema(): GraphQLSchema {
  return lexicographicSortSchema(buildSchema());
}
