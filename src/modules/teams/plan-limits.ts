import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import { ForbiddenError } from '../../domain/errors.js';
import { Team } from './team.entity.js';

export const PLAN_LIMITS = {
  free: { secrets: 5, vault_connections: 1, api_keys: 2, webhooks: 2 },
  pro: { secrets: 100, vault_connections: 10, api_keys: 25, webhooks: 25 },
} as const;

export type LimitedResource = keyof (typeof PLAN_LIMITS)['free'];

const LABELS: Record<LimitedResource, string> = {
  secrets: 'secrets',
  vault_connections: 'vault connections',
  api_keys: 'active API keys',
  webhooks: 'webhooks',
};

export class PlanLimitError extends ForbiddenError {
  constructor(plan: string, resource: LimitedResource, limit: number) {
    super(`Plan limit reached: the ${plan} plan allows at most ${limit} ${LABELS[resource]} per team`);
    this.name = 'PlanLimitError';
  }
}

/**
 * Call inside the creating transaction, before inserting. Locking the team row makes concurrent
 * creates in one team take turns, so two creates at the limit can never both pass the count.
 */
export async function assertWithinPlan(
  em: EntityManager,
  teamId: string,
  resource: LimitedResource,
  countExisting: () => Promise<number>,
): Promise<void> {
  const team = await em.findOneOrFail(Team, { id: teamId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  const limit = PLAN_LIMITS[team.plan][resource];
  if ((await countExisting()) >= limit) throw new PlanLimitError(team.plan, resource, limit);
}
