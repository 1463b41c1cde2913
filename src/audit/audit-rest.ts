import { parseRestListQuery, restPage } from '../domain/paging.js';
import type { AuditEvent } from '../entities/index.js';
import type { Route } from '../http/rest-router.js';
import { iso } from '../http/rest-views.js';
import type { Services } from '../services.js';
import { AUDIT_QUERY_FILTERS } from './audit-service.js';

export function actorType(event: AuditEvent): 'api_key' | 'user' | 'system' {
  if (event.actorApiKeyId) return 'api_key';
  return event.actorUserId ? 'user' : 'system';
}

/** One audit entry: names of changed fields, never their values. */
export function auditEventResponse(event: AuditEvent) {
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

/** Read-only: the audit log is append-only, so there is no update or delete route. */
export function auditRoutes({ audit }: Services): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/teams/:team_id/audit-logs',
      handle: async ({ actor, params, query }) => {
        const { page, list, filters } = parseRestListQuery(
          query,
          ['created_at'],
          'created_at',
          AUDIT_QUERY_FILTERS,
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
