import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000000_initial extends Migration {
  override async up(): Promise<void> {
    // Foreign keys are checked at commit: the unit of work may insert a row before the row it references.
    this.addSql(`
      create table teams (
        id uuid primary key,
        name varchar(255) not null,
        plan varchar(16) not null check (plan in ('free', 'pro')),
        created_at timestamptz(3) not null
      );
      create table users (
        id uuid primary key,
        email varchar(320) not null unique,
        created_at timestamptz(3) not null
      );
      create table memberships (
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        user_id uuid not null references users(id) on delete cascade deferrable initially deferred,
        role varchar(16) not null check (role in ('viewer', 'operator', 'admin', 'owner')),
        created_at timestamptz(3) not null,
        primary key (team_id, user_id)
      );
      create table api_keys (
        id uuid primary key,
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        created_by uuid not null references users(id) deferrable initially deferred,
        key_id varchar(12) not null unique,
        secret_hash varchar(64) not null,
        name varchar(255) not null,
        scopes text[] not null,
        expires_at timestamptz(3),
        revoked_at timestamptz(3),
        rotated_at timestamptz(3),
        last_used_at timestamptz(3),
        created_at timestamptz(3) not null
      );
      create index api_keys_team_id_index on api_keys(team_id);
      create table vault_connections (
        id uuid primary key,
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        name varchar(255) not null,
        description text,
        vault_type varchar(32) not null,
        settings jsonb not null,
        credential_ref varchar(512) not null,
        credential_version int not null,
        last_verified_at timestamptz(3),
        created_at timestamptz(3) not null,
        created_by uuid not null,
        updated_at timestamptz(3) not null,
        updated_by uuid not null,
        constraint vault_connections_team_name_unique unique (team_id, name)
      );
      create table secrets (
        id uuid primary key,
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        name varchar(255) not null,
        description text,
        secret_type varchar(64) not null,
        auth_method varchar(64) not null,
        storage varchar(16) not null check (storage in ('native', 'external_vault')),
        credential_ref varchar(512),
        credential_version int,
        vault_connection_id uuid references vault_connections(id) deferrable initially deferred,
        field_mappings jsonb,
        version int not null,
        created_at timestamptz(3) not null,
        created_by uuid not null,
        updated_at timestamptz(3) not null,
        updated_by uuid not null,
        constraint secrets_team_name_unique unique (team_id, name),
        constraint secrets_storage_shape check (
          (storage = 'native' and credential_ref is not null and credential_version is not null
             and vault_connection_id is null and field_mappings is null)
          or (storage = 'external_vault' and vault_connection_id is not null and field_mappings is not null
             and credential_ref is null and credential_version is null))
      );
      create table locations (
        id uuid primary key,
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        name varchar(255) not null,
        description text,
        location_type varchar(64) not null,
        secret_id uuid not null references secrets(id) deferrable initially deferred,
        bucket_name varchar(255) not null,
        region varchar(100),
        endpoint_url varchar(2048),
        created_at timestamptz(3) not null,
        created_by uuid not null,
        updated_at timestamptz(3) not null,
        updated_by uuid not null,
        constraint locations_team_name_unique unique (team_id, name)
      );
      create index locations_secret_id_index on locations(secret_id);
      create table audit_events (
        id uuid primary key,
        team_id uuid not null references teams(id) on delete cascade deferrable initially deferred,
        event_type varchar(64) not null,
        resource_type varchar(32) not null,
        resource_id uuid not null,
        resource_name varchar(255) not null,
        actor_user_id uuid,
        actor_api_key_id uuid,
        changed_fields text[] not null,
        ip varchar(64),
        user_agent varchar(512),
        request_id varchar(64),
        created_at timestamptz(3) not null
      );
      create index audit_events_team_created_index on audit_events(team_id, created_at desc);
      create table credential_blobs (
        ref varchar(512) not null,
        version int not null,
        ciphertext bytea not null,
        created_at timestamptz(3) not null,
        primary key (ref, version)
      );
    `);
  }
}
