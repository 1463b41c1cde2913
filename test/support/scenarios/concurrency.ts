/**
 * Concurrent-update scenarios on one secret, over real HTTP, shared by the tests (small numbers) and
 * scripts/concurrency.ts (200 clients). Clients are spread round-robin over `urls` (one or several
 * server processes or app instances on one database). Every scenario returns its figures and a list
 * of violated guarantees (empty when all hold); callers assert or print that list.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  allVersions,
  etagVersion,
  graphqlClient,
  type HttpResult,
  leakMarkerIn,
  pageItems,
  restClient,
} from './http.js';

export type Credentials = { access_key_id: string; secret_access_key: string };

/** Optional in-process access to the database and the store, for checks HTTP cannot make. */
export interface Inspector {
  /** The stored credentials at (ref, credential version). */
  readCredentials(ref: string, credentialVersion: number): Promise<Record<string, string>>;
  /** The secret's row as it is now. */
  row(secretId: string): Promise<{ version: number; credential_version: number | null }>;
}

export interface Target {
  urls: string[];
  key: string;
  teamId: string;
  secretId: string;
  inspector?: Inspector;
}

const UPDATE = `mutation Update($t: ID!, $s: ID!, $input: UpdateSecretInput!, $v: Int) {
  updateSecret(teamId: $t, secretId: $s, input: $input, expectedVersion: $v) {
    __typename
    ... on UpdateSecretSuccess { secret { version description } }
    ... on VersionConflictError { currentVersion }
    ... on Error { message }
  }
}`;
const READ = 'query Read($t: ID!, $id: ID!) { secret(teamId: $t, id: $id) { version } }';

const tagOf = () => randomBytes(3).toString('hex');
export const credentialsFor = (tag: string, label: string | number): Credentials => ({
  access_key_id: `AKIA${tag}${label}`.toUpperCase(),
  secret_access_key: `sak-${tag}-${label}-${randomBytes(8).toString('hex')}`,
});

type Via = 'rest' | 'graphql';

interface Outcome {
  kind: 'success' | 'conflict' | 'other';
  /** The version after the write (success) or the current version reported (conflict). */
  version?: number;
  status: number;
  text: string;
  replayed?: boolean;
}

/** One PATCH through either door, normalized. */
async function update(
  target: Target,
  url: string,
  via: Via,
  patch: { description?: string; credentials?: Credentials },
  expectedVersion?: number,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const path = `/v1/teams/${target.teamId}/secrets/${target.secretId}`;
  if (via === 'rest') {
    const extra: Record<string, string> =
      expectedVersion === undefined ? {} : { 'if-match': `"${expectedVersion}"` };
    const res = await restClient(url, target.key)('PATCH', path, patch, { ...extra, ...headers });
    if (res.status === 200) {
      return {
        kind: 'success',
        version: etagVersion(res),
        status: 200,
        text: res.text,
        replayed: res.headers['idempotent-replayed'] === 'true',
      };
    }
    if (res.status === 412) {
      return { kind: 'conflict', version: res.body?.current_version, status: 412, text: res.text };
    }
    return { kind: 'other', status: res.status, text: res.text || res.networkError || '' };
  }
  const input: Record<string, unknown> = {};
  if (patch.description !== undefined) input.description = patch.description;
  if (patch.credentials) {
    input.value = {
      credentials: {
        accessKey: {
          accessKeyId: patch.credentials.access_key_id,
          secretAccessKey: patch.credentials.secret_access_key,
        },
      },
    };
  }
  const res = await graphqlClient(url, target.key)(UPDATE, {
    t: target.teamId,
    s: target.secretId,
    input,
    v: expectedVersion ?? null,
  });
  const result = res.body?.data?.updateSecret;
  if (res.status === 200 && result?.__typename === 'UpdateSecretSuccess') {
    return { kind: 'success', version: result.secret.version, status: 200, text: res.text };
  }
  if (res.status === 200 && result?.__typename === 'VersionConflictError') {
    return { kind: 'conflict', version: result.currentVersion, status: 200, text: res.text };
  }
  return { kind: 'other', status: res.status, text: res.text || res.networkError || '' };
}

