import { type EntityManager, LockMode, type MikroORM, QueryOrder } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.js';
import { formatApiKey, hashSecret, newSecret } from '../auth/api-key-format.js';
import { AuthCache, DEFAULT_AUTH_CACHE_TTL_MS, trackAuthCache } from '../auth/auth-cache.js';
import { lookUpApiKey, parseAuthorization, secretDigest } from '../auth/authenticate.js';
import {
  type Actor,
  authorize,
  isScope,
  type RequestMeta,
  roleReaches,
  SCOPE_MIN_ROLE,
  SCOPES,
  type Scope,
} from '../auth/scopes.js';
import { unitOfWork } from '../db/unit-of-work.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { parsePathIds } from '../domain/ids.js';
import { containsPattern, type ListQuery, type Page } from '../domain/paging.js';
import { parseOrThrow, timestampInput } from '../domain/validation.js';
import { ApiKey } from '../entities/index.js';
import { describeError, type Logger } from '../logger.js';
import { assertWithinPlan } from '../teams/plan-limits.js';
import { issueApiKey } from '../teams/team-admin.js';

export const API_KEY_SORTS = ['name', 'created_at', 'last_used_at'] as const;
export type ApiKeySort = (typeof API_KEY_SORTS)[number];

export interface ApiKeyFilter {
  /** Default true: revoked keys stay visible for audit. */
  includeRevoked?: boolean;
}

/** A key together with its full `dr_<key_id>_<secret>` value, which exists only in this result. */
export interface IssuedApiKey {
  apiKey: ApiKey;
  fullKey: string;
}

/** How long a key's last use may sit in memory before it is written (and so how stale `last_used_at` may be). */
export const LAST_USED_FLUSH_MS = 60_000;

const SORT_COLUMNS = { name: 'name', created_at: 'createdAt', last_used_at: 'lastUsedAt' } as const;

export const createApiKeySchema = z.strictObject({
  name: z.string().min(1).max(255),
  // Bounded before the per-item check; duplicates are folded, so the stored list is at most SCOPES.length.
  scopes: z
    .array(
      z
        .string()
        .max(64)
        .refine(isScope, {
          message: `Unknown scope; known scopes: ${SCOPES.join(', ')}`,
          params: { code: 'enum' },
        }),
    )
    .min(1)
    .max(64),
  expires_at: timestampInput
    .refine((value) => Date.parse(value) > Date.now(), 'expires_at must be in the future')
    .nullish(),
});

/** Action endpoints (rotate, revoke) take no input; an empty JSON object is accepted, anything in it is refused. */
export const noInputSchema = z.strictObject({});

export function isActive(key: ApiKey, now = Date.now()): boolean {
  return !key.revokedAt && !(key.expiresAt && new Date(key.expiresAt).getTime() <= now);
}

