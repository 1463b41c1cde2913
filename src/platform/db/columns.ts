import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';

/** Every timestamp column: timestamptz with millisecond precision (what JavaScript dates hold). */
export const timestamp = () => p.datetime().columnType('timestamptz(3)');

/** An entity whose rows record when they were created: its `properties`, then `createdAt`. */
export function defineEntityWithCreatedAt<const Properties extends Record<string, unknown>>(
  name: string,
  tableName: string,
  properties: Properties,
) {
  return defineEntity({ name, tableName, properties: { ...properties, createdAt: timestamp() } });
}

/** A new row's authorship: created and last changed by `userId`, now. */
export function authoredBy(userId: string) {
  const now = new Date();
  return { createdAt: now, createdBy: userId, updatedAt: now, updatedBy: userId };
}

/**
 * A new named resource's columns of `namedColumns` and `authorshipColumns`: its id (a new one unless
 * given), team, name and description, created by `userId` now.
 */
export function newNamedResource(
  teamId: string,
  { name, description }: { name: string; description?: string | null },
  userId: string,
  id: string = randomUUID(),
) {
  return { id, teamId, name, description: description ?? null, ...authoredBy(userId) };
}

/** A changed row's last-change columns: by `userId`, now. */
export function changedBy(userId: string) {
  return { updatedAt: new Date(), updatedBy: userId };
}

/** The columns every named resource of a team starts with (secrets, locations, vault connections, webhooks). */
const namedColumns = () => ({
  id: p.uuid().primary(),
  teamId: p.uuid(),
  name: p.string().length(255),
  description: p.text().nullable(),
});

/** The columns every named resource ends with: `authoredBy` and `changedBy` set them. */
const authorshipColumns = () => ({
  createdAt: timestamp(),
  createdBy: p.uuid(),
  updatedAt: timestamp(),
  updatedBy: p.uuid(),
});

/** A named resource's entity: `namedColumns`, then its own `properties`, then `authorshipColumns`. */
export function defineNamedResource<const Properties extends Record<string, unknown>>(
  name: string,
  tableName: string,
  properties: Properties,
) {
  return defineEntity({
    name,
    tableName,
    properties: { ...namedColumns(), ...properties, ...authorshipColumns() },
  });
}

/** What the doors show of those columns. */
export interface NamedResourceView {
  id: string;
  teamId: string;
  name: string;
  description: string | null;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

export function namedResourceView(
  row: Omit<NamedResourceView, 'description'> & { description?: string | null },
): NamedResourceView {
  return {
    id: row.id,
    teamId: row.teamId,
    name: row.name,
    description: row.description ?? null,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

/** Those columns as a tuned statement returns them (snake_case). */
export interface NamedResourceRow {
  id: string;
  team_id: string;
  name: string;
  description: string | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
}

export function namedResourceViewFromRow(row: NamedResourceRow): NamedResourceView {
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}