async function readVersion(target: Target, url: string, via: Via): Promise<number> {
  if (via === 'rest') {
    const res = await restClient(url, target.key)(
      'GET',
      `/v1/teams/${target.teamId}/secrets/${target.secretId}`,
    );
    if (res.status !== 200) throw new Error(`GET secret: ${res.status} ${res.text.slice(0, 200)}`);
    return etagVersion(res);
  }
  const res = await graphqlClient(url, target.key)(READ, { t: target.teamId, id: target.secretId });
  const version = res.body?.data?.secret?.version;
  if (typeof version !== 'number') throw new Error(`secret query: ${res.status} ${res.text.slice(0, 200)}`);
  return version;
}

const ref = (target: Target) => `teams/${target.teamId}/secrets/${target.secretId}`;

function checkResponseText(text: string, where: string, violations: string[]): void {
  const marker = leakMarkerIn(text);
  if (marker) violations.push(`${where}: response contains ${JSON.stringify(marker)}`);
  if (text.includes('sak-')) violations.push(`${where}: response contains a credential value`);
}

export interface ConditionalReport {
  clients: number;
  startVersion: number;
  finalVersion: number;
  attempts: number;
  successes: number;
  conflicts: { rest412: number; graphqlVersionConflict: number };
  unexpected: { client: number; status: number; text: string }[];
  historyEntries: number;
  ms: number;
  violations: string[];
}

/**
 * `clients` clients each make ONE change with a precondition on the version they last read, re-reading
 * and retrying after every 412 / VersionConflictError. Every client rotates to its own credentials.
 * Guarantees: exactly one success per version (each success lands exactly on expected + 1), every
 * other answer is a precondition failure naming a newer version, the history holds versions
 * 1..N contiguously with one credentials entry per success, and each entry's stored credentials are
 * the ones its winner sent.
 */
