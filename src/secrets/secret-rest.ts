import { z } from 'zod';
import { parseRestListQuery, restPage } from '../domain/paging.js';
import { SECRET_TYPES } from '../domain/providers.js';
import { parseOrThrow } from '../domain/validation.js';
import type { Secret } from '../entities/index.js';
import { etagOf, expectedVersionFrom, type Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { SECRET_SORT_FIELDS, type SecretDetail } from './secret-service.js';

export function secretResponse(secret: Secret) {
  return {
    id: secret.id,
    name: secret.name,
    description: secret.description ?? null,
    secret_type: secret.secretType,
    auth_method: secret.authMethod,
    created_at: iso(secret.createdAt),
    created_by: secret.createdBy,
    updated_at: iso(secret.updatedAt),
    updated_by: secret.updatedBy,
  };
}

export function secretDetailResponse({
  secret,
  locations,
  vaultConnection,
  createdByEmail,
  updatedByEmail,
}: SecretDetail) {
  return {
    ...secretResponse(secret),
    location_count: locations.length,
    locations: locations.map((l) => ({ id: l.id, name: l.name })),
    vault_connection_id: vaultConnection?.id ?? null,
    vault_connection_name: vaultConnection?.name ?? null,
    vault_type: vaultConnection?.vaultType ?? null,
    external_field_mappings: secret.fieldMappings
      ? Object.fromEntries(secret.fieldMappings.map((m) => [m.field_name, m.reference]))
      : null,
    created_by_email: createdByEmail,
    updated_by_email: updatedByEmail,
  };
}

const patchQuerySchema = z.strictObject({
  dry_run: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
});

/** REST routes for secrets: thin translations to the shared service. */
export function secretRoutes({ secrets }: Services): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/teams/:team_id/secrets',
      handle: async ({ actor, params, query }) => {
        const { page, list, filters } = parseRestListQuery(query, SECRET_SORT_FIELDS, 'created_at', {
          secret_type: z.enum(SECRET_TYPES).optional(),
        });
        const result = await secrets.list(actor, params.team_id, list, {
          q: list.q,
          secretType: filters.secret_type,
        });
        const counts = await secrets.locationCounts(result.items.map((s) => s.id));
        return {
          status: 200,
          body: restPage(page, list, result, (s) => ({
            ...secretResponse(s),
            location_count: counts.get(s.id) ?? 0,
          })),
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/teams/:team_id/secrets',
      handle: async ({ actor, meta, params, body }) => {
        const secret = await secrets.create(actor, meta, params.team_id, body);
        return { status: 201, body: secretResponse(secret), headers: etagOf(secret.version) };
      },
    },
    {
      method: 'GET',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      handle: async ({ actor, params }) => {
        const detail = await secrets.getDetail(actor, params.team_id, params.secret_id);
        return { status: 200, body: secretDetailResponse(detail), headers: etagOf(detail.secret.version) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      handle: async ({ actor, meta, params, body, headers, query }) => {
        const { dry_run: dryRun } = parseOrThrow(patchQuerySchema, Object.fromEntries(query), [], 'query');
        const result = await secrets.update(actor, meta, params.team_id, params.secret_id, body, {
          expectedVersion: expectedVersionFrom(headers),
          dryRun,
        });
        const response = secretResponse(result.secret);
        if (!dryRun) return { status: 200, body: response, headers: etagOf(result.secret.version) };
        return { status: 200, body: { ...response, dry_run: true, changed_fields: result.changedFields } };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      handle: async ({ actor, meta, params, headers }) => {
        await secrets.delete(actor, meta, params.team_id, params.secret_id, {
          expectedVersion: expectedVersionFrom(headers),
        });
        return { status: 204 };
      },
    },
  ];
}
