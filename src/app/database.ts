import { ApiKey } from '../modules/api-keys/api-key.entity.js';
import { AuditEvent } from '../modules/audit/audit.entity.js';
import { Location } from '../modules/locations/location.entity.js';
import { Secret, SecretVersion } from '../modules/secrets/secret.entity.js';
import { Membership, Team, User } from '../modules/teams/team.entity.js';
import { VaultConnection } from '../modules/vault-connections/vault-connection.entity.js';
import { Webhook } from '../modules/webhooks/webhook.entity.js';
import type { Config } from '../platform/config.js';
import { type DatabaseOptions, openDatabase } from '../platform/db/database.js';

/** Every module's entities, as the ORM is given them. */
export const ENTITIES = [
  Team,
  User,
  Membership,
  ApiKey,
  Secret,
  Location,
  VaultConnection,
  AuditEvent,
  SecretVersion,
  Webhook,
];

/** The configured database (DATABASE_URL's server, else the embedded one under DATA_DIR), migrated. */
export function openConfiguredDatabase(config: Config, overrides: Partial<DatabaseOptions> = {}) {
  return openDatabase({
    entities: ENTITIES,
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DATABASE_POOL_MAX,
    ...overrides,
  });
}
