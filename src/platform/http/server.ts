import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import cors from 'cors';
import { BadRequestError, UnauthenticatedError } from '../../domain/errors.js';
import type { Actor, RequestMeta } from '../../domain/scopes.js';
import type { GraphQLDoor } from '../graphql/door.js';
import { GRAPHIQL_ASSET_PATH, graphiqlAssetsDir, serveGraphiQLAsset } from '../graphql/graphiql.js';
import { describeError, requestContext } from '../logger.js';
import { Metrics } from '../metrics.js';
import { RateLimiter, rateLimitHeaders } from './rate-limit.js';
import { type RestResponse, restError } from './rest-errors.js';
import { RestRouter } from './rest-router.js';
import type { ServerOptions } from './server-options.js';

/**
 * On every response (the /docs and GraphiQL pages and their assets replace the policy and caching).
 * API answers are data, never documents: nothing may load into or frame them. No
 * Strict-Transport-Security: this server speaks plain HTTP behind whatever terminates TLS, which
 * owns that header (browsers ignore it over HTTP).
 */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

/** One node:http server: health endpoints, GraphQL (Yoga) and the REST shim. */
export function createHttpServer(options: ServerOptions & { ready: () => Promise<void> }): Server {
  const { services, logger, config } = options;
  const metrics = options.metrics ?? new Metrics();
  const graphiqlAssets = config.GRAPHIQL ? graphiqlAssetsDir() : null;
  /** Built on the first /graphql request (see src/platform/graphql/door.ts). */
  const graphql = loadedOnFirstUse(async (): Promise<GraphQLDoor> => {
    const [door, schema] = await Promise.all([import('../graphql/door.js'), options.loadGraphQLSchema()]);
    return door.createGraphQLDoor({ ...options, schema, metrics, graphiqlAssets });
  });
  /** Loaded on the first /openapi.json or /docs request. */
  const apiDocs = loadedOnFirstUse(options.loadApiDocs);
  const rest = new RestRouter(options.routes, services.idempotency);
  const answerCors = corsFor(config.CORS_ORIGINS ?? []);

  /** The `route` label of a request: a fixed name or a REST route template, never a path with ids. */
  function routeLabel(method: string | undefined, pathname: string): string {
    if (['/graphql', '/healthz', '/readyz', '/metrics', '/openapi.json'].includes(pathname)) return pathname;
    if (pathname.startsWith('/docs')) return '/docs';
    if (graphiqlAssets && pathname.startsWith(GRAPHIQL_ASSET_PATH)) return '/graphiql/:asset';
    if (pathname.startsWith('/v1/')) return rest.templateOf(method, pathname) ?? 'other';
    return 'other';
  }
  const perKey = new RateLimiter(config.RATE_LIMIT_PER_MINUTE, services.orm, logger);
  const perIp = new RateLimiter(config.RATE_LIMIT_IP_PER_MINUTE, services.orm, logger);

  /** Rate limits (per client IP, then per API key) and authentication, the same for both doors. */
  async function admit(
    req: IncomingMessage,
    res: ServerResponse,
    meta: RequestMeta,
  ): Promise<Actor | Error | null> {
    let decision = perIp.enabled ? await perIp.hit(`ip:${meta.ip}`) : undefined;
    let caller: Actor | Error | undefined;
    const authorization = req.headers.authorization;
    if (decision?.allowed !== false && authorization) {
      try {
        caller = await options.authenticate(authorization);
      } catch (error) {
        caller = error as Error;
      }
      if (!(caller instanceof Error) && perKey.enabled) decision = await perKey.hit(`key:${caller.apiKeyId}`);
    }
    // Built only when needed: most requests carry a key.
    caller ??= new UnauthenticatedError();
    if (!decision) return caller;
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
    if (decision.allowed) return caller;
    const message = `Rate limit exceeded: at most ${decision.limit} requests per minute. Retry after the Retry-After seconds.`;
    send(res, { status: 429, body: { detail: message, error: 'Rate limit exceeded', message } });
    return null;
  }

  /** One request, run inside its request context, so every log line written meanwhile carries `reqId`. */
  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const started = performance.now();
    res.setHeader('x-request-id', requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://localhost');
    // 'close', not 'finish': a stream the client left (a subscription) never finishes, and counts too.
    res.once('close', () => {
      const elapsed = performance.now() - started;
      if (logger.isLevelEnabled('info')) {
        logger.info(
          {
            reqId: requestId,
            method: req.method,
            path: url.pathname,
            status: res.statusCode,
            ms: Math.round(elapsed * 10) / 10,
          },
          'request',
        );
      }
      // A stream (a subscription) lasts as long as its client wants: counted, but not a latency.
      const streamed = String(res.getHeader('content-type') ?? '').startsWith('text/event-stream');
      metrics.observeHttpRequest(
        req.method,
        routeLabel(req.method, url.pathname),
        res.statusCode,
        streamed ? null : elapsed / 1000,
      );
    });
    const meta: RequestMeta = {
      requestId,
      ip: req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    };
    try {
      if (url.pathname === '/healthz') return send(res, { status: 200, body: { status: 'ok' } });
      if (url.pathname === '/openapi.json' || url.pathname.startsWith('/docs'))
        return await (await apiDocs())(req, res, url.pathname);
      if (url.pathname === '/readyz') {
        try {
          await options.ready();
          return send(res, { status: 200, body: { status: 'ready' } });
        } catch (error) {
          logger.warn({ reqId: requestId, error: describeError(error) }, 'not ready');
          return send(res, { status: 503, body: { status: 'unavailable' } });
        }
      }
      // Unauthenticated, like the health endpoints: expose it to the scraper, not the internet (README).
      if (url.pathname === '/metrics') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          return send(res, {
            status: 405,
            body: { detail: 'Method Not Allowed' },
            headers: { allow: 'GET, HEAD' },
          });
        }
        const scraped = await metrics.scrape();
        res.writeHead(200, {
          'content-type': scraped.contentType,
          'content-length': Buffer.byteLength(scraped.body),
        });
        res.end(req.method === 'HEAD' ? undefined : scraped.body);
        return;
      }
      if (graphiqlAssets && url.pathname.startsWith(GRAPHIQL_ASSET_PATH)) {
        return serveGraphiQLAsset(req, res, graphiqlAssets, url.pathname);
      }
      const isGraphQL = url.pathname === '/graphql';
      if (!isGraphQL && !url.pathname.startsWith('/v1/'))
        return send(res, { status: 404, body: { detail: 'Not Found' } });
      // A granted preflight is answered before rate limits and authentication (it carries no key).
      if (answerCors?.(req, res)) return;
      const caller = await admit(req, res, meta);
      if (caller === null) return;
      if (isGraphQL) {
        const graphiqlPage = config.GRAPHIQL && shouldRenderGraphiQL(req);
        const problem = req.method === 'POST' ? await readGraphQLBody(req, config.BODY_LIMIT_BYTES) : null;
        if (problem) return send(res, problem);
        const door = await graphql();
        if (graphiqlPage) res.setHeader('content-security-policy', door.graphiqlCsp);
        await door.handle(req, res, { meta, caller });
        return;
      }
      const body = () => readBody(req, config.BODY_LIMIT_BYTES);
      return send(res, await rest.handle(req, url, meta, caller, body));
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
  };

  const inFlight = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    // Draining (closeGracefully): a request that still arrives on an open connection ends it.
    if (!server.listening) closeConnectionAfter(res);
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    const requestId = requestIdOf(req);
    void requestContext.run({ reqId: requestId }, handle, req, res, requestId);
  });
  inFlightResponses.set(server, inFlight);
  return server;
}