export async function conditionalRace(
  target: Target,
  clients: number,
  options: { graphqlEvery?: number; maxAttempts?: number; backoffMs?: number } = {},
): Promise<ConditionalReport> {
  const started = performance.now();
  const graphqlEvery = options.graphqlEvery ?? 2;
  const maxAttempts = options.maxAttempts ?? clients * 4 + 20;
  // A client that lost waits a little (random, growing) before its fresh read, as real clients do.
  const backoffMs = options.backoffMs ?? 5;
  const tag = tagOf();
  const violations: string[] = [];
  const call = restClient(target.urls[0], target.key);
  const startVersion = await readVersion(target, target.urls[0], 'rest');
  const historyBefore = (await allVersions(call, target.teamId, target.secretId)).length;
  let attempts = 0;
  let rest412 = 0;
  let graphqlVersionConflict = 0;
  const unexpected: ConditionalReport['unexpected'] = [];
  const won = new Map<number, { client: number; credentials: Credentials; via: Via }>();

  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const url = target.urls[client % target.urls.length];
      const via: Via = graphqlEvery > 0 && client % graphqlEvery === graphqlEvery - 1 ? 'graphql' : 'rest';
      const credentials = credentialsFor(tag, client);
      for (let attempt = 0; attempt < maxAttempts; attempt++) {
        const expected = await readVersion(target, url, via);
        attempts++;
        const outcome = await update(target, url, via, { credentials }, expected);
        checkResponseText(outcome.text, `client ${client}`, violations);
        if (outcome.kind === 'success') {
          const version = outcome.version!;
          if (version !== expected + 1) {
            violations.push(`client ${client}: wrote at If-Match ${expected} but got version ${version}`);
          }
          const previous = won.get(version);
          if (previous) {
            violations.push(`version ${version} was won twice (clients ${previous.client} and ${client})`);
          }
          won.set(version, { client, credentials, via });
          return;
        }
        if (outcome.kind === 'conflict') {
          if (via === 'rest') rest412++;
          else graphqlVersionConflict++;
          if (!(typeof outcome.version === 'number' && outcome.version > expected)) {
            violations.push(
              `client ${client}: precondition failure for version ${expected} names current version ${outcome.version}`,
            );
          }
          if (backoffMs > 0) await sleep(Math.random() * backoffMs * Math.min(attempt + 1, 8));
          continue;
        }
        unexpected.push({ client, status: outcome.status, text: outcome.text.slice(0, 300) });
        return;
      }
      violations.push(`client ${client}: no success after ${maxAttempts} attempts`);
    }),
  );

  const successes = won.size;
  const finalVersion = await readVersion(target, target.urls[0], 'rest');
  if (unexpected.length) violations.push(`${unexpected.length} answers were neither success nor 412`);
  if (successes !== clients) violations.push(`${successes} of ${clients} clients succeeded`);
  const expectedVersions = Array.from({ length: successes }, (_, i) => startVersion + 1 + i);
  const wonVersions = [...won.keys()].sort((a, b) => a - b);
  if (!isDeepStrictEqual(wonVersions, expectedVersions)) {
    violations.push(`won versions are not contiguous from ${startVersion + 1}: ${wonVersions.join(',')}`);
  }
  if (finalVersion !== startVersion + successes) {
    violations.push(`final version ${finalVersion}, expected ${startVersion + successes}`);
  }
  const history = await allVersions(call, target.teamId, target.secretId);
  const historyVersions = history.map((h) => h.version);
  if (
    !isDeepStrictEqual(
      historyVersions,
      Array.from({ length: finalVersion }, (_, i) => i + 1),
    )
  ) {
    violations.push(`history versions are not 1..${finalVersion} contiguous`);
  }
  if (history.length - historyBefore !== successes) {
    violations.push(`history grew by ${history.length - historyBefore}, expected ${successes}`);
  }
  for (const entry of history.filter((h) => h.version > startVersion)) {
    if (!isDeepStrictEqual(entry.changed_fields, ['credentials'])) {
      violations.push(`history ${entry.version}: changed_fields ${JSON.stringify(entry.changed_fields)}`);
    }
  }
  if (target.inspector) {
    await checkHistoryCredentials(target, history, won, violations);
    const row = await target.inspector.row(target.secretId);
    const last = history[history.length - 1];
    if (row.version !== finalVersion || row.credential_version !== last?.credential_version) {
      violations.push(`row ${JSON.stringify(row)} disagrees with the last history entry ${last?.version}`);
    }
  }
  return {
    clients,
    startVersion,
    finalVersion,
    attempts,
    successes,
    conflicts: { rest412, graphqlVersionConflict },
    unexpected,
    historyEntries: history.length,
    ms: Math.round(performance.now() - started),
    violations,
  };
}

async function checkHistoryCredentials(
  target: Target,
  history: { version: number; credential_version: number | null }[],
  writers: Map<number, { credentials: Credentials }>,
  violations: string[],
): Promise<void> {
  const seen = new Set<number>();
  for (const entry of history) {
    const writer = writers.get(entry.version);
    if (!writer) continue;
    if (entry.credential_version === null) {
      violations.push(`history ${entry.version}: no credential version`);
      continue;
    }
    if (seen.has(entry.credential_version)) {
      violations.push(`credential version ${entry.credential_version} is used by two history entries`);
    }
    seen.add(entry.credential_version);
    const stored = await target.inspector!.readCredentials(ref(target), entry.credential_version);
    if (!isDeepStrictEqual(stored, writer.credentials)) {
      violations.push(`history ${entry.version}: stored credentials are not the ones its writer sent`);
    }
  }
}