/** Every API key use case, shared by the REST and GraphQL doors, plus the batched `last_used_at` writer. */
export class ApiKeyService {
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
      const resolved = await lookUpApiKey(this.orm.em.fork(), parsed.keyId, digest);
      this.authCache.set(parsed.keyId, resolved, epoch, now);
      actor = resolved.actor;
    }
    this.noteUsed(actor.apiKeyId, now);
    return actor;
  }

  async list(
    actor: Actor,
    teamIdParam: string,
    query: ListQuery<ApiKeySort>,
    filter: ApiKeyFilter = {},
  ): Promise<Page<ApiKey>> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'api_keys:read');
    const where: Record<string, unknown> = { teamId };
    if (filter.includeRevoked === false) where.revokedAt = null;
    if (query.q) where.name = { $ilike: containsPattern(query.q) };
    const direction =
      query.sortOrder === 'asc'
        ? query.sortBy === 'last_used_at'
          ? QueryOrder.ASC_NULLS_LAST
          : QueryOrder.ASC
        : query.sortBy === 'last_used_at'
          ? QueryOrder.DESC_NULLS_LAST
          : QueryOrder.DESC;
    const [items, total] = await this.orm.em.fork().findAndCount(ApiKey, where, {
      orderBy: [{ [SORT_COLUMNS[query.sortBy]]: direction }, { id: query.sortOrder }],
      limit: query.limit,
      offset: query.offset,
    });
    return { items, total };
  }

  async get(actor: Actor, teamIdParam: string, apiKeyIdParam: string): Promise<ApiKey> {
    const { team_id: teamId, api_key_id: id } = parsePathIds({
      team_id: teamIdParam,
      api_key_id: apiKeyIdParam,
    });
    authorize(actor, teamId, 'api_keys:read');
    const key = await this.orm.em.fork().findOne(ApiKey, { id, teamId });
    if (!key) throw new NotFoundError('API key not found');
    return key;
  }

  /** Creates a key for the caller's user. It can never carry a scope the calling key lacks or the caller's role cannot reach. */
  async create(actor: Actor, meta: RequestMeta, teamIdParam: string, body: unknown): Promise<IssuedApiKey> {
    const { team_id: teamId } = parsePathIds({ team_id: teamIdParam });
    authorize(actor, teamId, 'api_keys:create');
    const input = parseOrThrow(createApiKeySchema, body);
    const expiresAt = input.expires_at == null ? null : new Date(input.expires_at);
    const scopes = [...new Set(input.scopes)] as Scope[];
    assertMayGrant(actor, scopes);

    return unitOfWork(this.orm, async (em) => {
      await assertWithinPlan(em, teamId, 'api_keys', () => countActive(em, teamId));
      const issued = issueApiKey(em, {
        teamId,
        createdBy: actor.userId,
        name: input.name,
        scopes,
        expiresAt,
      });
      recordAudit(em, actor, meta, {
        eventType: 'api_key_created',
        resourceType: 'api_key',
        resourceId: issued.id,
        resourceName: input.name,
        changedFields: expiresAt ? ['name', 'scopes', 'expires_at'] : ['name', 'scopes'],
      });
      await em.flush();
      return { apiKey: await em.findOneOrFail(ApiKey, { id: issued.id }), fullKey: issued.full_key };
    });
  }

  /**
   * A new secret for the same key (same id, key_id, name and scopes); the old secret fails from the
   * commit on. The caller receives a working key, so they must be able to grant its scopes themselves.
   */
  async rotate(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    apiKeyIdParam: string,
    body: unknown = {},
  ): Promise<IssuedApiKey> {
    const { teamId, id } = this.ids(teamIdParam, apiKeyIdParam);
    authorize(actor, teamId, 'api_keys:create');
    parseOrThrow(noInputSchema, body);
    const rotated = await unitOfWork(this.orm, async (em) => {
      const key = await this.lock(em, teamId, id);
      assertMayGrant(actor, key.scopes.filter(isScope), 'rotate');
      if (key.revokedAt) throw new ConflictError('A revoked API key cannot be rotated');
      if (!isActive(key)) throw new ConflictError('An expired API key cannot be rotated');
      const secret = newSecret();
      key.secretHash = hashSecret(secret);
      key.rotatedAt = new Date();
      recordAudit(em, actor, meta, {
        eventType: 'api_key_rotated',
        resourceType: 'api_key',
        resourceId: key.id,
        resourceName: key.name,
        changedFields: ['secret'],
      });
      return { apiKey: key, fullKey: formatApiKey(key.keyId, secret) };
    });
    this.authCache.evictKey(rotated.apiKey.keyId);
    return rotated;
  }

  /** Soft delete: the key stops working at once but stays listed. Revoking a revoked key changes nothing. */
  async revoke(
    actor: Actor,
    meta: RequestMeta,
    teamIdParam: string,
    apiKeyIdParam: string,
    body: unknown = {},
  ): Promise<ApiKey> {
    const { teamId, id } = this.ids(teamIdParam, apiKeyIdParam);
    authorize(actor, teamId, 'api_keys:delete');
    parseOrThrow(noInputSchema, body);
    const revoked = await unitOfWork(this.orm, async (em) => {
      const key = await this.lock(em, teamId, id);
      if (key.revokedAt) return key;
      key.revokedAt = new Date();
      recordAudit(em, actor, meta, {
        eventType: 'api_key_revoked',
        resourceType: 'api_key',
        resourceId: key.id,
        resourceName: key.name,
        changedFields: ['revoked_at'],
      });
      return key;
    });
    this.authCache.evictKey(revoked.keyId);
    return revoked;
  }

  /** Permanent removal; the audit trail keeps the key's id and name. Returns the deleted id. */
  async delete(actor: Actor, meta: RequestMeta, teamIdParam: string, apiKeyIdParam: string): Promise<string> {
    const { teamId, id } = this.ids(teamIdParam, apiKeyIdParam);
    authorize(actor, teamId, 'api_keys:delete');
    const deleted = await unitOfWork(this.orm, async (em) => {
      const key = await this.lock(em, teamId, id);
      em.remove(key);
      recordAudit(em, actor, meta, {
        eventType: 'api_key_deleted',
        resourceType: 'api_key',
        resourceId: key.id,
        resourceName: key.name,
      });
      return key;
    });
    this.authCache.evictKey(deleted.keyId);
    return deleted.id;
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
    this.flushing = this.writeLastUsed(batch).catch((error: unknown) => {
      for (const [id, at] of batch) {
        const newer = this.pending.get(id);
        if (newer === undefined || newer < at) this.pending.set(id, at);
      }
      throw error;
    });
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

  private async writeLastUsed(batch: Map<string, number>): Promise<number> {
    const rows = [...batch].map(([id, at]) => ({ id, used_at: new Date(at).toISOString() }));
    // greatest() ignores NULL and never moves last_used_at backwards (another process may be newer).
    await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `update api_keys k
            set last_used_at = greatest(k.last_used_at, v.used_at)
           from jsonb_to_recordset(?::jsonb) as v(id uuid, used_at timestamptz)
          where k.id = v.id`,
        [JSON.stringify(rows)],
      );
    return rows.length;
  }

  private ids(teamIdParam: string, apiKeyIdParam: string) {
    const { team_id: teamId, api_key_id: id } = parsePathIds({
      team_id: teamIdParam,
      api_key_id: apiKeyIdParam,
    });
    return { teamId, id };
  }

  private async lock(em: EntityManager, teamId: string, id: string): Promise<ApiKey> {
    const key = await em.findOne(ApiKey, { id, teamId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!key) throw new NotFoundError('API key not found');
    return key;
  }
}

