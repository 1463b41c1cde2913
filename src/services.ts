import type { MikroORM } from '@mikro-orm/postgresql';
import type { CredentialStore } from './credentials/credential-store.js';
import { LocationService } from './locations/location-service.js';
import { SecretService } from './secrets/secret-service.js';
import { VaultConnectionService } from './vault-connections/vault-connection-service.js';

/** One service per resource, shared by both doors. */
export interface Services {
  orm: MikroORM;
  store: CredentialStore;
  secrets: SecretService;
  locations: LocationService;
  vaultConnections: VaultConnectionService;
}

export function createServices(orm: MikroORM, store: CredentialStore): Services {
  return {
    orm,
    store,
    secrets: new SecretService(orm, store),
    locations: new LocationService(orm),
    vaultConnections: new VaultConnectionService(orm, store),
  };
}
