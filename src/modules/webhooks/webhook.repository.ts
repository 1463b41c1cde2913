import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ListQuery, NamedResourceListQuery, Page } from '../../domain/paging.js';
import { namedResourceView } from '../../platform/db/columns.js';
import { NamedResourceRepository } from '../../platform/db/named-resource-repository.js';
import type { Sql } from '../../platform/db/unit-of-work.js';
import { type ChangeEvent, eventPayload, type FeedPosition } from '../events/change-event.js';
import { SETTLED_HEAD } from '../events/event.repository.js';
import { Webhook } from './webhook.entity.js';

/** A webhook just created, with its signing secret: shown this once. */
export interface CreatedWebhook {
  webhook: WebhookView;
  signingSecret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event's delivery to one webhook: its outcome so far, never the payload's receiver's answer. */
export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When it is tried next; null once delivered or given up. */
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A delivery claimed for an attempt, with what sending it needs. */
export interface DueDelivery {
  id: string;
  eventId: string;
  eventType: string;
  payload: unknown;
  attempts: number;
  url: string;
  signingSecret: string;
}

/** A webhook as the doors show it: never its signing secret. */
export function webhookView(webhook: Webhook) {
  return {
    ...namedResourceView(webhook),
    url: webhook.url,
    eventTypes: [...webhook.eventTypes],
    active: webhook.active,
  };
}
export type WebhookView = ReturnType<typeof webhookView>;

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  /** Timestamps as the ORM's driver setup returns them: text. */
  next_attempt_at: string;
  created_at: string;
  delivered_at: string | null;
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? new Date(row.next_attempt_at) : null,
    createdAt: new Date(row.created_at),
    deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
  };
}

/** Every SQL statement about webhooks and their deliveries (the outbox). */
export class WebhookRepository extends NamedResourceRepository<Webhook, WebhookView, NamedResourceListQuery> {
  constructor(orm: MikroORM) {
    super(orm, { entity: Webhook, view: webhookView });
  }

  async count(sql: Sql, teamId: string): Promise<number> {
    const [row] = await sql<{ n: number }>('select count(*)::int as n from webhooks where team_id = $1', [
      teamId,
    ]);
    return row?.n ?? 0;
  }

  /** The webhook's deliveries, newest first. */
  async deliveries(sql: Sql, webhookId: string, { offset, limit, sortOrder }: ListQuery<'created_at'>) {
    const order = sortOrder === 'asc' ? 'asc' : 'desc';
    const [rows, [count]] = await Promise.all([
      sql<DeliveryRow>(
        `select id, webhook_id, event_id, event_type, status, attempts, last_status_code, last_error,
           next_attempt_at, created_at, delivered_at
         from webhook_deliveries where webhook_id = $1
         order by created_at ${order}, id ${order} limit $2 offset $3`,
        [webhookId, limit, offset],
      ),
      sql<{ n: number }>('select count(*)::int as n from webhook_deliveries where webhook_id = $1', [
        webhookId,
      ]),
    ]);
    return { items: rows.map(deliveryView), total: count?.n ?? 0 } satisfies Page<DeliveryView>;
  }

  /**
   * Where the fan-out stands, locked for this transaction; null when another process holds it (it
   * is fanning out now).
   */
  async lockFeedPosition(sql: Sql): Promise<FeedPosition | null> {
    const [row] = await sql<{ tx_id: string; seq: string }>(
      'select tx_id::text as tx_id, seq::text as seq from webhook_feed_position for update skip locked',
    );
    return row ? { tx: row.tx_id, seq: row.seq } : null;
  }

  async moveFeedPosition(sql: Sql, position: FeedPosition): Promise<void> {
    await sql('update webhook_feed_position set tx_id = $1::xid8, seq = $2', [position.tx, position.seq]);
  }

