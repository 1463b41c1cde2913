import { printSubgraphSchema } from '@apollo/subgraph';
import { type GraphQLSchema, isInputObjectType } from 'graphql';
import { builder } from './builder.js';
import './secret-schema.js';
import './location-schema.js';
import './vault-connection-schema.js';
import './api-key-schema.js';
import './audit-schema.js';
import './secret-relations.js';
import './secret-history-schema.js';
import './federation.js';
import { checkEntityRepresentations } from './entity-representations.js';
import { withShield } from './shield.js';

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

/** What Yoga serves: the subgraph schema behind graphql-shield (src/graphql/shield.ts). */
export function buildExecutableSchema({ introspection = true } = {}): GraphQLSchema {
  return withShield(buildSubgraphSchema(), { introspection });
}
