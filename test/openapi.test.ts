/**
 * The OpenAPI document of the REST shim (GET /openapi.json) and the reference page (GET /docs):
 * (1) the document is structurally valid OpenAPI 3.1 and lints clean; every registered route is
 * documented; (2) every REST response of a scenario through every route (successes and the error
 * cases) matches the document: status, body schema, headers; (3) /docs serves Swagger UI from local
 * assets only, with the right content types, and nothing outside its fixed list of files.
 */
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  type JsonSchema,
  type OpenApiDocument,
  restRouteDefinitions,
} from '../src/app/openapi.js';
import { SCOPES } from '../src/domain/scopes.js';
import { UNKNOWN_UUID } from './support/constants.js';
import { createLocation, createVaultConnection } from './support/factories.js';
import { rest, restExchanges, useApp, useApps } from './support/harness.js';
import {
  checkExchanges,
  createAjv,
  deref,
  operationsOf,
  resolvePointer,
  SchemaValidators,
} from './support/openapi-check.js';

const PUBLIC_TAG = 'Service';
const SCHEMA_KEYWORDS_WITH_SCHEMA = ['items', 'not', 'additionalProperties', 'propertyNames', 'contains'];
const SCHEMA_KEYWORDS_WITH_SCHEMAS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
/** Keywords that make a schema say something (without one, it accepts anything). */
const CONSTRAINING = ['type', '$ref', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'not'];

let doc: OpenApiDocument;

beforeAll(() => {
  doc = buildOpenApiDocument();
});

// ---------------------------------------------------------------------------------------------
// (1) Structure and lint
// ---------------------------------------------------------------------------------------------

/** A small subset of the OpenAPI 3.1 schema: the shapes every generated object must have. */
const OPENAPI_SUBSET = {
  type: 'object',
  required: ['openapi', 'info', 'paths', 'components'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
    info: {
      type: 'object',
      required: ['title', 'version'],
      properties: { title: { type: 'string', minLength: 1 }, version: { type: 'string', minLength: 1 } },
    },
    servers: {
      type: 'array',
      items: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
    },
    paths: {
      type: 'object',
      propertyNames: { pattern: '^/' },
      additionalProperties: {
        type: 'object',
        propertyNames: { enum: ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'] },
        additionalProperties: { $ref: '#/$defs/operation' },
      },
    },
    components: {
      type: 'object',
      properties: {
        schemas: { type: 'object', additionalProperties: { type: ['object', 'boolean'] } },
        responses: { type: 'object', additionalProperties: { $ref: '#/$defs/response' } },
        headers: { type: 'object', additionalProperties: { $ref: '#/$defs/header' } },
        securitySchemes: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            required: ['type'],
            properties: { type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] } },
          },
        },
      },
    },
  },
  $defs: {
    operation: {
      type: 'object',
      required: ['responses'],
      properties: {
        operationId: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        security: {
          type: 'array',
          items: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        parameters: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'in', 'schema'],
            properties: {
              name: { type: 'string', minLength: 1 },
              in: { enum: ['path', 'query', 'header', 'cookie'] },
              required: { type: 'boolean' },
              schema: { type: 'object' },
            },
          },
        },
        requestBody: {
          type: 'object',
          required: ['content'],
          properties: { content: { $ref: '#/$defs/content' }, required: { type: 'boolean' } },
        },
        responses: {
          type: 'object',
          minProperties: 1,
          propertyNames: { pattern: '^([1-5][0-9]{2}|default)$' },
          additionalProperties: {
            anyOf: [
              { type: 'object', required: ['$ref'], properties: { $ref: { type: 'string' } } },
              { $ref: '#/$defs/response' },
            ],
          },
        },
      },
    },
    response: {
      type: 'object',
      required: ['description'],
      properties: {
        description: { type: 'string' },
        headers: {
          type: 'object',
          additionalProperties: {
            anyOf: [
              { type: 'object', required: ['$ref'], properties: { $ref: { type: 'string' } } },
              { $ref: '#/$defs/header' },
            ],
          },
        },
        content: { $ref: '#/$defs/content' },
      },
    },
    header: {
      type: 'object',
      required: ['schema'],
      properties: { required: { type: 'boolean' }, schema: { type: 'object' }, name: false, in: false },
    },
    content: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        required: ['schema'],
        properties: { schema: { type: 'object' } },
      },
    },
  },
};

