import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { descriptionSchema, nameSchema, patchOf } from '../../domain/names.js';
import { NAMED_RESOURCE_SORTS, restListQuery } from '../../domain/paging.js';
import { AUTH_METHODS, SECRET_TYPES } from '../../domain/providers.js';
import { parseOrThrow, plainObject } from '../../domain/validation.js';
import { VAULT_TYPES } from '../../domain/vaults.js';
import { teamResource } from '../../platform/http/resource-routes.js';
import {
  conflict,
  credentialStoreUnavailable,
  errorResponseSchema,
  idSchema,
  ifMatchHeader,
  namedResourceFields,
  notFound,
  preconditionFailed,
  timestampSchema,
} from '../../platform/http/rest-docs.js';
import { etagOf, expectedVersionFrom, type PathParams, type Route } from '../../platform/http/rest-router.js';
import { restView, viewOf } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import type { SecretDetail, SecretView } from './secret.repository.js';
import {
  type CreateSecretCommand,
  FIELD_MAPPINGS_MAX,
  referenceSchema,
  type UpdateSecretCommand,
} from './secret.rules.js';
import type { SecretIds } from './secret.service.js';

const fieldMappingSchema = z.strictObject({
  field_name: z.string().max(64),
  reference: referenceSchema,
});
const fieldMappingsSchema = z.array(fieldMappingSchema).max(FIELD_MAPPINGS_MAX);

/**
 * PATCH body: every field optional; null means unchanged, except `description: null`, which clears it.
 * `vault_connection_id` cannot change: only its absence (or null) is accepted.
 */
export const updateSecretSchema = z.strictObject({
  name: nameSchema.nullish(),
  description: descriptionSchema.nullish(),
  secret_type: z.enum(SECRET_TYPES).nullish(),
  auth_method: z.enum(AUTH_METHODS).nullish(),
  credentials: plainObject.nullish(),
  field_mappings: fieldMappingsSchema.nullish(),
  vault_connection_id: z
    .unknown()
    .refine((v) => v == null, 'vault_connection_id cannot be changed after creation')
    .optional(),
});

export const createSecretSchema = z.strictObject({
  name: nameSchema,
  description: descriptionSchema.nullish(),
  secret_type: z.enum(SECRET_TYPES),
  auth_method: z.enum(AUTH_METHODS),
  credentials: plainObject.nullish(),
  vault_connection_id: z.string().nullish(),
  field_mappings: fieldMappingsSchema.nullish(),
});

/** The PATCH body as the update command. */
export function updateSecretCommand(body: unknown): UpdateSecretCommand {
  const patch = parseOrThrow(updateSecretSchema, body);
  if (patch.credentials != null && patch.field_mappings != null) {
    throw bodyIssue(['field_mappings'], 'Send credentials or field_mappings, not both');
  }
  const { credentials, field_mappings: fieldMappings, ...fields } = patch;
  return {
    ...patchOf(fields, ['description']),
    ...(credentials != null && { value: { credentials } }),
    ...(fieldMappings != null && { value: { fieldMappings } }),
  };
}

/** The POST body as the create command: `credentials`, or `vault_connection_id` with `field_mappings`. */
export function createSecretCommand(body: unknown): CreateSecretCommand {
  const input = parseOrThrow(createSecretSchema, body);
  const native = input.credentials != null;
  if (native === (input.vault_connection_id != null || input.field_mappings != null)) {
    throw bodyIssue(
      [],
      'Send either credentials (native) or vault_connection_id with field_mappings (external vault)',
    );
  }
  const missing = (['vault_connection_id', 'field_mappings'] as const).filter(
    (field) => input[field] == null,
  );
  if (!native && missing.length) {
    throw new ValidationError(
      missing.map((field) => ({
        path: [field],
        message: 'Field required for an external-vault secret',
        code: 'missing',
        source: 'body' as const,
      })),
    );
  }
  return {
    name: input.name,
    description: input.description,
    secretType: input.secret_type,
    authMethod: input.auth_method,
    value: native
      ? { credentials: input.credentials! }
      : { vault: { vaultConnectionId: input.vault_connection_id!, fieldMappings: input.field_mappings! } },
  };
}

function bodyIssue(path: string[], message: string): ValidationError {
  return new ValidationError([{ path, message, code: 'value_error', source: 'body' }]);
}

/** SecretResponse (create, update): never credentials, vault tokens or resolved references. */
export const secretResponseSchema = z
  .object({
    ...namedResourceFields,
    secret_type: z.enum(SECRET_TYPES),
    auth_method: z.enum(AUTH_METHODS),
    created_at: timestampSchema,
    created_by: idSchema.meta({ description: 'The user who created it.' }),
    updated_at: timestampSchema,
    updated_by: idSchema.meta({ description: 'The user who changed it last.' }),
  })
  .meta({ id: 'SecretResponse' });

export const secretResponse = restView(secretResponseSchema);

/** GET one secret: the response plus its locations and, for an external-vault secret, its vault. */
export const secretDetailResponseSchema = secretResponseSchema
  .extend({
    location_count: z.number().int().min(0),
    locations: z.array(z.object({ id: idSchema, name: z.string() })),
    vault_connection_id: idSchema.nullable(),
    vault_connection_name: z.string().nullable(),
    vault_type: z.enum(VAULT_TYPES).nullable(),
    external_field_mappings: z
      .record(z.string(), z.string())
      .nullable()
      .meta({ description: 'External-vault secrets: credential field → vault reference. Null for native.' }),
    created_by_email: z.string().nullable(),
    updated_by_email: z.string().nullable(),
  })
  .meta({ id: 'SecretDetailResponse' });

