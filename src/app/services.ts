import type { MikroORM } from '@mikro-orm/postgresql';
import { ApiKeyService } from '../modules/api-keys/api-key.service.js';
import { AuditService } from '../modules/audit/audit.service.js';
import { ChangeFeed, type FeedOptions } from '../modules/events/change-feed.js';
import { EventService } from '../modules/events/event.service.js';
import { LocationService } from '../modules/locations/location.service.js';
import { SecretService } from '../modules/secrets/secret.service.js';
import { SecretHistoryService } from '../modules/secrets/secret-history.service.js';
import { VaultConnectionService } from '../modules/vault-connections/vault-connection.service.js';
import type { DispatcherOptions } from '../modules/webhooks/webhook.dispatcher.js';
import { WebhookService } from '../modules/webhooks/webhook.service.js';
import { CredentialCleanup } from '../platform/credentials/credential-cleanup.js';
import type { CredentialStore } from '../platform/credentials/credential-store.js';
import { IdempotencyKeys } from '../platform/http/idempotency.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Services } from '../platform/services.js';

export type { Services };

/** One service per resource, shared by both doors. */
export function createServices(
  orm: MikroORM,
  store: CredentialStore,
  logger: Logger,
  options: {
    authCacheTtlMs?: number;
    events?: Partial<FeedOptions> & { subscriptionsPerKey?: number };
    webhooks?: Partial<DispatcherOptions>;
    metrics?: Metrics;
  } = {},
): Services {
  const { subscriptionsPerKey = 10, ...feedOptions } = options.events ?? {};
  const feed = new ChangeFeed(orm, logger, {
    listenUrl: null,
    pollMs: 1000,
    streamBuffer: 1000,
    ...feedOptions,
  });
  const webhooks = new WebhookService(
    orm,
    logger,
    {
      allowHttp: false,
      allowPrivateNetworks: false,
      timeoutMs: 10_000,
      retryBaseMs: 10_000,
      maxAttempts: 12,
      ...options.webhooks,
    },
    options.metrics,
  );
  feed.onWake((poll) => webhooks.dispatcher.wake(poll));
  const apiKeys = new ApiKeyService(orm, { logger, authCacheTtlMs: options.authCacheTtlMs });
  const cleanup = new CredentialCleanup(orm, store, logger);
  const secrets = new SecretService(orm, store, cleanup);
  return {
    orm,
    store,
    cleanup,
    idempotency: new IdempotencyKeys(orm),
    secrets,
    secretHistory: new SecretHistoryService(orm, store, secrets),
    locations: new LocationService(orm),
    vaultConnections: new VaultConnectionService(
      orm,
      store,
      (em, connectionId) => secrets.repository.secretsUsing(em, connectionId),
      cleanup,
    ),
    apiKeys,
    audit: new AuditService(orm),
    events: new EventService(orm, feed, (ids) => apiKeys.currentActors(ids), logger, { subscriptionsPerKey }),
    webhooks,
  };
}
