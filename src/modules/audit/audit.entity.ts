import { type InferEntity, p } from '@mikro-orm/core';
import { defineEntityWithCreatedAt } from '../../platform/db/columns.js';

export const AuditEvent = defineEntityWithCreatedAt('AuditEvent', 'audit_events', {
  id: p.uuid().primary(),
  teamId: p.uuid(),
  eventType: p.string().length(64),
  resourceType: p.string().length(32),
  resourceId: p.uuid(),
  resourceName: p.string().length(255),
  actorUserId: p.uuid().nullable(),
  actorApiKeyId: p.uuid().nullable(),
  changedFields: p.array(),
  /** The resource's version after the change, where it has one (secrets). */
  resourceVersion: p.integer().nullable(),
  ip: p.string().length(64).nullable(),
  userAgent: p.string().length(512).nullable(),
  requestId: p.string().length(64).nullable(),
});
export type AuditEvent = InferEntity<typeof AuditEvent>;
