import type { MikroORM } from '@mikro-orm/postgresql';
import type { CredentialCleanup } from './credentials/credential-cleanup.js';
import type { CredentialStore } from './credentials/credential-store.js';
import type { IdempotencyKeys } from './http/idempotency.js';

/**
 * The services both doors' handlers are given (REST handlers as an argument, GraphQL resolvers as
 * `ctx.services`), one instance each per process. The platform's own are listed here; each module adds
 * its service to this interface from its service file, by declaration merging:
 *
 *     declare module '../../platform/services.js' {
 *       interface Services { secrets: SecretService }
 *     }
 *
 * so platform code never imports a module, and `createServices` (src/app/services.ts) is a type error
 * until it provides every member.
 */
export interface Services {
  orm: MikroORM;
  store: CredentialStore;
  cleanup: CredentialCleanup;
  idempotency: IdempotencyKeys;
}
