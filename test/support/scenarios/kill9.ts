/**
 * SIGKILL the server during a write load, several times, and check that every write it
 * acknowledged (2xx) survived: the row's version is at least the acknowledged one, the history has
 * each acknowledged version, each acknowledged rotation's stored credentials read back, and reconcile
 * is clean. On the embedded database each kill leaves `pid.lock` behind with a dead pid; the restart
 * must take it over. Shared by test/kill9.test.ts (2 kills) and scripts/kill9.ts (5 kills).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ENTITIES } from '../../../src/app/database.js';
import { reconcile } from '../../../src/app/reconcile-credentials.js';
import { bootstrapTeam } from '../../../src/app/team-admin.js';
import {
  CredentialNotFoundError,
  type CredentialStore,
} from '../../../src/platform/credentials/credential-store.js';
import { LocalCredentialStore } from '../../../src/platform/credentials/local-store.js';
import { SsmCredentialStore } from '../../../src/platform/credentials/ssm-store.js';
import { openDatabase } from '../../../src/platform/db/database.js';
import { type FakeSsm, startFakeSsm } from '../fake-ssm.js';
import type { Credentials } from './concurrency.js';
import { allVersions, etagVersion, restClient } from './http.js';
import { inspectorFor } from './inspect.js';
import { type ServerProcess, sleep, startServerProcess } from './processes.js';

export interface Kill9Options {
  kills: number;
  /** Each load phase lasts a random time in [minPhaseMs, maxPhaseMs] before the kill. */
  minPhaseMs: number;
  maxPhaseMs: number;
  secrets: number;
  writersPerSecret: number;
  /** A PostgreSQL server; else a fresh embedded data directory. */
  databaseUrl?: string;
  /**
   * `local` (default) or `ssm` (the fake SSM server, in this process). With `ssm`, the last kill also
   * hits a deterministic probe: an idempotent rotation held inside the SSM call (its key claimed, its
   * write not committed) when the process dies; after the restart its retry must run, not be refused
   * as "in progress".
   */
  store?: 'local' | 'ssm';
  log?: (line: string) => void;
}

interface Write {
  secret: number;
  seq: number;
  key: string;
  body: { name?: string; credentials?: Credentials };
}

interface Acked extends Write {
  version: number;
}

/** A stored version SSM no longer keeps. */
const EVICTED = Symbol('evicted');

export interface Kill9Report {
  database: 'embedded' | 'postgresql';
  kills: number;
  firstStartMs: number;
  restarts: { ms: number; stalePidLock: boolean | null }[];
  writesSent: number;
  acked: number;
  unacked: number;
  /** Writes that committed although the kill cut their response off (in the history, not acknowledged). */
  committedUnacked: number;
  otherStatuses: Record<string, number>;
  finalVersions: number[];
  maxAckedVersions: number[];
  interruptedRetries: Record<string, number>;
  /** Interrupted writes found committed (their credentials are in the history), and what their retry got. */
  committedInterruptedRetries: Record<string, number>;
  /** Acknowledged rotations whose (no longer current) store version SSM evicted: it keeps 100 per parameter. */
  evictedVersions: number;
  probe?: { status: number; replayed: boolean; detail?: string; versionBefore: number; versionAfter: number };
  reconcile: { unreadable: number; orphans: number };
  ms: number;
  violations: string[];
}