export const secretDetailResponse = viewOf(
  secretDetailResponseSchema,
  ({ secret, locations, vaultConnection, createdByEmail, updatedByEmail }: SecretDetail) => ({
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
  }),
);

/** A list item: the response plus how many locations use the secret. */
export const secretListItemSchema = secretResponseSchema
  .extend({ location_count: z.number().int().min(0) })
  .meta({ id: 'SecretListItem' });

export const secretListItem = viewOf(
  secretListItemSchema,
  ({ secret, locationCount }: { secret: SecretView; locationCount: number }) => ({
    ...secretResponse(secret),
    location_count: locationCount,
  }),
);

/** PATCH with `dry_run=true`: what the secret would become, and which fields would change. */
export const secretDryRunResponseSchema = secretResponseSchema
  .extend({ dry_run: z.literal(true), changed_fields: z.array(z.string()) })
  .meta({ id: 'SecretDryRunResponse' });

/** 409 on PATCH (secret_type change) and DELETE: the locations in the way, when they are the reason. */
export const secretConflictResponseSchema = errorResponseSchema
  .extend({
    locations: z
      .array(z.object({ id: idSchema, name: z.string(), location_type: z.enum(SECRET_TYPES) }))
      .optional(),
  })
  .meta({ id: 'SecretConflictResponse' });

const LIST_QUERY = restListQuery(NAMED_RESOURCE_SORTS, 'created_at', {
  secret_type: z.enum(SECRET_TYPES).optional().meta({ description: 'Only secrets of this provider.' }),
});

const patchQuerySchema = z.strictObject({
  dry_run: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .meta({ description: 'true: validate and report what would change, without changing anything.' }),
});

const SECRETS = teamResource('/v1/teams/:team_id/secrets/:secret_id', 'secret', { uniqueNames: true });

/** REST routes for secrets: thin translations to the shared service. */
export function secretRoutes({ secrets }: Services): Route[] {
  return [
    SECRETS.list({
      query: LIST_QUERY,
      service: {
        list: async (actor, teamId, query) => {
          const { items, total } = await secrets.list(actor, teamId, query);
          const counts = await secrets.locationCounts(items.map((s) => s.id));
          return {
            items: items.map((secret) => ({ secret, locationCount: counts.get(secret.id) ?? 0 })),
            total,
          };
        },
      },
      view: secretListItem,
    }),
    SECRETS.create({
      description:
        'Native (`credentials`, written to the credential store and never returned) or external vault (`vault_connection_id` with `field_mappings`): exactly one of the two.',
      body: createSecretSchema,
      response: 'The created secret.',
      responses: {
        403: {
          description: "The API key lacks the scope or role, or the team's plan allows no more secrets.",
          schema: errorResponseSchema,
        },
        503: credentialStoreUnavailable,
      },
      service: secrets,
      command: createSecretCommand,
      view: secretResponse,
      etag: (secret) => secret.version,
    }),
    SECRETS.get({
      description: 'With its locations and, for an external-vault secret, its vault connection and mappings.',
      response: 'The secret.',
      run: ({ actor }, ids) => secrets.getDetail(actor, ids),
      view: secretDetailResponse,
      etag: (detail) => detail.secret.version,
    }),
    {
      method: 'PATCH',
      path: '/v1/teams/:team_id/secrets/:secret_id',
      doc: {
        operationId: 'updateSecret',
        summary: 'Update a secret',
        description:
          'Every field optional; omitted or null means unchanged, except `description: null`, which clears it. `{}` changes nothing. A change of auth method to one with other credential fields needs new `credentials` (native) or `field_mappings` (external vault) in the same request.',
        tags: SECRETS.tags,
        scope: 'secrets:update',
        query: patchQuerySchema,
        requestHeaders: ifMatchHeader,
        body: updateSecretSchema,
        responses: {
          200: {
            description: 'The secret after the change; on a dry run, what it would be (and no ETag).',
            schema: z.union([secretResponseSchema, secretDryRunResponseSchema]),
            headers: { ETag: 'sometimes' },
          },
          404: notFound('secret'),
          409: conflict(
            'The new name is taken, or linked locations have another location_type than the new secret_type (listed in `locations`).',
            secretConflictResponseSchema,
          ),
          412: preconditionFailed,
          503: credentialStoreUnavailable,
        },
      },
      handle: async ({ actor, meta, params, body, headers, query }) => {
        const { dry_run: dryRun } = parseOrThrow(patchQuerySchema, Object.fromEntries(query), [], 'query');
        const result = await secrets.update(actor, meta, secretIds(params), updateSecretCommand(body), {
          expectedVersion: expectedVersionFrom(headers),
          dryRun,
        });
        const response = secretResponse(result.secret);
        if (!dryRun) return { status: 200, body: response, headers: etagOf(result.secret.version) };
        const dryRunResponse: z.infer<typeof secretDryRunResponseSchema> = {
          ...response,
          dry_run: true,
          changed_fields: result.changedFields,
        };
        return { status: 200, body: dryRunResponse };
      },
    },
    SECRETS.delete({
      description: 'Refused while locations use the secret. Stored credentials are removed after the commit.',
      requestHeaders: ifMatchHeader,
      responses: {
        409: conflict('Locations use the secret (listed in `locations`).', secretConflictResponseSchema),
        412: preconditionFailed,
      },
      delete: ({ actor, meta, headers }, ids) =>
        secrets.delete(actor, meta, ids, { expectedVersion: expectedVersionFrom(headers) }),
    }),
  ];
}

/** The secret a route's path names (the router has validated both ids). */
export const secretIds: (params: PathParams) => SecretIds = SECRETS.ids;
