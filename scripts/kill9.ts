/**
 * kill -9 of the server five times during a write load (renames and rotations with distinct values,
 * each with its own Idempotency-Key), then: every acknowledged write is present, and reconcile is clean.
 *
 *   tsx scripts/kill9.ts [--kills 5] [--store local|ssm] [--secrets 3] [--writers-per-secret 2]
 *                        [--min-phase-ms 500] [--max-phase-ms 2500]
 *
 * `--store ssm` uses the fake SSM server (in this process) and adds a deterministic probe at the last
 * kill: an idempotent rotation held inside PutParameter when the process dies; its retry after the
 * restart must run (the key must not stay "in progress").
 *
 * Runs `node --import tsx src/main.ts` on a fresh embedded data directory, or on DATABASE_URL when set.
 * Prints the figures as JSON; exits 1 on any violated guarantee.
 */
import { runKill9 } from '../test/support/scenarios/kill9.js';
import { numberArg, stringArg } from './lib/script-app.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const store = stringArg('store', 'local');
if (store !== 'local' && store !== 'ssm') throw new Error('--store must be local or ssm');

const report = await runKill9({
  kills: numberArg('kills', 5),
  secrets: numberArg('secrets', 3),
  writersPerSecret: numberArg('writers-per-secret', 2),
  minPhaseMs: numberArg('min-phase-ms', 500),
  maxPhaseMs: numberArg('max-phase-ms', 2500),
  databaseUrl: process.env.DATABASE_URL || undefined,
  store,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.violations.length ? 1 : 0);