export interface BurstReport {
  requests: number;
  ok: number;
  startVersion: number;
  finalVersion: number;
  historyAdded: number;
  failures: { status: number; text: string }[];
  ms: number;
  violations: string[];
}

/**
 * `requests` unconditional PATCHes at once, each a distinct description and distinct credentials.
 * No lost update: every request succeeds, their versions are exactly start+1..start+n, the history
 * gains exactly n entries, each entry's stored credentials are its writer's, and the final row is the
 * effect of the request that got the last version.
 */
export async function unconditionalBurst(
  target: Target,
  requests: number,
  options: { graphqlEvery?: number } = {},
): Promise<BurstReport> {
  const started = performance.now();
  const graphqlEvery = options.graphqlEvery ?? 4;
  const tag = tagOf();
  const violations: string[] = [];
  const call = restClient(target.urls[0], target.key);
  const startVersion = await readVersion(target, target.urls[0], 'rest');
  const historyBefore = (await allVersions(call, target.teamId, target.secretId)).length;
  const writers = new Map<number, { i: number; credentials: Credentials; description: string }>();
  const failures: BurstReport['failures'] = [];
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const url = target.urls[i % target.urls.length];
      const via: Via = graphqlEvery > 0 && i % graphqlEvery === graphqlEvery - 1 ? 'graphql' : 'rest';
      const credentials = credentialsFor(tag, `u${i}`);
      const description = `burst-${tag}-${i}`;
      const outcome = await update(target, url, via, { description, credentials });
      checkResponseText(outcome.text, `request ${i}`, violations);
      if (outcome.kind !== 'success') {
        failures.push({ status: outcome.status, text: outcome.text.slice(0, 300) });
        return;
      }
      const version = outcome.version!;
      if (writers.has(version)) violations.push(`version ${version} returned to two requests`);
      writers.set(version, { i, credentials, description });
    }),
  );
  if (failures.length) violations.push(`${failures.length} of ${requests} requests failed`);
  const versions = [...writers.keys()].sort((a, b) => a - b);
  if (
    !isDeepStrictEqual(
      versions,
      Array.from({ length: requests }, (_, i) => startVersion + 1 + i),
    )
  ) {
    violations.push(`versions are not exactly ${startVersion + 1}..${startVersion + requests}`);
  }
  const final = await call('GET', `/v1/teams/${target.teamId}/secrets/${target.secretId}`);
  const finalVersion = etagVersion(final);
  if (finalVersion !== startVersion + requests) {
    violations.push(`final version ${finalVersion}, expected ${startVersion + requests}`);
  }
  const last = writers.get(finalVersion);
  if (!last || final.body?.description !== last.description) {
    violations.push(`final description ${final.body?.description} is not the last writer's`);
  }
  const history = await allVersions(call, target.teamId, target.secretId);
  const historyAdded = history.length - historyBefore;
  if (historyAdded !== requests) violations.push(`history grew by ${historyAdded}, expected ${requests}`);
  if (
    !isDeepStrictEqual(
      history.map((h) => h.version),
      Array.from({ length: history.length }, (_, i) => i + 1),
    )
  ) {
    violations.push('history versions are not contiguous from 1');
  }
  for (const entry of history.filter((h) => h.version > startVersion)) {
    if (!isDeepStrictEqual([...entry.changed_fields].sort(), ['credentials', 'description'])) {
      violations.push(`history ${entry.version}: changed_fields ${JSON.stringify(entry.changed_fields)}`);
    }
  }
  if (target.inspector) {
    await checkHistoryCredentials(target, history, writers, violations);
    const row = await target.inspector.row(target.secretId);
    const lastEntry = history[history.length - 1];
    if (row.version !== finalVersion || row.credential_version !== lastEntry?.credential_version) {
      violations.push(`row ${JSON.stringify(row)} disagrees with the last history entry`);
    } else if (last && row.credential_version !== null) {
      const current = await target.inspector.readCredentials(ref(target), row.credential_version);
      if (!isDeepStrictEqual(current, last.credentials)) {
        violations.push("the current stored credentials are not the last writer's");
      }
    }
  }
  return {
    requests,
    ok: writers.size,
    startVersion,
    finalVersion,
    historyAdded,
    failures,
    ms: Math.round(performance.now() - started),
    violations,
  };
}

