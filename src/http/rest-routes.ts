import { apiKeyRoutes } from '../api-keys/api-key-rest.js';
import { auditRoutes } from '../audit/audit-rest.js';
import { locationRoutes } from '../locations/location-rest.js';
import { secretHistoryRoutes } from '../secrets/secret-history-rest.js';
import { secretRoutes } from '../secrets/secret-rest.js';
import type { Services } from '../services.js';
import { vaultConnectionRoutes } from '../vault-connections/vault-connection-rest.js';
import type { Route } from './rest-router.js';

/** The REST shim: every resource's routes, each a thin translation to the shared services. */
export function restRoutes(services: Services): Route[] {
  return [
    ...secretRoutes(services),
    ...secretHistoryRoutes(services),
    ...locationRoutes(services),
    ...vaultConnectionRoutes(services),
    ...apiKeyRoutes(services),
    ...auditRoutes(services),
  ];
}