/** Every JSON Schema in the document (with a name for messages). */
function* schemasOf(document: OpenApiDocument): Generator<[string, JsonSchema]> {
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    yield [`components.schemas.${name}`, schema];
  }
  for (const [name, header] of Object.entries(document.components.headers)) {
    yield [`components.headers.${name}`, header.schema as JsonSchema];
  }
  const responses = (where: string, all: Record<string, unknown>) =>
    Object.entries(all).flatMap(([status, r]) => {
      const response = r as JsonSchema;
      if (response.$ref) return [];
      return Object.entries((response.content ?? {}) as Record<string, { schema: JsonSchema }>).map(
        ([type, media]) => [`${where} ${status} ${type}`, media.schema] as [string, JsonSchema],
      );
    });
  for (const [name, response] of responses('components.responses', doc.components.responses))
    yield [name, response];
  for (const operation of operationsOf(document)) {
    const where = `${operation.method} ${operation.template}`;
    for (const p of (operation.op.parameters ?? []) as JsonSchema[])
      yield [`${where} ${p.in} ${p.name}`, p.schema as JsonSchema];
    const body = operation.op.requestBody as JsonSchema | undefined;
    for (const [type, media] of Object.entries(
      (body?.content ?? {}) as Record<string, { schema: JsonSchema }>,
    )) {
      yield [`${where} body ${type}`, media.schema];
    }
    yield* responses(where, operation.op.responses as Record<string, unknown>);
  }
}

/** Paths of sub-schemas that accept anything (`{}` or only annotations); `not: {}` says "never" and is fine. */
function emptySchemas(schema: unknown, at: string): string[] {
  if (typeof schema === 'boolean') return [];
  if (schema === null || typeof schema !== 'object') return [`${at} (not a schema)`];
  const s = schema as JsonSchema;
  const found = CONSTRAINING.some((k) => k in s) ? [] : [at];
  for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
    found.push(...emptySchemas(sub, `${at}.properties.${name}`));
  }
  for (const key of SCHEMA_KEYWORDS_WITH_SCHEMA) {
    const sub = s[key];
    if (sub === undefined || typeof sub === 'boolean') continue;
    if (key === 'not' && Object.keys(sub as object).length === 0) continue;
    found.push(...emptySchemas(sub, `${at}.${key}`));
  }
  for (const key of SCHEMA_KEYWORDS_WITH_SCHEMAS) {
    ((s[key] ?? []) as unknown[]).forEach((sub, i) => {
      found.push(...emptySchemas(sub, `${at}.${key}[${i}]`));
    });
  }
  return found;
}

function allRefs(value: unknown, at = '#'): [string, string][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => allRefs(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string'
      ? [[at, inner] as [string, string]]
      : allRefs(inner, `${at}/${key}`),
  );
}

