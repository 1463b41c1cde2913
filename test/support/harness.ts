import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { type App, createApp } from '../../src/app/app.js';
import { addMember, bootstrapTeam, createTeamApiKey } from '../../src/app/team-admin.js';
import type { Role } from '../../src/domain/scopes.js';
import { type Config, loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import type { OwnDatabase } from './databases.js';
import type { FakeSsm, FakeSsmOptions } from './fake-ssm.js';
import type { RestExchange } from './openapi-check.js';
import type { ServerProcess } from './scenarios/processes.js';

export const TEST_CREDENTIAL_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApp {
  app: App;
  url: string;
  config: Config;
  /** Every log line the server wrote, as raw JSON text. */
  logs: string[];
  /** Creates a fresh team with an owner key holding every scope. */
  newTeam(plan?: 'free' | 'pro'): Promise<TestTeam>;
  close(): Promise<void>;
}

export interface TestTeam {
  teamId: string;
  ownerId: string;
  ownerKey: string;
  /** A key created by a member of the given role with the given scopes. */
  keyFor(role: Role, scopes: string[]): Promise<string>;
}

let teamCounter = 0;

/** Starts the real server (real HTTP on a free port) on the run's shared test database. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const databaseUrl = inject('databaseUrl');
  const embedded = inject('databaseKind') === 'embedded';
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    // One connection per process on the embedded database (PGlite runs one session).
    DATABASE_POOL_MAX: embedded ? '1' : '5',
    CREDENTIAL_KEY: TEST_CREDENTIAL_KEY,
    LOG_LEVEL: 'debug',
    // Limits are tested on their own (test/rate-limit.test.ts); other tests must not trip them.
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    // The auth cache is tested on its own (test/auth-cache.test.ts); other tests change keys and
    // memberships by SQL, as another process would, and expect the very next request to see it.
    AUTH_CACHE_TTL_MS: '0',
    // Each app follows change events on its own commits; the poll (a safety net) would put statements
    // of its own among those tests record. Tests of events across apps set a short one.
    EVENTS_POLL_MS: '60000',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const app = await createApp(config, createLogger(config.LOG_LEVEL, sink));
  const url = await app.listen();
  return {
    app,
    url,
    config,
    logs,
    async newTeam(plan = 'pro') {
      const n = ++teamCounter;
      const tag = `${process.pid}-${n}-${Date.now()}`;
      const created = await bootstrapTeam(app.db.orm, {
        team: `team-${tag}`,
        email: `owner-${tag}@example.com`,
        plan,
      });
      return {
        teamId: created.team_id,
        ownerId: created.user_id,
        ownerKey: created.api_key,
        async keyFor(role, scopes) {
          const email = `${role}-${tag}-${Math.random().toString(36).slice(2)}@example.com`;
          await addMember(app.db.orm, { teamId: created.team_id, email, role });
          const key = await createTeamApiKey(app.db.orm, {
            teamId: created.team_id,
            name: `${role} key`,
            scopes,
            createdByEmail: email,
          });
          return key.full_key;
        },
      };
    },
    close: () => app.close(),
  };
}

export interface AppOptions {
  /** Config (environment variable names) over the harness defaults, e.g. `{ RATE_LIMIT_PER_MINUTE: '3' }`. */
  env?: Record<string, string>;
  /**
   * The SSM credential store, talking to a fake SSM started for this app (`fake`). Such an app runs
   * on a database of its own (see `database`).
   */
  ssm?: { prefix?: string; timeoutMs?: number; kmsKeyId?: string; fake?: FakeSsmOptions };
  /**
   * `'own'`: a database no other app of the run uses. Default for `ssm` apps: every app drains the
   * whole `credential_deletions` outbox with its own store, so an app on another store (another
   * file's, or this file's local one) would take the rows of this one, and this one theirs.
   */
  database?: 'shared' | 'own';
}

/** A test app started before the tests of the enclosing scope (file or describe) and closed after them. */
export interface AppFixture extends TestApp {
  /** The fake SSM of an `ssm` app (throws for others). */
  readonly fake: FakeSsm;
  /** Stops the app (a restart, or a process going away); the database and the fake SSM stay. */
  close(): Promise<void>;
  /** Starts it again after `close()`, with the same options, database and fake SSM. */
  start(): Promise<void>;
}

/**
 * One app for the tests of the enclosing scope: `const t = useApp();` at the top of a file (or of a
 * describe) boots it in a beforeAll and closes it in an afterAll. Options give it another config,
 * the SSM store against a fake SSM, or a database of its own.
 */
export function useApp(options: AppOptions = {}): AppFixture {
  const [app] = useApps(options);
  return app;
}

/** Several apps for the enclosing scope, booted at once (e.g. two instances on one database). */
export function useApps<const T extends AppOptions[]>(...options: T): { [K in keyof T]: AppFixture } {
  const fixtures = options.map(fixtureFor);
  beforeAll(async () => {
    await Promise.all(fixtures.map((f) => f.setUp()));
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.tearDown()));
  });
  return fixtures.map((f) => f.handle) as { [K in keyof T]: AppFixture };
}

