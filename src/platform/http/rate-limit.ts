import type { MikroORM } from '@mikro-orm/postgresql';
import { autocommit, type Sql } from '../db/unit-of-work.js';
import { describeError, type Logger } from '../logger.js';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix seconds when the current window ends. */
  resetAt: number;
}

export const WINDOW_MS = 60_000;

/** The start (ms) of the fixed one-minute window `now` falls in. */
export function windowStart(now: number): number {
  return now - (now % WINDOW_MS);
}

/** The quota a process leases at a time: limit/20, at least 1 and at most 50. */
export function leaseBlock(perMinute: number): number {
  return Math.max(1, Math.min(Math.floor(perMinute / 20), 50));
}

/**
 * What a lease of `block` brings once the shared count, this lease included, is `used`: the part of
 * the block still under the limit, the shared count capped at the limit, and whether the window is
 * used up (no more leases).
 */
export function leaseOutcome(
  block: number,
  perMinute: number,
  used: number,
): { granted: number; sharedUsed: number; final: boolean } {
  return {
    granted: Math.max(0, Math.min(block, perMinute - (used - block))),
    sharedUsed: Math.min(used, perMinute),
    final: used >= perMinute,
  };
}

/** The decision for a window: what is left of the limit as this process knows it, and when the window ends. */
export function rateDecision(
  perMinute: number,
  window: { start: number; granted: number; consumed: number; sharedUsed: number },
  allowed: boolean,
): RateDecision {
  return {
    allowed,
    limit: perMinute,
    remaining: allowed ? Math.max(0, perMinute - window.sharedUsed + window.granted - window.consumed) : 0,
    resetAt: Math.ceil((window.start + WINDOW_MS) / 1000),
  };
}

/** Adds a block to the shared count of a key's window; returns the count with it. */
const LEASE = `insert into rate_limits (bucket, window_start, used) values ($1, $2, $3)
  on conflict (bucket, window_start) do update set used = rate_limits.used + excluded.used
  returning used`;
const SWEEP = 'delete from rate_limits where window_start < $1';

/** This process's share of one key's window. */
interface Window {
  start: number;
  /** Requests this process may admit in the window: the sum of its leased blocks. */
  granted: number;
  /** Requests this process admitted in the window. */
  consumed: number;
  /** The shared count (capped at the limit) as of this process's last lease. */
  sharedUsed: number;
  /** No more leases this window: the shared count reached the limit, or the database failed. */
  final: boolean;
  /** The lease in flight; concurrent requests of the key wait for it instead of leasing too. */
  leasing?: Promise<void>;
}

/**
 * Fixed one-minute windows per key (an API key id or a client IP), counted in PostgreSQL
 * (`rate_limits`) so that every process on the database shares one count. A process leases quota in
 * blocks (limit/20, 1 to 50) with one atomic upsert and admits from its block without a database
 * round trip; a block is only granted up to the limit, so all processes together never admit more
 * than the limit per window. A process may refuse while another still holds an unused part of its
 * block (at most one block per process). When a lease fails, the process fails open to counting
 * alone for the rest of the window (at most the limit per process), logging once per outage.
 * A limit of 0 turns it off.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly block: number;
  private readonly sql: Sql;
  private currentStart = 0;
  private databaseDown = false;

  constructor(
    private readonly perMinute: number,
    orm: MikroORM,
    private readonly logger: Logger,
  ) {
    this.block = leaseBlock(perMinute);
    this.sql = autocommit(orm);
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  async hit(key: string, now = Date.now()): Promise<RateDecision> {
    const start = windowStart(now);
    if (start > this.currentStart) this.newWindow(start);
    for (;;) {
      let window = this.windows.get(key);
      if (!window || window.start !== start) {
        window = { start, granted: 0, consumed: 0, sharedUsed: 0, final: false };
        this.windows.set(key, window);
      }
      if (window.consumed < window.granted) {
        window.consumed++;
        return this.decision(window, true);
      }
      if (window.final) return this.decision(window, false);
      window.leasing ??= this.lease(key, window).finally(() => {
        window.leasing = undefined;
      });
      await window.leasing;
    }
  }

  private async lease(key: string, window: Window): Promise<void> {
    try {
      const [row] = await this.sql<{ used: number }>(LEASE, [key, new Date(window.start), this.block]);
      const outcome = leaseOutcome(this.block, this.perMinute, Number(row!.used));
      window.granted += outcome.granted;
      window.sharedUsed = outcome.sharedUsed;
      window.final = outcome.final;
      if (this.databaseDown) this.logger.info('rate limits: counted in the database again');
      this.databaseDown = false;
    } catch (error) {
      if (!this.databaseDown) {
        this.logger.warn(
          { error: describeError(error) },
          'rate limits: database unavailable; counting in this process until the window ends',
        );
      }
      this.databaseDown = true;
      window.granted = this.perMinute;
      window.sharedUsed = this.perMinute;
      window.final = true;
    }
  }

  private decision(window: Window, allowed: boolean): RateDecision {
    return rateDecision(this.perMinute, window, allowed);
  }

  /** Forgets past windows here, and in the database those before the previous one (kept for clock skew). */
  private newWindow(start: number): void {
    this.currentStart = start;
    for (const [key, window] of this.windows) if (window.start < start) this.windows.delete(key);
    // Best effort: a failed sweep (the database closed, say) is retried with the next window.
    void this.sql(SWEEP, [new Date(start - WINDOW_MS)]).catch(() => {});
  }
}

export function rateLimitHeaders(decision: RateDecision, now = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetAt),
  };
  if (!decision.allowed)
    headers['retry-after'] = String(Math.max(1, decision.resetAt - Math.floor(now / 1000)));
  return headers;
}
