import { Migration } from '@mikro-orm/migrations';

export class Migration20261207000000_secret_version_default extends Migration {
  override async up(): Promise<void> {
    // `version` is the ORM's optimistic lock: it inserts a new secret without it and reads it back.
    this.addSql('alter table secrets alter column version set default 1;');
  }
}