function fixtureFor(options: AppOptions) {
  let app: TestApp | undefined;
  let fake: FakeSsm | undefined;
  let database: OwnDatabase | undefined;
  const env = (): Record<string, string> => ({
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(fake
      ? {
          CREDENTIAL_STORE: 'ssm',
          AWS_ENDPOINT_URL_SSM: fake.url,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          ...(options.ssm?.prefix ? { SSM_PARAMETER_PREFIX: options.ssm.prefix } : {}),
          ...(options.ssm?.timeoutMs ? { SSM_TIMEOUT_MS: String(options.ssm.timeoutMs) } : {}),
          ...(options.ssm?.kmsKeyId ? { SSM_KMS_KEY_ID: options.ssm.kmsKeyId } : {}),
        }
      : {}),
    ...options.env,
  });
  const start = async () => {
    if (app) throw new Error('the app is already running');
    app = await startTestApp(env());
  };
  const close = async () => {
    const running = app;
    app = undefined;
    await running?.close();
  };
  const extra: Record<PropertyKey, unknown> = {
    close,
    start,
    get fake() {
      if (!fake) throw new Error('not an ssm app: useApp({ ssm: {} })');
      return fake;
    },
  };
  const handle = new Proxy({} as AppFixture, {
    get(_, property) {
      if (property in extra) return extra[property];
      if (property === 'then') return undefined; // not a promise
      if (!app) throw new Error(`the app is not running (reading ${String(property)})`);
      return app[property as keyof TestApp];
    },
  });
  return {
    handle,
    async setUp() {
      const own = options.database ?? (options.ssm ? 'own' : 'shared');
      await Promise.all([
        options.ssm &&
          (async () => {
            // The SSM client takes its credentials from the default chain (the config does not carry them).
            process.env.AWS_ACCESS_KEY_ID = 'test';
            process.env.AWS_SECRET_ACCESS_KEY = 'test';
            delete process.env.AWS_SESSION_TOKEN;
            delete process.env.AWS_PROFILE;
            const { startFakeSsm } = await import('./fake-ssm.js');
            fake = await startFakeSsm(options.ssm?.fake);
          })(),
        own === 'own' &&
          (async () => {
            const { createOwnDatabase } = await import('./databases.js');
            database = await createOwnDatabase(inject('databaseUrl'), inject('databaseKind'));
          })(),
      ]);
      await start();
    },
    async tearDown() {
      await close();
      await fake?.close();
      await database?.drop();
    },
  };
}

/**
 * `count` real server processes (src/main.ts) for the enclosing scope, on the database of `app` with
 * the harness's credential key; `env` adds to their environment. Started in a beforeAll (after
 * `app`'s), stopped in an afterAll.
 */
export function useServerProcesses(
  count: number,
  app: AppFixture,
  env: Record<string, string> = {},
): ServerProcess[] {
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    const { startServerProcess } = await import('./scenarios/processes.js');
    const serverEnv = { DATABASE_URL: app.config.DATABASE_URL, CREDENTIAL_KEY: TEST_CREDENTIAL_KEY, ...env };
    servers.push(...(await Promise.all(Array.from({ length: count }, () => startServerProcess(serverEnv)))));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  return servers;
}

/** Every exchange this test file made through `rest()`, in order (a cheap push per request). */
export const restExchanges: RestExchange[] = [];

// VALIDATE_REST=1 npx vitest run: every test file checks its REST responses against the OpenAPI document.
if (process.env.VALIDATE_REST === '1') {
  afterAll(async () => {
    const { checkExchanges } = await import('./openapi-check.js');
    const { buildOpenApiDocument } = await import('../../src/app/openapi.js');
    expect(checkExchanges(buildOpenApiDocument(), restExchanges).problems).toEqual([]);
  });
}

/** A small JSON-over-HTTP client for the REST shim. */
export function rest(baseUrl: string, key?: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    restExchanges.push({
      method,
      path: new URL(`${baseUrl}${path}`).pathname,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: json,
      text,
    });
    return { status: response.status, body: json, text, headers: response.headers };
  };
}

/** A GraphQL client: returns the parsed response and the raw text. */
export function graphql(baseUrl: string, key?: string) {
  return async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as { data?: any; errors?: any[] }, text };
  };
}

/** Runs `work` while recording every SQL statement `app` sends (ORM and repositories alike, through MikroORM's query logger). */
export async function recordSql<T>(
  app: TestApp,
  work: () => Promise<T>,
): Promise<{ result: T; queries: string[] }> {
  const logger = app.app.db.orm.config.getLogger();
  const original = logger.logQuery;
  const queries: string[] = [];
  logger.logQuery = function (this: unknown, context) {
    queries.push(String(context.query));
    return original.call(this, context);
  } as typeof logger.logQuery;
  try {
    const result = await work();
    return { result, queries };
  } finally {
    logger.logQuery = original;
  }
}

/** Runs SQL on the app's database: the test's own look at what the service wrote. */
export function queryDatabase<T = Record<string, any>>(
  app: { app: App },
  query: string,
  params: unknown[] = [],
): Promise<T[]> {
  return app.app.db.orm.em.fork().getConnection().execute(query, params) as Promise<T[]>;
}

/** The audit events of one resource (type, name, changed fields), oldest first. */
export function auditTrail(app: { app: App }, teamId: string, resourceId: string) {
  return queryDatabase(
    app,
    `select event_type, resource_type, resource_name, changed_fields from audit_events
      where team_id = ? and resource_id = ? order by created_at, event_type`,
    [teamId, resourceId],
  );
}
