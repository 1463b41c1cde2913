import { Migration } from '@mikro-orm/migrations';

/**
 * Change events are the audit events: each gets a position in the feed, (`tx_id`, `seq`), filled in
 * by the database, so the request path writes nothing more than the audit row it already writes.
 * A reader takes only rows of transactions older than every running one (`pg_snapshot_xmin`): no
 * row can then appear behind a position already read.
 */
export class Migration20261207100000_change_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table audit_events
      add column seq bigint generated always as identity,
      add column tx_id xid8 not null default pg_current_xact_id(),
      add column resource_version integer;`);
    this.addSql('create index audit_events_feed on audit_events (tx_id, seq);');

    this.addSql(`create table webhooks (
      id uuid primary key,
      team_id uuid not null references teams (id) on delete cascade,
      name varchar(255) not null,
      description text,
      url varchar(2048) not null,
      event_types text[] not null default '{}',
      signing_secret varchar(128) not null,
      active boolean not null default true,
      created_at timestamptz(3) not null,
      created_by uuid not null,
      updated_at timestamptz(3) not null,
      updated_by uuid not null,
      constraint webhooks_team_name_unique unique (team_id, name)
    );`);
    this.addSql(`create table webhook_deliveries (
      id uuid primary key,
      webhook_id uuid not null references webhooks (id) on delete cascade,
      event_id uuid not null,
      event_type varchar(64) not null,
      payload jsonb not null,
      status varchar(16) not null default 'pending',
      attempts integer not null default 0,
      next_attempt_at timestamptz(3) not null,
      last_status_code integer,
      last_error varchar(500),
      created_at timestamptz(3) not null,
      delivered_at timestamptz(3),
      constraint webhook_deliveries_once unique (webhook_id, event_id)
    );`);
    this.addSql(
      "create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';",
    );
    this.addSql('create index webhook_deliveries_log on webhook_deliveries (webhook_id, created_at desc);');
    // Where the fan-out of events to webhooks stands: one row, taken by one process at a time.
    this.addSql(`create table webhook_feed_position (
      id boolean primary key default true check (id),
      tx_id xid8 not null,
      seq bigint not null
    );`);
    // Earlier events are history: no webhook existed to receive them.
    this.addSql(`insert into webhook_feed_position (tx_id, seq)
      select pg_current_xact_id(), coalesce(max(seq), 0) from audit_events;`);
  }
}
