/**
 * Credential rotations under store faults, small: 100 rotations while 20 % of SSM PutParameter calls fail
 * (throttling, 500, timeouts past SSM_TIMEOUT_MS, a write whose answer is lost, resets). Each either
 * succeeds with the row pointing at exactly what it sent, or fails with 503 and changes nothing;
 * reconcile then finds no unreadable pointer. scripts/fault-rotations.ts runs 1,000.
 */
import { describe, expect, it } from 'vitest';
import { useApp } from './support/harness.js';
import { DEFAULT_FAULTS, runFaultRotations } from './support/scenarios/fault-rotations.js';

const SSM_TIMEOUT_MS = 200;
const SEED = Number(process.env.FAULT_SEED ?? 4242);

const t = useApp({ ssm: { prefix: `/fault-${process.pid}`, timeoutMs: SSM_TIMEOUT_MS } });

describe('credential rotations under injected SSM faults', () => {
  it('100 rotations at a 20 % fault rate: each succeeds consistently or fails cleanly; reconcile is clean', async () => {
    const team = await t.newTeam();
    const report = await runFaultRotations({
      url: t.url,
      key: team.ownerKey,
      teamId: team.teamId,
      orm: t.app.db.orm,
      store: t.app.services.store,
      fake: t.fake,
      rotations: 100,
      secrets: 4,
      seed: SEED,
      rate: 0.2,
      faults: DEFAULT_FAULTS(SSM_TIMEOUT_MS),
      logs: () => t.logs,
    });
    expect(report.violations).toEqual([]);
    expect(report.succeeded + report.failed).toBe(100);
    expect(report.succeeded).toBeGreaterThan(50);
    // Faults fired: more PutParameter calls than rotations (retries), so the run tested something.
    expect(report.putParameterCalls).toBeGreaterThan(100);
    expect(report.reconcile.unreadableInTeam).toEqual([]);
    expect(report.reconcile.orphansInTeam).toEqual([]);
  }, 120_000);
});
