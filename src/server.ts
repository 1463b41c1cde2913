import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate } from './auth/authenticate.js';
import type { Actor, RequestMeta } from './auth/scopes.js';
import type { Config } from './config.js';
import type { GraphQLContext } from './graphql/builder.js';
import { toGraphQLError } from './graphql/error-types.js';
import { buildExecutableSchema } from './graphql/schema.js';
import { type RestResponse, restError } from './http/rest-errors.js';
import { PayloadTooLargeError, RestRouter } from './http/rest-router.js';
import { restRoutes } from './http/rest-routes.js';
import type { Logger } from './logger.js';
import type { Services } from './services.js';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const DEFAULT_QUERY = `# Set the header {"Authorization": "Bearer dr_..."} below, put your team and secret ids in, and run.
mutation RenameSecret {
  updateSecret(
    teamId: "00000000-0000-0000-0000-000000000000"
    secretId: "00000000-0000-0000-0000-000000000000"
    input: { name: "renamed-secret" }
  ) {
    __typename
    ... on UpdateSecretSuccess { secret { id name version updatedAt } }
    ... on Error { message }
    ... on ValidationError { issues { path message code } }
  }
}
`;

const disableIntrospection: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
};

export interface ServerOptions {
  config: Pick<Config, 'GRAPHIQL' | 'GRAPHQL_INTROSPECTION' | 'BODY_LIMIT_BYTES'>;
  services: Services;
  logger: Logger;
}

type YogaServerContext = { req: IncomingMessage; res: ServerResponse };

/** Request facts made by the HTTP layer, read by the GraphQL context. */
const requestMeta = new WeakMap<IncomingMessage, RequestMeta>();

export function createYogaServer({
  config,
  services,
  logger,
}: ServerOptions): YogaServerInstance<YogaServerContext, GraphQLContext> {
  return createYoga<YogaServerContext, GraphQLContext>({
    schema: buildExecutableSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    graphiql: config.GRAPHIQL
      ? {
          title: 'Cloud storage secrets',
          defaultQuery: DEFAULT_QUERY,
          headers: '{"Authorization": "Bearer dr_..."}',
        }
      : false,
    plugins: config.GRAPHQL_INTROSPECTION ? [] : [disableIntrospection],
    maskedErrors: {
      maskError(error, message) {
        const original = (error as { originalError?: unknown }).originalError ?? error;
        const known = toGraphQLError(original);
        if (known) return known;
        if ((error as { extensions?: { code?: string } }).extensions?.code === 'UNAUTHENTICATED')
          return error as Error;
        logger.error({ error: describeError(original) }, 'unexpected GraphQL error');
        return new Error(message);
      },
    },
    context: ({ req }) => {
      let actor: Promise<Actor> | undefined;
      return {
        services,
        meta: requestMeta.get(req) ?? { requestId: 'unknown', ip: null, userAgent: null },
        actor: () => {
          actor ??= authenticate(services.orm.em.fork(), req.headers.authorization);
          return actor;
        },
      };
    },
  });
}

/** One node:http server: health endpoints, GraphQL (Yoga) and the REST shim. */
export function createHttpServer(options: ServerOptions & { ready: () => Promise<void> }): Server {
  const { services, logger } = options;
  const yoga = createYogaServer(options);
  const rest = new RestRouter(restRoutes(services), services.orm, options.config.BODY_LIMIT_BYTES);

  return createServer(async (req, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.on('finish', () => {
      logger.info(
        {
          reqId: requestId,
          method: req.method,
          path: url.pathname,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'request',
      );
    });
    const meta: RequestMeta = {
      requestId,
      ip: req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    };
    try {
      if (url.pathname === '/healthz') return send(res, { status: 200, body: { status: 'ok' } });
      if (url.pathname === '/readyz') {
        try {
          await options.ready();
          return send(res, { status: 200, body: { status: 'ready' } });
        } catch (error) {
          logger.warn({ reqId: requestId, error: describeError(error) }, 'not ready');
          return send(res, { status: 503, body: { status: 'unavailable' } });
        }
      }
      if (url.pathname === '/graphql') {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
        requestMeta.set(req, meta);
        await yoga.requestListener(req, res);
        return;
      }
      if (url.pathname.startsWith('/v1/')) return send(res, await rest.handle(req, url, meta));
      return send(res, { status: 404, body: { detail: 'Not Found' } });
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        return send(res, {
          status: 413,
          body: { detail: 'Request body too large' },
          headers: { connection: 'close' },
        });
      }
      const known = restError(error);
      if (known) return send(res, known);
      logger.error({ reqId: requestId, error: describeError(error) }, 'unexpected error');
      return send(res, { status: 500, body: { detail: 'Internal server error', request_id: requestId } });
    }
  });
}

function send(res: ServerResponse, response: RestResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...SECURITY_HEADERS,
    ...(payload ? { 'content-type': 'application/json' } : {}),
    ...response.headers,
  });
  res.end(payload);
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
}

/** What the log may say about an error: its kind and a bounded message, never request data. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  return {
    type: error.name,
    message: error.message.slice(0, 300),
    code: (error as { code?: unknown }).code,
    stack: error.stack?.split('\n').slice(1, 6).join('\n'),
  };
}
