import { ForbiddenError, NotFoundError } from './errors.js';

export const ROLES = ['viewer', 'operator', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

const READ: Role = 'viewer';
const WRITE: Role = 'admin';

/** Every scope an API key can carry, with the lowest role its creator needs for the action. */
export const SCOPE_MIN_ROLE = {
  'secrets:read': READ,
  'secrets:create': WRITE,
  'secrets:update': WRITE,
  'secrets:delete': WRITE,
  'locations:read': READ,
  'locations:create': WRITE,
  'locations:update': WRITE,
  'locations:delete': WRITE,
  'vault_connections:read': READ,
  'vault_connections:create': WRITE,
  'vault_connections:update': WRITE,
  'vault_connections:delete': WRITE,
  'api_keys:read': READ,
  'api_keys:create': WRITE,
  'api_keys:delete': WRITE,
  'audit:read': READ,
  'webhooks:read': READ,
  'webhooks:create': WRITE,
  'webhooks:update': WRITE,
  'webhooks:delete': WRITE,
} as const satisfies Record<string, Role>;

export type Scope = keyof typeof SCOPE_MIN_ROLE;
export const SCOPES = Object.keys(SCOPE_MIN_ROLE) as Scope[];

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPE_MIN_ROLE, value);
}

export function roleReaches(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

/** Who is calling: an API key, the member who created it and that member's current role. */
export interface Actor {
  apiKeyId: string;
  keyId: string;
  teamId: string;
  userId: string;
  scopes: readonly string[];
  /** The creator's current role in the key's team; null when they are no longer a member. */
  role: Role | null;
}

/** Request facts recorded with every change. */
export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

/**
 * The one authorization rule: the team must be the key's team (else 404, so other teams' existence
 * never leaks), the key must carry the scope, and its creator's role must reach the action's minimum.
 */
export function authorize(actor: Actor, teamId: string, scope: Scope): void {
  if (actor.teamId !== teamId) throw new NotFoundError('Team not found');
  assertPermitted(actor, scope);
}

/** `authorize` as a yes or no: whether the actor may do what the scope allows in the team. */
export function permits(actor: Actor, teamId: string, scope: Scope): boolean {
  try {
    authorize(actor, teamId, scope);
    return true;
  } catch {
    return false;
  }
}

/** The scope and role part of `authorize`, also checked at the GraphQL door (src/platform/graphql/shield.ts). */
export function assertPermitted(actor: Actor, scope: Scope): void {
  if (!actor.scopes.includes(scope)) throw new ForbiddenError(`This API key lacks the scope '${scope}'`);
  const minimum = SCOPE_MIN_ROLE[scope];
  if (actor.role === null)
    throw new ForbiddenError('The creator of this API key is no longer a member of the team');
  if (!roleReaches(actor.role, minimum)) {
    throw new ForbiddenError(`The role '${actor.role}' cannot do this; it needs '${minimum}' or higher`);
  }
}
