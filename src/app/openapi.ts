/**
 * The OpenAPI 3.1 document of the REST shim, generated from the registered routes: request bodies and
 * query strings from the zod schemas that validate them, response bodies from the zod schemas that type
 * the views (`Route.doc`, see rest-docs.ts). Served at GET /openapi.json; GET /docs renders it.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { capitalized } from '../domain/names.js';
import { CREDENTIAL_SHAPES } from '../domain/providers.js';
import { SCOPE_MIN_ROLE } from '../domain/scopes.js';
import { plainObject, UUID_PATTERN } from '../domain/validation.js';
import { CREDENTIAL_VALUE_MAX } from '../modules/secrets/secret.rules.js';
import { docsAsset, sendDocsAsset } from '../platform/http/docs.js';
import {
  errorResponseSchema,
  internalErrorResponseSchema,
  type ResponseDoc,
  type ResponseHeader,
  rateLimitedResponseSchema,
  validationErrorResponseSchema,
} from '../platform/http/rest-docs.js';
import type { Route } from '../platform/http/rest-router.js';
import { restRoutes } from './rest-routes.js';
import type { Services } from './services.js';

export type JsonSchema = { [key: string]: unknown };

export interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security: { [scheme: string]: string[] }[];
  parameters?: {
    name: string;
    in: 'path' | 'query' | 'header';
    required: boolean;
    description?: string;
    schema: JsonSchema;
  }[];
  requestBody?: { required: boolean; content: { [mediaType: string]: { schema: JsonSchema } } };
  responses: { [status: string]: OpenApiResponse | { $ref: string } };
  'x-undocumented'?: true;
}

export interface OpenApiResponse {
  description: string;
  headers?: { [name: string]: JsonSchema };
  content?: { [mediaType: string]: { schema: JsonSchema } };
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string; description: string }[];
  paths: { [path: string]: { [method: string]: OpenApiOperation } };
  components: {
    schemas: { [name: string]: JsonSchema };
    responses: { [name: string]: OpenApiResponse };
    headers: { [name: string]: JsonSchema };
    securitySchemes: { [name: string]: JsonSchema };
  };
}

/**
 * The registered REST routes, for what they declare (method, path, doc) without a running service:
 * every service is a stand-in that throws when a handler uses it, so the handlers must not be called.
 */
export function restRouteDefinitions(): Route[] {
  const fail = (): never => {
    throw new Error('restRouteDefinitions(): these routes are for documentation; their handlers cannot run');
  };
  const unavailable = new Proxy(fail, { get: fail, apply: fail });
  return restRoutes(new Proxy({}, { get: () => unavailable }) as Services);
}

const BEARER = 'bearerAuth';

const TAGS = [
  {
    name: 'Secrets',
    description: 'Cloud storage credentials: native (kept in the credential store) or external vault.',
  },
  { name: 'Locations', description: 'Buckets and containers, each reached with one of the team’s secrets.' },
  {
    name: 'Vault connections',
    description: 'External vaults (1Password, Doppler, Infisical) that secrets read from.',
  },
  { name: 'API keys', description: 'Keys of the team, each acting for the member who created it.' },
  { name: 'Audit log', description: 'Every change, append-only.' },
  {
    name: 'Webhooks',
    description: "Endpoints the team's change events are POSTed to, signed (see docs/events.md).",
  },
  { name: 'Service', description: 'Health, readiness and this document. No API key needed.' },
];

/** An X-RateLimit-* header: a count, sent only when rate limits are on. */
function rateLimitHeader(description: string) {
  return {
    description: `${description} Sent when rate limits are on.`,
    required: false,
    schema: { type: 'integer', minimum: 0 },
  };
}

/** Response headers, each with whether a response that names it always sends it (overridable per use). */
const HEADERS: Record<
  ResponseHeader | RateLimitHeader | 'X-Request-Id',
  { description: string; required: boolean; schema: JsonSchema }
