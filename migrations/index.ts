import type { MigrationObject } from '@mikro-orm/core';

/**
 * Every migration, in order. Their names are known without loading them: the migrations library
 * they import is heavy (umzug and a command-line framework), and a start-up with nothing to migrate
 * never needs it. Each is imported by a literal specifier, so tsx, vitest and compiled code all follow it.
 */
const MIGRATIONS: { name: string; load: () => Promise<Record<string, unknown>> }[] = [
  { name: 'Migration20261126000000_initial', load: () => import('./Migration20261126000000_initial.js') },
  { name: 'Migration20261126000100_lifecycle', load: () => import('./Migration20261126000100_lifecycle.js') },
  { name: 'Migration20261126000200_history', load: () => import('./Migration20261126000200_history.js') },
  {
    name: 'Migration20261126000300_idempotency_owner',
    load: () => import('./Migration20261126000300_idempotency_owner.js'),
  },
  {
    name: 'Migration20261126000400_rate_limits',
    load: () => import('./Migration20261126000400_rate_limits.js'),
  },
  {
    name: 'Migration20261126000500_idempotency_commit',
    load: () => import('./Migration20261126000500_idempotency_commit.js'),
  },
  {
    name: 'Migration20261207000000_secret_version_default',
    load: () => import('./Migration20261207000000_secret_version_default.js'),
  },
  {
    name: 'Migration20261207100000_change_events',
    load: () => import('./Migration20261207100000_change_events.js'),
  },
];

export const migrationNames: readonly string[] = MIGRATIONS.map((migration) => migration.name);

export function loadMigrations(): Promise<MigrationObject[]> {
  return Promise.all(
    MIGRATIONS.map(async ({ name, load }) => ({
      name,
      class: (await load())[name] as MigrationObject['class'],
    })),
  );
}
