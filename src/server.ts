import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate } from './auth/authenticate.js';
import type { Actor, RequestMeta } from './auth/scopes.js';
import type { Config } from './config.js';
import { UnauthenticatedError } from './domain/errors.js';
import type { GraphQLContext } from './graphql/builder.js';
import { toGraphQLError, withoutInputValues } from './graphql/error-types.js';
import { buildExecutableSchema } from './graphql/schema.js';
import { RateLimiter, rateLimitHeaders } from './http/rate-limit.js';
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

/** Validation errors quote literal input values, which may be credentials: cut them out. */
const redactValidationErrors: Plugin = {
  onValidate:
    () =>
    ({ result, setResult }) => {
      if (result.length)
        setResult(result.map((e) => (e instanceof GraphQLError ? withoutInputValues(e) : e)));
    },
};

const disableIntrospection: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
};

export interface ServerOptions {
  config: Pick<
    Config,
    | 'GRAPHIQL'
    | 'GRAPHQL_INTROSPECTION'
    | 'BODY_LIMIT_BYTES'
    | 'RATE_LIMIT_PER_MINUTE'
    | 'RATE_LIMIT_IP_PER_MINUTE'
  >;
  services: Services;
  logger: Logger;
}

type YogaServerContext = { req: IncomingMessage; res: ServerResponse };

/** What the HTTP layer learned about a request (who calls, request facts), read by the GraphQL context. */
const requestState = new WeakMap<IncomingMessage, { meta: RequestMeta; caller: Actor | Error }>();

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
    plugins: config.GRAPHQL_INTROSPECTION
      ? [redactValidationErrors]
      : [redactValidationErrors, disableIntrospection],
    maskedErrors: {
      maskError(error, message) {
        const original = (error as { originalError?: unknown }).originalError;
        const known = toGraphQLError(original ?? error);
        if (known && error instanceof GraphQLError) {
          // Keep where in the operation it happened (locations, path).
          return new GraphQLError(known.message, {
            nodes: error.nodes,
            path: error.path,
            extensions: known.extensions,
          });
        }
        if (known) return known;
        // Errors of the request itself (syntax, validation, variables) are the client's to see.
        if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) {
          return withoutInputValues(error);
        }
        logger.error({ error: describeError(original ?? error) }, 'unexpected GraphQL error');
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
    context: ({ req }) => {
      const request = requestState.get(req);
      return {
        services,
        meta: request?.meta ?? { requestId: 'unknown', ip: null, userAgent: null },
        actor: async () => {
          const caller = request?.caller ?? new UnauthenticatedError();
          if (caller instanceof Error) throw caller;
          return caller;
        },
      };
    },
  });
}

/** One node:http server: health endpoints, GraphQL (Yoga) and the REST shim. */
export function createHttpServer(options: ServerOptions & { ready: () => Promise<void> }): Server {
  const { services, logger, config } = options;
  const yoga = createYogaServer(options);
  const rest = new RestRouter(restRoutes(services), config.BODY_LIMIT_BYTES, services.idempotency);
  const perKey = new RateLimiter(config.RATE_LIMIT_PER_MINUTE);
  const perIp = new RateLimiter(config.RATE_LIMIT_IP_PER_MINUTE);

  /** Rate limits (per client IP, then per API key) and authentication, the same for both doors. */
  async function admit(
    req: IncomingMessage,
    res: ServerResponse,
    meta: RequestMeta,
  ): Promise<Actor | Error | null> {
    let decision = perIp.enabled ? perIp.hit(`ip:${meta.ip}`) : undefined;
    let caller: Actor | Error = new UnauthenticatedError();
    if (decision?.allowed !== false && req.headers.authorization) {
      caller = await authenticate(services.orm.em.fork(), req.headers.authorization).catch(
        (error: Error) => error,
      );
      if (!(caller instanceof Error) && perKey.enabled) decision = perKey.hit(`key:${caller.apiKeyId}`);
    }
    if (!decision) return caller;
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
    if (decision.allowed) return caller;
    const message = `Rate limit exceeded: at most ${decision.limit} requests per minute. Retry after the Retry-After seconds.`;
    send(res, { status: 429, body: { detail: message, error: 'Rate limit exceeded', message } });
    return null;
  }

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
      const isGraphQL = url.pathname === '/graphql';
      if (!isGraphQL && !url.pathname.startsWith('/v1/'))
        return send(res, { status: 404, body: { detail: 'Not Found' } });
      const caller = await admit(req, res, meta);
      if (caller === null) return;
      if (isGraphQL) {
        const tooLarge = graphqlBodyProblem(req, config.BODY_LIMIT_BYTES);
        if (tooLarge) return send(res, tooLarge);
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
        requestState.set(req, { meta, caller });
        await yoga.requestListener(req, res);
        return;
      }
      return send(res, await rest.handle(req, url, meta, caller));
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

/** Yoga reads GraphQL bodies itself, so their size is checked up front: a declared length within the limit. */
function graphqlBodyProblem(req: IncomingMessage, limit: number): RestResponse | null {
  if (req.method !== 'POST') return null;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return { status: 411, body: { detail: 'GraphQL POST requests need a Content-Length header' } };
  }
  if (Number(length) > limit) {
    return { status: 413, body: { detail: 'Request body too large' }, headers: { connection: 'close' } };
  }
  return null;
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
