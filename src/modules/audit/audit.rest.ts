import { z } from 'zod';
import { restListQuery } from '../../domain/paging.js';
import { timestampInput, UUID_PATTERN } from '../../domain/validation.js';
import { listRoute, teamPage } from '../../platform/http/resource-routes.js';
import { idSchema, timestampSchema } from '../../platform/http/rest-docs.js';
import type { Route } from '../../platform/http/rest-router.js';
import { restView } from '../../platform/http/rest-views.js';
import type { Services } from '../../platform/services.js';
import { AUDIT_RESOURCE_TYPES, AUDIT_SORTS, type AuditEventView } from './audit.service.js';

export function actorType(
  event: Pick<AuditEventView, 'actorUserId' | 'actorApiKeyId'>,
): 'api_key' | 'user' | 'system' {
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
export const auditEventResponse = restView(auditEventResponseSchema, (event: AuditEventView) => ({
  actor: {
    type: actorType(event),
    user_id: event.actorUserId ?? null,
    api_key_id: event.actorApiKeyId ?? null,
  },
  ip_address: event.ip,
}));

const uuid = z
  .string()
  .regex(UUID_PATTERN, 'Input should be a valid UUID')
  .transform((v) => v.toLowerCase());
const dateTime = timestampInput.transform((v) => new Date(v));

/** The query string; the filters' door-neutral names are in AuditListQuery, what they mean is for the OpenAPI document. */
const LIST_QUERY = restListQuery(AUDIT_SORTS, 'created_at', {
  resource_type: z
    .enum(AUDIT_RESOURCE_TYPES)
    .optional()
    .meta({ description: 'Only events of this kind of resource.' }),
  resource_id: uuid.optional().meta({ description: 'Only events of this resource.' }),
  actor_user_id: uuid.optional().meta({ description: 'Only events by this user.' }),
  actor_api_key_id: uuid.optional().meta({ description: 'Only events by this API key.' }),
  event_type: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: 'Only events of this type, e.g. secret_updated.' }),
  from: dateTime.optional().meta({ description: 'Events at or after this instant (ISO-8601).' }),
  to: dateTime.optional().meta({ description: 'Events before this instant (ISO-8601).' }),
});

/** Read-only: the audit log is append-only, so there is no update or delete route. */
export function auditRoutes({ audit }: Services): Route[] {
  return [
    listRoute({
      path: '/v1/teams/:team_id/audit-logs',
      doc: {
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        description:
          'Newest first by default; `q` searches resource names. `from` is inclusive, `to` exclusive.',
        tags: ['Audit log'],
        scope: 'audit:read',
      },
      query: LIST_QUERY,
      page: 'A page of audit events.',
      list: teamPage(audit),
      view: auditEventResponse,
    }),
  ];
}