  /**
   * Whether any webhook is active. While none is, the fan-out position follows the feed's head (in
   * the same statement), so a webhook created later starts from its own time, not a backlog.
   */
  async anyActive(sql: Sql): Promise<boolean> {
    const [row] = await sql<{ active: boolean }>(
      `with active as (select exists (select 1 from webhooks where active) as active),
       head as (${SETTLED_HEAD}),
       moved as (update webhook_feed_position p set tx_id = head.tx_id, seq = head.seq from head, active
         where not active.active and (p.tx_id, p.seq) < (head.tx_id, head.seq) returning 1)
       select active from active`,
    );
    return Boolean(row?.active);
  }

  /**
   * One delivery per event and active webhook of its team that wants its type and existed when it
   * happened; an event already queued for a webhook is not queued again.
   */
  async queueDeliveries(sql: Sql, events: ChangeEvent[]): Promise<number> {
    const teams = [...new Set(events.map((e) => e.teamId))];
    const webhooks = await sql<{ id: string; team_id: string; event_types: string[]; created_at: string }>(
      'select id, team_id, event_types, created_at from webhooks where active and team_id = any($1)',
      [teams],
    );
    const rows = events.flatMap((event) =>
      webhooks
        .filter(
          (w) =>
            w.team_id === event.teamId &&
            (w.event_types.length === 0 || w.event_types.includes(event.type)) &&
            event.occurredAt >= new Date(w.created_at),
        )
        .map((w) => ({
          id: randomUUID(),
          webhook_id: w.id,
          event_id: event.id,
          event_type: event.type,
          payload: eventPayload(event),
        })),
    );
    if (!rows.length) return 0;
    const inserted = await sql(
      `insert into webhook_deliveries (id, webhook_id, event_id, event_type, payload, next_attempt_at, created_at)
       select id, webhook_id, event_id, event_type, payload, now(), now()
       from jsonb_to_recordset($1::jsonb) as d(id uuid, webhook_id uuid, event_id uuid, event_type text, payload jsonb)
       on conflict (webhook_id, event_id) do nothing returning 1`,
      [JSON.stringify(rows)],
    );
    return inserted.length;
  }

  /**
   * Claims up to `limit` due deliveries of active webhooks for one attempt each: the attempt is
   * counted and the delivery hidden from other processes for `leaseMs` (after which, if its
   * outcome was never recorded, it is due again: at least once).
   */
  async claimDue(sql: Sql, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    const rows = await sql<{
      id: string;
      event_id: string;
      event_type: string;
      payload: unknown;
      attempts: number;
      url: string;
      signing_secret: string;
    }>(
      `with due as (
         select d.id from webhook_deliveries d join webhooks w on w.id = d.webhook_id
         where d.status = 'pending' and d.next_attempt_at <= now() and w.active
         order by d.next_attempt_at limit $1 for update of d skip locked)
       update webhook_deliveries d
       set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::float8 / 1000)
       from due, webhooks w where d.id = due.id and w.id = d.webhook_id
       returning d.id, d.event_id, d.event_type, d.payload, d.attempts, w.url, w.signing_secret`,
      [limit, leaseMs],
    );
    return rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      eventType: row.event_type,
      payload: row.payload,
      attempts: row.attempts,
      url: row.url,
      signingSecret: row.signing_secret,
    }));
  }

  /**
   * An attempt's outcome: delivered, due again at `retryAt`, or given up (`retryAt` null). Only while
   * the delivery is still at this attempt: a late outcome (its lease ran out and another attempt was
   * made) changes nothing.
   */
  async recordAttempt(
    sql: Sql,
    delivery: Pick<DueDelivery, 'id' | 'attempts'>,
    outcome: { delivered: boolean; statusCode: number | null; error: string | null; retryAt: Date | null },
  ): Promise<void> {
    const status: DeliveryStatus = outcome.delivered ? 'delivered' : outcome.retryAt ? 'pending' : 'failed';
    await sql(
      `update webhook_deliveries set status = $2::text, last_status_code = $3, last_error = $4,
         next_attempt_at = coalesce($5, next_attempt_at),
         delivered_at = case when $2::text = 'delivered' then now() end
       where id = $1 and attempts = $6 and status = 'pending'`,
      [delivery.id, status, outcome.statusCode, outcome.error, outcome.retryAt, delivery.attempts],
    );
  }
}
