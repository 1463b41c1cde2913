import type { MikroORM } from '@mikro-orm/postgresql';
import { NotFoundError, UnauthenticatedError } from '../../domain/errors.js';
import { type Actor, authorize, isScope, type RequestMeta } from '../../domain/scopes.js';
import { unitOfWork } from '../../platform/db/unit-of-work.js';
import { describeError, type Logger } from '../../platform/logger.js';
import { TeamResourceService } from '../../platform/team-resource-service.js';
import { auditOf } from '../audit/audit.repository.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import {
  type ApiKeyListQuery,
  ApiKeyRepository,
  type ApiKeyView,
  apiKeyView,
  type IssuedApiKey,
  issueApiKey,
} from './api-key.repository.js';
import {
  type ApiKeyIds,
  assertMayGrant,
  assertRotatable,
  type CreateApiKeyCommand,
  isActive,
} from './api-key.rules.js';
import { formatApiKey, hashSecret, newSecret } from './api-key-format.js';
import { AuthCache, DEFAULT_AUTH_CACHE_TTL_MS, trackAuthCache } from './auth-cache.js';
import { actorOf, authenticateWith, lookUpApiKey, parseAuthorization, secretDigest } from './authenticate.js';

const audit = auditOf('api_key');

/** How long a key's last use may sit in memory before it is written (and so how stale `last_used_at` may be). */
export const LAST_USED_FLUSH_MS = 60_000;

