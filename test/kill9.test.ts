/**
 * Nothing acknowledged is lost to a crash, small: SIGKILL the server twice during a write load; every acknowledged write
 * survives, the restart takes over the dead process's pid.lock (embedded), reconcile is clean, and an
 * idempotent write cut off by the kill can be retried. scripts/kill9.ts does five kills. On a
 * PostgreSQL test run the server processes use that database.
 */
import { describe, expect, inject, it } from 'vitest';
import { runKill9 } from './support/scenarios/kill9.js';

describe('kill -9 during a write load', () => {
  it('keeps every acknowledged write across two SIGKILLs and restarts', async () => {
    const server = inject('databaseKind') === 'server';
    const report = await runKill9({
      kills: 2,
      secrets: 2,
      writersPerSecret: 2,
      minPhaseMs: 300,
      maxPhaseMs: 900,
      databaseUrl: server ? inject('databaseUrl') : undefined,
      // The SSM store (fake, in this process) lets the last kill hit an idempotent write held
      // mid-flight: after the restart, its retry must run rather than stay "in progress".
      store: 'ssm',
    });
    expect(report.violations).toEqual([]);
    expect(report.restarts).toHaveLength(2);
    if (!server) expect(report.restarts.map((r) => r.stalePidLock)).toEqual([true, true]);
    expect(report.acked).toBeGreaterThan(0);
    expect(report.reconcile).toEqual({ unreadable: 0, orphans: 0 });
    expect(report.probe).toMatchObject({ status: 200, replayed: false, versionBefore: 1, versionAfter: 2 });
  }, 90_000);
});