export interface IdempotencyReport {
  keys: number;
  sent: number;
  firstWrites: number;
  replayed: number;
  inProgress409: number;
  other: { status: number; text: string }[];
  retriesReplayed: number;
  versionsAdded: number;
  ms: number;
  violations: string[];
}

/**
 * For each of `keys` Idempotency-Keys, the same PATCH (distinct credentials per key) is sent
 * `copies` times to every url at once. Guarantees: exactly one first execution per key, every other
 * copy is a replay of it (same status, body and ETag) or 409 "in progress"; the secret gains exactly
 * one version per key; and retries after completion, to every url, all replay.
 */
export async function idempotentStorm(
  target: Target,
  keys: number,
  copies: number,
): Promise<IdempotencyReport> {
  const started = performance.now();
  const tag = tagOf();
  const violations: string[] = [];
  const call = restClient(target.urls[0], target.key);
  const path = `/v1/teams/${target.teamId}/secrets/${target.secretId}`;
  const startVersion = await readVersion(target, target.urls[0], 'rest');
  const historyBefore = (await allVersions(call, target.teamId, target.secretId)).length;
  let sent = 0;
  let firstWrites = 0;
  let replayed = 0;
  let inProgress409 = 0;
  const other: IdempotencyReport['other'] = [];
  const originals = new Map<number, HttpResult>();
  const bodies = Array.from({ length: keys }, (_, k) => ({
    description: `idem-${tag}-${k}`,
    credentials: credentialsFor(tag, `k${k}`),
  }));
  const keyName = (k: number) => `integrity-${tag}-${k}`;

  const results = await Promise.all(
    bodies.flatMap((body, k) =>
      target.urls.flatMap((url) =>
        Array.from({ length: copies }, async () => {
          sent++;
          const res = await restClient(url, target.key)('PATCH', path, body, {
            'idempotency-key': keyName(k),
          });
          return { k, res };
        }),
      ),
    ),
  );
  for (const { k, res } of results) {
    checkResponseText(res.text, `key ${k}`, violations);
    if (res.status === 200 && res.headers['idempotent-replayed'] !== 'true') {
      firstWrites++;
      if (originals.has(k)) violations.push(`key ${k} was executed more than once`);
      originals.set(k, res);
    } else if (res.status === 409 && /in progress/i.test(res.body?.detail ?? '')) {
      inProgress409++;
    } else if (res.status !== 200) {
      other.push({ status: res.status, text: (res.text || res.networkError || '').slice(0, 300) });
    }
  }
  for (const { k, res } of results) {
    if (res.status !== 200 || res.headers['idempotent-replayed'] !== 'true') continue;
    replayed++;
    const original = originals.get(k);
    if (!original) violations.push(`key ${k}: a replay without a first execution`);
    else if (!isDeepStrictEqual(res.body, original.body) || res.headers.etag !== original.headers.etag) {
      violations.push(`key ${k}: a replay differs from the first response`);
    }
  }
  if (other.length) violations.push(`${other.length} answers were neither first, replay nor 409`);
  if (originals.size !== keys) violations.push(`${originals.size} of ${keys} keys were executed`);

  // Retries after completion: every url replays every key.
  let retriesReplayed = 0;
  await Promise.all(
    bodies.flatMap((body, k) =>
      target.urls.map(async (url) => {
        const res = await restClient(url, target.key)('PATCH', path, body, { 'idempotency-key': keyName(k) });
        const original = originals.get(k);
        if (
          res.status === 200 &&
          res.headers['idempotent-replayed'] === 'true' &&
          original &&
          isDeepStrictEqual(res.body, original.body)
        ) {
          retriesReplayed++;
        } else {
          violations.push(`key ${k}: a retry after completion got ${res.status} (not a replay)`);
        }
      }),
    ),
  );

  const finalVersion = await readVersion(target, target.urls[0], 'rest');
  const history = await allVersions(call, target.teamId, target.secretId);
  const versionsAdded = finalVersion - startVersion;
  if (versionsAdded !== keys) violations.push(`version rose by ${versionsAdded}, expected ${keys}`);
  if (history.length - historyBefore !== keys) {
    violations.push(`history grew by ${history.length - historyBefore}, expected ${keys}`);
  }
  const writers = new Map<number, { credentials: Credentials }>();
  for (const [k, res] of originals) writers.set(etagVersion(res), { credentials: bodies[k].credentials });
  if (target.inspector) await checkHistoryCredentials(target, history, writers, violations);
  return {
    keys,
    sent,
    firstWrites,
    replayed,
    inProgress409,
    other,
    retriesReplayed,
    versionsAdded,
    ms: Math.round(performance.now() - started),
    violations,
  };
}

