import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000400_rate_limits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      -- Requests leased per rate-limit bucket (an API key or a client IP) and one-minute window, shared
      -- by every process (src/platform/http/rate-limit.ts). Disposable counts: unlogged, so no WAL is written.
      create unlogged table rate_limits (
        bucket varchar(300) not null,
        window_start timestamptz not null,
        used int not null,
        primary key (bucket, window_start)
      );
    `);
  }
}
