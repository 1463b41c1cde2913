/**
 * Change events: every committed change, as its audit event (written in the change's own
 * transaction) read back with its position in the feed. Names of changed fields, never values.
 */

/** Where an event stands in the feed: its transaction, then its order within the audit table. */
export interface FeedPosition {
  tx: string;
  seq: string;
}

export interface ChangeEvent {
  /** The audit event's id: also the event's, and the `after` a consumer resumes from. */
  id: string;
  /** `<resource>.<action>`, e.g. `secret.rotated`: one of EVENT_TYPES. */
  type: EventType;
  teamId: string;
  resourceType: ResourceType;
  resourceId: string;
  resourceName: string;
  /** The resource's version after the change, where it has one (secrets). */
  version: number | null;
  changedFields: string[];
  actorUserId: string | null;
  actorApiKeyId: string | null;
  occurredAt: Date;
  position: FeedPosition;
}

export const EVENT_TYPES = [
  'secret.created',
  'secret.updated',
  'secret.rotated',
  'secret.rolled_back',
  'secret.deleted',
  'location.created',
  'location.updated',
  'location.deleted',
  'vault_connection.created',
  'vault_connection.updated',
  'vault_connection.rotated',
  'vault_connection.deleted',
  'api_key.created',
  'api_key.rotated',
  'api_key.revoked',
  'api_key.deleted',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export type ResourceType = 'secret' | 'location' | 'vault_connection' | 'api_key' | 'webhook';

/** The fields whose change means consumers of the secret must read it again. */
const VALUE_FIELDS = new Set(['credentials', 'field_mappings']);

/**
 * The event type of an audit event (`secret_updated`, …): an update of a secret's value
 * (credentials, or the vault references it resolves through) is a rotation.
 */
export function eventTypeOf(resourceType: string, auditEventType: string, changedFields: readonly string[]) {
  const action = auditEventType.slice(resourceType.length + 1);
  if (resourceType === 'secret' && action === 'updated' && changedFields.some((f) => VALUE_FIELDS.has(f))) {
    return 'secret.rotated';
  }
  return `${resourceType}.${action}` as EventType;
}

/** A database snapshot (`pg_current_snapshot()`): which transactions had committed when it was taken. */
export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  running: ReadonlySet<string>;
}

/** `xmin:xmax:xip,...`, PostgreSQL's text form of a snapshot. */
export function parseSnapshot(text: string): Snapshot {
  const [xmin = '0', xmax = '0', running = ''] = text.split(':');
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), running: new Set(running.split(',').filter(Boolean)) };
}

/** Whether transaction `tx` had committed (or ended) when `snapshot` was taken: `pg_visible_in_snapshot`. */
export function endedBefore(snapshot: Snapshot, tx: string): boolean {
  const id = BigInt(tx);
  return id < snapshot.xmin || (id < snapshot.xmax && !snapshot.running.has(tx));
}

/** Events that end the streams opened with the key they are about (its secret no longer works). */
const KEY_ENDINGS = new Set<EventType>(['api_key.revoked', 'api_key.rotated', 'api_key.deleted']);

export function endsKey(event: ChangeEvent): string | null {
  return KEY_ENDINGS.has(event.type) ? event.resourceId : null;
}

/** Whether position `a` comes after `b` in the feed. */
export function isAfter(a: FeedPosition, b: FeedPosition): boolean {
  const tx = BigInt(a.tx) - BigInt(b.tx);
  return tx > 0n || (tx === 0n && BigInt(a.seq) > BigInt(b.seq));
}

/** The event as webhooks deliver it (the REST API's snake_case). */
export function eventPayload(event: ChangeEvent) {
  return {
    id: event.id,
    type: event.type,
    team_id: event.teamId,
    resource: {
      type: event.resourceType,
      id: event.resourceId,
      name: event.resourceName,
      version: event.version,
    },
    changed_fields: event.changedFields,
    actor: { user_id: event.actorUserId, api_key_id: event.actorApiKeyId },
    occurred_at: event.occurredAt.toISOString(),
  };
}
