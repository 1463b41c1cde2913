/**
 * What a client notices at the edge, over real HTTP: bodies that are not UTF-8 are refused on both
 * doors (nothing written), chunked bodies are read on both doors within the body limit, `page` and
 * `limit` state their range, `HEAD` answers like `GET` without a body, and CORS preflights are
 * granted to the origins in `CORS_ORIGINS` only.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/platform/config.js';
import { S3_CREDENTIALS } from './support/constants.js';
import { createNativeSecret } from './support/factories.js';
import { rest, type TestApp, type TestTeam, useApp } from './support/harness.js';

const t = useApp();
let team: TestTeam;
let secretId: string;
const tag = randomBytes(6).toString('hex');

beforeAll(async () => {
  team = await t.newTeam();
  secretId = (await createNativeSecret(t, team, { name: `edge-${tag}` })).id;
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  text: string;
  json: any;
}

/**
 * One request as given: the body's exact bytes, sent at once with a Content-Length (a Buffer), or
 * chunked without one (an array of Buffers).
 */
function raw(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | Buffer[],
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json });
      });
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

const auth = () => ({ authorization: `Bearer ${team.ownerKey}` });
const secretsPath = () => `/v1/teams/${team.teamId}/secrets`;

/** JSON text with `name` spliced in as raw bytes (which need not be UTF-8). */
function jsonWithNameBytes(before: string, name: Buffer, after: string): Buffer {
  return Buffer.concat([Buffer.from(before), name, Buffer.from(after)]);
}

async function teamSecrets(): Promise<{ id: string; name: string; version: number }[]> {
  return t.app.db.orm.em
    .fork()
    .getConnection()
    .execute('select id, name, version from secrets where team_id = ? order by id', [team.teamId]);
}

const LATIN1_CAFE = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1: not UTF-8

describe('a body that is not UTF-8 is refused, and nothing is written', () => {
  it('REST: 400 with a detail, for a create and an update', async () => {
    const before = await teamSecrets();
    const create = await raw(
      t.url,
      'POST',
      secretsPath(),
      { ...auth(), 'content-type': 'application/json' },
      jsonWithNameBytes(
        '{"name": "',
        LATIN1_CAFE,
        `-${tag}", "secret_type": "s3", "auth_method": "s3_access_key", "credentials": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "${'x'.repeat(30)}"}}`,
      ),
    );
    expect(create.status, create.text).toBe(400);
    expect(create.json).toEqual({ detail: expect.stringMatching(/UTF-8/) });
    const update = await raw(
      t.url,
      'PATCH',
      `${secretsPath()}/${secretId}`,
      { ...auth(), 'content-type': 'application/json' },
      jsonWithNameBytes('{"name": "', LATIN1_CAFE, '"}'),
    );
    expect(update.status, update.text).toBe(400);
    expect(update.json).toEqual({ detail: expect.stringMatching(/UTF-8/) });
    expect(await teamSecrets()).toEqual(before);
  });

  it('GraphQL: a request error (400, errors[].extensions.code BAD_REQUEST)', async () => {
    const before = await teamSecrets();
    const query =
      'mutation($t: ID!, $s: ID!, $n: String!) { updateSecret(teamId: $t, secretId: $s, input: { name: $n }) { __typename } }';
    for (const accept of ['application/graphql-response+json', 'application/json']) {
      const response = await raw(
        t.url,
        'POST',
        '/graphql',
        { ...auth(), 'content-type': 'application/json', accept },
        jsonWithNameBytes(
          `{"query": ${JSON.stringify(query)}, "variables": {"t": "${team.teamId}", "s": "${secretId}", "n": "`,
          LATIN1_CAFE,
          '"}}',
        ),
      );
      expect(response.status, response.text).toBe(400);
      expect(response.headers['content-type']).toMatch(new RegExp(`^${accept.replace('+', '\\+')}`));
      expect(response.json).toEqual({
        errors: [{ message: expect.stringMatching(/UTF-8/), extensions: { code: 'BAD_REQUEST' } }],
      });
    }
    expect(await teamSecrets()).toEqual(before);
  });

  it('UTF-8 split across chunks is read whole (a chunked REST create)', async () => {
    const body = Buffer.from(
      JSON.stringify({
        name: `café-ünïcødé-🔑-${tag}`,
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: S3_CREDENTIALS,
      }),
    );
    // One byte per chunk: every multi-byte character arrives in pieces.
    const chunks = [...body].map((byte) => Buffer.from([byte]));
    const created = await raw(
      t.url,
      'POST',
      secretsPath(),
      { ...auth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks,
    );
    expect(created.status, created.text).toBe(201);
    expect(created.json.name).toBe(`café-ünïcødé-🔑-${tag}`);
  });
});

describe('chunked GraphQL requests (no Content-Length)', () => {
  const operation = Buffer.from(JSON.stringify({ query: '{ __typename }' }));

  it('are answered, like chunked REST requests', async () => {
    const response = await raw(
      t.url,
      'POST',
      '/graphql',
      { ...auth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      [operation.subarray(0, 5), operation.subarray(5)],
    );
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ data: { __typename: 'Query' } });
  });

  it('are refused with 413 once they pass the body limit, as a GraphQL request error', async () => {
    const padding = Buffer.alloc(64 * 1024, 0x20);
    const chunks = [Buffer.from('{"query": "{ __typename }"'), ...Array(20).fill(padding), Buffer.from('}')];
    const response = await raw(
      t.url,
      'POST',
      '/graphql',
      {
        ...auth(),
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        'transfer-encoding': 'chunked',
      },
      chunks,
    );
    expect(response.status, response.text).toBe(413);
    expect(response.json).toEqual({
      errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }],
    });
  });
});

