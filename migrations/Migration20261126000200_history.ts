import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000200_history extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      -- One row per accepted change of a secret: what changed (names only), who, when, and which
      -- stored credential version was current afterwards. Never a credential value.
      create table secret_versions (
        secret_id uuid not null references secrets(id) on delete cascade deferrable initially deferred,
        version int not null,
        changed_fields text[] not null,
        secret_type varchar(64) not null,
        auth_method varchar(64) not null,
        credential_version int,
        field_mappings jsonb,
        actor_user_id uuid,
        actor_api_key_id uuid,
        created_at timestamptz(3) not null,
        primary key (secret_id, version)
      );
      -- Idempotency-Key records: the first response to a (key, API key) pair, replayed for 24 h.
      create table idempotency_keys (
        api_key_id uuid not null,
        key varchar(255) not null,
        request_hash char(64) not null,
        status int,
        response jsonb,
        created_at timestamptz(3) not null,
        primary key (api_key_id, key)
      );
      create index idempotency_keys_created_index on idempotency_keys(created_at);
      -- Secrets created before history existed get their current state as a first entry.
      insert into secret_versions (secret_id, version, changed_fields, secret_type, auth_method,
                                   credential_version, field_mappings, actor_user_id, created_at)
        select id, version, '{}', secret_type, auth_method, credential_version, field_mappings, updated_by, updated_at
          from secrets;
    `);
  }
}
