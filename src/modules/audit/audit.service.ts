import type { MikroORM } from '@mikro-orm/postgresql';
import { ValidationError } from '../../domain/errors.js';
import { containsPattern, type ListQuery, type Page, pageFindOptions } from '../../domain/paging.js';
import { type Actor, authorize } from '../../domain/scopes.js';
import { AuditEvent } from './audit.entity.js';
import type { AuditEntry } from './audit.repository.js';

export const AUDIT_RESOURCE_TYPES = [
  'secret',
  'location',
  'vault_connection',
  'api_key',
  'webhook',
] as const satisfies readonly AuditEntry['resourceType'][];
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

/** The log sorts by creation time only. */
export const AUDIT_SORTS = ['created_at'] as const;
export type AuditSort = (typeof AUDIT_SORTS)[number];

/** A page of the audit list and its filters, validated by the doors (ids lower-cased). */
export interface AuditListQuery extends ListQuery<AuditSort> {
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

/** Reads the team's audit trail. The trail is append-only: events are written by `auditOf`/`recordAudit` in each change's transaction, never updated or deleted here. */
export class AuditService {
  constructor(private readonly orm: MikroORM) {}

  /** Newest first by default; `q` searches resource names (case-insensitive substring). */
  async list(actor: Actor, teamId: string, query: AuditListQuery): Promise<Page<AuditEventView>> {
    authorize(actor, teamId, 'audit:read');
    const { from, to } = query;
    if (from && to && from.getTime() > to.getTime()) {
      throw new ValidationError([
        { path: ['to'], message: 'to must not be before from', code: 'value_error', source: 'query' },
      ]);
    }
    const where: Record<string, unknown> = { teamId };
    if (query.resourceType) where.resourceType = query.resourceType;
    if (query.resourceId) where.resourceId = query.resourceId;
    if (query.actorUserId) where.actorUserId = query.actorUserId;
    if (query.actorApiKeyId) where.actorApiKeyId = query.actorApiKeyId;
    if (query.eventType) where.eventType = query.eventType;
    if (from || to) where.createdAt = { ...(from && { $gte: from }), ...(to && { $lt: to }) };
    if (query.q) where.resourceName = { $ilike: containsPattern(query.q) };
    const [items, total] = await this.orm.em.fork().findAndCount(AuditEvent, where, pageFindOptions(query));
    return { items: items.map(auditEventView), total };
  }
}

declare module '../../platform/services.js' {
  interface Services {
    audit: AuditService;
  }
}
