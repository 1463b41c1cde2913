import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import type { Config } from '../platform/config.js';
import type { CredentialStore } from '../platform/credentials/credential-store.js';
import { instrumentStore } from '../platform/credentials/instrumented-store.js';
import { LocalCredentialStore, loadCredentialKey } from '../platform/credentials/local-store.js';
import { type Database, pingDatabase } from '../platform/db/database.js';
import { autocommit } from '../platform/db/unit-of-work.js';
import { closeGracefully, createHttpServer } from '../platform/http/server.js';
import type { ServerOptions } from '../platform/http/server-options.js';
import type { Logger } from '../platform/logger.js';
import { Metrics, type PoolStats } from '../platform/metrics.js';
import { openConfiguredDatabase } from './database.js';
import { restRoutes } from './rest-routes.js';
import { createServices, type Services } from './services.js';

export interface App {
  db: Database;
  services: Services;
  server: Server;
  /** This instance's Prometheus registry and metrics (served at `/metrics`). */
  metrics: Metrics;
  /** Listens on the configured host and port; resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The AWS SDK is loaded only when the ssm store is used: it costs start-up time and memory. */
export async function createCredentialStore(config: Config): Promise<CredentialStore> {
  if (config.CREDENTIAL_STORE === 'ssm') {
    const { SsmCredentialStore } = await import('../platform/credentials/ssm-store.js');
    return new SsmCredentialStore({
      region: config.AWS_REGION,
      endpoint: config.AWS_ENDPOINT_URL_SSM,
      kmsKeyId: config.SSM_KMS_KEY_ID,
      prefix: config.SSM_PARAMETER_PREFIX,
      timeoutMs: config.SSM_TIMEOUT_MS,
    });
  }
  return new LocalCredentialStore(loadCredentialKey(config.CREDENTIAL_KEY, config.DATA_DIR));
}

/** What the HTTP server is given of the modules: authentication, REST routes, GraphQL schema, API docs. */
export function serverParts(
  config: Pick<Config, 'GRAPHQL_INTROSPECTION'>,
  services: Services,
): Pick<ServerOptions, 'authenticate' | 'routes' | 'loadGraphQLSchema' | 'loadApiDocs'> {
  return {
    authenticate: (authorization) => services.apiKeys.authenticate(authorization),
    routes: restRoutes(services),
    loadGraphQLSchema: async () =>
      (await import('./graphql-schema.js')).buildExecutableSchema({
        introspection: config.GRAPHQL_INTROSPECTION,
      }),
    loadApiDocs: async () => (await import('./openapi.js')).serveApiDocs,
  };
}

/** `database`: one already being opened (src/main.ts opens it while the rest of the modules load). */
export async function createApp(
  config: Config,
  logger: Logger,
  database: Promise<Database> = openConfiguredDatabase(config),
): Promise<App> {
  // The next full GC once the old generation has doubled: when GC is cheap V8 lets it grow up to 4×,
  // and under load it filled with dead request objects promoted from the young generation (max RSS
  // 250-290 MB). V8 reads the flag at every full GC.
  setFlagsFromString('--heap-growing-percent=100');
  const metrics = new Metrics();
  let store: CredentialStore;
  try {
    store = instrumentStore(await createCredentialStore(config), metrics);
  } catch (error) {
    await (await database).close();
    throw error;
  }
  const db = await database;
  metrics.observeDatabasePool(() => {
    try {
      return db.orm.em.getConnection().getKnex().client.pool as PoolStats | undefined;
    } catch {
      return undefined; // closed
    }
  });
  const services = createServices(db.orm, store, logger, {
    authCacheTtlMs: config.AUTH_CACHE_TTL_MS,
    events: {
      listenUrl: db.listenUrl,
      pollMs: config.EVENTS_POLL_MS,
      streamBuffer: config.EVENT_STREAM_BUFFER,
      subscriptionsPerKey: config.SUBSCRIPTIONS_PER_KEY,
    },
    webhooks: {
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    },
    metrics,
  });
  metrics.observeLiveStreams(() => services.events.feed.openStreams);
  services.cleanup.start();
  services.events.feed.start();
  const purgeIdempotencyKeys = setInterval(
    () => void services.idempotency.purgeExpired().catch(() => {}),
    3_600_000,
  );
  purgeIdempotencyKeys.unref();
  const server = createHttpServer({
    config,
    services,
    logger,
    metrics,
    ...serverParts(config, services),
    ready: async () => {
      await pingDatabase(db.orm);
      await store.ping(autocommit(db.orm));
    },
  });
  server.keepAliveTimeout = 65_000;

  return {
    db,
    services,
    server,
    metrics,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
          resolve(`http://${host}:${port}`);
        });
      }),
    async close() {
      // Live event streams end first (their consumers resume elsewhere): they would hold the drain.
      await services.events.feed.close();
      await closeGracefully(server);
      await services.webhooks.dispatcher.close();
      clearInterval(purgeIdempotencyKeys);
      await services.cleanup.stop();
      // Pending last_used_at values are written while the database is still open.
      await services.apiKeys.close().catch(() => {});
      await store.close();
      await db.close();
    },
  };
}
