/**
 * The GraphQL door: Yoga with the subgraph schema, its plugins and GraphiQL's page. src/platform/http/server.ts loads
 * this module on the first /graphql request, so a process that only serves REST never loads GraphQL,
 * Yoga or federation (memory and start-up time).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError, type GraphQLSchema, getOperationAST, NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, renderGraphiQL, type YogaServerInstance } from 'graphql-yoga';
import { UnauthenticatedError } from '../../domain/errors.js';
import type { Actor, RequestMeta } from '../../domain/scopes.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { currentRequestId, describeError } from '../logger.js';
import { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import type { GraphQLContext } from './builder.js';
import { toGraphQLError } from './error-types.js';
import { GRAPHIQL_ASSET_PATH, GRAPHIQL_OPTIONS } from './graphiql.js';
import { operationLimitPlugins } from './limits.js';
import { useRedactInputValues } from './redact-input-values.js';

const disableIntrospection: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
};

/** graphql-js suggests names of the schema ("Did you mean …?") in validation and variable errors. */
function withoutSuggestions<E extends Error>(error: E): E | GraphQLError {
  const message = error.message.replace(/ ?Did you mean [^?]*\?/g, '');
  if (message === error.message || !(error instanceof GraphQLError)) return error;
  return new GraphQLError(message, { nodes: error.nodes, path: error.path, extensions: error.extensions });
}

const hideSuggestions: Plugin = {
  onValidate:
    () =>
    ({ result, setResult }) => {
      if (result.length) setResult(result.map(withoutSuggestions));
    },
  onExecute: () => ({
    onExecuteDone({ result, setResult }) {
      if (!(Symbol.asyncIterator in result) && result.errors?.length) {
        setResult({ ...result, errors: result.errors.map(withoutSuggestions) });
      }
    },
  }),
};

/** Counts and times every executed operation by type and (bounded) name: `graphql_operation*` metrics. */
function graphqlMetrics(metrics: Metrics): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const labels = {
        operation_type: operation?.operation ?? 'unknown',
        operation_name: metrics.operationNameLabel(operation?.name?.value),
      };
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          const failed = !(Symbol.asyncIterator in result) && Boolean(result.errors?.length);
          metrics.graphqlOperations.inc({ ...labels, outcome: failed ? 'error' : 'success' });
          metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

/**
 * A subscription asked for without `Accept: text/event-stream` gets Yoga's 406 with a body that says
 * what to send (Yoga's own 406 is empty). Yoga's transports, when one is acceptable, set their
 * processor over this one.
 */
const explainNotAcceptableStream: Plugin = {
  onResultProcess({ result, resultProcessor, setResultProcessor }) {
    if (resultProcessor || !(Symbol.asyncIterator in Object(result))) return;
    setResultProcessor((stream, fetchAPI) => {
      // Nobody will read it: end it now (it holds a subscription slot).
      void (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
      return fetchAPI.Response.json(
        {
          errors: [
            {
              message: 'A subscription is a stream of Server-Sent Events: send Accept: text/event-stream',
              extensions: { code: 'NOT_ACCEPTABLE' },
            },
          ],
        },
        { status: 406, headers: { accept: 'text/event-stream' } },
      );
    }, 'application/json');
  },
};

/**
 * Aborted when the connection closes before the response has finished: the client went away (maybe
 * already, while the request waited for this door to load). The Fetch request's own signal, from
 * @whatwg-node/server's Node adapter, did not abort then: measured.
 */
function clientGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  if (!res.socket || res.socket.destroyed) gone.abort();
  else
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
  return gone.signal;
}

/** Yoga's GraphiQL page with the bundle's CDN addresses pointed at this server and no remote favicon. */
function renderLocalGraphiQL(options: Parameters<typeof renderGraphiQL>[0]): string {
  return renderGraphiQL(options)
    .replace(/https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/]+\/dist\//g, GRAPHIQL_ASSET_PATH)
    .replace(/<link rel=icon href=https:[^>]*>/, '<link rel=icon href="data:,">');
}

/**
 * The GraphiQL page's policy: its inline scripts by hash, scripts and styles from `assets` (this
 * server, or unpkg without the local bundle), Monaco's inline styles, data: fonts and icons, and its
 * workers, which the page builds as blob: URLs from fetched code.
 */
