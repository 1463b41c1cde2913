import type { EntityManager } from '@mikro-orm/postgresql';
import { UnauthenticatedError } from '../domain/errors.js';
import { bearerToken, parseApiKey, secretMatches } from './api-key-format.js';
import type { Actor, Role } from './scopes.js';

const UNKNOWN_KEY_HASH = '0'.repeat(64);

interface KeyRow {
  id: string;
  team_id: string;
  created_by: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  role: Role | null;
}

/** Resolves `Authorization: Bearer dr_...` to an actor, or throws 401 for anything missing, malformed, unknown, revoked or expired. */
export async function authenticate(
  em: EntityManager,
  authorization: string | null | undefined,
): Promise<Actor> {
  const token = bearerToken(authorization);
  const parsed = token ? parseApiKey(token) : null;
  if (!parsed) throw new UnauthenticatedError();
  const rows = await em.getConnection().execute<KeyRow[]>(
    `select k.id, k.team_id, k.created_by, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, m.role
       from api_keys k
       left join memberships m on m.team_id = k.team_id and m.user_id = k.created_by
      where k.key_id = ?`,
    [parsed.keyId],
  );
  const row = rows[0];
  // Compare even for an unknown key id, so timing does not tell which key ids exist.
  const matches = secretMatches(parsed.secret, row?.secret_hash ?? UNKNOWN_KEY_HASH);
  if (!row || !matches) throw new UnauthenticatedError();
  if (row.revoked_at || (row.expires_at && new Date(row.expires_at).getTime() <= Date.now())) {
    throw new UnauthenticatedError();
  }
  return {
    apiKeyId: row.id,
    keyId: parsed.keyId,
    teamId: row.team_id,
    userId: row.created_by,
    scopes: row.scopes,
    role: row.role,
  };
}
