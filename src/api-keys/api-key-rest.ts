import { z } from 'zod';
import { parseRestListQuery, restPage } from '../domain/paging.js';
import type { ApiKey } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { API_KEY_SORTS, type IssuedApiKey, isActive } from './api-key-service.js';

/** ApiKeyResponse: never the secret or its hash. */
export function apiKeyResponse(key: ApiKey) {
  return {
    id: key.id,
    key_id: key.keyId,
    name: key.name,
    scopes: [...key.scopes],
    expires_at: iso(key.expiresAt),
    revoked_at: iso(key.revokedAt),
    rotated_at: iso(key.rotatedAt),
    last_used_at: iso(key.lastUsedAt),
    created_at: iso(key.createdAt),
    created_by: key.createdBy,
    is_active: isActive(key),
  };
}

/** The create response: the one place (with rotate) where `full_key` appears. */
function createdResponse({ apiKey, fullKey }: IssuedApiKey) {
  return {
    id: apiKey.id,
    key_id: apiKey.keyId,
    name: apiKey.name,
    full_key: fullKey,
    scopes: [...apiKey.scopes],
    expires_at: iso(apiKey.expiresAt),
    created_at: iso(apiKey.createdAt),
    created_by: apiKey.createdBy,
  };
}

const LIST_FILTERS = {
  include_revoked: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
};

/** REST routes for this resource: thin translations to the shared service. */
export function apiKeyRoutes({ apiKeys }: Services): Route[] {
  const base = '/v1/teams/:team_id/api-keys';
  return [
    {
      method: 'POST',
      path: base,
      handle: async ({ actor, meta, params, body }) => ({
        status: 201,
        body: createdResponse(await apiKeys.create(actor, meta, params.team_id, body)),
      }),
    },
    {
      method: 'GET',
      path: base,
      handle: async ({ actor, params, query }) => {
        const { page, list, filters } = parseRestListQuery(query, API_KEY_SORTS, 'created_at', LIST_FILTERS);
        const result = await apiKeys.list(actor, params.team_id, list, {
          includeRevoked: filters.include_revoked ?? true,
        });
        return { status: 200, body: restPage(page, list, result, apiKeyResponse) };
      },
    },
    {
      method: 'GET',
      path: `${base}/:api_key_id`,
      handle: async ({ actor, params }) => ({
        status: 200,
        body: apiKeyResponse(await apiKeys.get(actor, params.team_id, params.api_key_id)),
      }),
    },
    {
      method: 'POST',
      path: `${base}/:api_key_id/rotate`,
      bodyOptional: true,
      handle: async ({ actor, meta, params, body }) => {
        const rotated = await apiKeys.rotate(actor, meta, params.team_id, params.api_key_id, body);
        return { status: 200, body: { ...apiKeyResponse(rotated.apiKey), full_key: rotated.fullKey } };
      },
    },
    {
      method: 'POST',
      path: `${base}/:api_key_id/revoke`,
      bodyOptional: true,
      handle: async ({ actor, meta, params, body }) => ({
        status: 200,
        body: apiKeyResponse(await apiKeys.revoke(actor, meta, params.team_id, params.api_key_id, body)),
      }),
    },
    {
      method: 'DELETE',
      path: `${base}/:api_key_id`,
      handle: async ({ actor, meta, params }) => {
        await apiKeys.delete(actor, meta, params.team_id, params.api_key_id);
        return { status: 204 };
      },
    },
  ];
}
