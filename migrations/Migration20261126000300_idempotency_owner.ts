import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000300_idempotency_owner extends Migration {
  override async up(): Promise<void> {
    // Which process claimed a key (host:pid), so a claim left by a process that died can be taken over.
    this.addSql('alter table idempotency_keys add column owner varchar(300);');
  }
}
