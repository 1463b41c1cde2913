import type { MikroORM } from '@mikro-orm/postgresql';
import { autocommit, type Sql } from '../db/unit-of-work.js';
import type { Logger } from '../logger.js';
import type { CredentialStore } from './credential-store.js';

const BATCH = 50;
const MAX_BACKOFF_SECONDS = 3600;

/** Queues the removal of stored credentials; call inside the unit of work that deletes their owner. */
export async function queueCredentialDeletion(sql: Sql, ref: string): Promise<void> {
  await sql(
    `insert into credential_deletions (ref, requested_at, attempts, next_attempt_at)
       values ($1, now(), 0, now()) on conflict (ref) do nothing`,
    [ref],
  );
}

/**
 * Drains `credential_deletions`, the outbox written in the same transaction as a delete. Because the
 * row commits with the delete, a crash between the commit and the store call loses nothing: the next
 * drain (after each delete, every interval, and at start-up) retries, with exponential backoff.
 */
export class CredentialCleanup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<{ deleted: number; failed: number }> | undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly store: CredentialStore,
    private readonly logger: Logger,
  ) {}

  start(intervalMs = 30_000): void {
    this.timer = setInterval(() => void this.drain(), intervalMs);
    this.timer.unref();
    void this.drain();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the due deletions; concurrent calls share the pass in progress. */
  drain(): Promise<{ deleted: number; failed: number }> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<{ deleted: number; failed: number }> {
    const sql = autocommit(this.orm);
    let deleted = 0;
    let failed = 0;
    try {
      const due = await sql<{ ref: string; attempts: number }>(
        'select ref, attempts from credential_deletions where next_attempt_at <= now() order by requested_at limit $1',
        [BATCH],
      );
      for (const { ref, attempts } of due) {
        try {
          await this.store.delete(ref, sql);
          await sql('delete from credential_deletions where ref = $1', [ref]);
          deleted++;
        } catch (error) {
          failed++;
          const backoff = Math.min(2 ** attempts * 5, MAX_BACKOFF_SECONDS);
          const reason = error instanceof Error ? error.name : 'error';
          await sql(
            `update credential_deletions set attempts = attempts + 1, last_error = $1,
               next_attempt_at = now() + make_interval(secs => $2) where ref = $3`,
            [reason, backoff, ref],
          );
          this.logger.warn({ ref, attempts: attempts + 1, reason }, 'credential deletion failed; will retry');
        }
      }
    } catch (error) {
      this.logger.warn(
        { reason: error instanceof Error ? error.name : 'error' },
        'credential cleanup pass failed',
      );
    }
    return { deleted, failed };
  }
}