> = {
  'X-Request-Id': {
    description:
      "The request's id: the client's X-Request-Id when it is 1–64 of [A-Za-z0-9._-], else a new UUID.",
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 64 },
  },
  'X-RateLimit-Limit': rateLimitHeader(
    'Requests allowed per minute (per API key; per client IP until the key is known).',
  ),
  'X-RateLimit-Remaining': rateLimitHeader('Requests left in the current minute.'),
  'X-RateLimit-Reset': rateLimitHeader('When the current window ends, in Unix seconds.'),
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  ETag: {
    description:
      'The secret’s version, quoted (`"3"`). Send it back as If-Match to change only that version.',
    required: true,
    schema: { type: 'string', pattern: '^"\\d+"$' },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme.',
    required: true,
    schema: { type: 'string', const: 'Bearer' },
  },
  'Idempotent-Replayed': {
    description: 'Present on the stored response of an earlier request with the same Idempotency-Key.',
    required: false,
    schema: { type: 'string', const: 'true' },
  },
};
type RateLimitHeader = 'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset';
const RATE_LIMIT_HEADERS: RateLimitHeader[] = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

const IDEMPOTENCY_KEY =
  'Optional: 1–255 visible ASCII characters. A retry with the same key and request gets the first response again (Idempotent-Replayed: true) for 24 hours; the same key with another request is 422.';
const IDEMPOTENCY_CONFLICT =
  'A request with the same Idempotency-Key is still in progress, or its response held a one-time secret.';

/** Builds the document; `routes` defaults to every registered route. */
export function buildOpenApiDocument(routes: Route[] = restRouteDefinitions()): OpenApiDocument {
  const components = new SchemaComponents();
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = route.path.replace(/:([a-z_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(route, components);
  }
  Object.assign(paths, publicOperations(components));
  const responses = Object.fromEntries(
    Object.entries(SHARED_RESPONSES).map(([name, response]) => [
      name,
      responseObject(response, name, components),
    ]),
  );
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Cloud storage secrets',
      version: packageVersion(),
      description:
        'The REST shim: DataRaven’s public v1 Secrets API, so its callers can point here unchanged. Errors are FastAPI-style: `{"detail": "..."}`, and 422 `{"detail": [{"loc", "msg", "type"}]}`. GraphQL (`/graphql`) is the primary API; both doors share one behaviour.',
    },
    servers: [{ url: '/' }],
    tags: TAGS,
    paths,
    components: {
      schemas: components.schemas,
      responses,
      headers: HEADERS,
      securitySchemes: {
        [BEARER]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'dr_<key_id>_<secret>',
          description:
            'An API key, `Authorization: Bearer dr_<key_id>_<secret>` (key_id: 12 alphanumeric characters; secret: 256 random bits, URL-safe base64). A request is allowed when the key carries the operation’s scope and its creator’s role reaches the scope’s minimum role (reads: viewer; writes: admin).',
        },
      },
    },
  };
}

