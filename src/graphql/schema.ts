import { printSubgraphSchema } from '@apollo/subgraph';
import {
  defaultFieldResolver,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  isInputObjectType,
} from 'graphql';
import { builder, type GraphQLContext } from './builder.js';
import { toGraphQLError } from './error-types.js';
import './secret-schema.js';
import './location-schema.js';
import './vault-connection-schema.js';
import './api-key-schema.js';
import './audit-schema.js';
import './secret-relations.js';
import './secret-history-schema.js';
import './federation.js';

export const FEDERATION_LINK_URL = 'https://specs.apollo.dev/federation/v2.6';

/**
 * The federation v2 subgraph schema (sorted): our types with `@key` on the entities, plus `_service`
 * and `_entities`. `_service { sdl }` answers with {@link printSubgraphSdl}, which keeps `@oneOf`.
 */
export function buildSubgraphSchema(): GraphQLSchema {
  const schema = builder.toSubGraphSchema({ linkUrl: FEDERATION_LINK_URL, federationDirectives: ['@key'] });
  const sdl = printSubgraphSdl(schema);
  const service = schema.getQueryType()?.getFields()._service;
  if (!service) throw new Error('The subgraph schema has no Query._service');
  service.resolve = () => ({ sdl });
  return schema;
}

/**
 * The subgraph SDL that gateways compose and schema.graphql holds. @apollo/subgraph prints no `@oneOf`
 * (stack notes, gotcha 5), so it is put back on every oneOf input here.
 */
export function printSubgraphSdl(schema: GraphQLSchema = buildSubgraphSchema()): string {
  let sdl = printSubgraphSchema(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isInputObjectType(type) || !type.isOneOf) continue;
    const header = new RegExp(`^input ${type.name} \\{$`, 'm');
    if (!header.test(sdl)) throw new Error(`Cannot mark input ${type.name} @oneOf in the printed SDL`);
    sdl = sdl.replace(header, `input ${type.name} @oneOf {`);
  }
  return sdl;
}

/**
 * What Yoga serves: the subgraph schema with a coarse rule at the door: every root field needs a valid
 * API key (scopes and roles are checked by the services), `_entities` included. `_service` needs one
 * only with introspection off: a gateway reads the SDL to compose, and sends its key where the schema
 * is not public. Only root fields are wrapped, so every other field keeps its plain (synchronous)
 * resolver.
 */
export function buildExecutableSchema({ introspection = true } = {}): GraphQLSchema {
  const schema = buildSubgraphSchema();
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      if (field.name === '_service' && introspection) continue;
      field.resolve = authenticated(field.resolve ?? defaultFieldResolver);
    }
  }
  return schema;
}

function authenticated(
  resolve: GraphQLFieldResolver<unknown, GraphQLContext>,
): GraphQLFieldResolver<unknown, GraphQLContext> {
  return async (parent, args, ctx, info) => {
    try {
      await ctx.actor();
    } catch (error) {
      throw toGraphQLError(error) ?? error;
    }
    return resolve(parent, args, ctx, info);
  };
}