/** `load`, called once and its result kept; a failed load is forgotten, so the next call tries again. */
function loadedOnFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

const inFlightResponses = new WeakMap<Server, Set<ServerResponse>>();

/**
 * Graceful shutdown: stops accepting connections at once, closes idle keep-alive connections, lets
 * every in-flight request finish and answers it with `Connection: close` (so a keep-alive client
 * does not hold the process up), and resolves once the last connection has closed.
 */
export function closeGracefully(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const res of inFlightResponses.get(server) ?? []) closeConnectionAfter(res);
    server.closeIdleConnections();
  });
}

/**
 * Ends the response's connection once the response is sent: `Connection: close` while headers can
 * still say so, and the socket ended after the last byte all the same (a response whose headers were
 * sent, or that says keep-alive itself, as Server-Sent Events do).
 */
function closeConnectionAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  // Taken now: the response lets go of its socket as it finishes.
  const socket = res.socket;
  res.once('finish', () => socket?.end());
}

/** A request body over BODY_LIMIT_BYTES: 413. */
class PayloadTooLargeError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as text, for either door: refused as soon as its declared Content-Length or the
 * bytes received so far (a chunked body declares none) pass `limit`, and unless it is UTF-8 (decoded
 * with replacement characters, it would store what the client never sent).
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length']) > limit) throw new PayloadTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError();
    chunks.push(chunk);
  }
  try {
    return utf8.decode(Buffer.concat(chunks, size));
  } catch {
    throw new BadRequestError('The request body must be UTF-8 text');
  }
}

