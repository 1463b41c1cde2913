import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000100_lifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      -- Stored credentials whose owner was deleted: removed from the credential store after the
      -- commit, retried until it succeeds (an outbox, so a crash in between loses nothing).
      create table credential_deletions (
        ref varchar(512) primary key,
        requested_at timestamptz(3) not null,
        attempts int not null default 0,
        last_error varchar(300),
        next_attempt_at timestamptz(3) not null
      );
      create index secrets_team_created_index on secrets(team_id, created_at);
      create index secrets_team_updated_index on secrets(team_id, updated_at);
      create index locations_team_created_index on locations(team_id, created_at);
      create index vault_connections_team_created_index on vault_connections(team_id, created_at);
      create index audit_events_team_resource_index on audit_events(team_id, resource_type, created_at desc);
      create index secrets_vault_connection_index on secrets(vault_connection_id);
    `);
  }
}
