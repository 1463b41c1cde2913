/**
 * OpenAPI documentation of the routes in secret-history-rest.ts, kept here until those routes carry
 * their own `doc`; src/http/openapi.ts uses an entry only for a route that has none (and the OpenAPI
 * test asks for an entry to be removed once its route documents itself).
 */
import { z } from 'zod';
import { restListQuerySchema, restPageSchema } from '../domain/paging.js';
import { AUTH_METHODS, SECRET_TYPES } from '../domain/providers.js';
import {
  conflict,
  credentialStoreUnavailable,
  idSchema,
  notFound,
  preconditionFailed,
  type RouteDoc,
  timestampSchema,
} from '../http/rest-docs.js';
import type { secretVersionResponse } from './secret-history-rest.js';
import { secretResponseSchema } from './secret-rest.js';

/** One entry of a secret's history: what changed, never a credential value. */
export const secretVersionResponseSchema = z
  .object({
    version: z.number().int().min(1),
    changed_fields: z.array(z.string()),
    secret_type: z.enum(SECRET_TYPES),
    auth_method: z.enum(AUTH_METHODS),
    credential_version: z.number().int().nullable().meta({
      description: "The credential store's version of the native credentials; null for external vaults.",
    }),
    actor: z.object({ user_id: idSchema.nullable(), api_key_id: idSchema.nullable() }),
    created_at: timestampSchema,
  })
  .meta({ id: 'SecretVersionResponse' });

type View = ReturnType<typeof secretVersionResponse>;
type Documented = z.infer<typeof secretVersionResponseSchema>;
/** Fails to compile when the view and the schema drift apart (the view cannot be typed from here). */
export type SecretVersionViewMatches = [View] extends [Documented]
  ? [Exclude<keyof View, keyof Documented>] extends [never]
    ? true
    : never
  : never;
const viewMatches: SecretVersionViewMatches = true;
void viewMatches;

/** A version number as PostgreSQL's `int` column holds it (GraphQL's `Int` has the same range). */
export const rollbackSchema = z.strictObject({ version: z.number().int().min(1).max(2_147_483_647) });

const TAGS: ['Secrets'] = ['Secrets'];

/** Keyed by `METHOD path`, as the routes are registered. */
export const SECRET_HISTORY_ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /v1/teams/:team_id/secrets/:secret_id/versions': {
    operationId: 'listSecretVersions',
    summary: "List a secret's versions",
    description: 'Every accepted change is a version; newest first by default.',
    tags: TAGS,
    scope: 'secrets:read',
    query: restListQuerySchema(['version'], 'version', {}),
    responses: {
      200: { description: 'A page of versions.', schema: restPageSchema(secretVersionResponseSchema) },
      404: notFound('secret'),
    },
  },
  'POST /v1/teams/:team_id/secrets/:secret_id/rollback': {
    operationId: 'rollbackSecret',
    summary: 'Roll a secret back to a version',
    description:
      "Makes the version's credentials (native) or field mappings (external vault) current again, as a new version.",
    tags: TAGS,
    scope: 'secrets:update',
    requestHeaders: {
      'If-Match':
        'Optional: `"<version>"` from an ETag. The request fails with 412 unless it is the current version; `*` or no header: unconditional.',
    },
    body: rollbackSchema,
    responses: {
      200: {
        description: 'The secret after the rollback.',
        schema: secretResponseSchema,
        headers: { ETag: 'always' },
      },
      404: notFound('secret'),
      409: conflict(
        "The version's credentials are for an auth method with other fields, or have expired from the credential store.",
      ),
      412: preconditionFailed,
      503: credentialStoreUnavailable,
    },
  },
};
