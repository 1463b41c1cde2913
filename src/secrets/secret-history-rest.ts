import { parseRestListQuery, restPage } from '../domain/paging.js';
import { parseOrThrow } from '../domain/validation.js';
import type { SecretVersion } from '../entities/index.js';
import { etagOf, expectedVersionFrom, type Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { rollbackSchema, SECRET_HISTORY_ROUTE_DOCS } from './secret-history-docs.js';
import { secretIds, secretResponse } from './secret-rest.js';

export function secretVersionResponse(entry: SecretVersion) {
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
        const { page, list } = parseRestListQuery(query, ['version'], 'version', {});
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