function operationOf(route: Route, components: SchemaComponents): OpenApiOperation {
  const doc = route.doc;
  const write = route.method !== 'GET';
  const hasBody = route.method === 'POST' || route.method === 'PATCH';
  const pathParams = [...route.path.matchAll(/:([a-z_]+)/g)].map(([, name = '']) => ({
    name,
    in: 'path' as const,
    required: true,
    description: describePathParam(name),
    schema: (() => {
      const param = doc?.params?.[name];
      return param ? components.convert(param, 'input') : { type: 'string', format: 'uuid' };
    })(),
  }));
  if (!doc) {
    // Still in the document (a client can see it exists); the OpenAPI test fails until it is documented.
    return {
      security: [{ [BEARER]: [] }],
      parameters: pathParams,
      responses: { default: { description: 'Undocumented: this route has no `doc`.' } },
      'x-undocumented': true,
    };
  }
  const name = capitalized(doc.operationId);
  const role = SCOPE_MIN_ROLE[doc.scope];
  const parameters: NonNullable<OpenApiOperation['parameters']> = [...pathParams];
  if (doc.query) parameters.push(...queryParameters(doc.query, components));
  const headers = { ...doc.requestHeaders, ...(write ? { 'Idempotency-Key': IDEMPOTENCY_KEY } : {}) };
  for (const [header, description] of Object.entries(headers)) {
    parameters.push({ name: header, in: 'header', required: false, description, schema: { type: 'string' } });
  }

  const common: Record<number, ResponseDoc | string> = {
    401: 'Unauthorized',
    403: {
      description: `The API key lacks the scope \`${doc.scope}\`, or its creator is no longer a member or has a role below \`${role}\`.`,
      schema: errorResponseSchema,
    },
    404: { description: "The team is not the API key's team.", schema: errorResponseSchema },
    422: 'ValidationFailed',
    429: 'RateLimited',
    500: 'InternalError',
    503: 'DatabaseBusy',
  };
  if (hasBody) {
    Object.assign(common, { 400: 'NotAJsonObject', 413: 'PayloadTooLarge' });
  }
  if (write) common[409] = { description: IDEMPOTENCY_CONFLICT, schema: errorResponseSchema };
  const merged: Record<number, ResponseDoc | string> = { ...common, ...doc.responses };
  if (write && doc.responses[409]) {
    merged[409] = {
      ...doc.responses[409],
      description: `${doc.responses[409].description} Or: ${IDEMPOTENCY_CONFLICT}`,
    };
  }

  const responses: OpenApiOperation['responses'] = {};
  const statuses = Object.keys(merged)
    .map(Number)
    .sort((a, b) => a - b);
  const successes = statuses.filter((status) => status < 300);
  for (const status of statuses) {
    const response = merged[status];
    if (response === undefined) continue;
    if (typeof response === 'string') {
      responses[status] = { $ref: `#/components/responses/${response}` };
      continue;
    }
    const schemaName =
      successes.length === 1 && status < 300 ? `${name}Response` : `${name}${status}Response`;
    const replayable = write && status < 300;
    responses[status] = responseObject(
      replayable
        ? { ...response, headers: { 'Idempotent-Replayed': 'sometimes', ...response.headers } }
        : response,
      schemaName,
      components,
    );
  }

  const access = `Needs an API key with the scope \`${doc.scope}\` whose creator has the role \`${role}\` or higher.`;
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description ? `${doc.description}\n\n${access}` : access,
    tags: doc.tags,
    security: [{ [BEARER]: [doc.scope] }],
    parameters,
    ...(doc.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: {
              'application/json': {
                schema: components.named(components.convert(doc.body, 'input'), `${name}Request`),
              },
            },
          },
        }
      : {}),
    responses,
  };
}

/** The responses every route shares, by name (components.responses). */
const SHARED_RESPONSES: Record<string, ResponseDoc> = {
  NotAJsonObject: { description: 'The body is not a JSON object.', schema: errorResponseSchema },
  Unauthorized: {
    description: 'No valid API key: missing, malformed, unknown, revoked or expired.',
    schema: errorResponseSchema,
    headers: { 'WWW-Authenticate': 'always' },
  },
  PayloadTooLarge: { description: 'The body is larger than the limit.', schema: errorResponseSchema },
  DatabaseBusy: {
    description:
      'No database connection was free in time; nothing was changed. Retry after Retry-After seconds.',
    schema: errorResponseSchema,
    headers: { 'Retry-After': 'always' },
  },
  ValidationFailed: {
    description: 'Invalid input (path, query, headers or body): one entry per problem, `loc` pointing at it.',
    schema: validationErrorResponseSchema,
  },
  RateLimited: {
    description: 'Rate limit exceeded (per API key or per client IP).',
    schema: rateLimitedResponseSchema,
    headers: { 'Retry-After': 'always' },
  },
  InternalError: {
    description: 'An unexpected error (logged with the request id).',
    schema: internalErrorResponseSchema,
  },
};

