import { apiKeyRoutes } from '../modules/api-keys/api-key.rest.js';
import { auditRoutes } from '../modules/audit/audit.rest.js';
import { locationRoutes } from '../modules/locations/location.rest.js';
import { secretRoutes } from '../modules/secrets/secret.rest.js';
import { secretHistoryRoutes } from '../modules/secrets/secret-history.rest.js';
import { vaultConnectionRoutes } from '../modules/vault-connections/vault-connection.rest.js';
import { webhookRoutes } from '../modules/webhooks/webhook.rest.js';
import type { Route } from '../platform/http/rest-router.js';
import type { Services } from './services.js';

/** The REST shim: every resource's routes, each a thin translation to the shared services. */
export function restRoutes(services: Services): Route[] {
  return [
    ...secretRoutes(services),
    ...secretHistoryRoutes(services),
    ...locationRoutes(services),
    ...vaultConnectionRoutes(services),
    ...apiKeyRoutes(services),
    ...auditRoutes(services),
    ...webhookRoutes(services),
  ];
}
