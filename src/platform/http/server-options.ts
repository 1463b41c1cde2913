import type { Services } from '../../app/services.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** What the HTTP server and the GraphQL door it builds on first use are given. */
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
}