function responseObject(
  response: ResponseDoc,
  schemaName: string,
  components: SchemaComponents,
): OpenApiResponse {
  return {
    description: response.description,
    headers: {
      ...header('X-Request-Id'),
      ...Object.assign({}, ...RATE_LIMIT_HEADERS.map((name) => header(name))),
      ...Object.assign(
        {},
        ...Object.entries(response.headers ?? {}).map(([name, when]) =>
          header(name as ResponseHeader, when === 'always'),
        ),
      ),
    },
    ...(response.schema
      ? {
          content: {
            'application/json': {
              schema: components.named(components.convert(response.schema, 'output'), schemaName),
            },
          },
        }
      : {}),
  };
}

/** A response header: a reference to components.headers, or inline when this use differs in `required`. */
function header(name: keyof typeof HEADERS, required = HEADERS[name].required): Record<string, JsonSchema> {
  return {
    [name]:
      required === HEADERS[name].required
        ? { $ref: `#/components/headers/${name}` }
        : { ...HEADERS[name], required },
  };
}

function describePathParam(name: string): string {
  if (name === 'team_id') return 'The team; it must be the API key’s team.';
  return `The ${name.replace(/_id$/, '').replaceAll('_', ' ')}’s id.`;
}

/** The query object's fields as parameters; descriptions move from the schema to the parameter. */
function queryParameters(query: z.ZodObject, components: SchemaComponents) {
  const json = components.convert(query, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, { description, ...schema }]) => ({
    name,
    in: 'query' as const,
    required: required.has(name),
    ...(typeof description === 'string' ? { description } : {}),
    schema,
  }));
}

/** The service's own public endpoints (no API key), described here beside the routes of the shim. */
function publicOperations(components: SchemaComponents): OpenApiDocument['paths'] {
  const json = (schema: z.ZodType) => ({
    'application/json': { schema: components.convert(schema, 'output') },
  });
  const requestId = header('X-Request-Id');
  const get = (operationId: string, summary: string, responses: OpenApiOperation['responses']) => ({
    get: { operationId, summary, tags: ['Service'], security: [], responses },
  });
  return {
    '/healthz': get('getHealth', 'Liveness: the process is up', {
      200: { description: 'Up.', headers: requestId, content: json(z.object({ status: z.literal('ok') })) },
    }),
    '/readyz': get('getReadiness', 'Readiness: the database and the credential store answer', {
      200: {
        description: 'Ready.',
        headers: requestId,
        content: json(z.object({ status: z.literal('ready') })),
      },
      503: {
        description: 'The database or the credential store does not answer.',
        headers: requestId,
        content: json(z.object({ status: z.literal('unavailable') })),
      },
    }),
    '/openapi.json': get('getOpenApiDocument', 'This OpenAPI document', {
      200: {
        description: 'The OpenAPI 3.1 document of the REST API.',
        headers: requestId,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                openapi: { type: 'string' },
                info: { type: 'object' },
                paths: { type: 'object' },
              },
              required: ['openapi', 'info', 'paths'],
            },
          },
        },
      },
    }),
    '/docs': get('getApiReference', 'The API reference, rendered (Swagger UI)', {
      200: {
        description: 'An HTML page that renders this document; its assets are served under /docs/.',
        headers: requestId,
        content: { 'text/html': { schema: { type: 'string' } } },
      },
    }),
  };
}

/**
 * Converts zod schemas to JSON Schema (draft 2020-12, the OpenAPI 3.1 dialect) and collects the named
 * ones (`.meta({ id })`) under components.schemas.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      override: (ctx) => refine(ctx.zodSchema as unknown as z.ZodType, ctx.jsonSchema as JsonSchema, io),
    }) as JsonSchema;
    const { $schema: _dialect, $defs, ...rest } = json;
    for (const [name, definition] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      this.add(name, rewriteRefs(definition) as JsonSchema);
    }
    return rewriteRefs(rest) as JsonSchema;
  }

  /** A top-level body schema as a named component (unless it is one already). */
  named(json: JsonSchema, name: string): JsonSchema {
    if (typeof json.$ref === 'string' && Object.keys(json).length === 1) return json;
    this.add(name, json);
    return { $ref: `#/components/schemas/${name}` };
  }

  private add(name: string, json: JsonSchema): void {
    const existing = this.schemas[name];
    if (existing && JSON.stringify(existing) !== JSON.stringify(json)) {
      throw new Error(`OpenAPI: two different schemas are named '${name}'`);
    }
    this.schemas[name] = json;
  }
}