export async function runKill9(options: Kill9Options): Promise<Kill9Report> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const violations: string[] = [];
  const credentialKey = randomBytes(32).toString('base64');
  const dataDir = options.databaseUrl ? undefined : mkdtempSync(path.join(tmpdir(), 'kill9-'));
  const store = options.store ?? 'local';
  let fake: FakeSsm | undefined;
  const ssmPrefix = `/kill9-${randomBytes(4).toString('hex')}`;
  if (store === 'ssm') {
    fake = await startFakeSsm();
    // The verification below reads through the real SDK; it takes credentials from the default chain.
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  }
  const env: Record<string, string | undefined> = {
    CREDENTIAL_KEY: credentialKey,
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: dataDir,
    CREDENTIAL_STORE: store,
    ...(fake && {
      AWS_ENDPOINT_URL_SSM: fake.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SSM_PARAMETER_PREFIX: ssmPrefix,
    }),
  };
  let server: ServerProcess | undefined;
  let firstStartMs = 0;
  try {
    const firstStart = performance.now();
    // The team: printed by the first embedded start; on a server, bootstrapped directly.
    let teamId: string;
    let key: string;
    if (options.databaseUrl) {
      const db = await openDatabase({
        entities: ENTITIES,
        databaseUrl: options.databaseUrl,
        dataDir: '.',
        poolMax: 2,
      });
      try {
        const tag = randomBytes(4).toString('hex');
        const created = await bootstrapTeam(db.orm, {
          team: `kill9-${tag}`,
          email: `kill9-${tag}@example.com`,
          plan: 'pro',
        });
        teamId = created.team_id;
        key = created.api_key;
      } finally {
        await db.close();
      }
      server = await startServerProcess(env);
    } else {
      server = await startServerProcess(env);
      const line = server.stdout.find((l) => l.includes('"api_key"'));
      if (!line)
        throw new Error(`the first embedded start printed no owner key:\n${server.stdout.join('\n')}`);
      const parsed = JSON.parse(line) as { team_id: string; api_key: string };
      teamId = parsed.team_id;
      key = parsed.api_key;
    }
    firstStartMs = Math.round(performance.now() - firstStart);
    log(`server pid ${server.pid} at ${server.url}, ready in ${firstStartMs} ms`);

    const secretIds: string[] = [];
    const ack: Acked[] = [];
    for (let i = 0; i < options.secrets; i++) {
      const credentials = credentialsOf(`init-${i}`);
      const res = await restClient(server.url, key)('POST', `/v1/teams/${teamId}/secrets`, {
        name: `k9-${i}-0`,
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials,
      });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text}`);
      secretIds.push(res.body.id);
      ack.push({ secret: i, seq: 0, key: '', body: { name: `k9-${i}-0`, credentials }, version: 1 });
    }

    // The probe's own secret: no writer touches it.
    let probeSecretId: string | undefined;
    let probeWrite: Write | undefined;
    if (fake) {
      const res = await restClient(server.url, key)('POST', `/v1/teams/${teamId}/secrets`, {
        name: 'k9-probe',
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: credentialsOf('probe-0'),
      });
      if (res.status !== 201) throw new Error(`create probe: ${res.status} ${res.text}`);
      probeSecretId = res.body.id as string;
    }

    let seq = 0;
    let writesSent = 0;
    const unacked: Write[] = [];
    const otherStatuses: Record<string, number> = {};
    const restarts: Kill9Report['restarts'] = [];

    for (let round = 0; round <= options.kills; round++) {
      const current = server;
      const call = restClient(current.url, key);
      let killed = false;
      const writer = async (secret: number) => {
        while (!killed) {
          const n = ++seq;
          const op = n % 3;
          const body: Write['body'] = {};
          if (op !== 1) body.credentials = credentialsOf(`w${n}`);
          if (op !== 0) body.name = `k9-${secret}-${n}`;
          const write: Write = { secret, seq: n, key: `k9-${n}-${randomBytes(4).toString('hex')}`, body };
          writesSent++;
          const res = await call('PATCH', `/v1/teams/${teamId}/secrets/${secretIds[secret]}`, body, {
            'idempotency-key': write.key,
          });
          if (res.status >= 200 && res.status < 300) ack.push({ ...write, version: etagVersion(res) });
          else if (res.status === 0) unacked.push(write);
          else {
            otherStatuses[res.status] = (otherStatuses[res.status] ?? 0) + 1;
            unacked.push(write);
          }
        }
      };
      const writers = Array.from({ length: options.secrets * options.writersPerSecret }, (_, w) =>
        writer(w % options.secrets),
      );
      if (round === options.kills) {
        // The last phase: a short clean load, then stop writing (no kill).
        await sleep(options.minPhaseMs);
        killed = true;
        await Promise.all(writers);
        break;
      }
      const phase = options.minPhaseMs + Math.random() * (options.maxPhaseMs - options.minPhaseMs);
      await sleep(phase);
      let probeRequest: Promise<unknown> | undefined;
      if (fake && probeSecretId && round === options.kills - 1) {
        // The probe: writers stop, then one idempotent rotation is held inside PutParameter, and the
        // process dies with its key claimed and its write uncommitted.
        killed = true;
        await Promise.all(writers);
        const name = `${ssmPrefix}/teams/${teamId}/secrets/${probeSecretId}`;
        const puts = () => fake!.calls.filter((c) => c.op === 'PutParameter' && c.name === name).length;
        const seen = puts();
        fake.failNext('PutParameter', { delayMs: 120_000 });
        probeWrite = {
          secret: -1,
          seq: -1,
          key: `k9-probe-${randomBytes(4).toString('hex')}`,
          body: { credentials: credentialsOf('probe-1') },
        };
        probeRequest = call('PATCH', `/v1/teams/${teamId}/secrets/${probeSecretId}`, probeWrite.body, {
          'idempotency-key': probeWrite.key,
        });
        const deadline = Date.now() + 20_000;
        while (puts() === seen) {
          if (Date.now() > deadline) throw new Error('the probe never reached PutParameter');
          await sleep(10);
        }
      }
      // No new request after this point; those in flight die with the process.
      killed = true;
      await current.kill9();
      await Promise.all(writers);
      await probeRequest;
      fake?.clearFaults();
      log(
        `kill ${round + 1}: SIGKILL after ${Math.round(phase)} ms (${ack.length} writes acknowledged so far)`,
      );
      let stalePidLock: boolean | null = null;
      if (dataDir) {
        const lockFile = path.join(dataDir, 'pid.lock');
        stalePidLock = existsSync(lockFile) && readFileSync(lockFile, 'utf8').trim() === String(current.pid);
      }
      const t0 = performance.now();
      try {
        server = await startServerProcess(env);
      } catch (error) {
        violations.push(`restart after kill ${round + 1} failed: ${String(error).slice(0, 500)}`);
        throw error;
      }
      restarts.push({ ms: Math.round(performance.now() - t0), stalePidLock });
      log(
        `restart ${round + 1}: pid ${server.pid} ready in ${restarts.at(-1)!.ms} ms (stale pid.lock: ${stalePidLock})`,
      );
    }

    // Every acknowledged write is there.
    const call = restClient(server.url, key);
    const finalVersions: number[] = [];
    const maxAckedVersions: number[] = [];
    const histories: Awaited<ReturnType<typeof allVersions>>[] = [];
    let evictedVersions = 0;
    let committedUnacked = 0;
    for (let i = 0; i < secretIds.length; i++) {
      const res = await call('GET', `/v1/teams/${teamId}/secrets/${secretIds[i]}`);
      const version = etagVersion(res);
      const mine = ack.filter((a) => a.secret === i);
      const maxAcked = Math.max(...mine.map((a) => a.version));
      finalVersions.push(version);
      maxAckedVersions.push(maxAcked);
      if (!(version >= maxAcked))
        violations.push(`secret ${i}: version ${version} < acknowledged ${maxAcked}`);
      const history = await allVersions(call, teamId, secretIds[i]);
      histories.push(history);
      const ackedVersions = new Set(mine.map((a) => a.version));
      committedUnacked += history.filter((h) => !ackedVersions.has(h.version)).length;
      const versions = history.map((h) => h.version);
      if (
        !isDeepStrictEqual(
          versions,
          Array.from({ length: version }, (_, v) => v + 1),
        )
      ) {
        violations.push(`secret ${i}: history is not 1..${version} contiguous`);
      }
      for (const a of mine) {
        const entry = history.find((h) => h.version === a.version);
        if (!entry) {
          violations.push(`secret ${i}: acknowledged version ${a.version} missing from the history`);
          continue;
        }
        const expected = [
          ...(a.body.name && a.seq ? ['name'] : []),
          ...(a.body.credentials && a.seq ? ['credentials'] : []),
        ];
        if (a.seq && !isDeepStrictEqual([...entry.changed_fields].sort(), expected.sort())) {
          violations.push(
            `secret ${i} v${a.version}: changed_fields ${entry.changed_fields} for an acked ${expected}`,
          );
        }
      }
      // The current name is the latest rename's, when that rename was acknowledged.
      const lastRename = [...history].reverse().find((h) => h.changed_fields.includes('name'));
      const ackedRename = lastRename && mine.find((a) => a.version === lastRename.version);
      if (ackedRename && res.body.name !== ackedRename.body.name) {
        violations.push(
          `secret ${i}: name ${res.body.name}, the last acknowledged rename set ${ackedRename.body.name}`,
        );
      }
    }

    const verifyStore: CredentialStore = fake
      ? new SsmCredentialStore({
          endpoint: fake.url,
          region: 'us-east-1',
          prefix: ssmPrefix,
          timeoutMs: 3000,
        })
      : new LocalCredentialStore(Buffer.from(credentialKey, 'base64'));
    const retryCall = restClient(server.url, key);

    // Interrupted idempotent writes, retried with the same key after the restart.
    const interruptedRetries: Record<string, number> = {};
    const retryOutcomes = new Map<Write, string>();
    const outcomeOf = (res: Awaited<ReturnType<typeof retryCall>>) =>
      res.status === 200
        ? res.headers['idempotent-replayed'] === 'true'
          ? '200 replayed'
          : '200 executed'
        : res.status === 409 && /in progress/i.test(res.body?.detail ?? '')
          ? '409 in progress'
          : res.status === 409 && /response was lost/i.test(res.body?.detail ?? '')
            ? '409 response lost'
            : String(res.status);
    for (const write of unacked) {
      const res = await retryCall(
        'PATCH',
        `/v1/teams/${teamId}/secrets/${secretIds[write.secret]}`,
        write.body,
        {
          'idempotency-key': write.key,
        },
      );
      const outcome = outcomeOf(res);
      interruptedRetries[outcome] = (interruptedRetries[outcome] ?? 0) + 1;
      retryOutcomes.set(write, outcome);
    }

    // The probe: its write never committed, so its retry must run now (and only once).
    let probe: Kill9Report['probe'];
    if (probeWrite && probeSecretId) {
      const path = `/v1/teams/${teamId}/secrets/${probeSecretId}`;
      const versionBefore = etagVersion(await retryCall('GET', path));
      const res = await retryCall('PATCH', path, probeWrite.body, { 'idempotency-key': probeWrite.key });
      const versionAfter = etagVersion(await retryCall('GET', path));
      probe = {
        status: res.status,
        replayed: res.headers['idempotent-replayed'] === 'true',
        detail: typeof res.body?.detail === 'string' ? res.body.detail : undefined,
        versionBefore,
        versionAfter,
      };
      if (versionBefore !== 1)
        violations.push(`probe: its write committed although it was cut off (v${versionBefore})`);
      if (res.status !== 200 || versionAfter !== 2) {
        violations.push(
          `probe: retrying an idempotent write whose process was killed before it committed got ${res.status} ${JSON.stringify(res.body?.detail ?? '')} (expected it to run: 200, version 2)`,
        );
      }
    }

    await server.stop();
    server = undefined;

    // The stored credentials of every acknowledged rotation, and reconcile, with the server stopped.
    const db = await openDatabase({
      entities: ENTITIES,
      databaseUrl: options.databaseUrl,
      dataDir: dataDir ?? '.',
      poolMax: 2,
    });
    let reconcileFigures = { unreadable: -1, orphans: -1 };
    const committedInterruptedRetries: Record<string, number> = {};
    try {
      const inspector = inspectorFor(db.orm, verifyStore);
      // Interrupted writes that committed anyway: their credentials are in the history as it was
      // before the retries. Their retry must replay (or at least not write a second time).
      for (const [write, outcome] of retryOutcomes) {
        if (!write.body.credentials) continue;
        const ref = `teams/${teamId}/secrets/${secretIds[write.secret]}`;
        let found = false;
        let evicted = false;
        for (const entry of histories[write.secret]) {
          if (!entry.credential_version || found) continue;
          const value = await inspector
            .readCredentials(ref, entry.credential_version)
            .catch((error) => (error instanceof CredentialNotFoundError ? EVICTED : null));
          evicted ||= value === EVICTED;
          found = isDeepStrictEqual(value, write.body.credentials);
        }
        if (!found && evicted) continue; // SSM no longer keeps every version: undecidable
        if (!found) {
          if (outcome === '409 response lost') {
            violations.push(
              `secret ${write.secret}: a retry was told its write was carried out, but it was not`,
            );
          }
          continue;
        }
        committedInterruptedRetries[outcome] = (committedInterruptedRetries[outcome] ?? 0) + 1;
        if (outcome === '200 executed') {
          violations.push(
            `secret ${write.secret}: an interrupted write that had committed ran again on retry`,
          );
        }
      }
      for (let i = 0; i < secretIds.length; i++) {
        const ref = `teams/${teamId}/secrets/${secretIds[i]}`;
        const current = Math.max(...histories[i].map((h) => h.credential_version ?? 0));
        for (const a of ack.filter((x) => x.secret === i && x.body.credentials)) {
          const entry = histories[i].find((h) => h.version === a.version);
          if (!entry?.credential_version) continue;
          const stored = await inspector
            .readCredentials(ref, entry.credential_version)
            .catch((error) => (error instanceof CredentialNotFoundError ? EVICTED : null));
          if (stored === EVICTED && entry.credential_version < current) {
            evictedVersions++;
            continue;
          }
          if (!isDeepStrictEqual(stored, a.body.credentials)) {
            violations.push(
              `secret ${i} v${a.version}: stored credentials differ from the acknowledged ones`,
            );
          }
        }
      }
      const report = await reconcile(db.orm, verifyStore, false);
      const mineUnreadable = report.unreadable.filter((u) => u.team_id === teamId);
      const mineOrphans = report.orphans.filter((o) => o.includes(teamId));
      reconcileFigures = { unreadable: mineUnreadable.length, orphans: mineOrphans.length };
      if (mineUnreadable.length) violations.push(`reconcile: ${mineUnreadable.length} unreadable pointers`);
      if (mineOrphans.length) violations.push(`reconcile: ${mineOrphans.length} orphans`);
    } finally {
      await db.close();
    }

    return {
      database: options.databaseUrl ? 'postgresql' : 'embedded',
      kills: options.kills,
      firstStartMs,
      restarts,
      writesSent,
      acked: ack.length - options.secrets,
      unacked: unacked.length,
      committedUnacked,
      otherStatuses,
      finalVersions,
      maxAckedVersions,
      interruptedRetries,
      committedInterruptedRetries,
      evictedVersions,
      ...(probe && { probe }),
      reconcile: reconcileFigures,
      ms: Math.round(performance.now() - started),
      violations,
    };
  } finally {
    await server?.kill9();
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

function credentialsOf(label: string): Credentials {
  return {
    access_key_id: `AKIA${randomBytes(6).toString('hex').toUpperCase()}`,
    secret_access_key: `k9-${label}-${randomBytes(12).toString('hex')}`,
  };
}
