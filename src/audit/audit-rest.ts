import { z } from 'zod';
import { parseRestListQuery, restListQuerySchema, restPage, restPageSchema } from '../domain/paging.js';
import type { AuditEvent } from '../entities/index.js';
import { idSchema, timestampSchema } from '../http/rest-docs.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { AUDIT_QUERY_FILTERS } from './audit-service.js';

export function actorType(event: AuditEvent): 'api_key' | 'user' | 'system' {
  if (event.actorApiKeyId) return 'api_key';
  return event.actorUserId ? 'user' : 'system';
}

export const auditEventResponseSchema = z
  .object({
    id: idSchema,
    event_type: z.string().meta({ description: '`<resource>_<verb>`, e.g. secret_updated.' }),
    resource_type: z.string(),
    resource_id: idSchema,
    resource_name: z.string().meta({ description: 'The name at the time of the event.' }),
    actor: z.object({
      type: z.enum(['api_key', 'user', 'system']),
      user_id: idSchema.nullable(),
      api_key_id: idSchema.nullable(),
    }),
    changed_fields: z
      .array(z.string())
      .meta({ description: 'Names of the fields the change set, never values.' }),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable().meta({ description: "The request's X-Request-Id." }),
    created_at: timestampSchema,
  })
  .meta({ id: 'AuditEventResponse' });

/** One audit entry: names of changed fields, never their values. */
export function auditEventResponse(event: AuditEvent): z.infer<typeof auditEventResponseSchema> {
  return {
    id: event.id,
    event_type: event.eventType,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    resource_name: event.resourceName,
    actor: {
      type: actorType(event),
      user_id: event.actorUserId ?? null,
      api_key_id: event.actorApiKeyId ?? null,
    },
    changed_fields: [...event.changedFields],
    ip_address: event.ip ?? null,
    user_agent: event.userAgent ?? null,
    request_id: event.requestId ?? null,
    created_at: iso(event.createdAt),
  };
}

/** The service's filters, with what they mean for the OpenAPI document (the same validation). */
const QUERY_FILTERS = {
  resource_type: AUDIT_QUERY_FILTERS.resource_type.meta({
    description: 'Only events of this kind of resource.',
  }),
  resource_id: AUDIT_QUERY_FILTERS.resource_id.meta({ description: 'Only events of this resource.' }),
  actor_user_id: AUDIT_QUERY_FILTERS.actor_user_id.meta({ description: 'Only events by this user.' }),
  actor_api_key_id: AUDIT_QUERY_FILTERS.actor_api_key_id.meta({
    description: 'Only events by this API key.',
  }),
  event_type: AUDIT_QUERY_FILTERS.event_type.meta({
    description: 'Only events of this type, e.g. secret_updated.',
  }),
  from: AUDIT_QUERY_FILTERS.from.meta({ description: 'Events at or after this instant (ISO-8601).' }),
  to: AUDIT_QUERY_FILTERS.to.meta({ description: 'Events before this instant (ISO-8601).' }),
} satisfies Record<keyof typeof AUDIT_QUERY_FILTERS, unknown>;

/** Read-only: the audit log is append-only, so there is no update or delete route. */
export function auditRoutes({ audit }: Services): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/teams/:team_id/audit-logs',
      doc: {
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        description:
          'Newest first by default; `q` searches resource names. `from` is inclusive, `to` exclusive.',
        tags: ['Audit log'],
        scope: 'audit:read',
        query: restListQuerySchema(['created_at'], 'created_at', QUERY_FILTERS),
        responses: {
          200: { description: 'A page of audit events.', schema: restPageSchema(auditEventResponseSchema) },
        },
      },
      handle: async ({ actor, params, query }) => {
        const { page, list, filters } = parseRestListQuery(
          query,
          ['created_at'],
          'created_at',
          QUERY_FILTERS,
        );
        const result = await audit.list(actor, params.team_id, list, {
          resourceType: filters.resource_type,
          resourceId: filters.resource_id,
          actorUserId: filters.actor_user_id,
          actorApiKeyId: filters.actor_api_key_id,
          eventType: filters.event_type,
          from: filters.from,
          to: filters.to,
        });
        return { status: 200, body: restPage(page, list, result, auditEventResponse) };
      },
    },
  ];
}
