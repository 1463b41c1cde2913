/**
 * Integrity under concurrency: many clients updating one secret at once, on both doors. With preconditions, exactly
 * one success per version and 412 / VersionConflictError for the rest; without, no lost update. The
 * scenarios live in test/support/scenarios/concurrency.ts; scripts/concurrency.ts runs them with 200 clients.
 */
import { describe, expect, it } from 'vitest';
import { unique } from './support/constants.js';
import { createNativeSecret } from './support/factories.js';
import { useApp } from './support/harness.js';
import { conditionalRace, type Target, unconditionalBurst } from './support/scenarios/concurrency.js';
import { inspectorFor } from './support/scenarios/inspect.js';

const CONDITIONAL_CLIENTS = Number(process.env.INTEGRITY_CLIENTS ?? 40);
const UNCONDITIONAL_REQUESTS = 200;

const t = useApp({ env: { LOG_LEVEL: 'warn' } });

async function newTarget(): Promise<Target> {
  const team = await t.newTeam();
  const created = await createNativeSecret(t, team, {
    name: unique('race'),
    credentials: { access_key_id: 'AKIAINITIAL', secret_access_key: 'initial' },
  });
  return {
    urls: [t.url],
    key: team.ownerKey,
    teamId: team.teamId,
    secretId: created.id,
    inspector: inspectorFor(t.app.db.orm, t.app.services.store),
  };
}

describe('concurrent updates of one secret', () => {
  it(`${CONDITIONAL_CLIENTS} clients with If-Match / expectedVersion: one success per version, the rest precondition failures`, async () => {
    const report = await conditionalRace(await newTarget(), CONDITIONAL_CLIENTS);
    expect(report.violations).toEqual([]);
    expect(report.successes).toBe(CONDITIONAL_CLIENTS);
    expect(report.finalVersion).toBe(1 + CONDITIONAL_CLIENTS);
    expect(report.historyEntries).toBe(1 + CONDITIONAL_CLIENTS);
    expect(report.attempts - report.successes).toBe(
      report.conflicts.rest412 + report.conflicts.graphqlVersionConflict,
    );
    expect(report.conflicts.rest412).toBeGreaterThan(0);
    expect(report.conflicts.graphqlVersionConflict).toBeGreaterThan(0);
  }, 60_000);

  it(`${UNCONDITIONAL_REQUESTS} unconditional PATCHes at once: no lost update`, async () => {
    const report = await unconditionalBurst(await newTarget(), UNCONDITIONAL_REQUESTS);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(UNCONDITIONAL_REQUESTS);
    expect(report.finalVersion).toBe(1 + UNCONDITIONAL_REQUESTS);
    expect(report.historyAdded).toBe(UNCONDITIONAL_REQUESTS);
  }, 60_000);
});
