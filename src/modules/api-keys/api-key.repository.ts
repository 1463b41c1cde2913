import { randomUUID } from 'node:crypto';
import { type EntityManager, LockMode, type MikroORM, QueryOrder } from '@mikro-orm/postgresql';
import { type ListQuery, nameContains, type Page } from '../../domain/paging.js';
import type { Role, Scope } from '../../domain/scopes.js';
import { autocommit, type Sql } from '../../platform/db/unit-of-work.js';
import { ApiKey } from './api-key.entity.js';
import { formatApiKey, hashSecret, newKeyId, newSecret } from './api-key-format.js';

/** A key together with its full `dr_<key_id>_<secret>` value, which exists only in this result. */
export interface IssuedApiKey {
  apiKey: ApiKeyView;
  fullKey: string;
}

export const API_KEY_SORTS = ['name', 'created_at', 'last_used_at'] as const;
export type ApiKeySort = (typeof API_KEY_SORTS)[number];

export interface ApiKeyListQuery extends ListQuery<ApiKeySort> {
  /** Default true: revoked keys stay visible for audit. */
  includeRevoked?: boolean;
}

/** What authenticating a key reads: the key by its public id, with its creator's current role. */
export interface KeyForAuthentication {
  id: string;
  key_id: string;
  team_id: string;
  created_by: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  role: Role | null;
}

/** An API key as the doors show it: plain data, never its secret or the secret's hash. */
export function apiKeyView(key: ApiKey) {
  return {
    id: key.id,
    keyId: key.keyId,
    name: key.name,
    scopes: [...key.scopes],
    expiresAt: key.expiresAt ?? null,
    revokedAt: key.revokedAt ?? null,
    rotatedAt: key.rotatedAt ?? null,
    lastUsedAt: key.lastUsedAt ?? null,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
  };
}
export type ApiKeyView = ReturnType<typeof apiKeyView>;

/** A new key of a member, added to `em`'s unit of work; its secret is returned this once, in `fullKey`. */
export function issueApiKey(
  em: EntityManager,
  options: {
    teamId: string;
    createdBy: string;
    name: string;
    scopes: readonly Scope[];
    expiresAt?: Date | null;
  },
): { apiKey: ApiKey; fullKey: string } {
  const keyId = newKeyId();
  const secret = newSecret();
  const apiKey = em.create(ApiKey, {
    id: randomUUID(),
    teamId: options.teamId,
    createdBy: options.createdBy,
    keyId,
    secretHash: hashSecret(secret),
    name: options.name,
    scopes: [...options.scopes],
    expiresAt: options.expiresAt ?? null,
    revokedAt: null,
    rotatedAt: null,
    lastUsedAt: null,
    createdAt: new Date(),
  });
  return { apiKey, fullKey: formatApiKey(keyId, secret) };
}

const SORT_PROPERTY = { name: 'name', created_at: 'createdAt', last_used_at: 'lastUsedAt' } as const;

/** A key with its creator's current role in the key's team (null when no longer a member). */
const KEY_WITH_ROLE = `select k.id, k.key_id, k.team_id, k.created_by, k.secret_hash, k.scopes, k.expires_at,
       k.revoked_at, m.role
  from api_keys k
  left join memberships m on m.team_id = k.team_id and m.user_id = k.created_by`;
/**
 * The key by its public id, checked against the secret by the caller (src/modules/api-keys/authenticate.ts).
 * One prepared statement; it runs on every request the auth cache does not answer.
 */
const KEY_FOR_AUTHENTICATION = `${KEY_WITH_ROLE} where k.key_id = $1`;
const KEYS_BY_ID = `${KEY_WITH_ROLE} where k.id = any($1::uuid[])`;

// greatest() ignores NULL and never moves last_used_at backwards (another process may be newer).
const RECORD_LAST_USES = `update api_keys k
   set last_used_at = greatest(k.last_used_at, v.used_at)
  from jsonb_to_recordset($1::jsonb) as v(id uuid, used_at timestamptz)
 where k.id = v.id`;

/** Every statement about API keys. Writes go through the unit of work: `load` hands the row to its EntityManager. */
export class ApiKeyRepository {
  private readonly sql: Sql;

  constructor(private readonly orm: MikroORM) {
    // Made once: authentication uses it on every cache miss.
    this.sql = autocommit(orm);
  }

  async list(teamId: string, query: ApiKeyListQuery): Promise<Page<ApiKeyView>> {
    const where = {
      teamId,
      ...(query.includeRevoked === false && { revokedAt: null }),
      ...nameContains(query.q),
    };
    // Keys never used sort last either way.
    const nullsLast = query.sortBy === 'last_used_at';
    const direction =
      query.sortOrder === 'asc'
        ? nullsLast
          ? QueryOrder.ASC_NULLS_LAST
          : QueryOrder.ASC
        : nullsLast
          ? QueryOrder.DESC_NULLS_LAST
          : QueryOrder.DESC;
    const [items, total] = await this.orm.em.fork().findAndCount(ApiKey, where, {
      orderBy: [{ [SORT_PROPERTY[query.sortBy]]: direction }, { id: query.sortOrder }],
      limit: query.limit,
      offset: query.offset,
    });
    return { items: items.map(apiKeyView), total };
  }

  async find(teamId: string, apiKeyId: string): Promise<ApiKeyView | null> {
    const key = await this.orm.em.fork().findOne(ApiKey, { id: apiKeyId, teamId });
    return key ? apiKeyView(key) : null;
  }

  /** The team's key as a managed entity of `em`, its row locked until the unit of work ends; null when there is none. */
  load(em: EntityManager, teamId: string, apiKeyId: string): Promise<ApiKey | null> {
    return em.findOne(ApiKey, { id: apiKeyId, teamId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** Keys that still authenticate: not revoked, not expired. What the plan's "active API keys" limit counts. */
  countActive(em: EntityManager, teamId: string): Promise<number> {
    return em.count(ApiKey, {
      teamId,
      revokedAt: null,
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }],
    });
  }

  async forAuthentication(keyId: string): Promise<KeyForAuthentication | undefined> {
    const [row] = await this.sql<KeyForAuthentication>(KEY_FOR_AUTHENTICATION, [keyId]);
    return row;
  }

  /** The keys with these ids (by `id`, not the public key id), whichever exist. */
  byIds(ids: readonly string[]): Promise<KeyForAuthentication[]> {
    return this.sql<KeyForAuthentication>(KEYS_BY_ID, [ids]);
  }

  /** Writes each key's latest use (epoch ms) in one statement. */
  async recordLastUses(uses: ReadonlyMap<string, number>): Promise<void> {
    const rows = [...uses].map(([id, at]) => ({ id, used_at: new Date(at).toISOString() }));
    await this.sql(RECORD_LAST_USES, [JSON.stringify(rows)]);
  }
}