export function graphiqlPolicy(page: string, assets: string): string {
  const hashes = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, code]) =>
      `'sha256-${createHash('sha256')
        .update(code ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src ${assets} ${hashes.join(' ')}`,
    `style-src ${assets} 'unsafe-inline'`,
    `font-src ${assets} data:`,
    "img-src 'self' data:",
    `connect-src ${assets === "'self'" ? assets : `'self' ${assets}`}`,
    'worker-src blob:',
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

type YogaServerContext = { req: IncomingMessage; res: ServerResponse };

/** `graphiqlAssets`: the local GraphiQL bundle's directory, or null to load it from unpkg.com. */
interface DoorOptions {
  config: Pick<Config, 'GRAPHIQL' | 'GRAPHQL_INTROSPECTION'>;
  services: Services;
  logger: Logger;
  schema: GraphQLSchema;
  metrics?: Metrics;
  graphiqlAssets?: string | null;
}

export interface RequestState {
  meta: RequestMeta;
  caller: Actor | Error;
}

/** What the HTTP layer learned about a request (who calls, request facts), read by the GraphQL context. */
const requestState = new WeakMap<IncomingMessage, RequestState>();

export function createYogaServer({
  config,
  services,
  logger,
  schema,
  metrics = new Metrics({ defaultMetrics: false }),
  graphiqlAssets = null,
}: DoorOptions): YogaServerInstance<YogaServerContext, GraphQLContext> {
  return createYoga<YogaServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // src/platform/http/server.ts reads the body within BODY_LIMIT_BYTES (chunked too) and hands it to Yoga as req.body.
    maxRequestBodySize: false,
    landingPage: false,
    // CORS is answered in src/platform/http/server.ts for both doors (CORS_ORIGINS); Yoga's own grants every origin.
    cors: false,
    logging: false,
    graphiql: config.GRAPHIQL ? GRAPHIQL_OPTIONS : false,
    ...(graphiqlAssets ? { renderGraphiQL: renderLocalGraphiQL } : {}),
    plugins: [
      // A page on another site can make a browser send a request without a CORS preflight only with
      // no or a "simple" Content-Type and safelisted headers: such a request runs only when it also
      // carries a header that a browser must preflight (Authorization, as every API key request does).
      useCSRFPrevention({
        requestHeaders: ['authorization', 'x-graphql-yoga-csrf', 'apollo-require-preflight'],
      }),
      useRedactInputValues(),
      explainNotAcceptableStream,
      graphqlMetrics(metrics),
      ...operationLimitPlugins(),
      ...(config.GRAPHQL_INTROSPECTION ? [] : [disableIntrospection, hideSuggestions]),
    ],
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
          return error;
        }
        // The log line carries the request id (logger mixin); so does the error, to quote to operators.
        logger.error({ error: describeError(original ?? error) }, 'unexpected GraphQL error');
        const requestId = currentRequestId();
        return new GraphQLError(message, {
          extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) },
        });
      },
    },
    context: ({ req, res }) => {
      const request = requestState.get(req);
      return {
        services,
        signal: clientGone(res),
        currentActor: () => services.apiKeys.authenticateNow(req.headers.authorization),
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

export interface GraphQLDoor {
  /** Answers a /graphql request (an operation or the GraphiQL page) for what the HTTP layer learned. */
  handle(req: IncomingMessage, res: ServerResponse, state: RequestState): Promise<void>;
  /** The GraphiQL page's Content-Security-Policy. */
  graphiqlCsp: string;
}

export function createGraphQLDoor(options: DoorOptions): GraphQLDoor {
  const yoga = createYogaServer(options);
  return {
    async handle(req, res, state) {
      requestState.set(req, state);
      await yoga.requestListener(req, res);
    },
    graphiqlCsp: options.graphiqlAssets
      ? graphiqlPolicy(renderLocalGraphiQL(GRAPHIQL_OPTIONS), "'self'")
      : graphiqlPolicy(renderGraphiQL(GRAPHIQL_OPTIONS), 'https://unpkg.com'),
  };
}
