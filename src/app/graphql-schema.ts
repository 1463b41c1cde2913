import { printSubgraphSchema } from '@apollo/subgraph';
import { type GraphQLSchema, isInputObjectType } from 'graphql';
import { builder } from '../platform/graphql/builder.js';
import '../modules/secrets/secret.graphql.js';
import '../modules/locations/location.graphql.js';
import '../modules/vault-connections/vault-connection.graphql.js';
import '../modules/api-keys/api-key.graphql.js';
import '../modules/audit/audit.graphql.js';
import '../modules/secrets/secret-relations.graphql.js';
import '../modules/secrets/secret-history.graphql.js';
import '../modules/teams/team.graphql.js';
import '../modules/events/event.graphql.js';
import '../modules/webhooks/webhook.graphql.js';
import { checkEntityRepresentations } from '../platform/graphql/entity-representations.js';
import { withShield } from '../platform/graphql/shield.js';

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
  checkEntityRepresentations(schema);
  return schema;
}

/**
 * The subgraph SDL that gateways compose and schema.graphql holds. @apollo/subgraph's printer drops
 * `@oneOf`, so it is put back on every oneOf input here.
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

/** What Yoga serves: the subgraph schema behind graphql-shield (src/platform/graphql/shield.ts). */
export function buildExecutableSchema({ introspection = true } = {}): GraphQLSchema {
  return withShield(buildSubgraphSchema(), { introspection });
}
