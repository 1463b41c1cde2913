import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126000000_initial } from './Migration20261126000000_initial.js';
import { Migration20261126000100_lifecycle } from './Migration20261126000100_lifecycle.js';
import { Migration20261126000200_history } from './Migration20261126000200_history.js';
import { Migration20261126000300_idempotency_owner } from './Migration20261126000300_idempotency_owner.js';
import { Migration20261126000400_rate_limits } from './Migration20261126000400_rate_limits.js';
import { Migration20261126000500_idempotency_commit } from './Migration20261126000500_idempotency_commit.js';

/** Every migration, in order. Listed statically so the same list runs under tsx, vitest and compiled code. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261126000000_initial', class: Migration20261126000000_initial },
  { name: 'Migration20261126000100_lifecycle', class: Migration20261126000100_lifecycle },
  { name: 'Migration20261126000200_history', class: Migration20261126000200_history },
  { name: 'Migration20261126000300_idempotency_owner', class: Migration20261126000300_idempotency_owner },
  { name: 'Migration20261126000400_rate_limits', class: Migration20261126000400_rate_limits },
  { name: 'Migration20261126000500_idempotency_commit', class: Migration20261126000500_idempotency_commit },
];