/**
 * Reads a GraphQL POST body into `req.body`, which Yoga's Node adapter (@whatwg-node/server) takes
 * as the body instead of reading the stream; or the request error to answer, shaped as Yoga's own.
 */
async function readGraphQLBody(req: IncomingMessage, limit: number): Promise<RestResponse | null> {
  try {
    (req as IncomingMessage & { body?: string }).body = await readBody(req, limit);
    return null;
  } catch (error) {
    if (error instanceof PayloadTooLargeError) {
      const refusal = graphqlRequestError(req, 413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body too large');
      return { ...refusal, headers: { ...refusal.headers, connection: 'close' } };
    }
    if (error instanceof BadRequestError) return graphqlRequestError(req, 400, 'BAD_REQUEST', error.message);
    throw error;
  }
}

/** A GraphQL-over-HTTP request error, in the media type the client accepts. */
function graphqlRequestError(
  req: IncomingMessage,
  status: number,
  code: string,
  message: string,
): RestResponse {
  const type = req.headers.accept?.includes('application/graphql-response+json')
    ? 'application/graphql-response+json'
    : 'application/json';
  return {
    status,
    body: { errors: [{ message, extensions: { code } }] },
    headers: { 'content-type': `${type}; charset=utf-8` },
  };
}

/**
 * What a page on an origin in CORS_ORIGINS may do through the doors: send an API key, JSON and the
 * headers the doors read, and read the headers they answer with. No credentials (cookies): the
 * API key is a header. Browsers may keep a granted preflight for 10 minutes.
 */
const CORS_POLICY = {
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
  allowedHeaders: [
    'Authorization',
    'Content-Type',
    'Idempotency-Key',
    'If-Match',
    'X-Request-Id',
    'X-GraphQL-Yoga-CSRF',
    'Apollo-Require-Preflight',
  ],
  exposedHeaders: [
    'ETag',
    'Idempotent-Replayed',
    'Retry-After',
    'WWW-Authenticate',
    'X-Request-Id',
    'X-RateLimit-Limit',
    'X-RateLimit-Remaining',
    'X-RateLimit-Reset',
  ],
  credentials: false,
  maxAge: 600,
};

/**
 * CORS for the doors: null without allowed origins (no CORS header at all). Otherwise a function that
 * adds the headers for a request from an allowed origin (and `Vary: Origin` to every answer), and
 * returns true when it answered the request itself: a preflight from an allowed origin (204). Any
 * other request, a preflight from another origin included, goes on as it would without CORS.
 */
function corsFor(
  origins: readonly string[],
): ((req: IncomingMessage, res: ServerResponse) => boolean) | null {
  if (origins.length === 0) return null;
  const allowed = new Set(origins);
  const middleware = cors({
    ...CORS_POLICY,
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) && origin),
  });
  return (req, res) => {
    res.setHeader('vary', 'Origin');
    // With these options `cors` answers or calls back at once: no need to wait.
    middleware(req, res, () => {});
    return res.writableEnded;
  };
}

/** Yoga answers these with the GraphiQL page, and runs nothing. */
function shouldRenderGraphiQL(req: IncomingMessage): boolean {
  return req.method === 'GET' && Boolean(req.headers.accept?.includes('text/html'));
}

function send(res: ServerResponse, response: RestResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    // Stated, not left to chunked encoding: a HEAD answer (no body) says the GET answer's length.
    ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
    ...response.headers,
  });
  res.end(payload);
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
}
