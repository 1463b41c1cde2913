/**
 * Credential rotations while the SSM store fails at random (throttling, 500, timeouts,
 * a write whose answer is lost, connection resets). Every rotation must either succeed with the
 * database row pointing at a store version that holds exactly what that request sent, or fail cleanly
 * (503, nothing changed: the previous version still current and readable). Afterwards `reconcile`
 * must find no unreadable pointer. Shared by test/fault-injection.test.ts and scripts/fault-rotations.ts.
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { MikroORM } from '@mikro-orm/postgresql';
import { reconcile } from '../../../src/app/reconcile-credentials.js';
import type { CredentialStore } from '../../../src/platform/credentials/credential-store.js';
import type { FakeSsm, Fault } from '../fake-ssm.js';
import type { Credentials } from './concurrency.js';
import { etagVersion, graphqlClient, leakMarkerIn, restClient } from './http.js';
import { inspectorFor } from './inspect.js';
import { sleep } from './processes.js';

export const DEFAULT_FAULTS = (timeoutMs: number): Fault[] => [
  'throttle',
  'internal',
  { delayMs: timeoutMs * 2 },
  'writeThenFail',
  'reset',
];

export interface FaultRunOptions {
  url: string;
  key: string;
  teamId: string;
  orm: MikroORM;
  store: CredentialStore;
  fake: FakeSsm;
  rotations: number;
  /** Secrets rotated in parallel (each by one worker, in sequence). */
  secrets: number;
  seed: number;
  rate: number;
  faults: Fault[];
  /** Every n-th rotation goes through GraphQL (0: none). */
  graphqlEvery?: number;
  /** Log lines of the server, searched for credential values at the end. */
  logs?: () => string[];
  /** Called after each rotation (progress). */
  onProgress?: (done: number) => void;
}

export interface FaultRunReport {
  seed: number;
  rate: number;
  rotations: number;
  succeeded: number;
  failed: number;
  failuresByStatus: Record<string, number>;
  failuresByKind: Record<string, number>;
  putParameterCalls: number;
  ms: number;
  latencyMs: { p50: number; p95: number; max: number };
  /** Reconcile over the run's team (and, for reference, the whole database the run used). */
  reconcile: {
    unreadableInTeam: unknown[];
    orphansInTeam: string[];
    wholeDatabase: { unreadable: number; orphans: number };
  };
  violations: string[];
}

const UPDATE = `mutation Rotate($t: ID!, $s: ID!, $input: UpdateSecretInput!) {
  updateSecret(teamId: $t, secretId: $s, input: $input) {
    __typename
    ... on UpdateSecretSuccess { secret { version } }
    ... on Error { message }
  }
}`;

const CANARY = `FAULTCANARY${randomBytes(3).toString('hex')}`;