describe('page and limit state their range', () => {
  it.each([
    ['page', '99999999999', 'Input should be less than or equal to 1000000000', 'less_than_equal'],
    ['page', '400 digits', 'Input should be less than or equal to 1000000000', 'less_than_equal'],
    ['page', '0', 'Input should be greater than or equal to 1', 'greater_than_equal'],
    ['page', '-3', 'Input should be greater than or equal to 1', 'greater_than_equal'],
    ['page', '1.5', 'Input should be a valid integer', expect.any(String)],
    ['limit', '99999999999', 'Input should be less than or equal to 100', 'less_than_equal'],
    ['limit', '101', 'Input should be less than or equal to 100', 'less_than_equal'],
    ['limit', 'ten', 'Input should be a valid integer', expect.any(String)],
  ])('%s=%s: 422 "%s"', async (name, value, msg, type) => {
    const sent = value === '400 digits' ? '9'.repeat(400) : value;
    const response = await rest(t.url, team.ownerKey)('GET', `${secretsPath()}?${name}=${sent}`);
    expect(response.status, response.text).toBe(422);
    expect(response.body.detail).toEqual([{ loc: ['query', name], msg, type }]);
  });

  it('the largest page is answered (empty)', async () => {
    const response = await rest(t.url, team.ownerKey)('GET', `${secretsPath()}?page=1000000000&limit=100`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toEqual([]);
  });
});

describe('HEAD answers as GET does, without a body', () => {
  /** GET and HEAD of one path: same status and headers (but the per-request ones), HEAD has no body. */
  async function expectHeadLikeGet(path: string, headers: Record<string, string> = {}, stable = true) {
    const get = await raw(t.url, 'GET', path, headers);
    const head = await raw(t.url, 'HEAD', path, headers);
    expect(head.status, path).toBe(get.status);
    expect(head.bytes.length, path).toBe(0);
    expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
    expect(head.headers['content-length'], `${path}: content-length`).toBeDefined();
    if (stable) {
      expect(Number(head.headers['content-length']), path).toBe(get.bytes.length);
      expect(Number(get.headers['content-length']), path).toBe(get.bytes.length);
    }
    const perRequest = new Set(['date', 'x-request-id', 'content-length', 'transfer-encoding']);
    const comparable = (h: RawResponse['headers']) =>
      Object.fromEntries(Object.entries(h).filter(([name]) => !perRequest.has(name)));
    expect(comparable(head.headers), path).toEqual(comparable(get.headers));
    return { get, head };
  }

  it('on REST routes: lists, details (with their ETag), and errors', async () => {
    await expectHeadLikeGet(secretsPath(), auth());
    const { head } = await expectHeadLikeGet(`${secretsPath()}/${secretId}`, auth());
    expect(head.status).toBe(200);
    expect(head.headers.etag).toMatch(/^"\d+"$/);
    const unauthenticated = await expectHeadLikeGet(secretsPath());
    expect(unauthenticated.head.status).toBe(401);
    const invalid = await expectHeadLikeGet(`${secretsPath()}?page=0`, auth());
    expect(invalid.head.status).toBe(422);
  });

  it('on /healthz, /readyz, /openapi.json, /docs and /metrics', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/swagger-ui.css']) {
      const { head } = await expectHeadLikeGet(path);
      expect(head.status, path).toBe(200);
    }
    // The figures change between two scrapes, so only the headers are compared.
    const { head } = await expectHeadLikeGet('/metrics', {}, false);
    expect(head.status).toBe(200);
  });

  it('405s list HEAD beside GET in Allow', async () => {
    const response = await raw(t.url, 'PUT', secretsPath(), auth());
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, POST');
    const detail = await raw(t.url, 'PUT', `${secretsPath()}/${secretId}`, auth());
    expect(detail.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
  });
});

