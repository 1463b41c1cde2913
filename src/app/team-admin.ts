import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { isScope, SCOPES, type Scope } from '../domain/scopes.js';
import { issueApiKey } from '../modules/api-keys/api-key.repository.js';
import { evictMemberEverywhere } from '../modules/api-keys/auth-cache.js';
import { Membership, Team, User } from '../modules/teams/team.entity.js';
import { unitOfWork } from '../platform/db/unit-of-work.js';

export interface BootstrapResult {
  team_id: string;
  user_id: string;
  api_key: string;
}

export interface CreatedApiKey {
  id: string;
  key_id: string;
  full_key: string;
  scopes: string[];
}

/** Creates a team, its owner (reusing the user with that email) and an owner API key with every scope. */
export async function bootstrapTeam(
  orm: MikroORM,
  options: { team: string; email: string; plan: 'free' | 'pro' },
): Promise<BootstrapResult> {
  return unitOfWork(orm, async (em) => {
    const now = new Date();
    const team = em.create(Team, {
      id: randomUUID(),
      name: options.team,
      plan: options.plan,
      createdAt: now,
    });
    const email = options.email.trim().toLowerCase();
    const user =
      (await em.findOne(User, { email })) ?? em.create(User, { id: randomUUID(), email, createdAt: now });
    em.create(Membership, { teamId: team.id, userId: user.id, role: 'owner', createdAt: now });
    const { fullKey } = issueApiKey(em, {
      teamId: team.id,
      createdBy: user.id,
      name: 'bootstrap owner key',
      scopes: SCOPES,
    });
    return { team_id: team.id, user_id: user.id, api_key: fullKey };
  });
}

export class UnknownScopeError extends Error {}

/** An API key created on behalf of a member (by default the team's first owner; the CLI's `api-key create`). */
export async function createTeamApiKey(
  orm: MikroORM,
  options: { teamId: string; name: string; scopes: string[]; createdByEmail?: string },
): Promise<CreatedApiKey> {
  const unknown = options.scopes.filter((s) => !isScope(s));
  if (unknown.length) {
    throw new UnknownScopeError(
      `Unknown scope(s): ${unknown.join(', ')}. Known scopes: ${SCOPES.join(', ')}`,
    );
  }
  return unitOfWork(orm, async (em) => {
    const creator = options.createdByEmail
      ? await em.findOne(Membership, {
          teamId: options.teamId,
          userId: (await em.findOneOrFail(User, { email: options.createdByEmail.toLowerCase() })).id,
        })
      : await em.findOne(
          Membership,
          { teamId: options.teamId, role: 'owner' },
          { orderBy: { createdAt: 'asc' } },
        );
    if (!creator) throw new Error(`No team ${options.teamId} (or no such member)`);
    const scopes = options.scopes as Scope[];
    const { apiKey, fullKey } = issueApiKey(em, {
      teamId: options.teamId,
      createdBy: creator.userId,
      name: options.name,
      scopes,
    });
    return { id: apiKey.id, key_id: apiKey.keyId, full_key: fullKey, scopes: [...scopes] };
  });
}

/** Adds (or changes) a member; used by tests and operators to give keys a creator of a given role. */
export async function addMember(
  orm: MikroORM,
  options: { teamId: string; email: string; role: Membership['role'] },
): Promise<string> {
  const userId = await unitOfWork(orm, async (em) => {
    const email = options.email.trim().toLowerCase();
    const user =
      (await em.findOne(User, { email })) ??
      em.create(User, { id: randomUUID(), email, createdAt: new Date() });
    const existing = await em.findOne(Membership, { teamId: options.teamId, userId: user.id });
    if (existing) existing.role = options.role;
    else
      em.create(Membership, {
        teamId: options.teamId,
        userId: user.id,
        role: options.role,
        createdAt: new Date(),
      });
    return user.id;
  });
  // Their keys' cached actors carry the old role.
  evictMemberEverywhere(orm, options.teamId, userId);
  return userId;
}

export async function hasAnyTeam(orm: MikroORM): Promise<boolean> {
  return (await orm.em.fork().count(Team, {})) > 0;
}