/** The `format` values JSON Schema 2020-12 defines. */
const STANDARD_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);

/** What zod cannot say on its own: our custom types, forbidden fields, and what a query string parses to. */
function refine(schema: z.ZodType, json: JsonSchema, io: 'input' | 'output'): void {
  const def = schema._zod.def as unknown as {
    type: string;
    checks?: { _zod: { def: { error?: (issue: unknown) => unknown } } }[];
    out?: z.ZodType;
  };
  const meta = z.globalRegistry.get(schema);
  if (meta && meta.default !== undefined && json.default === undefined) json.default = meta.default;
  if (schema === plainObject) {
    // Only `credentials` is a plain object: the credential fields of the auth method (one shape each).
    Object.assign(json, {
      type: 'object',
      description:
        'Native secrets: the credential fields of `auth_method`, each a non-empty string. Write-only: never returned.',
      oneOf: Object.entries(CREDENTIAL_SHAPES).map(([shape, fields]) => ({
        title: shape,
        type: 'object',
        properties: Object.fromEntries(
          fields.map((field) => [field, { type: 'string', minLength: 1, maxLength: CREDENTIAL_VALUE_MAX }]),
        ),
        required: [...fields],
        additionalProperties: false,
      })),
    });
    return;
  }
  const [check] = def.checks ?? [];
  if (def.type === 'unknown' && check) {
    // `z.unknown().refine(v => v === undefined, why)`: a field that must not be sent.
    const why = check._zod.def.error?.({ code: 'custom', input: null });
    Object.assign(json, { not: {}, description: typeof why === 'string' ? why : 'Not accepted.' });
    return;
  }
  if (io === 'input' && def.type === 'pipe' && def.out && def.out._zod.def.type !== 'transform') {
    // A string parsed into something stricter (a number, a date-time): describe what it must parse to.
    const { $schema: _dialect, ...out } = z.toJSONSchema(def.out, {
      io: 'input',
      unrepresentable: 'any',
    }) as JsonSchema;
    if (
      out.type === 'number' &&
      typeof json.pattern === 'string' &&
      /^\^\\d\{1,\d+\}\$$/.test(json.pattern)
    ) {
      out.type = 'integer';
    }
    for (const key of ['type', 'pattern', 'format', 'minLength', 'maxLength']) delete json[key];
    Object.assign(json, out);
  }
  if (typeof json.format === 'string' && !STANDARD_FORMATS.has(json.format)) {
    // zod names some checks as formats (`starts_with`); the pattern it also emits says the same.
    delete json.format;
  }
  if (json.pattern === UUID_PATTERN.source) {
    // UUID_PATTERN is case-insensitive (flag i), which a JSON Schema pattern cannot say.
    Object.assign(json, {
      format: 'uuid',
      pattern: UUID_PATTERN.source.replaceAll('[0-9a-f]', '[0-9a-fA-F]'),
    });
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      key === '$ref' && typeof inner === 'string'
        ? [key, inner.replace(/^#\/\$defs\//, '#/components/schemas/')]
        : [key, rewriteRefs(inner)],
    ),
  );
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

let documentJson: string | undefined;

/** The document as served (built once; the routes do not change while the process runs). */
export function openApiJson(): string {
  documentJson ??= JSON.stringify(buildOpenApiDocument());
  return documentJson;
}

/** GET /openapi.json and GET /docs[/asset]: public, no API key. */
export async function serveApiDocs(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  if (pathname === '/openapi.json') {
    return sendDocsAsset(req, res, { type: 'application/json; charset=utf-8', body: openApiJson() });
  }
  return sendDocsAsset(req, res, await docsAsset(pathname));
}
