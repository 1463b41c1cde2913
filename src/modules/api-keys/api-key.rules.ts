import { z } from 'zod';
import { ConflictError, ForbiddenError } from '../../domain/errors.js';
import { type Actor, isScope, roleReaches, SCOPE_MIN_ROLE, SCOPES, type Scope } from '../../domain/scopes.js';

/** An API key of a team; both ids are validated (and lower-cased) by the door. */
export interface ApiKeyIds {
  teamId: string;
  apiKeyId: string;
}

/** A new key for the caller's member, in domain terms, whichever door it came through. */
export interface CreateApiKeyCommand {
  name: string;
  /** Known scopes (the doors check them with `apiKeyScopesSchema`); duplicates are folded. */
  scopes: readonly Scope[];
  /** Omitted or null: never expires. */
  expiresAt?: Date | null;
}

export const apiKeyNameSchema = z.string().min(1).max(255);

// Bounded before the per-item check; duplicates are folded, so the stored list is at most SCOPES.length.
export const apiKeyScopesSchema = z
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
  .max(64);

/** A new key's expiry must lie ahead (REST checks the text it was sent, GraphQL the parsed instant). */
export const EXPIRY_RULE = {
  check: (at: Date | string) => new Date(at).getTime() > Date.now(),
  message: 'expires_at must be in the future',
};

/**
 * The create command's rules as one schema, so that every broken one is reported at once (at paths
 * into the command); the GraphQL door checks its input with it. REST checks the same rules in its
 * body schema (src/modules/api-keys/api-key.rest.ts).
 */
export const createApiKeyRules = z.object({
  name: apiKeyNameSchema,
  scopes: apiKeyScopesSchema,
  expiresAt: z.date().refine(EXPIRY_RULE.check, EXPIRY_RULE.message).nullish(),
});

/** What `isActive` reads; a key replayed from JSON carries its instants as ISO strings. */
interface KeyValidity {
  revokedAt?: Date | string | null;
  expiresAt?: Date | string | null;
}

/** Neither revoked nor expired: the key authenticates. */
export function isActive(key: KeyValidity, now = Date.now()): boolean {
  return !key.revokedAt && !(key.expiresAt && new Date(key.expiresAt).getTime() <= now);
}

/** Only a live key can get a new secret. */
export function assertRotatable(key: KeyValidity): void {
  if (key.revokedAt) throw new ConflictError('A revoked API key cannot be rotated');
  if (!isActive(key)) throw new ConflictError('An expired API key cannot be rotated');
}

/**
 * A key can never do more than the caller: every scope must be one the calling key carries, and one
 * the caller's role reaches (the caller's role is known to be non-null after `authorize`).
 */
export function assertMayGrant(
  actor: Actor,
  scopes: readonly Scope[],
  action: 'grant' | 'rotate' = 'grant',
): void {
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
