/**
 * Hardening at the edge: security headers on every response, a GraphiQL page policy that allows
 * exactly what the page runs, CSRF prevention on /graphql, and JSON-only REST writes. The real
 * server over real HTTP; requests are shaped as a browser on another site could send them.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestTeam, useApp } from './support/harness.js';

const t = useApp({ env: { GRAPHIQL: 'true' } });
let team: TestTeam;

beforeAll(async () => {
  team = await t.newTeam();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });

/** The same four on every response, whatever answered it. */
function expectBaseHeaders(res: Response, label: string): void {
  expect(res.headers.get('x-content-type-options'), label).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), label).toBe('no-referrer');
  expect(res.headers.get('x-frame-options'), label).toBe('DENY');
  expect(res.headers.get('content-security-policy'), label).toContain("frame-ancestors 'none'");
  expect(res.headers.get('strict-transport-security'), label).toBeNull();
}

/** Directive name → its sources. */
function directives(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy.split(';').map((part) => {
      const [name, ...sources] = part.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

describe('security headers', () => {
  it('every API, health, metrics and error response carries them, with no-store and no document policy', async () => {
    const auth = { authorization: `Bearer ${team.ownerKey}` };
    const responses: [string, Response][] = [
      ['healthz', await get('/healthz')],
      ['readyz', await get('/readyz')],
      ['metrics', await get('/metrics')],
      ['not found', await get('/nowhere')],
      ['openapi.json', await get('/openapi.json')],
      ['REST 200', await get(`/v1/teams/${team.teamId}/secrets`, auth)],
      ['REST 401', await get(`/v1/teams/${team.teamId}/secrets`)],
      ['REST 404', await get(`/v1/teams/${team.teamId}/secrets/not-a-uuid`, auth)],
      [
        'GraphQL 200',
        await fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        }),
      ],
      [
        'GraphQL syntax error',
        await fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: {
            ...auth,
            'content-type': 'application/json',
            accept: 'application/graphql-response+json',
          },
          body: JSON.stringify({ query: '{ broken' }),
        }),
      ],
    ];
    for (const [label, res] of responses) {
      expectBaseHeaders(res, label);
      expect(res.headers.get('content-security-policy'), label).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      // The API document is public and may be cached (revalidated); answers with data never are.
      expect(res.headers.get('cache-control'), label).toBe(
        label === 'openapi.json' ? 'no-cache' : 'no-store',
      );
      await res.arrayBuffer();
    }
    // (A syntax error is 200 or 400 by the Accept rules of GraphQL over HTTP; its headers are the point.)
    expect(responses.map(([, r]) => r.status).slice(0, -1)).toEqual([
      200, 200, 200, 404, 200, 200, 401, 422, 200,
    ]);
  });

  it('/docs keeps its own page policy (local assets only) and the base headers', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expectBaseHeaders(page, '/docs');
    const policy = directives(page.headers.get('content-security-policy')!);
    expect(policy['script-src']).toEqual(["'self'"]);
    const html = await page.text();
    // Every script and stylesheet the page loads is a local path, so 'self' lets it run.
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(2);
    for (const source of sources) expect(source).toMatch(/^\/docs\//);
    expect(html).not.toMatch(/<script>[^<]/); // no inline script for 'self' to block

    const asset = await get('/docs/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    expectBaseHeaders(asset, '/docs asset');
    await asset.arrayBuffer();
  });

  it('the GraphiQL page gets a policy that allows exactly its inline scripts, local assets and blob: workers', async () => {
    const page = await get('/graphql', { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expectBaseHeaders(page, 'GraphiQL page');
    const policy = directives(page.headers.get('content-security-policy')!);
    const html = await page.text();

    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(inline.length).toBeGreaterThan(0);
    const hashes = inline.map((code) => `'sha256-${createHash('sha256').update(code).digest('base64')}'`);
    expect(policy['script-src']).toEqual(["'self'", ...hashes]);
    expect(policy['script-src']).not.toContain("'unsafe-inline'");
    expect(policy['script-src']).not.toContain("'unsafe-eval'");
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['worker-src']).toEqual(['blob:']);
    expect(policy['connect-src']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);

    // Every external script, stylesheet and worker the page names is served here, under /graphiql/.
    const external = [
      ...[...html.matchAll(/(?:src|href)=("?)([^\s">]+)\1/g)].map((m) => m[2]),
      ...[...html.matchAll(/"(\/graphiql\/[^"]+)"/g)].map((m) => m[1]),
    ].filter((url) => url !== 'data:,');
    expect(external.length).toBeGreaterThanOrEqual(5);
    for (const url of external) {
      expect(url).toMatch(/^\/graphiql\//);
      const asset = await get(url);
      expect(asset.status, url).toBe(200);
      expectBaseHeaders(asset, url);
      await asset.arrayBuffer();
    }
  });
});

describe('CSRF prevention on /graphql', () => {
  const typename = JSON.stringify({ query: '{ __typename }' });
  const post = (headers: Record<string, string>, body: BodyInit = typename) =>
    fetch(`${t.url}/graphql`, { method: 'POST', headers, body });

  it('refuses what a page on another site could send without a preflight, before running anything', async () => {
    const form = new FormData();
    form.set('query', '{ __typename }');
    const forged: [string, Promise<Response>][] = [
      ['text/plain POST', post({ 'content-type': 'text/plain' })],
      ['text/plain;charset POST', post({ 'content-type': 'text/plain; charset=utf-8' })],
      [
        'urlencoded POST',
        post({ 'content-type': 'application/x-www-form-urlencoded' }, 'query=%7B__typename%7D'),
      ],
      ['multipart POST', post({}, form)],
      ['POST without a type', post({}, new Blob([typename]))],
      ['plain GET', get('/graphql?query=%7B__typename%7D')],
      ['GET accepting JSON', get('/graphql?query=%7B__typename%7D', { accept: 'application/json' })],
    ];
    for (const [label, pending] of forged) {
      const res = await pending;
      const text = await res.text();
      expect(res.status, `${label}: ${text}`).toBe(403);
      expect(JSON.parse(text).errors[0].message, label).toBe('Required CSRF header(s) not present');
      expect(text, label).not.toContain('Query');
      expectBaseHeaders(res, label);
    }
  });

  it('runs requests a browser must preflight: JSON, Authorization, or a CSRF header', async () => {
    const allowed: [string, Promise<Response>][] = [
      ['JSON POST', post({ 'content-type': 'application/json' })],
      [
        'GraphQL response type POST',
        post({
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/graphql-response+json',
        }),
      ],
      [
        'GET with Authorization',
        get('/graphql?query=%7B__typename%7D', { authorization: `Bearer ${team.ownerKey}` }),
      ],
      [
        'GET with x-graphql-yoga-csrf',
        get('/graphql?query=%7B__typename%7D', { 'x-graphql-yoga-csrf': '1' }),
      ],
      [
        'GET with apollo-require-preflight',
        get('/graphql?query=%7B__typename%7D', { 'apollo-require-preflight': 'true' }),
      ],
    ];
    for (const [label, pending] of allowed) {
      const res = await pending;
      const text = await res.text();
      expect(res.status, `${label}: ${text}`).toBe(200);
      expect(JSON.parse(text), label).toEqual({ data: { __typename: 'Query' } });
    }
  });
});

/**
 * REST needs no CSRF rule of its own: every call carries `Authorization`, which a page on another
 * site can only send after a CORS preflight this server never grants. So, as the API it mirrors,
 * the body is read as JSON whatever its Content-Type (callers that omit it keep working).
 */
describe('REST bodies are read as JSON whatever their Content-Type', () => {
  const secretsPath = () => `/v1/teams/${team.teamId}/secrets`;
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${team.ownerKey}`, ...headers },
      body,
    });
  const secretBody = (name: string) =>
    JSON.stringify({
      name,
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'example-secret-access-key' },
    });
  const names = async () => {
    const rows: { name: string }[] = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute('select name from secrets where team_id = ? order by name', [team.teamId]);
    return rows.map((r) => r.name);
  };

  it('a JSON body sent as text/plain or with no type is accepted; a form body is a 400, creating nothing', async () => {
    const before = await names();
    for (const [label, headers] of [
      ['textplain', { 'content-type': 'text/plain' }],
      ['notype', {}],
    ] as [string, Record<string, string>][]) {
      const res = await send('POST', secretsPath(), headers, secretBody(`typed-${label}`));
      expect(res.status, `${label}: ${await res.text()}`).toBe(201);
      expectBaseHeaders(res, label);
    }
    const form = await send(
      'POST',
      secretsPath(),
      { 'content-type': 'application/x-www-form-urlencoded' },
      'name=form&secret_type=s3',
    );
    expect(form.status).toBe(400);
    expect((await form.json()).detail).toMatch(/JSON/);
    expect(await names()).toEqual([...before, 'typed-notype', 'typed-textplain'].sort());
  });

  it('a request without Authorization writes nothing, whatever its Content-Type', async () => {
    const before = await names();
    const res = await fetch(`${t.url}${secretsPath()}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: secretBody('forged'),
    });
    expect(res.status).toBe(401);
    expect(await names()).toEqual(before);
  });
});