export async function runFaultRotations(options: FaultRunOptions): Promise<FaultRunReport> {
  const started = performance.now();
  const violations: string[] = [];
  const inspector = inspectorFor(options.orm, options.store);
  const call = restClient(options.url, options.key);
  const gql = graphqlClient(options.url, options.key);
  const graphqlEvery = options.graphqlEvery ?? 4;
  let counter = 0;
  const fresh = (label: string): Credentials => ({
    access_key_id: `AKIA${randomBytes(6).toString('hex').toUpperCase()}`,
    secret_access_key: `${CANARY}-${label}-${randomBytes(10).toString('hex')}`,
  });

  // The secrets, created while the store is healthy.
  options.fake.clearFaults();
  const secrets = [];
  for (let i = 0; i < options.secrets; i++) {
    const credentials = fresh(`initial-${i}`);
    const res = await call('POST', `/v1/teams/${options.teamId}/secrets`, {
      name: `fault-${randomBytes(4).toString('hex')}-${i}`,
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials,
    });
    if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text.slice(0, 300)}`);
    secrets.push({
      id: res.body.id as string,
      ref: `teams/${options.teamId}/secrets/${res.body.id}`,
      credentials,
    });
  }

  const putsBefore = options.fake.calls.filter((c) => c.op === 'PutParameter').length;
  options.fake.failRandomly('PutParameter', options.rate, options.faults, options.seed);
  const failuresByStatus: Record<string, number> = {};
  const failuresByKind: Record<string, number> = {};
  const latencies: number[] = [];
  let succeeded = 0;
  let failed = 0;
  let done = 0;

  await Promise.all(
    secrets.map(async (secret) => {
      for (;;) {
        const n = counter++;
        if (n >= options.rotations) return;
        const before = await inspector.row(secret.id);
        const credentials = fresh(`r${n}`);
        const viaGraphql = graphqlEvery > 0 && n % graphqlEvery === graphqlEvery - 1;
        const t0 = performance.now();
        let ok = false;
        let reportedVersion: number | undefined;
        let failure: { status: string; kind: string } | undefined;
        let text: string;
        if (viaGraphql) {
          const res = await gql(UPDATE, {
            t: options.teamId,
            s: secret.id,
            input: {
              value: {
                credentials: {
                  accessKey: {
                    accessKeyId: credentials.access_key_id,
                    secretAccessKey: credentials.secret_access_key,
                  },
                },
              },
            },
          });
          text = res.text || res.networkError || '';
          const result = res.body?.data?.updateSecret;
          if (result?.__typename === 'UpdateSecretSuccess') {
            ok = true;
            reportedVersion = result.secret.version;
          } else {
            const code =
              res.body?.errors?.[0]?.extensions?.code ?? result?.__typename ?? `http ${res.status}`;
            failure = { status: `graphql ${code}`, kind: kindOf(res.body?.errors?.[0]?.message ?? text) };
            if (code !== 'SERVICE_UNAVAILABLE') {
              violations.push(`rotation ${n} (GraphQL): failed with ${code}: ${text.slice(0, 200)}`);
            }
          }
        } else {
          const res = await call('PATCH', `/v1/teams/${options.teamId}/secrets/${secret.id}`, {
            credentials,
          });
          text = res.text || res.networkError || '';
          if (res.status === 200) {
            ok = true;
            reportedVersion = etagVersion(res);
          } else {
            failure = { status: String(res.status), kind: kindOf(res.body?.detail ?? text) };
            if (res.status < 500)
              violations.push(`rotation ${n}: failed with ${res.status}: ${text.slice(0, 200)}`);
            else if (res.status === 503 && !res.headers['retry-after']) {
              violations.push(`rotation ${n}: 503 without Retry-After`);
            }
          }
        }
        latencies.push(performance.now() - t0);
        const marker = leakMarkerIn(text);
        if (marker) violations.push(`rotation ${n}: response contains ${JSON.stringify(marker)}`);
        if (text.includes(CANARY)) violations.push(`rotation ${n}: response contains a credential value`);

        const after = await inspector.row(secret.id);
        if (ok) {
          succeeded++;
          if (after.version !== before.version + 1 || reportedVersion !== after.version) {
            violations.push(
              `rotation ${n}: version ${before.version} -> ${after.version}, response said ${reportedVersion}`,
            );
          }
          const stored = await inspector.readCredentials(secret.ref, after.credential_version!);
          if (!isDeepStrictEqual(stored, credentials)) {
            violations.push(`rotation ${n}: the row's current version does not hold the credentials it sent`);
          }
          secret.credentials = credentials;
        } else {
          failed++;
          failuresByStatus[failure!.status] = (failuresByStatus[failure!.status] ?? 0) + 1;
          failuresByKind[failure!.kind] = (failuresByKind[failure!.kind] ?? 0) + 1;
          if (!isDeepStrictEqual(after, before)) {
            violations.push(
              `rotation ${n}: failed but the row changed ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
            );
          }
          const stored = await inspector.readCredentials(secret.ref, after.credential_version!);
          if (!isDeepStrictEqual(stored, secret.credentials)) {
            violations.push(`rotation ${n}: failed and the previous credentials are no longer current`);
          }
        }
        options.onProgress?.(++done);
      }
    }),
  );
  const putParameterCalls = options.fake.calls.filter((c) => c.op === 'PutParameter').length - putsBefore;
  options.fake.clearFaults();

  // Writes the client gave up on (timeouts) may still land: wait them out, then check again.
  const longestDelay = Math.max(0, ...options.faults.map((f) => (typeof f === 'object' ? f.delayMs : 0)));
  await sleep(longestDelay + 100);
  for (const secret of secrets) {
    const row = await inspector.row(secret.id);
    const stored = await inspector.readCredentials(secret.ref, row.credential_version!);
    if (!isDeepStrictEqual(stored, secret.credentials)) {
      violations.push(
        `secret ${secret.id}: after the run, the current credentials are not the last accepted ones`,
      );
    }
  }
  const report = await reconcile(options.orm, options.store, false);
  const unreadableInTeam = report.unreadable.filter((u) => u.team_id === options.teamId);
  if (unreadableInTeam.length) violations.push(`reconcile: ${unreadableInTeam.length} unreadable pointers`);
  const logs = options.logs?.() ?? [];
  const leakedLines = logs.filter((line) => line.includes(CANARY)).length;
  if (leakedLines) violations.push(`${leakedLines} log lines contain a credential value`);

  const sorted = [...latencies].sort((a, b) => a - b);
  const pick = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    seed: options.seed,
    rate: options.rate,
    rotations: options.rotations,
    succeeded,
    failed,
    failuresByStatus,
    failuresByKind,
    putParameterCalls,
    ms: Math.round(performance.now() - started),
    latencyMs: { p50: pick(0.5), p95: pick(0.95), max: Math.round(sorted[sorted.length - 1] ?? 0) },
    reconcile: {
      unreadableInTeam,
      orphansInTeam: report.orphans.filter((ref) => ref.includes(options.teamId)),
      wholeDatabase: { unreadable: report.unreadable.length, orphans: report.orphans.length },
    },
    violations,
  };
}

/** "The credential store is unavailable (TimeoutError); ..." → "TimeoutError". */
function kindOf(message: string): string {
  const match = /unavailable \(([^)]*)\)/.exec(message);
  return match ? match[1] : message.slice(0, 60) || 'no message';
}
