import type { MikroORM } from '@mikro-orm/postgresql';
import { ValidationError } from '../../shared/errors.js';
import { containsPattern, type ListQuery, type Page } from '../../shared/paging.js';
import { type Actor, authorize } from '../../shared/scopes.js';
import { AuditEvent } from './audit.entity.js';
import type { AuditEntry } from './audit.repository.js';

export const AUDIT_RESOURCE_TYPES = [
  'secret',
  'location',
  'vault_connection',
  'api_key',
] as const satisfies readonly AuditEntry['resourceType'][];
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

/** The filters of the audit list, validated by the doors (ids lower-cased). */
export interface AuditFilter {
  resourceType?: AuditResourceType;
  resourceId?: string;
  actorUserId?: string;
  actorApiKeyId?: string;
  eventType?: string;
  /** Inclusive lower bound on created_at. */
  from?: Date;
  /** Exclusive upper bound on created_at: [from, to) ranges tile without overlap. */
  to?: Date;
}

/** An audit event as the doors show it: plain data. */
export interface AuditEventView {
  id: string;
  eventType: string;
  resourceType: string;
  resourceId: string;
  resourceName: string;
  actorUserId: string | null;
  actorApiKeyId: string | null;
  changedFields: string[];
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
}

export function auditEventView(event: AuditEvent): AuditEventView {
  return {
    id: event.id,
    eventType: event.eventType,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    resourceName: event.resourceName,
    actorUserId: event.actorUserId ?? null,
    actorApiKeyId: event.actorApiKeyId ?? null,
    changedFields: [...event.changedFields],
    ip: event.ip ?? null,
    userAgent: event.userAgent ?? null,
    requestId: event.requestId ?? null,
    createdAt: event.createdAt,
  };
}

/** Reads the team's audit trail. The trail is append-only: events are written by `recordAudit` in each change's transaction, never updated or deleted here. */
export class AuditService {
  constructor(private readonly orm: MikroORM) {}

  /** Newest first by default; `q` searches resource names (case-insensitive substring). */
  async list(
    actor: Actor,
    teamId: string,
    query: Pick<ListQuery<string>, 'offset' | 'limit' | 'sortOrder' | 'q'>,
    filter: AuditFilter = {},
  ): Promise<Page<AuditEventView>> {
    authorize(actor, teamId, 'audit:read');
    if (filter.from && filter.to && filter.from.getTime() > filter.to.getTime()) {
      throw new ValidationError([
        { path: ['to'], message: 'to must not be before from', code: 'value_error', source: 'query' },
      ]);
    }
    const where: Record<string, unknown> = { teamId };
    if (filter.resourceType) where.resourceType = filter.resourceType;
    if (filter.resourceId) where.resourceId = filter.resourceId;
    if (filter.actorUserId) where.actorUserId = filter.actorUserId;
    if (filter.actorApiKeyId) where.actorApiKeyId = filter.actorApiKeyId;
    if (filter.eventType) where.eventType = filter.eventType;
    if (filter.from || filter.to) {
      where.createdAt = {
        ...(filter.from ? { $gte: filter.from } : {}),
        ...(filter.to ? { $lt: filter.to } : {}),
      };
    }
    if (query.q) where.resourceName = { $ilike: containsPattern(query.q) };
    const [items, total] = await this.orm.em.fork().findAndCount(AuditEvent, where, {
      orderBy: [{ createdAt: query.sortOrder }, { id: query.sortOrder }],
      limit: query.limit,
      offset: query.offset,
    });
    return { items: items.map(auditEventView), total };
  }
}

declare module '../../platform/services.js' {
  interface Services {
    audit: AuditService;
  }
}
