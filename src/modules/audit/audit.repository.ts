import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, RequestMeta } from '../../domain/scopes.js';
import { announceCommit } from '../../platform/db/unit-of-work.js';
import { AuditEvent } from './audit.entity.js';

export interface AuditEntry {
  eventType: string;
  resourceType: 'secret' | 'location' | 'vault_connection' | 'api_key' | 'webhook';
  resourceId: string;
  resourceName: string;
  /** Names of the changed fields, never their values. */
  changedFields?: string[];
  /** The resource's version after the change, where it has one. */
  resourceVersion?: number;
}

/**
 * Adds an audit event to the change's unit of work, so it commits (or not) with the change itself;
 * its commit wakes this process's change feed.
 */
export function recordAudit(em: EntityManager, actor: Actor, meta: RequestMeta, entry: AuditEntry): void {
  announceCommit(em);
  em.create(AuditEvent, {
    id: randomUUID(),
    teamId: actor.teamId,
    eventType: entry.eventType,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    resourceName: entry.resourceName,
    actorUserId: actor.userId,
    actorApiKeyId: actor.apiKeyId,
    changedFields: entry.changedFields ?? [],
    resourceVersion: entry.resourceVersion ?? null,
    ...auditColumns(meta),
    createdAt: new Date(),
  });
}

/**
 * The recorder of one resource type's events, `<type>_<action>`: `auditOf('location')(em, actor, meta,
 * 'updated', location, ['name'])` records `location_updated` for that location.
 */
export function auditOf(resourceType: AuditEntry['resourceType']) {
  return (
    em: EntityManager,
    actor: Actor,
    meta: RequestMeta,
    action: string,
    resource: { id: string; name: string; version?: number },
    changedFields?: string[],
  ): void =>
    recordAudit(em, actor, meta, {
      eventType: `${resourceType}_${action}`,
      resourceType,
      resourceId: resource.id,
      resourceName: resource.name,
      resourceVersion: resource.version,
      changedFields,
    });
}

/** Who made a change and through which request, as every audit event records it. */
export function auditColumns(meta: RequestMeta) {
  return {
    ip: meta.ip?.slice(0, 64) ?? null,
    userAgent: meta.userAgent?.slice(0, 512) ?? null,
    requestId: meta.requestId.slice(0, 64),
  };
}
