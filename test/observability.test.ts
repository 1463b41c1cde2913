/**
 * Operating the service: JSON logs with the request id on every line written while a request is
 * handled, `/metrics` (Prometheus: HTTP by route template, GraphQL operations, database pool,
 * credential store calls, process), and `/readyz` failing while the SSM store is unreachable.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UnavailableError, ValidationError } from '../src/domain/errors.js';
import {
  CredentialNotFoundError,
  type CredentialStore,
} from '../src/platform/credentials/credential-store.js';
import { instrumentStore } from '../src/platform/credentials/instrumented-store.js';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { RestRouter } from '../src/platform/http/rest-router.js';
import { createLogger, requestContext } from '../src/platform/logger.js';
import { Metrics } from '../src/platform/metrics.js';
import { createNativeSecret } from './support/factories.js';
import { graphql, rest, type TestApp, type TestTeam, useApp, useApps } from './support/harness.js';

// The SSM client takes its credentials from the default chain.
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value.replace(/\\(.)/g, '$1');
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

async function scrape(url: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${url}/metrics`);
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    text: await response.text(),
  };
}

const logLines = (t: TestApp) => t.logs.map((line) => JSON.parse(line) as Record<string, any>);

const t = useApp();
let team: TestTeam;
beforeAll(async () => {
  team = await t.newTeam();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('structured logs', () => {
  it('every line written while handling a request carries its reqId, also under concurrency', async () => {
    const secretId = (
      await createNativeSecret(t, team, {
        name: `logs-${Date.now()}`,
        credentials: { access_key_id: 'AKIAOBSERVABILITY', secret_access_key: 'obs-secret-value' },
      })
    ).id;
    // An unexpected failure deep in the service, after an await: GraphQL logs it without passing an id.
    vi.spyOn(t.app.services.secrets, 'update').mockImplementation(async (_a, _m, _t, _s, body: any) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      throw new Error(`boom for ${body.name}`);
    });
    const tags = Array.from({ length: 8 }, (_, i) => `concurrent-${i}`);
    const responses = await Promise.all(
      tags.map(async (tag) => {
        const response = await fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${team.ownerKey}`,
            'x-request-id': `req-${tag}`,
          },
          body: JSON.stringify({
            query: `mutation($t: ID!, $s: ID!, $n: String!) { updateSecret(teamId: $t, secretId: $s, input: { name: $n }) { __typename } }`,
            variables: { t: team.teamId, s: secretId, n: tag },
          }),
        });
        return { tag, body: (await response.json()) as { errors?: any[] } };
      }),
    );
    for (const { tag, body } of responses) {
      expect(body.errors?.[0]).toMatchObject({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: `req-${tag}` },
      });
      expect(JSON.stringify(body)).not.toContain('boom');
    }
    const unexpected = logLines(t).filter((line) => line.msg === 'unexpected GraphQL error');
    for (const tag of tags) {
      const line = unexpected.find((l) => l.reqId === `req-${tag}`);
      expect(line, tag).toBeDefined();
      expect(line!.error.type).toBe('Error');
      expect(line!.level).toBe('error');
      // The message is never logged: it may quote the request (test/error-logging.test.ts).
      expect(JSON.stringify(line)).not.toContain('boom');
    }
  });

  it('an unexpected REST error is a 500 whose body and log line carry the request id', async () => {
    const secretId = (
      await createNativeSecret(t, team, {
        name: `logs-rest-${Date.now()}`,
        credentials: { access_key_id: 'AKIAOBSERVABILITY', secret_access_key: 'obs-secret-value' },
      })
    ).id;
    vi.spyOn(t.app.services.secrets, 'update').mockRejectedValue(new Error('rest boom'));
    const response = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/secrets/${secretId}`,
      { name: 'never' },
      { 'x-request-id': 'rest-500-check' },
    );
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: 'Internal server error', request_id: 'rest-500-check' });
    expect(response.headers.get('x-request-id')).toBe('rest-500-check');
    const line = logLines(t).find((l) => l.msg === 'unexpected error' && l.reqId === 'rest-500-check');
    expect(line?.error?.type).toBe('Error');
    expect(JSON.stringify(line)).not.toContain('rest boom');
    // Without a usable X-Request-Id the server makes one up and still reports it.
    const generated = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/secrets/${secretId}`,
      {
        name: 'never',
      },
    );
    expect(generated.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-request-id')).toBe(generated.body.request_id);
  });

  it('the request id comes from the async context; credential-bearing keys stay redacted', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        callback();
      },
    });
    const logger = createLogger('info', sink);
    logger.info('outside any request');
    requestContext.run({ reqId: 'ctx-1' }, () => {
      logger.info(
        {
          credentials: { secret_access_key: 'canary-redact-1' },
          headers: { authorization: 'Bearer canary-redact-2' },
          body: { field: { password: 'canary-redact-3' } },
        },
        'inside',
      );
      logger.child({ component: 'x' }).warn('child logger');
      logger.info({ reqId: 'explicit' }, 'explicit id wins');
    });
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[0]).not.toHaveProperty('reqId');
    expect(parsed[1]).toMatchObject({ reqId: 'ctx-1', msg: 'inside', credentials: '[redacted]' });
    expect(parsed[2]).toMatchObject({ reqId: 'ctx-1', component: 'x', level: 'warn' });
    expect(parsed[3].reqId).toBe('explicit');
    expect(lines[3].match(/"reqId"/g)).toHaveLength(1);
    expect(lines.join('\n')).not.toMatch(/canary-redact/);
  });

  it('no log line of the run contains a credential or an API key', () => {
    const all = t.logs.join('\n');
    expect(all).not.toContain('obs-secret-value');
    expect(all).not.toContain(team.ownerKey);
  });
});

describe('/metrics', () => {
  it('serves Prometheus text without an API key, with route templates and no ids or credentials', async () => {
    const secretId = (
      await createNativeSecret(t, team, {
        name: `metrics-${Date.now()}`,
        credentials: { access_key_id: 'AKIAOBSERVABILITY', secret_access_key: 'metrics-canary-secret' },
      })
    ).id;
    const call = rest(t.url, team.ownerKey);
    expect(
      (await call('PATCH', `/v1/teams/${team.teamId}/secrets/${secretId}`, { name: 'm-renamed' })).status,
    ).toBe(200);
    expect((await call('GET', `/v1/teams/${team.teamId}/secrets/${secretId}`)).status).toBe(200);
    expect((await call('GET', `/v1/teams/${team.teamId}/secrets/${secretId}/versions`)).status).toBe(200);
    expect((await rest(t.url)('GET', `/v1/teams/${team.teamId}/secrets`)).status).toBe(401);
    expect((await call('GET', `/v1/teams/${team.teamId}/no-such-thing/${secretId}`)).status).toBe(404);
    expect((await call('GET', `/nowhere/${secretId}`)).status).toBe(404);
    const gql = await graphql(t.url, team.ownerKey)(
      `mutation ObsRename($t: ID!, $s: ID!) { updateSecret(teamId: $t, secretId: $s, input: { name: "m-renamed-2" }) { __typename } }`,
      { t: team.teamId, s: secretId },
    );
    expect(gql.body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
    await graphql(t.url, team.ownerKey)(`query { secrets(teamId: "${team.teamId}") { totalCount } }`);
    await fetch(`${t.url}/healthz`);

    const scraped = await scrape(t.url);
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(scraped.text);
    const secretRoute = '/v1/teams/:team_id/secrets/:secret_id';
    expect(
      value(samples, 'http_requests_total', { method: 'PATCH', route: secretRoute, status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_requests_total', { method: 'GET', route: secretRoute, status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_requests_total', {
        method: 'GET',
        route: `${secretRoute}/versions`,
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_requests_total', {
        method: 'POST',
        route: '/v1/teams/:team_id/secrets',
        status: '201',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_requests_total', {
        method: 'GET',
        route: '/v1/teams/:team_id/secrets',
        status: '401',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_requests_total', { method: 'GET', route: 'other', status: '404' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(samples, 'http_requests_total', { method: 'POST', route: '/graphql', status: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(samples, 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_request_duration_seconds_count', {
        method: 'PATCH',
        route: secretRoute,
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'http_request_duration_seconds_bucket', {
        method: 'PATCH',
        route: secretRoute,
        status: '200',
        le: '+Inf',
      }),
    ).toBeGreaterThanOrEqual(1);

    // GraphQL operations by type and name.
    const renames = { operation_type: 'mutation', operation_name: 'ObsRename' };
    expect(
      value(samples, 'graphql_operations_total', { ...renames, outcome: 'success' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'graphql_operation_duration_seconds_count', renames)).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'graphql_operations_total', {
        operation_type: 'query',
        operation_name: 'anonymous',
        outcome: 'success',
      }),
    ).toBeGreaterThanOrEqual(1);

    // Credential store calls (the create wrote through the local store).
    expect(
      value(samples, 'credential_store_calls_total', {
        store: 'local',
        operation: 'put',
        outcome: 'success',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'credential_store_call_duration_seconds_count', { store: 'local', operation: 'put' }),
    ).toBeGreaterThanOrEqual(1);

    // Database pool, sampled at scrape time, and the default process metrics.
    for (const name of [
      'db_pool_connections_used',
      'db_pool_connections_free',
      'db_pool_pending_acquires',
      'db_pool_pending_creates',
    ]) {
      expect(value(samples, name, {}), name).toBeGreaterThanOrEqual(0);
    }
    expect(
      value(samples, 'db_pool_connections_used', {})! + value(samples, 'db_pool_connections_free', {})!,
    ).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);

    // No label value is an id, a key or a credential; routes are templates or fixed names.
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    for (const secret of [
      team.teamId,
      secretId,
      team.ownerKey,
      'metrics-canary-secret',
      'AKIAOBSERVABILITY',
      'm-renamed',
    ]) {
      expect(scraped.text).not.toContain(secret);
    }
    expect(labelValues.some((v) => /[0-9a-f]{8}-[0-9a-f]{4}-/.test(v))).toBe(false);
    const routes = new Set(samples.filter((s) => s.labels.route).map((s) => s.labels.route));
    for (const route of routes) {
      expect(
        ['/graphql', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', 'other'].includes(route) ||
          /^\/v1\/teams\/:team_id(\/[a-z-]+(\/:[a-z_]+)?)*(\/[a-z]+)?$/.test(route),
        route,
      ).toBe(true);
    }
  });

  it('store failures are counted by outcome', async () => {
    await expect(
      t.app.services.store.get('teams/none/secrets/none', 1, autocommit(t.app.db.orm)),
    ).rejects.toBeInstanceOf(CredentialNotFoundError);
    const samples = parseMetrics((await scrape(t.url)).text);
    expect(
      value(samples, 'credential_store_calls_total', {
        store: 'local',
        operation: 'get',
        outcome: 'not_found',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers HEAD, refuses other methods', async () => {
    expect((await fetch(`${t.url}/metrics`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${t.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('metrics building blocks', () => {
  const other = useApp();

  it('instrumentStore counts each call by store, operation and outcome and passes results and errors through', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const failures = {
      get: new CredentialNotFoundError('teams/a/secrets/b', 1),
      delete: new Error('unexpected'),
      listRefs: ValidationError.single(['credentials'], 'too large'),
      ping: new UnavailableError('down', 2),
    };
    const inner: CredentialStore = {
      kind: 'ssm',
      put: async () => 7,
      prune: async () => {},
      get: async () => {
        throw failures.get;
      },
      delete: async () => {
        throw failures.delete;
      },
      listRefs: async () => {
        throw failures.listRefs;
      },
      ping: async () => {
        throw failures.ping;
      },
      settled: async () => {},
      close: async () => {},
    };
    const store = instrumentStore(inner, metrics);
    const em = {} as any;
    expect(store.kind).toBe('ssm');
    expect(await store.put('teams/a/secrets/b', { secret_access_key: 'never-a-label' }, em)).toBe(7);
    await expect(store.get('teams/a/secrets/b', 1, em)).rejects.toBe(failures.get);
    await expect(store.delete('teams/a/secrets/b', em)).rejects.toBe(failures.delete);
    await expect(store.listRefs(em)).rejects.toBe(failures.listRefs);
    await expect(store.ping(em)).rejects.toBe(failures.ping);
    const text = await metrics.registry.metrics();
    const samples = parseMetrics(text);
    const calls = (operation: string, outcome: string) =>
      value(samples, 'credential_store_calls_total', { store: 'ssm', operation, outcome });
    expect(calls('put', 'success')).toBe(1);
    expect(calls('get', 'not_found')).toBe(1);
    expect(calls('delete', 'error')).toBe(1);
    expect(calls('listRefs', 'rejected')).toBe(1);
    expect(calls('ping', 'unavailable')).toBe(1);
    expect(
      value(samples, 'credential_store_call_duration_seconds_count', { store: 'ssm', operation: 'ping' }),
    ).toBe(1);
    expect(text).not.toContain('never-a-label');
    expect(text).not.toContain('teams/a');
  });

  it('GraphQL operation names: bounded, syntactically names, anonymous when absent', () => {
    const metrics = new Metrics({ defaultMetrics: false });
    expect(metrics.operationNameLabel(undefined)).toBe('anonymous');
    expect(metrics.operationNameLabel('RenameSecret')).toBe('RenameSecret');
    expect(metrics.operationNameLabel('not a name')).toBe('other');
    expect(metrics.operationNameLabel('x'.repeat(65))).toBe('other');
    for (let i = 0; i < 200; i++) metrics.operationNameLabel(`Op${i}`);
    expect(metrics.operationNameLabel('Op5')).toBe('Op5');
    expect(metrics.operationNameLabel('Op150')).toBe('other');
    expect(metrics.operationNameLabel('RenameSecret')).toBe('RenameSecret');
  });

  it('route templates match as the REST router does, preferring the request method', () => {
    const handle = async () => ({ status: 200 });
    const router = new RestRouter(
      [
        { method: 'GET', path: '/v1/teams/:team_id/secrets/:secret_id', handle },
        { method: 'POST', path: '/v1/teams/:team_id/secrets/:secret_id/rollback', handle },
      ],
      t.app.services.idempotency,
    );
    const template = (method: string, pathname: string) => router.templateOf(method, pathname);
    expect(template('GET', '/v1/teams/t1/secrets/s1')).toBe('/v1/teams/:team_id/secrets/:secret_id');
    expect(template('DELETE', '/v1/teams/t1/secrets/s1')).toBe('/v1/teams/:team_id/secrets/:secret_id');
    expect(template('POST', '/v1/teams/t1/secrets/s1/rollback')).toBe(
      '/v1/teams/:team_id/secrets/:secret_id/rollback',
    );
    expect(template('GET', '/v1/teams/t1/secrets/s1/other')).toBeUndefined();
  });

  it('several apps in one process keep their own registries', async () => {
    await fetch(`${other.url}/healthz`);
    const mine = parseMetrics((await scrape(other.url)).text);
    // The POST /secrets requests went to the first app only.
    expect(
      value(mine, 'http_requests_total', {
        method: 'POST',
        route: '/v1/teams/:team_id/secrets',
        status: '201',
      }),
    ).toBeUndefined();
    expect(value(mine, 'http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    expect(other.app.metrics.registry).not.toBe(t.app.metrics.registry);
  });
});

describe('/readyz', () => {
  // Two apps on the SSM store, each with a fake SSM of its own that a test stops.
  const [ssmDown, ssmUp] = useApps(
    { ssm: { timeoutMs: 200 } },
    { ssm: { timeoutMs: 200, prefix: `/readyz-${process.pid}` } },
  );

  it('is 200 with the local store and the database up', async () => {
    const response = await fetch(`${t.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('is 503 while the SSM endpoint is down (the process stays healthy)', async () => {
    const s = ssmDown;
    await s.fake.close(); // nothing listens on its port any more
    const ready = await fetch(`${s.url}/readyz`, { headers: { 'x-request-id': 'readyz-ssm-down' } });
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable' });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'not ready');
    expect(line).toMatchObject({ level: 'warn', reqId: 'readyz-ssm-down' });
    const samples = parseMetrics((await scrape(s.url)).text);
    expect(
      value(samples, 'credential_store_calls_total', {
        store: 'ssm',
        operation: 'ping',
        outcome: 'unavailable',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'http_requests_total', { method: 'GET', route: '/readyz', status: '503' })).toBe(1);
  });

  it('follows the SSM endpoint: 200 while it answers, 503 once it is gone', async () => {
    const s = ssmUp;
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    await s.fake.close();
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
  });
});