/** Every API key use case, shared by the REST and GraphQL doors, plus the batched `last_used_at` writer. */
export class ApiKeyService extends TeamResourceService<ApiKeyView, ApiKeyListQuery, 'apiKeyId'> {
  readonly repository: ApiKeyRepository;
  /** Key id → latest use (epoch ms) not yet written. */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<number> | undefined;
  private closed = false;
  private readonly authCache: AuthCache;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: {
      logger?: Pick<Logger, 'warn'>;
      flushAfterMs?: number;
      /** 0 turns the cache off: every request asks the database. */
      authCacheTtlMs?: number;
    } = {},
  ) {
    super({ readScope: 'api_keys:read', idKey: 'apiKeyId', notFound });
    this.repository = new ApiKeyRepository(orm);
    this.authCache = new AuthCache(options.authCacheTtlMs ?? DEFAULT_AUTH_CACHE_TTL_MS);
    trackAuthCache(orm, this.authCache);
  }

  /**
   * Resolves the caller of a request (401 otherwise) and notes the key's use for `last_used_at`;
   * never writes. A key resolved within the cache's TTL is not looked up again (see AuthCache), but
   * its expiry is checked on every use.
   */
  async authenticate(authorization: string | null | undefined): Promise<Actor> {
    const parsed = parseAuthorization(authorization);
    if (!parsed) throw new UnauthenticatedError();
    const digest = secretDigest(parsed.secret);
    const now = Date.now();
    let actor = this.authCache.get(parsed.keyId, digest, now);
    if (!actor) {
      const epoch = this.authCache.begin();
      const resolved = await lookUpApiKey(this.repository, parsed.keyId, digest);
      this.authCache.set(parsed.keyId, resolved, epoch, now);
      actor = resolved.actor;
    }
    this.noteUsed(actor.apiKeyId, now);
    return actor;
  }

  /** `authenticate` without the cache: the key as the database holds it now. Notes no use. */
  authenticateNow(authorization: string | null | undefined): Promise<Actor> {
    return authenticateWith(this.repository, authorization);
  }

  /**
   * The callers the keys with these ids stand for now, read from the database (not the cache): a key
   * revoked, deleted or expired is missing; its creator's role is the current one.
   */
  async currentActors(apiKeyIds: readonly string[]): Promise<Map<string, Actor>> {
    const rows = await this.repository.byIds(apiKeyIds);
    const active = rows.filter((row) => isActive({ revokedAt: row.revoked_at, expiresAt: row.expires_at }));
    return new Map(active.map((row) => [row.id, actorOf(row)]));
  }

  /** Creates a key for the caller's user. It can never carry a scope the calling key lacks or the caller's role cannot reach. */
  async create(
    actor: Actor,
    meta: RequestMeta,
    teamId: string,
    command: CreateApiKeyCommand,
  ): Promise<IssuedApiKey> {
    authorize(actor, teamId, 'api_keys:create');
    const scopes = [...new Set(command.scopes)];
    const expiresAt = command.expiresAt ?? null;
    assertMayGrant(actor, scopes);
    const { apiKey, fullKey } = await unitOfWork(this.orm, async (em) => {
      await assertWithinPlan(em, teamId, 'api_keys', () => this.repository.countActive(em, teamId));
      const issued = issueApiKey(em, {
        teamId,
        createdBy: actor.userId,
        name: command.name,
        scopes,
        expiresAt,
      });
      const createdFields = expiresAt ? ['name', 'scopes', 'expires_at'] : ['name', 'scopes'];
      audit(em, actor, meta, 'created', { id: issued.apiKey.id, name: command.name }, createdFields);
      return issued;
    });
    return { apiKey: apiKeyView(apiKey), fullKey };
  }

  /**
   * A new secret for the same key (same id, key_id, name and scopes); the old secret fails from the
   * commit on. The caller receives a working key, so they must be able to grant its scopes themselves.
   */
  async rotate(actor: Actor, meta: RequestMeta, { teamId, apiKeyId }: ApiKeyIds): Promise<IssuedApiKey> {
    authorize(actor, teamId, 'api_keys:create');
    const rotated = await unitOfWork(this.orm, async (em) => {
      const key = (await this.repository.load(em, teamId, apiKeyId)) ?? notFound();
      assertMayGrant(actor, key.scopes.filter(isScope), 'rotate');
      assertRotatable(key);
      const secret = newSecret();
      key.secretHash = hashSecret(secret);
      key.rotatedAt = new Date();
      audit(em, actor, meta, 'rotated', key, ['secret']);
      return { apiKey: apiKeyView(key), fullKey: formatApiKey(key.keyId, secret) };
    });
    this.authCache.evictKey(rotated.apiKey.keyId);
    return rotated;
  }

  /** Soft delete: the key stops working at once but stays listed. Revoking a revoked key changes nothing. */
  async revoke(actor: Actor, meta: RequestMeta, { teamId, apiKeyId }: ApiKeyIds): Promise<ApiKeyView> {
    authorize(actor, teamId, 'api_keys:delete');
    const revoked = await unitOfWork(this.orm, async (em) => {
      const key = (await this.repository.load(em, teamId, apiKeyId)) ?? notFound();
      if (key.revokedAt) return apiKeyView(key);
      key.revokedAt = new Date();
      audit(em, actor, meta, 'revoked', key, ['revoked_at']);
      return apiKeyView(key);
    });
    this.authCache.evictKey(revoked.keyId);
    return revoked;
  }

  /** Permanent removal; the audit trail keeps the key's id and name. */
  async delete(actor: Actor, meta: RequestMeta, { teamId, apiKeyId }: ApiKeyIds): Promise<void> {
    authorize(actor, teamId, 'api_keys:delete');
    const keyId = await unitOfWork(this.orm, async (em) => {
      const key = (await this.repository.load(em, teamId, apiKeyId)) ?? notFound();
      em.remove(key);
      audit(em, actor, meta, 'deleted', key);
      return key.keyId;
    });
    this.authCache.evictKey(keyId);
  }

  // -- last_used_at: remembered in memory, written in one UPDATE per flush ----------------------

  /**
   * Records a successful authentication. Nothing is written now: the first use after a flush arms a
   * timer, and the flush it triggers writes every key's latest use at once. So each key's
   * `last_used_at` is written at most once per `flushAfterMs` (plus explicit flushes and shutdown),
   * and lags by at most that long.
   */
  noteUsed(apiKeyId: string, at: number = Date.now()): void {
    const previous = this.pending.get(apiKeyId);
    if (previous === undefined || previous < at) this.pending.set(apiKeyId, at);
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // A failed flush keeps its entries for the next one; it must never crash the process.
        this.flushLastUsed().catch((error: unknown) => {
          this.options.logger?.warn(
            { error: describeError(error) },
            'could not write api_keys.last_used_at; will retry',
          );
        });
      }, this.options.flushAfterMs ?? LAST_USED_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes every pending last use in one UPDATE; returns how many keys it covered. */
  async flushLastUsed(): Promise<number> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // One flush at a time, so two writers never race each other.
    while (this.flushing) await this.flushing.catch(() => {});
    if (this.pending.size === 0) return 0;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.repository.recordLastUses(batch).then(
      () => batch.size,
      (error: unknown) => {
        for (const [id, at] of batch) {
          const newer = this.pending.get(id);
          if (newer === undefined || newer < at) this.pending.set(id, at);
        }
        throw error;
      },
    );
    try {
      return await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Stops the timer and writes what is pending; call before the database closes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushLastUsed();
  }
}

function notFound(): never {
  throw new NotFoundError('API key not found');
}

declare module '../../platform/services.js' {
  interface Services {
    apiKeys: ApiKeyService;
  }
}
