import type { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { type Actor, authorize } from '../auth/scopes.js';
import { ValidationError } from '../domain/errors.js';
import { parsePathIds } from '../domain/ids.js';
import { containsPattern, type ListQuery, type Page } from '../domain/paging.js';
import { timestampInput, UUID_PATTERN } from '../domain/validation.js';
import { AuditEvent } from '../entities/index.js';
import type { AuditEntry } from './audit.js';

export const AUDIT_RESOURCE_TYPES = [
  'secret',
  'location',
  'vault_connection',
  'api_key',
] as const satisfies readonly AuditEntry['resourceType'][];
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

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

const uuid = z
  .string()
  .regex(UUID_PATTERN, 'Input should be a valid UUID')
  .transform((v) => v.toLowerCase());
const dateTime = timestampInput.transform((v) => new Date(v));

/** The REST query filters (the door-neutral names are in AuditFilter). */
export const AUDIT_QUERY_FILTERS = {
  resource_type: z.enum(AUDIT_RESOURCE_TYPES).optional(),
  resource_id: uuid.optional(),
  actor_user_id: uuid.optional(),
  actor_api_key_id: uuid.optional(),
  event_type: z.string().min(1).max(64).optional(),
  from: dateTime.optional(),
  to: dateTime.optional(),
};

/** Reads the team's audit trail. The trail is append-only: events are written by `recordAudit` in each change's transaction, never updated or deleted here. */
export class AuditService {
  constructor(private readonly orm: MikroORM) {}

  /** Newest first by default; `q` searches resource names (case-insensitive substring). */
  async list(
    actor: Actor,
    teamIdParam: string,
    query: Pick<ListQuery<string>, 'offset' | 'limit' | 'sortOrder' | 'q'>,
    filter: AuditFilter = {},
  ): Promise<Page<AuditEvent>> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
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
    return { items, total };
  }
}