describe('the OpenAPI document', () => {
  it('documents every registered route (a route without `doc` fails here)', () => {
    const problems: string[] = [];
    const routes = restRouteDefinitions();
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const doc = route.doc;
      if (!doc) {
        problems.push(
          `${key} has no documentation: give the route a \`doc\` (RouteDoc, src/platform/http/rest-docs.ts) in its *-rest.ts`,
        );
        continue;
      }
      const readsBody = route.method === 'POST' || route.method === 'PATCH';
      if (readsBody && !doc.body)
        problems.push(`${key} reads a JSON body, but its doc has no \`body\` schema`);
      if (!readsBody && doc.body) problems.push(`${key} reads no body, but its doc has a \`body\` schema`);
      if (!Object.keys(doc.responses).some((s) => Number(s) < 300)) {
        problems.push(`${key} documents no success response`);
      }
    }
    expect(problems).toEqual([]);
    // Every registered route is in the document, under its OpenAPI path.
    for (const route of routes) {
      const path = route.path.replace(/:([a-z_]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
  });

  it('is structurally valid OpenAPI 3.1', () => {
    const ajv = createAjv();
    const validate = ajv.compile(OPENAPI_SUBSET);
    expect(validate(doc), ajv.errorsText(validate.errors)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.servers).toEqual([{ url: '/' }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(String(doc.components.securitySchemes.bearerAuth.bearerFormat)).toContain('dr_<key_id>_<secret>');

    // Every JSON Schema is valid draft 2020-12 (ajv checks each against the meta-schema) and compiles.
    const validators = new SchemaValidators(doc);
    for (const [where, schema] of schemasOf(doc)) {
      expect(() => validators.validator(schema), where).not.toThrow();
    }

    // Every $ref resolves.
    const unresolved = allRefs(doc)
      .filter(([, ref]) => resolvePointer(doc, ref) === undefined)
      .map(([at, ref]) => `${at}: ${ref}`);
    expect(unresolved).toEqual([]);

    const problems: string[] = [];
    for (const { method, template, op } of operationsOf(doc)) {
      const where = `${method} ${template}`;
      const parameters = (op.parameters ?? []) as JsonSchema[];
      // Every path parameter declared, exactly once, required; nothing declared twice.
      const inPath = [...template.matchAll(/\{([^}]+)\}/g)].map(([, name]) => name);
      for (const name of inPath) {
        const declared = parameters.filter((p) => p.in === 'path' && p.name === name);
        if (declared.length !== 1 || declared[0].required !== true) {
          problems.push(`${where}: path parameter ${name} must be declared once, required`);
        }
      }
      for (const p of parameters.filter((p) => p.in === 'path' && !inPath.includes(p.name as string))) {
        problems.push(`${where}: declares path parameter ${p.name}, which is not in the path`);
      }
      const keys = parameters.map((p) => `${p.in}:${String(p.name).toLowerCase()}`);
      if (new Set(keys).size !== keys.length) problems.push(`${where}: a parameter is declared twice`);
      // Responses: at least one success; security: bearer with the scope, except the public operations.
      const statuses = Object.keys(op.responses as object);
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${where}: no 2xx response`);
      const isPublic = (op.tags as string[] | undefined)?.includes(PUBLIC_TAG);
      const security = op.security as Record<string, string[]>[] | undefined;
      if (isPublic) {
        if (security?.length !== 0) problems.push(`${where}: public, so security must be []`);
        if (statuses.includes('401')) problems.push(`${where}: public, yet documents 401`);
      } else {
        if (!security?.length) problems.push(`${where}: no security requirement`);
        for (const requirement of security ?? []) {
          for (const [scheme, scopes] of Object.entries(requirement)) {
            if (!doc.components.securitySchemes[scheme])
              problems.push(`${where}: unknown security scheme ${scheme}`);
            for (const scope of scopes) {
              if (!(SCOPES as string[]).includes(scope)) problems.push(`${where}: unknown scope ${scope}`);
            }
          }
        }
        for (const status of ['401', '403', '422', '429', '500']) {
          if (!statuses.includes(status)) problems.push(`${where}: does not document ${status}`);
        }
        if (['POST', 'PATCH'].includes(method)) {
          for (const status of ['400', '413']) {
            if (!statuses.includes(status)) problems.push(`${where}: has a body, so must document ${status}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('lints clean: ids, summaries, tags, no empty schemas, error shapes, headers', () => {
    const problems: string[] = [];
    const operations = operationsOf(doc);
    const ids = operations.map((o) => o.op.operationId);
    for (const id of ids.filter((id, i) => ids.indexOf(id) !== i))
      problems.push(`operationId ${id} is not unique`);
    const declaredTags = new Set(doc.tags.map((t) => t.name));
    for (const { method, template, op } of operations) {
      const where = `${method} ${template}`;
      if (op['x-undocumented']) problems.push(`${where}: the route has no doc`);
      if (typeof op.operationId !== 'string' || !/^[a-z][A-Za-z0-9]+$/.test(op.operationId)) {
        problems.push(`${where}: operationId must be camelCase`);
      }
      if (typeof op.summary !== 'string' || op.summary.trim() === '') problems.push(`${where}: no summary`);
      if (typeof op.summary === 'string' && op.summary.endsWith('.'))
        problems.push(`${where}: summary ends with '.'`);
      const tags = (op.tags ?? []) as string[];
      if (tags.length === 0) problems.push(`${where}: no tag`);
      for (const tag of tags)
        if (!declaredTags.has(tag)) problems.push(`${where}: tag ${tag} is not declared`);
      for (const p of (op.parameters ?? []) as JsonSchema[]) {
        if (!p.description) problems.push(`${where}: parameter ${p.name} has no description`);
      }
      for (const [status, declared] of Object.entries(op.responses as Record<string, unknown>)) {
        const response = deref(doc, declared);
        if (!response.description) problems.push(`${where} ${status}: no description`);
        const headers = Object.keys((response.headers ?? {}) as object);
        if (!headers.includes('X-Request-Id'))
          problems.push(`${where} ${status}: X-Request-Id not documented`);
        if (!(op.tags as string[]).includes(PUBLIC_TAG)) {
          for (const h of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) {
            if (!headers.includes(h)) problems.push(`${where} ${status}: ${h} not documented`);
          }
        }
        if ((status === '429' || status === '503') && !(op.tags as string[]).includes(PUBLIC_TAG)) {
          if (!headers.includes('Retry-After'))
            problems.push(`${where} ${status}: Retry-After not documented`);
        }
        if (status === '412' && !headers.includes('ETag')) problems.push(`${where} 412: ETag not documented`);
        const numeric = Number(status);
        const content = response.content as Record<string, { schema: JsonSchema }> | undefined;
        if (numeric === 204 && content) problems.push(`${where} 204: documents a body`);
        if (numeric >= 400 && !(op.tags as string[]).includes(PUBLIC_TAG)) {
          // Every error has the FastAPI shape: an object whose `detail` is required.
          const schema = content?.['application/json']?.schema;
          const resolved = schema ? deref(doc, schema) : undefined;
          const detail = (resolved?.properties as Record<string, unknown> | undefined)?.detail;
          if (!resolved || !detail || !(resolved.required as string[] | undefined)?.includes('detail')) {
            problems.push(`${where} ${status}: the body is not the error shape {detail}`);
          }
          if (numeric === 422) {
            const items = deref(doc, deref(doc, detail).items);
            const required = (items.required ?? []) as string[];
            if (!['loc', 'msg', 'type'].every((k) => required.includes(k))) {
              problems.push(`${where} 422: detail items are not {loc, msg, type}`);
            }
          }
        }
        if (numeric >= 200 && numeric < 300 && numeric !== 204 && !content) {
          problems.push(`${where} ${status}: a success without a documented body`);
        }
      }
      // Secret responses carry their version as ETag.
      if (/\/secrets(\/\{secret_id\})?$/.test(template) && method !== 'GET' && method !== 'DELETE') {
        const success = deref(
          doc,
          (op.responses as Record<string, unknown>)[method === 'POST' ? '201' : '200'],
        );
        if (!Object.keys((success.headers ?? {}) as object).includes('ETag')) {
          problems.push(`${where}: the success response does not document ETag`);
        }
      }
    }
    for (const [where, schema] of schemasOf(doc))
      problems.push(...emptySchemas(schema, where).map((p) => `empty schema at ${p}`));
    // Request bodies are closed (unknown fields are 422), response bodies list every field they have.
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      if (schema.type === 'object' && schema.additionalProperties === undefined && !schema.propertyNames) {
        problems.push(
          `components.schemas.${name}: an object that does not say whether other fields may appear`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  it('describes bodies with the zod schemas that validate them', () => {
    const createSecret = doc.components.schemas.CreateSecretRequest as JsonSchema;
    expect(createSecret.required).toEqual(['name', 'secret_type', 'auth_method']);
    expect(createSecret.additionalProperties).toBe(false);
    const properties = createSecret.properties as Record<string, JsonSchema>;
    expect(properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 255 });
    // credentials: one variant per credential shape of the provider table.
    const credentials = (properties.credentials.anyOf as JsonSchema[])[0];
    expect((credentials.oneOf as JsonSchema[]).map((v) => v.required)).toContainEqual([
      'access_key_id',
      'secret_access_key',
    ]);
    // A field that may never be sent is documented as such.
    const update = doc.components.schemas.UpdateSecretRequest as JsonSchema;
    expect((update.properties as Record<string, JsonSchema>).vault_connection_id).toMatchObject({ not: {} });
    // Query strings: integers with bounds and defaults, enums, uuid filters.
    const list = doc.paths['/v1/teams/{team_id}/audit-logs'].get.parameters!;
    expect(list.find((p) => p.name === 'limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
    });
    expect(list.find((p) => p.name === 'resource_id')?.schema).toMatchObject({ format: 'uuid' });
    expect(list.find((p) => p.name === 'from')?.schema).toMatchObject({ format: 'date-time' });
    expect(doc.paths['/v1/teams/{team_id}/secrets/{secret_id}'].get.parameters![1]).toMatchObject({
      name: 'secret_id',
      in: 'path',
      required: true,
      schema: { type: 'string', format: 'uuid' },
    });
    expect(doc.paths['/v1/teams/{team_id}/api-keys/{api_key_id}/rotate'].post.requestBody).toMatchObject({
      required: false,
    });
    expect(doc.paths['/v1/teams/{team_id}/secrets'].post.requestBody).toMatchObject({ required: true });
  });
});

// ---------------------------------------------------------------------------------------------
// (2) Every REST response of a scenario through every route matches the document
// ---------------------------------------------------------------------------------------------

describe('REST responses match the document', () => {
  const [t, limited] = useApps(
    { env: { BODY_LIMIT_BYTES: '65536' } },
    { env: { RATE_LIMIT_PER_MINUTE: '2' } },
  );

  it('drives every route (successes and errors) and checks each response', async () => {
    const served = await fetch(`${t.url}/openapi.json`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await served.json()) as OpenApiDocument;
    expect(document).toEqual(JSON.parse(JSON.stringify(doc)));

    const team = await t.newTeam('pro');
    const other = await t.newTeam('pro');
    const api = rest(t.url, team.ownerKey);
    const anonymous = rest(t.url);
    const viewer = rest(t.url, await team.keyFor('viewer', ['secrets:read', 'locations:read']));
    const base = `/v1/teams/${team.teamId}`;
    const missing = UNKNOWN_UUID;
    const expectStatus = async (response: Promise<{ status: number; text: string }>, status: number) => {
      const r = await response;
      expect(r.status, r.text).toBe(status);
      return r as Awaited<ReturnType<typeof api>>;
    };

    // Service endpoints.
    await expectStatus(anonymous('GET', '/healthz'), 200);
    await expectStatus(anonymous('GET', '/readyz'), 200);
    await expectStatus(anonymous('GET', '/openapi.json'), 200);

    // Vault connections.
    const doppler = await createVaultConnection(t, team, {
      name: 'doppler',
      vault_type: 'doppler',
      access_token: 'dp.st.token',
      project: 'p',
      config: 'prd',
    });
    await createVaultConnection(t, team, {
      name: 'infisical',
      vault_type: 'infisical',
      client_id: 'id',
      client_secret: 'secret',
      project_id: 'project',
      environment: 'prod',
    });
    const onepassword = await createVaultConnection(t, team, { name: '1p', access_token: 'ops_x' });
    await expectStatus(
      api('POST', `${base}/vault-connections`, {
        name: 'doppler',
        vault_type: 'onepassword',
        access_token: 'ops_y',
      }),
      409,
    );
    await expectStatus(
      api('POST', `${base}/vault-connections`, { name: 'bad', vault_type: 'doppler', access_token: 'x' }),
      422,
    );
    await expectStatus(api('GET', `${base}/vault-connections?vault_type=doppler&sort_by=name`), 200);
    await expectStatus(api('GET', `${base}/vault-connections/${doppler.id}`), 200);
    await expectStatus(api('GET', `${base}/vault-connections/${missing}`), 404);
    await expectStatus(api('PATCH', `${base}/vault-connections/${doppler.id}`, { description: 'main' }), 200);
    await expectStatus(
      api('PATCH', `${base}/vault-connections/${doppler.id}`, { access_token: 'dp.st.z' }),
      422,
    );
    await expectStatus(
      api('POST', `${base}/vault-connections/${doppler.id}/rotate`, { access_token: 'dp.st.new' }),
      200,
    );

    // Secrets: native and external vault.
    const s3 = {
      name: 'primary',
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: { access_key_id: 'AKIA1', secret_access_key: 'secret-1' },
    };
    const secret = (await expectStatus(api('POST', `${base}/secrets`, s3), 201)).body;
    await expectStatus(api('POST', `${base}/secrets`, s3), 409);
    await expectStatus(
      api('POST', `${base}/secrets`, { ...s3, name: 'x', credentials: { access_key_id: 'A' } }),
      422,
    );
    await expectStatus(api('POST', `${base}/secrets`, '[1]'), 400);
    await expectStatus(
      api('POST', `${base}/secrets`, { ...s3, name: 'big', description: 'x'.repeat(70_000) }),
      413,
    );
    await expectStatus(anonymous('POST', `${base}/secrets`, s3), 401);
    await expectStatus(viewer('POST', `${base}/secrets`, { ...s3, name: 'viewer' }), 403);
    const byVault = (
      await expectStatus(
        api('POST', `${base}/secrets`, {
          name: 'from-doppler',
          secret_type: 'r2',
          auth_method: 'r2_access_key',
          vault_connection_id: doppler.id,
          field_mappings: [
            { field_name: 'access_key_id', reference: 'R2_KEY_ID' },
            { field_name: 'secret_access_key', reference: 'R2_SECRET' },
          ],
        }),
        201,
      )
    ).body;
    await expectStatus(
      api('GET', `${base}/secrets?secret_type=s3&sort_by=name&sort_order=asc&page=1&limit=10&q=pri`),
      200,
    );
    await expectStatus(api('GET', `${base}/secrets?limit=0`), 422);
    await expectStatus(api('GET', `${base}/secrets/${secret.id}`), 200);
    await expectStatus(api('GET', `${base}/secrets/${byVault.id}`), 200);
    await expectStatus(api('GET', `${base}/secrets/${missing}`), 404);
    await expectStatus(api('GET', `${base}/secrets/not-a-uuid`), 422);
    await expectStatus(api('GET', `/v1/teams/${other.teamId}/secrets/${secret.id}`), 404);
    await expectStatus(api('PATCH', `${base}/secrets/${secret.id}?dry_run=true`, { name: 'renamed' }), 200);
    const renamed = await expectStatus(
      api('PATCH', `${base}/secrets/${secret.id}`, { name: 'renamed' }),
      200,
    );
    await expectStatus(
      api('PATCH', `${base}/secrets/${secret.id}`, { description: 'stale' }, { 'if-match': '"1"' }),
      412,
    );
    await expectStatus(
      api(
        'PATCH',
        `${base}/secrets/${secret.id}`,
        { credentials: { access_key_id: 'AKIA2', secret_access_key: 'secret-2' } },
        { 'if-match': renamed.headers.get('etag')! },
      ),
      200,
    );
    await expectStatus(api('PATCH', `${base}/secrets/${secret.id}`, { credentials: { nope: 'x' } }), 422);
    await expectStatus(api('PATCH', `${base}/secrets/${secret.id}`, 'not json'), 400);
    await expectStatus(api('PATCH', `${base}/secrets/${secret.id}`, { name: 'from-doppler' }), 409);
    await expectStatus(viewer('PATCH', `${base}/secrets/${secret.id}`, { name: 'viewer' }), 403);

    // Secret history.
    await expectStatus(api('GET', `${base}/secrets/${secret.id}/versions?sort_order=asc`), 200);
    await expectStatus(api('GET', `${base}/secrets/${missing}/versions`), 404);
    await expectStatus(api('POST', `${base}/secrets/${secret.id}/rollback`, { version: 1 }), 200);
    await expectStatus(api('POST', `${base}/secrets/${secret.id}/rollback`, { version: 99 }), 422);

    // Idempotency-Key: a replay, and the same key for another request.
    const idem = { 'idempotency-key': `openapi-${team.teamId}` };
    const once = { ...s3, name: 'idempotent' };
    await expectStatus(api('POST', `${base}/secrets`, once, idem), 201);
    const replay = await expectStatus(api('POST', `${base}/secrets`, once, idem), 201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectStatus(api('POST', `${base}/secrets`, { ...once, name: 'other' }, idem), 422);

    // Locations.
    const location = await createLocation(t, team, secret.id, {
      name: 'bucket',
      bucket_name: 'my-bucket',
      region: 'eu-west-1',
    });
    const bucket = { location_type: 's3', secret_id: secret.id, bucket_name: 'b' };
    // A name already taken (409); an r2 location on this s3 secret (422).
    await expectStatus(api('POST', `${base}/locations`, { ...bucket, name: 'bucket' }), 409);
    await expectStatus(api('POST', `${base}/locations`, { ...bucket, name: 'r2', location_type: 'r2' }), 422);
    await expectStatus(api('GET', `${base}/locations?location_type=s3`), 200);
    await expectStatus(viewer('GET', `${base}/locations/${location.id}`), 200);
    await expectStatus(api('GET', `${base}/locations/${missing}`), 404);
    await expectStatus(
      api('PATCH', `${base}/locations/${location.id}`, { region: null, description: 'd' }),
      200,
    );
    await expectStatus(api('PATCH', `${base}/locations/${location.id}`, { location_type: 'r2' }), 422);
    // The secret is in use: 409 names the location; a type change is blocked the same way.
    const inUse = await expectStatus(api('DELETE', `${base}/secrets/${secret.id}`), 409);
    expect(inUse.body.locations).toHaveLength(1);
    await expectStatus(
      api('PATCH', `${base}/secrets/${secret.id}`, { secret_type: 'r2', auth_method: 'r2_access_key' }),
      409,
    );
    await expectStatus(api('DELETE', `${base}/locations/${location.id}`), 204);
    await expectStatus(api('DELETE', `${base}/locations/${location.id}`), 404);
    await expectStatus(api('DELETE', `${base}/secrets/${secret.id}`, undefined, { 'if-match': '"1"' }), 412);
    await expectStatus(api('DELETE', `${base}/secrets/${secret.id}`), 204);

    // Vault connections in use, then free.
    await expectStatus(api('DELETE', `${base}/vault-connections/${doppler.id}`), 409);
    await expectStatus(api('DELETE', `${base}/secrets/${byVault.id}`), 204);
    await expectStatus(api('DELETE', `${base}/vault-connections/${doppler.id}`), 204);
    await expectStatus(api('DELETE', `${base}/vault-connections/${onepassword.id}`), 204);

    // API keys.
    const key = (
      await expectStatus(api('POST', `${base}/api-keys`, { name: 'ci', scopes: ['secrets:read'] }), 201)
    ).body;
    await expectStatus(api('POST', `${base}/api-keys`, { name: 'bad', scopes: ['nope:read'] }), 422);
    await expectStatus(
      rest(t.url, key.full_key)('POST', `${base}/api-keys`, { name: 'more', scopes: ['secrets:read'] }),
      403,
    );
    await expectStatus(api('GET', `${base}/api-keys?include_revoked=false&sort_by=last_used_at`), 200);
    await expectStatus(api('GET', `${base}/api-keys/${key.id}`), 200);
    await expectStatus(api('GET', `${base}/api-keys/${missing}`), 404);
    await expectStatus(api('POST', `${base}/api-keys/${key.id}/rotate`), 200);
    await expectStatus(api('POST', `${base}/api-keys/${key.id}/revoke`, {}), 200);
    await expectStatus(api('POST', `${base}/api-keys/${key.id}/rotate`, {}), 409);
    await expectStatus(api('POST', `${base}/api-keys/${key.id}/revoke`, { reason: 'x' }), 422);
    await expectStatus(api('DELETE', `${base}/api-keys/${key.id}`), 204);

    // Audit log.
    await expectStatus(api('GET', `${base}/audit-logs?resource_type=secret&sort_order=asc&limit=5`), 200);
    await expectStatus(api('GET', `${base}/audit-logs?from=yesterday`), 422);
    await expectStatus(api('GET', `/v1/teams/${other.teamId}/audit-logs`), 404);

    // Webhooks.
    const hook = (
      await expectStatus(
        // Inactive: an active webhook on the shared database would have every app fan events out.
        api('POST', `${base}/webhooks`, { name: 'hook', url: 'https://hooks.example.com/a', active: false }),
        201,
      )
    ).body;
    await expectStatus(
      api('POST', `${base}/webhooks`, { name: 'hook', url: 'https://hooks.example.com/b' }),
      409,
    );
    await expectStatus(api('POST', `${base}/webhooks`, { name: 'local', url: 'https://127.0.0.1/' }), 422);
    await expectStatus(api('GET', `${base}/webhooks?sort_by=name`), 200);
    await expectStatus(api('GET', `${base}/webhooks/${hook.id}`), 200);
    await expectStatus(api('GET', `${base}/webhooks/${missing}`), 404);
    await expectStatus(api('PATCH', `${base}/webhooks/${hook.id}`, { description: 'docs' }), 200);
    await expectStatus(api('GET', `${base}/webhooks/${hook.id}/deliveries`), 200);
    await expectStatus(api('DELETE', `${base}/webhooks/${hook.id}`), 204);

    // Rate limits: X-RateLimit-* on every response, then 429 with Retry-After.
    const limitedTeam = await limited.newTeam();
    const hammer = rest(limited.url, limitedTeam.ownerKey);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await hammer('GET', `/v1/teams/${limitedTeam.teamId}/secrets`)).status);
    expect(statuses).toEqual([200, 200, 429]);

    const result = checkExchanges(document, restExchanges);
    expect(result.problems).toEqual([]);
    expect(result.unmatched).toEqual([]);

    // Every documented operation was driven to a success, and the error cases all came up.
    const succeeded = new Set(
      [...result.covered].filter((c) => /\s2\d\d$/.test(c)).map((c) => c.replace(/\s\d{3}$/, '')),
    );
    const notDriven = operationsOf(document)
      .map((o) => `${o.method} ${o.template}`)
      .filter((o) => !succeeded.has(o) && !o.startsWith('GET /docs'));
    expect(notDriven, 'add these operations to this scenario').toEqual([]);
    const errorStatuses = new Set(
      [...result.covered].map((c) => Number(c.slice(-3))).filter((s) => s >= 400),
    );
    for (const status of [400, 401, 403, 404, 409, 412, 413, 422, 429])
      expect(errorStatuses).toContain(status);
  });

  it('the checker notices an undocumented status, a wrong body and a missing header', () => {
    const path = '/v1/teams/00000000-0000-4000-8000-000000000001/secrets';
    const exchange = {
      method: 'GET',
      path,
      headers: { 'content-type': 'application/json', 'x-request-id': 'r' },
      text: '{}',
    };
    const { problems } = checkExchanges(doc, [
      { ...exchange, status: 418, body: {} },
      { ...exchange, status: 200, body: { data: 'nope' } },
      { ...exchange, status: 404, body: { detail: 'x' }, headers: { 'content-type': 'application/json' } },
      { ...exchange, status: 404, body: { detail: 'x' }, headers: { ...exchange.headers, etag: '"1"' } },
    ]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toContain('status not documented');
    expect(problems[1]).toContain('body does not match');
    expect(problems[2]).toContain('required header x-request-id is missing');
    expect(problems[3]).toContain('header etag, which is not documented');
  });
});

// ---------------------------------------------------------------------------------------------
// (3) /docs: Swagger UI from local assets
// ---------------------------------------------------------------------------------------------

/** A request with the path sent exactly as given (fetch would normalise `..` and percent-escapes). */
function rawGet(url: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /docs', () => {
  const t = useApp();

  it('serves an HTML page that loads only local assets, each with its content type', async () => {
    const page = await fetch(`${t.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-request-id')).toBeTruthy();
    const html = await page.text();
    const references = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map(([, ref]) => ref);
    expect(references.length).toBeGreaterThanOrEqual(3);
    for (const ref of references) expect(ref, 'a local /docs/ asset').toMatch(/^\/docs\/[a-z0-9.-]+$/);
    expect(html).not.toMatch(/https?:\/\/|\/\/cdn|unpkg|jsdelivr/);

    const types: Record<string, RegExp> = {
      js: /^text\/javascript/,
      css: /^text\/css/,
      png: /^image\/png$/,
    };
    for (const ref of references) {
      const asset = await fetch(`${t.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get('content-type'), ref).toMatch(types[ref.split('.').pop()!]);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
    }
    const bundle = await (await fetch(`${t.url}/docs/swagger-ui-bundle.js`)).text();
    expect(bundle).toContain('SwaggerUIBundle');
    const init = await (await fetch(`${t.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    expect((await fetch(`${t.url}/docs/`)).status).toBe(200);
    const head = await fetch(`${t.url}/docs/swagger-ui.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
  });

  it('serves nothing outside its list of files, whatever the path says', async () => {
    for (const path of [
      '/docs/package.json',
      '/docs/index.html',
      '/docs/swagger-initializer.js',
      '/docs/swagger-ui-bundle.js.map',
      '/docs/../package.json',
      '/docs/%2e%2e/package.json',
      '/docs/..%2fpackage.json',
      '/docs/..%2f..%2fpackage.json',
      '/docs/%2e%2e%2f%2e%2e%2fsrc%2fconfig.ts',
      '/docs/swagger-ui.css/../../package.json',
      '/docs//etc/passwd',
      '/docs/swagger-ui.css%00.png',
      '/docsx',
      '/openapi.json/..',
    ]) {
      const response = await rawGet(t.url, path);
      expect(response.body, path).not.toContain('"dependencies"');
      expect(response.body, path).not.toContain('root:');
      if (response.status === 200) {
        // Only what a whitelisted name (after URL normalisation) is allowed to be.
        expect(path, 'normalises to a served name').toMatch(/^\/docs\/swagger-ui\.css|^\/openapi\.json/);
      } else {
        expect(response.status, path).toBe(404);
      }
    }
    expect((await rawGet(t.url, '/docs', 'POST')).status).toBe(405);
    expect((await rawGet(t.url, '/openapi.json', 'DELETE')).status).toBe(405);
  });
});