describe('CORS', () => {
  const ALLOWED = 'https://sandbox.example';
  const OTHER = 'https://elsewhere.example';
  const c = useApp({ env: { CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` } });

  function preflight(app: TestApp, path: string, origin: string, method: string, headers: string) {
    return raw(app.url, 'OPTIONS', path, {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': headers,
    });
  }

  function corsHeadersOf(response: RawResponse): string[] {
    return Object.keys(response.headers).filter((name) => name.startsWith('access-control-'));
  }

  it('a preflight from an allowed origin is granted at once (no API key), on both doors', async () => {
    for (const [path, method, headers] of [
      ['/graphql', 'POST', 'authorization, content-type'],
      [
        `/v1/teams/${team.teamId}/secrets/${secretId}`,
        'PATCH',
        'authorization,content-type,if-match,idempotency-key',
      ],
    ]) {
      const response = await preflight(c, path, ALLOWED, method, headers);
      expect(response.status, `${path}: ${response.text}`).toBe(204);
      expect(response.headers['access-control-allow-origin'], path).toBe(ALLOWED);
      expect(response.headers['access-control-allow-methods'], path).toContain(method);
      const allowedHeaders = String(response.headers['access-control-allow-headers']).toLowerCase();
      for (const header of headers.split(',')) expect(allowedHeaders, path).toContain(header.trim());
      expect(response.headers['access-control-allow-credentials'], path).toBeUndefined();
      expect(response.headers['access-control-max-age'], path).toMatch(/^\d+$/);
      expect(response.headers.vary, path).toMatch(/\bOrigin\b/);
    }
  });

  it('a preflight from any other origin gets no CORS header; the server without CORS_ORIGINS grants none', async () => {
    for (const [app, origin] of [
      [c, OTHER],
      [c, 'https://sandbox.example.evil.example'],
      [c, 'http://sandbox.example'],
      [t, ALLOWED],
    ] as const) {
      for (const path of ['/graphql', `/v1/teams/${team.teamId}/secrets`]) {
        const response = await preflight(app, path, origin, 'POST', 'authorization, content-type');
        expect(response.status, `${origin} ${path}`).not.toBe(204);
        expect(corsHeadersOf(response), `${origin} ${path}`).toEqual([]);
      }
    }
  });

  it('an actual request from an allowed origin may read the answer and the headers it needs', async () => {
    const graphql = await raw(
      c.url,
      'POST',
      '/graphql',
      { ...auth(), origin: ALLOWED, 'content-type': 'application/json' },
      Buffer.from(JSON.stringify({ query: '{ __typename }' })),
    );
    expect(graphql.status, graphql.text).toBe(200);
    expect(graphql.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(graphql.headers['access-control-allow-credentials']).toBeUndefined();
    expect(graphql.headers.vary).toMatch(/\bOrigin\b/);
    const detail = await raw(c.url, 'GET', `${secretsPath()}/${secretId}`, { ...auth(), origin: ALLOWED });
    expect(detail.status, detail.text).toBe(200);
    expect(detail.headers['access-control-allow-origin']).toBe(ALLOWED);
    const exposed = String(detail.headers['access-control-expose-headers'])
      .toLowerCase()
      .split(/\s*,\s*/);
    for (const header of [
      'etag',
      'x-request-id',
      'retry-after',
      'idempotent-replayed',
      'x-ratelimit-remaining',
    ]) {
      expect(exposed).toContain(header);
    }
    // Errors are readable too (a browser client needs the detail).
    const unauthenticated = await raw(c.url, 'GET', secretsPath(), { origin: ALLOWED });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('an actual request from another origin carries no CORS header, on either door', async () => {
    for (const app of [c, t]) {
      const graphql = await raw(
        app.url,
        'POST',
        '/graphql',
        { ...auth(), origin: OTHER, 'content-type': 'application/json' },
        Buffer.from(JSON.stringify({ query: '{ __typename }' })),
      );
      expect(graphql.status, graphql.text).toBe(200);
      expect(corsHeadersOf(graphql)).toEqual([]);
      const detail = await raw(app.url, 'GET', `${secretsPath()}/${secretId}`, { ...auth(), origin: OTHER });
      expect(detail.status, detail.text).toBe(200);
      expect(corsHeadersOf(detail)).toEqual([]);
    }
  });

  it('the CSRF rules still hold for an allowed origin', async () => {
    const forged = await raw(
      c.url,
      'POST',
      '/graphql',
      { origin: ALLOWED, 'content-type': 'text/plain' },
      Buffer.from(JSON.stringify({ query: '{ __typename }' })),
    );
    expect(forged.status).toBe(403);
    expect(forged.json.errors[0].message).toBe('Required CSRF header(s) not present');
  });

  it('preflights and HEAD requests are logged and counted by method and route', async () => {
    await preflight(c, `/v1/teams/${team.teamId}/secrets/${secretId}`, ALLOWED, 'PATCH', 'authorization');
    await raw(c.url, 'HEAD', `${secretsPath()}/${secretId}`, auth());
    const metrics = (await raw(c.url, 'GET', '/metrics')).text;
    expect(metrics).toMatch(
      /http_requests_total\{method="OPTIONS",route="\/v1\/teams\/:team_id\/secrets\/:secret_id",status="204"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /http_requests_total\{method="HEAD",route="\/v1\/teams\/:team_id\/secrets\/:secret_id",status="200"\} [1-9]/,
    );
    const lines = c.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === 'request');
    expect(lines).toContainEqual(expect.objectContaining({ method: 'OPTIONS', status: 204 }));
    expect(lines).toContainEqual(expect.objectContaining({ method: 'HEAD', status: 200 }));
  });
});

describe('CORS_ORIGINS', () => {
  const config = (value?: string) =>
    loadConfig(value === undefined ? {} : { CORS_ORIGINS: value }).CORS_ORIGINS as unknown;

  it('is a comma-separated list of exact origins, empty by default', () => {
    expect(config()).toEqual([]);
    expect(config('')).toEqual([]);
    expect(config('https://sandbox.example, http://localhost:5173,https://lab.example:8443')).toEqual([
      'https://sandbox.example',
      'http://localhost:5173',
      'https://lab.example:8443',
    ]);
  });

  it.each([
    '*',
    'https://*.example',
    'https://sandbox.example/',
    'https://sandbox.example/graphql',
    'https://sandbox.example?x=1',
    'sandbox.example',
    'ftp://sandbox.example',
    'null',
    'https://Sandbox.example',
    'https://sandbox.example:443',
    'https://user@sandbox.example',
  ])('refuses %s, naming the setting', (value) => {
    expect(() => config(value)).toThrow(/CORS_ORIGINS/);
  });
});
