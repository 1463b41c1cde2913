import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { Actor } from '../../domain/scopes.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import type { Route } from './rest-router.js';

/** Answers GET /openapi.json and /docs[/asset]. */
export type ApiDocsHandler = (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;

/** What the HTTP server and the GraphQL door it builds on first use are given (by src/app/app.ts). */
export interface ServerOptions {
  config: Pick<
    Config,
    | 'GRAPHIQL'
    | 'GRAPHQL_INTROSPECTION'
    | 'BODY_LIMIT_BYTES'
    | 'RATE_LIMIT_PER_MINUTE'
    | 'RATE_LIMIT_IP_PER_MINUTE'
  > &
    Partial<Pick<Config, 'CORS_ORIGINS'>>;
  services: Services;
  logger: Logger;
  /** Where request, GraphQL and `/metrics` figures go; a private registry when omitted. */
  metrics?: Metrics;
  /** The caller an `Authorization` header names, for both doors; rejects when it names no valid key. */
  authenticate(authorization: string): Promise<Actor>;
  /** The REST shim's routes. */
  routes: Route[];
  /** The executable GraphQL schema, loaded on the first /graphql request (the door is built lazily). */
  loadGraphQLSchema(): Promise<GraphQLSchema>;
  /** The /openapi.json and /docs handler, loaded on the first such request. */
  loadApiDocs(): Promise<ApiDocsHandler>;
}
