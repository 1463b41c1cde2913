import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000500_idempotency_commit extends Migration {
  override async up(): Promise<void> {
    // Set inside the write's own transaction: a claim whose write committed is never re-run, even when
    // the process died before it stored the response.
    this.addSql('alter table idempotency_keys add column committed_at timestamptz;');
  }
}