export interface CreateStormReport {
  keys: number;
  sent: number;
  created: number;
  replayed: number;
  inProgress409: number;
  other: { status: number; text: string }[];
  violations: string[];
}

/** The same idempotent create sent `copies` times to every url at once: exactly one secret per key. */
export async function idempotentCreateStorm(
  target: Omit<Target, 'secretId'>,
  keys: number,
  copies: number,
): Promise<CreateStormReport> {
  const tag = tagOf();
  const violations: string[] = [];
  const other: CreateStormReport['other'] = [];
  let sent = 0;
  let replayed = 0;
  let inProgress409 = 0;
  const ids = new Map<number, Set<string>>();
  await Promise.all(
    Array.from({ length: keys }, (_, k) => {
      const body = {
        name: `idem-create-${tag}-${k}`,
        secret_type: 's3',
        auth_method: 's3_access_key',
        credentials: credentialsFor(tag, `c${k}`),
      };
      return Promise.all(
        target.urls.flatMap((url) =>
          Array.from({ length: copies }, async () => {
            sent++;
            const res = await restClient(url, target.key)(
              'POST',
              `/v1/teams/${target.teamId}/secrets`,
              body,
              {
                'idempotency-key': `create-${tag}-${k}`,
              },
            );
            checkResponseText(res.text, `create ${k}`, violations);
            if (res.status === 201) {
              if (res.headers['idempotent-replayed'] === 'true') replayed++;
              const set = ids.get(k) ?? new Set();
              set.add(res.body.id);
              ids.set(k, set);
            } else if (res.status === 409 && /in progress/i.test(res.body?.detail ?? '')) {
              inProgress409++;
            } else {
              other.push({ status: res.status, text: (res.text || res.networkError || '').slice(0, 300) });
            }
          }),
        ),
      );
    }),
  );
  const call = restClient(target.urls[0], target.key);
  let created = 0;
  for (let k = 0; k < keys; k++) {
    if ((ids.get(k)?.size ?? 0) !== 1)
      violations.push(`create ${k}: ids ${[...(ids.get(k) ?? [])].join(',')}`);
    const list = await call('GET', `/v1/teams/${target.teamId}/secrets?q=idem-create-${tag}-${k}&limit=100`);
    const matching = pageItems(list).filter((s: { name: string }) => s.name === `idem-create-${tag}-${k}`);
    created += matching.length;
    if (matching.length !== 1) violations.push(`create ${k}: ${matching.length} secrets exist`);
  }
  if (other.length) violations.push(`${other.length} create answers were neither 201 nor 409 in progress`);
  return { keys, sent, created, replayed, inProgress409, other, violations };
}
