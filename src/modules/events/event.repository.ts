import type { Sql } from '../../platform/db/unit-of-work.js';
import {
  type ChangeEvent,
  eventTypeOf,
  type FeedPosition,
  parseSnapshot,
  type ResourceType,
  type Snapshot,
} from './change-event.js';

interface EventRow {
  id: string;
  team_id: string;
  event_type: string;
  resource_type: string;
  resource_id: string;
  resource_name: string;
  resource_version: number | null;
  changed_fields: string[];
  actor_user_id: string | null;
  actor_api_key_id: string | null;
  /** As the ORM's driver setup returns timestamps: text. */
  created_at: string;
  tx_id: string;
  seq: string;
  settled: boolean;
}

/**
 * The oldest transaction of this database that may still commit: its events, and any later, are not
 * settled; every event before it is committed and visible, and none can appear there later. Running
 * transactions seen belonging to another database on the same server are passed over, so a long one
 * there does not hold this feed up (one not seen — ended, prepared, or hidden — still counts).
 */
const HORIZON = `(select least(pg_snapshot_xmax(s), (select min(x) from pg_snapshot_xip(s) x
  where x::xid not in (select backend_xid from pg_stat_activity where backend_xid is not null
    and datid <> (select oid from pg_database where datname = current_database()))))
  from pg_current_snapshot() s)`;

const COLUMNS = `id, team_id, event_type, resource_type, resource_id, resource_name, resource_version,
  changed_fields, actor_user_id, actor_api_key_id, created_at, tx_id::text as tx_id, seq::text as seq,
  tx_id < ${HORIZON} as settled`;

/** A query for the position (`tx_id`, `seq`) of the last event before `horizon` (an SQL expression). */
const headBefore = (horizon: string) => `select tx_id, seq from audit_events where tx_id < ${horizon}
  order by tx_id desc, seq desc limit 1`;

/** A query for the position (`tx_id`, `seq`) of the last settled event: the feed's head. */
export const SETTLED_HEAD = headBefore(HORIZON);

function toEvent(row: EventRow): ChangeEvent {
  return {
    id: row.id,
    type: eventTypeOf(row.resource_type, row.event_type, row.changed_fields),
    teamId: row.team_id,
    resourceType: row.resource_type as ResourceType,
    resourceId: row.resource_id,
    resourceName: row.resource_name,
    version: row.resource_version,
    changedFields: row.changed_fields,
    actorUserId: row.actor_user_id,
    actorApiKeyId: row.actor_api_key_id,
    occurredAt: new Date(row.created_at),
    position: { tx: row.tx_id, seq: row.seq },
  };
}

/** The feed of change events: the audit table in commit-safe order. */
export const eventRepository = {
  /**
   * The settled events after `position` (of some teams, and up to `through`, when given), oldest
   * first, and whether a committed event after them waits to settle (for an older transaction to end).
   */
  async after(
    sql: Sql,
    position: FeedPosition,
    { teamIds, through, limit }: { teamIds?: string[]; through?: FeedPosition; limit: number },
  ): Promise<{ events: ChangeEvent[]; unsettled: boolean }> {
    const values: unknown[] = [position.tx, position.seq, limit];
    const where = [`(tx_id, seq) > ($1::xid8, $2::bigint)`];
    if (teamIds) where.push(`team_id = any($${values.push(teamIds)}::uuid[])`);
    if (through)
      where.push(`(tx_id, seq) <= ($${values.push(through.tx)}::xid8, $${values.push(through.seq)}::bigint)`);
    const rows = await sql<EventRow>(
      `select ${COLUMNS} from audit_events where ${where.join(' and ')} order by tx_id, seq limit $3`,
      values,
    );
    // In (tx_id, seq) order the settled events come first.
    const settled = rows.filter((row) => row.settled);
    return { events: settled.map(toEvent), unsettled: settled.length < rows.length };
  },

  /**
   * Now, for a stream that starts now: the position of the last settled event (every event after it
   * is later in the feed) and the snapshot that tells which of those had committed already.
   */
  async now(sql: Sql): Promise<{ head: FeedPosition; snapshot: Snapshot; horizon: bigint }> {
    const [row] = await sql<{ tx_id: string | null; seq: string | null; snapshot: string; horizon: string }>(
      `select last.tx_id::text as tx_id, last.seq::text as seq, pg_current_snapshot()::text as snapshot,
         now.horizon::text as horizon
       from (select ${HORIZON} as horizon) now left join lateral (${headBefore('now.horizon')}) last on true`,
    );
    return {
      head: { tx: row?.tx_id ?? '0', seq: row?.seq ?? '0' },
      snapshot: parseSnapshot(row!.snapshot),
      horizon: BigInt(row!.horizon),
    };
  },

  /** The position of one of the team's events, or null when the team has no such event. */
  async positionOf(sql: Sql, teamId: string, eventId: string): Promise<FeedPosition | null> {
    const [row] = await sql<{ tx_id: string; seq: string }>(
      'select tx_id::text as tx_id, seq::text as seq from audit_events where id = $1 and team_id = $2',
      [eventId, teamId],
    );
    return row ? { tx: row.tx_id, seq: row.seq } : null;
  },
};
