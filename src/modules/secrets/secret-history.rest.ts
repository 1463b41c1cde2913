import { z } from 'zod';
import { restListQuery, restPage, restPageSchema } from '../../domain/paging.js';
import { AUTH_METHODS, SECRET_TYPES } from '../../domain/providers.js';
import { parseOrThrow } from '../../domain/validation.js';
import {
  conflict,
  credentialStoreUnavailable,
  idSchema,
  ifMatchHeader,
  notFound,
  preconditionFailed,
  type RouteDoc,
  timestampSchema,
} from '../../platform/http/rest-docs.js';
import { etagOf, expectedVersionFrom, type Route } from '../../platform/http/rest-router.js';
import { iso } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import type { SecretVersion } from './secret.entity.js';
import { secretIds, secretResponse, secretResponseSchema } from './secret.rest.js';

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

/** A version number as PostgreSQL's `int` column holds it (GraphQL's `Int` has the same range). */
export const rollbackSchema = z.strictObject({ version: z.number().int().min(1).max(2_147_483_647) });

const TAGS: ['Secrets'] = ['Secrets'];
const VERSIONS_QUERY = restListQuery(['version'], 'version', {});

/** Keyed by `METHOD path`, as the routes are registered. */
export const SECRET_HISTORY_ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /v1/teams/:team_id/secrets/:secret_id/versions': {
    operationId: 'listSecretVersions',
    summary: "List a secret's versions",
    description: 'Every accepted change is a version; newest first by default.',
    tags: TAGS,
    scope: 'secrets:read',
    query: VERSIONS_QUERY.schema,
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
    requestHeaders: ifMatchHeader,
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

export function secretVersionResponse(entry: SecretVersion): z.infer<typeof secretVersionResponseSchema> {
  return {
    version: entry.version,
    changed_fields: entry.changedFields,
    secret_type: entry.secretType,
    auth_method: entry.authMethod,
    credential_version: entry.credentialVersion ?? null,
    actor: { user_id: entry.actorUserId ?? null, api_key_id: entry.actorApiKeyId ?? null },
    created_at: iso(entry.createdAt),
  };
}

/** REST routes for a secret's history: its versions, and rolling back to one. */
export function secretHistoryRoutes({ secretHistory }: Services): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/teams/:team_id/secrets/:secret_id/versions',
      doc: SECRET_HISTORY_ROUTE_DOCS['GET /v1/teams/:team_id/secrets/:secret_id/versions'],
      handle: async ({ actor, params, query }) => {
        const { page, list } = VERSIONS_QUERY.parse(query);
        const result = await secretHistory.versions(actor, secretIds(params), list);
        return { status: 200, body: restPage(page, list, result, secretVersionResponse) };
      },
    },
    {
      method: 'POST',
      path: '/v1/teams/:team_id/secrets/:secret_id/rollback',
      doc: SECRET_HISTORY_ROUTE_DOCS['POST /v1/teams/:team_id/secrets/:secret_id/rollback'],
      handle: async ({ actor, meta, params, body, headers }) => {
        const command = parseOrThrow(rollbackSchema, body);
        const secret = await secretHistory.rollback(actor, meta, secretIds(params), command, {
          expectedVersion: expectedVersionFrom(headers),
        });
        return { status: 200, body: secretResponse(secret), headers: etagOf(secret.version) };
      },
    },
  ];
}
