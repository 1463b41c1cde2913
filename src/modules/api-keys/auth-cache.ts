import { timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Actor } from '../../domain/scopes.js';

/**
 * How long a resolved key is trusted without asking the database. It bounds how late a change made
 * by another process (revocation, deletion, rotation, a membership or role change) takes effect
 * here; changes made through this process evict at once.
 */
export const DEFAULT_AUTH_CACHE_TTL_MS = 5_000;
export const AUTH_CACHE_MAX_ENTRIES = 10_000;

/** What a successful database lookup of a key yields. */
export interface ResolvedKey {
  actor: Actor;
  /** sha256 of the key's secret, raw bytes: the secret itself is never kept. */
  secretDigest: Buffer;
  /** The key's `expires_at` in epoch ms, or null. */
  expiresAt: number | null;
}

interface Entry extends ResolvedKey {
  freshUntil: number;
}

/**
 * Resolved keys by `key_id`, each with the digest of the secret it was resolved for. Only successes
 * are kept (never failed lookups); the oldest entry goes when the cache is full.
 */
export class AuthCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every eviction: a lookup that began before one is not stored (it may predate the change). */
  private epoch = 0;

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = AUTH_CACHE_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The actor for this key id and secret digest, unless stale, expired at `now`, or unknown. */
  get(keyId: string, secretDigest: Buffer, now: number): Actor | undefined {
    const entry = this.entries.get(keyId);
    if (!entry) return undefined;
    if (entry.freshUntil <= now || (entry.expiresAt !== null && entry.expiresAt <= now)) {
      this.entries.delete(keyId);
      return undefined;
    }
    return timingSafeEqual(entry.secretDigest, secretDigest) ? entry.actor : undefined;
  }

  /** Call before a database lookup; hand the result to `set`. */
  begin(): number {
    return this.epoch;
  }

  /**
   * Stores a lookup that began at `startedAt` (ms) in epoch `epoch`. Its freshness counts from the
   * start, so a change committed after the row was read is seen at most `ttlMs` after its commit.
   */
  set(keyId: string, resolved: ResolvedKey, epoch: number, startedAt: number): void {
    if (this.ttlMs <= 0 || epoch !== this.epoch) return;
    this.entries.delete(keyId);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(keyId, { ...resolved, freshUntil: startedAt + this.ttlMs });
  }

  evictKey(keyId: string): void {
    this.epoch++;
    this.entries.delete(keyId);
  }

  /** Every key created by this member of this team: their role or membership changed. */
  evictMember(teamId: string, userId: string): void {
    this.epoch++;
    for (const [keyId, entry] of this.entries) {
      if (entry.actor.teamId === teamId && entry.actor.userId === userId) this.entries.delete(keyId);
    }
  }
}

const cachesByOrm = new WeakMap<MikroORM, Set<AuthCache>>();

/** Makes `cache` reachable by `evictMemberEverywhere` for changes written through `orm`. */
export function trackAuthCache(orm: MikroORM, cache: AuthCache): void {
  const caches = cachesByOrm.get(orm) ?? new Set<AuthCache>();
  caches.add(cache);
  cachesByOrm.set(orm, caches);
}

/** Call after committing a membership or role change through `orm`. */
export function evictMemberEverywhere(orm: MikroORM, teamId: string, userId: string): void {
  for (const cache of cachesByOrm.get(orm) ?? []) cache.evictMember(teamId, userId);
}
