import { hash, timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { UnauthenticatedError } from '../../domain/errors.js';
import type { Actor } from '../../domain/scopes.js';
import { ApiKeyRepository, type KeyForAuthentication } from './api-key.repository.js';
import { isActive } from './api-key.rules.js';
import { bearerToken, type ParsedApiKey, parseApiKey } from './api-key-format.js';
import type { ResolvedKey } from './auth-cache.js';

const UNKNOWN_KEY_DIGEST = Buffer.alloc(32);

/** `Authorization: Bearer dr_...` parsed, or null for anything missing or malformed. */
export function parseAuthorization(authorization: string | null | undefined): ParsedApiKey | null {
  const token = bearerToken(authorization);
  return token ? parseApiKey(token) : null;
}

/** sha256 of a key's secret as raw bytes (the stored `secret_hash` is its hex form). */
export function secretDigest(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/**
 * Resolves `Authorization: Bearer dr_...` to an actor, or throws 401 for anything missing, malformed,
 * unknown, revoked or expired. Uncached: requests are authenticated by `ApiKeyService.authenticate`.
 */
export function authenticate(orm: MikroORM, authorization: string | null | undefined): Promise<Actor> {
  return authenticateWith(new ApiKeyRepository(orm), authorization);
}

/** `authenticate` through a repository the caller already has. */
export async function authenticateWith(
  keys: ApiKeyRepository,
  authorization: string | null | undefined,
): Promise<Actor> {
  const parsed = parseAuthorization(authorization);
  if (!parsed) throw new UnauthenticatedError();
  return (await lookUpApiKey(keys, parsed.keyId, secretDigest(parsed.secret))).actor;
}

/** One query: the key by its id, checked against the secret's digest, with its creator's current role. */
export async function lookUpApiKey(
  keys: ApiKeyRepository,
  keyId: string,
  digest: Buffer,
): Promise<ResolvedKey> {
  const row = await keys.forAuthentication(keyId);
  const stored = row ? Buffer.from(row.secret_hash, 'hex') : UNKNOWN_KEY_DIGEST;
  // Compare even for an unknown key id, so timing does not tell which key ids exist.
  const matches = stored.length === digest.length && timingSafeEqual(stored, digest);
  if (!row || !matches || !isActive({ revokedAt: row.revoked_at, expiresAt: row.expires_at })) {
    throw new UnauthenticatedError();
  }
  return {
    actor: actorOf(row),
    secretDigest: digest,
    expiresAt: row.expires_at ? new Date(row.expires_at).getTime() : null,
  };
}

/** The caller a key stands for. Frozen: a cached actor is shared by every request that presents the key. */
export function actorOf(row: KeyForAuthentication): Actor {
  return Object.freeze({
    apiKeyId: row.id,
    keyId: row.key_id,
    teamId: row.team_id,
    userId: row.created_by,
    scopes: Object.freeze(row.scopes),
    role: row.role,
  });
}
