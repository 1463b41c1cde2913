import type { MikroORM } from '@mikro-orm/postgresql';
import { ApiKeyService } from './api-keys/api-key-service.js';
import { AuditService } from './audit/audit-service.js';
import { CredentialCleanup } from './credentials/cleanup.js';
import type { CredentialStore } from './credentials/credential-store.js';
import { IdempotencyKeys } from './http/idempotency.js';
import { LocationService } from './locations/location-service.js';
import type { Logger } from './logger.js';
import { SecretHistoryService } from './secrets/secret-history.js';
import { SecretService } from './secrets/secret-service.js';
import { VaultConnectionService } from './vault-connections/vault-connection-service.js';

/** One service per resource, shared by both doors. */
export interface Services {
  orm: MikroORM;
  store: CredentialStore;
  cleanup: CredentialCleanup;
  idempotency: IdempotencyKeys;
  secrets: SecretService;
  secretHistory: SecretHistoryService;
  locations: LocationService;
  vaultConnections: VaultConnectionService;
  apiKeys: ApiKeyService;
  audit: AuditService;
}

export function createServices(
  orm: MikroORM,
  store: CredentialStore,
  logger: Logger,
  options: { authCacheTtlMs?: number } = {},
): Services {
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
    vaultConnections: new VaultConnectionService(orm, store, cleanup),
    apiKeys: new ApiKeyService(orm, { logger, authCacheTtlMs: options.authCacheTtlMs }),
    audit: new AuditService(orm),
  };
}