/** Keys that still authenticate: not revoked, not expired. What the plan's "active API keys" limit counts. */
function countActive(em: EntityManager, teamId: string): Promise<number> {
  return em.count(ApiKey, {
    teamId,
    revokedAt: null,
    $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
  });
}

/**
 * A key can never do more than the caller: every scope must be one the calling key carries, and one
 * the caller's role reaches (the caller's role is known to be non-null after `authorize`).
 */
function assertMayGrant(actor: Actor, scopes: readonly Scope[], action: 'grant' | 'rotate' = 'grant'): void {
  const verb = action === 'grant' ? 'grant' : 'rotate a key with';
  for (const scope of scopes) {
    const minimum = SCOPE_MIN_ROLE[scope];
    if (!actor.role || !roleReaches(actor.role, minimum)) {
      throw new ForbiddenError(
        `Cannot ${verb} the scope '${scope}': it needs the role '${minimum}' or higher, and yours is '${actor.role}'`,
      );
    }
  }
  const missing = scopes.filter((scope) => !actor.scopes.includes(scope));
  if (missing.length) {
    throw new ForbiddenError(
      `Cannot ${verb} the scope${missing.length > 1 ? 's' : ''} ${missing.map((s) => `'${s}'`).join(', ')}: the calling API key does not carry ${missing.length > 1 ? 'them' : 'it'}`,
    );
  }
}
