/**
 * 1,000 credential rotations with 20 % injected SSM faults (throttling, 500, timeouts, a lost answer
 * after the write, connection resets), SSM_TIMEOUT_MS=200, against the fake SSM server and the real
 * AWS SDK. Prints the figures and the reconcile result as JSON; exits 1 on any violated guarantee.
 *
 *   tsx scripts/fault-rotations.ts [--rotations 1000] [--secrets 10] [--seed N] [--rate 0.2] [--timeout-ms 200]
 *
 * Uses DATABASE_URL when set, else a fresh embedded database in a temporary directory.
 */
import { startFakeSsm } from '../test/support/fake-ssm.js';
import { DEFAULT_FAULTS, runFaultRotations } from '../test/support/scenarios/fault-rotations.js';
import { numberArg, startScriptApp } from './lib/script-app.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

const rotations = numberArg('rotations', 1000);
const secrets = numberArg('secrets', 10);
const seed = numberArg('seed', Date.now() % 1_000_000);
const rate = numberArg('rate', 0.2);
const timeoutMs = numberArg('timeout-ms', 200);

const fake = await startFakeSsm();
const s = await startScriptApp({
  CREDENTIAL_STORE: 'ssm',
  AWS_ENDPOINT_URL_SSM: fake.url,
  AWS_REGION: 'us-east-1',
  SSM_TIMEOUT_MS: String(timeoutMs),
  SSM_PARAMETER_PREFIX: `/fault-rotations-${process.pid}`,
  LOG_LEVEL: 'info',
});
let exitCode = 0;
try {
  const team = await s.newTeam();
  const faults = DEFAULT_FAULTS(timeoutMs);
  process.stderr.write(
    `${rotations} rotations over ${secrets} secrets, fault rate ${rate}, seed ${seed}, database ${s.app.db.embedded ? 'embedded' : 'postgresql'}\n`,
  );
  const report = await runFaultRotations({
    url: s.url,
    key: team.key,
    teamId: team.teamId,
    orm: s.app.db.orm,
    store: s.app.services.store,
    fake,
    rotations,
    secrets,
    seed,
    rate,
    faults,
    logs: () => s.logs,
    onProgress: (done) => {
      if (done % 100 === 0) process.stderr.write(`  ${done}/${rotations}\n`);
    },
  });
  process.stdout.write(
    `${JSON.stringify({ ...report, faults, ssmTimeoutMs: timeoutMs, database: s.app.db.embedded ? 'embedded' : 'postgresql' }, null, 2)}\n`,
  );
  if (report.violations.length) exitCode = 1;
} finally {
  await s.close();
  await fake.close();
}
process.exit(exitCode);
