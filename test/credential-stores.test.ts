/**
 * Credential stores end to end: the real server on the local (AES-256-GCM in PostgreSQL) store and on
 * the SSM store (the real AWS SDK against the fake SSM server), checking that the database row and
 * the store never disagree about which credentials are current, whatever fails.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CredentialValue } from '../src/platform/credentials/credential-store.js';
import { LocalCredentialStore, loadCredentialKey } from '../src/platform/credentials/local-store.js';
import { autocommit, unitOfWork } from '../src/platform/db/unit-of-work.js';
import { SECRET_RESPONSE_KEYS, sleep, unique, VAULT_CONNECTION_RESPONSE_KEYS } from './support/constants.js';
import { createNativeSecret, newTeamWithSecret } from './support/factories.js';
import type { FakeSsm, Fault } from './support/fake-ssm.js';
import {
  graphql,
  rest,
  TEST_CREDENTIAL_KEY,
  type TestApp,
  type TestTeam,
  useApp,
} from './support/harness.js';

const SSM_PREFIX = '/test';
const SSM_KMS_KEY_ID = 'alias/test';
const SSM_TIMEOUT_MS = 500;

/** Every credential value a client sends in this file starts with this; it must never come back out. */
const CANARY = `CANARY${randomBytes(4).toString('hex')}`;
let canaryCount = 0;
const canary = (label: string) => `${CANARY}x${++canaryCount}x${label}x${randomBytes(6).toString('hex')}`;
const accessKey = (label: string): CredentialValue => ({
  access_key_id: canary(`${label}-akid`),
  secret_access_key: canary(`${label}-sak`),
});

const UPDATE_SECRET = `mutation Update($t: ID!, $s: ID!, $input: UpdateSecretInput!) {
  updateSecret(teamId: $t, secretId: $s, input: $input) {
    __typename
    ... on UpdateSecretSuccess { secret { id name version } }
    ... on Error { message }
  }
}`;

const gqlCredentials = (c: CredentialValue) => ({
  credentials: { accessKey: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key } },
});

interface SecretRow {
  name: string;
  description: string | null;
  credential_ref: string;
  credential_version: number;
  version: number;
  updated_at: string;
  updated_by: string;
}

interface StoreCtx {
  kind: 'local' | 'ssm';
  t: TestApp;
  fake?: FakeSsm;
}

const em = (t: TestApp) => t.app.db.orm.em.fork();

async function sql<T = Record<string, any>>(t: TestApp, query: string, params: unknown[] = []): Promise<T[]> {
  return em(t).getConnection().execute<T[]>(query, params);
}

async function secretRow(t: TestApp, id: string): Promise<SecretRow> {
  const rows = await sql<SecretRow & { updated_at: Date }>(
    t,
    'select name, description, credential_ref, credential_version, version, updated_at, updated_by from secrets where id = ?',
    [id],
  );
  expect(rows).toHaveLength(1);
  return { ...rows[0], updated_at: new Date(rows[0].updated_at).toISOString() };
}

function readCreds(t: TestApp, ref: string, version: number): Promise<CredentialValue> {
  return t.app.services.store.get(ref, version, autocommit(t.app.db.orm));
}

const paramName = (ref: string) => `${SSM_PREFIX}/${ref}`;

/** Versions the store holds under `ref`, ascending. */
async function storedVersions(ctx: StoreCtx, ref: string): Promise<number[]> {
  if (ctx.fake) return ctx.fake.versions(paramName(ref)).map((v) => v.version);
  const rows = await sql<{ version: number }>(
    ctx.t,
    'select version from credential_blobs where ref = ? order by version',
    [ref],
  );
  return rows.map((r) => Number(r.version));
}

/** A native secret holding `credentials` (canary values); the create answer must not carry them back. */
async function createSecret(t: TestApp, team: TestTeam, credentials: CredentialValue): Promise<string> {
  const secret = await createNativeSecret(t, team, { credentials });
  expect(JSON.stringify(secret)).not.toContain(CANARY);
  return secret.id;
}

/** Asserts the secret's row is still `before` and still reads `credentials`. */
async function expectUnchanged(t: TestApp, id: string, before: SecretRow, credentials: CredentialValue) {
  expect(await secretRow(t, id)).toEqual(before);
  expect(await readCreds(t, before.credential_ref, before.credential_version)).toEqual(credentials);
}

/**
 * A new team with a native secret holding `credentials`: the owner's REST client, the secret's id and
 * REST path, and its row as created.
 */
async function newSecret(t: TestApp, credentials: CredentialValue) {
  const { team, api, secret, path } = await newTeamWithSecret(t, { credentials });
  expect(JSON.stringify(secret)).not.toContain(CANARY);
  return { team, api, id: secret.id, path, before: await secretRow(t, secret.id) };
}

/**
 * Runs `work` while a trigger `before <event> on <table>` raises an exception for the rows matching
 * `condition`: the database failing inside the request. The trigger and its function go afterwards.
 */
async function withFailingTrigger<T>(
  t: TestApp,
  event: 'insert' | 'update',
  table: string,
  condition: string,
  work: () => Promise<T>,
): Promise<T> {
  const fn = `cs_test_fail_${randomBytes(5).toString('hex')}`; // a SQL identifier: no hyphens
  await sql(
    t,
    `create or replace function ${fn}() returns trigger as $$ begin if ${condition} then raise exception 'injected failure on ${table}'; end if; return new; end $$ language plpgsql`,
  );
  try {
    await sql(t, `create trigger ${fn} before ${event} on ${table} for each row execute function ${fn}()`);
    return await work();
  } finally {
    await sql(t, `drop trigger if exists ${fn} on ${table}`);
    await sql(t, `drop function if exists ${fn}()`);
  }
}

/** Runs `work` while the fake SSM fails `op` with `fault` (`count` times at most); clears the faults after. */
async function withFault<T>(
  fake: FakeSsm,
  op: string,
  fault: Fault,
  count: number,
  work: () => Promise<T>,
): Promise<T> {
  fake.failNext(op, fault, count);
  try {
    return await work();
  } finally {
    fake.clearFaults();
  }
}

const sortCreds = (list: CredentialValue[]) =>
  [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Asserts a failure text leaks nothing: no credential, no parameter name or ref, no upstream text, no stack. */
function expectNoInternals(text: string, ctx: StoreCtx, ref: string): void {
  expect(text).not.toContain(CANARY);
  expect(text).not.toContain(ref);
  expect(text).not.toContain(paramName(ref));
  expect(text).not.toContain('teams/');
  expect(text).not.toMatch(/\bat .+:\d+:\d+/);
  expect(text.toLowerCase()).not.toContain('stack');
  if (ctx.fake) {
    expect(text).not.toContain(ctx.fake.url.replace('http://', ''));
    expect(text).not.toContain('fake-ssm');
    expect(text).not.toContain('Rate exceeded');
    expect(text).not.toContain('amazonaws');
    expect(text).not.toContain(SSM_KMS_KEY_ID);
  }
}

function storeSuite(kind: 'local' | 'ssm') {
  describe(`${kind} credential store`, () => {
    const app = useApp(
      kind === 'ssm'
        ? { ssm: { prefix: SSM_PREFIX, timeoutMs: SSM_TIMEOUT_MS, kmsKeyId: SSM_KMS_KEY_ID } }
        : {},
    );
    const ctx: StoreCtx = {
      kind,
      t: app,
      get fake() {
        return kind === 'ssm' ? app.fake : undefined;
      },
    };

    beforeAll(() => {
      if (kind === 'ssm') {
        expect(ctx.t.app.services.store.kind).toBe('ssm');
      } else {
        expect(ctx.t.app.services.store.kind).toBe('local');
      }
    });

    it('rotation advances the row to a new version holding exactly the new credentials; old versions stay readable', async () => {
      const { t, fake } = ctx;
      const c1 = accessKey('rotate-1');
      const { team, api, id, path, before } = await newSecret(t, c1);
      expect(before.credential_ref).toBe(`teams/${team.teamId}/secrets/${id}`);
      expect(await readCreds(t, before.credential_ref, before.credential_version)).toEqual(c1);

      const c2 = accessKey('rotate-2');
      const res = await api('PATCH', path, { credentials: c2 });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(SECRET_RESPONSE_KEYS);
      expect(res.text).not.toContain(CANARY);

      const after = await secretRow(t, id);
      expect(after.credential_ref).toBe(before.credential_ref);
      expect(after.credential_version).toBeGreaterThan(before.credential_version);
      expect(after.version).toBe(before.version + 1);
      expect(res.body.updated_at).toBe(after.updated_at);
      expect(after.updated_at >= before.updated_at).toBe(true);
      expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(c2);
      expect(await readCreds(t, before.credential_ref, before.credential_version)).toEqual(c1);
      expect(await storedVersions(ctx, before.credential_ref)).toEqual([
        before.credential_version,
        after.credential_version,
      ]);

      // The other door rotates the same way.
      const c3 = accessKey('rotate-3');
      const gql = await graphql(t.url, team.ownerKey)(UPDATE_SECRET, {
        t: team.teamId,
        s: id,
        input: { value: gqlCredentials(c3) },
      });
      expect(gql.body.errors, gql.text).toBeUndefined();
      expect(gql.body.data.updateSecret).toMatchObject({
        __typename: 'UpdateSecretSuccess',
        secret: { id, version: before.version + 2 },
      });
      expect(gql.text).not.toContain(CANARY);
      const third = await secretRow(t, id);
      expect(third.credential_version).toBeGreaterThan(after.credential_version);
      expect(await readCreds(t, third.credential_ref, third.credential_version)).toEqual(c3);
      expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(c2);
      expect(await readCreds(t, before.credential_ref, before.credential_version)).toEqual(c1);

      if (fake) {
        const name = paramName(before.credential_ref);
        const versions = fake.versions(name);
        expect(versions.map(({ version, type, keyId }) => ({ version, type, keyId }))).toEqual(
          [before, after, third].map((r) => ({
            version: r.credential_version,
            type: 'SecureString',
            keyId: SSM_KMS_KEY_ID,
          })),
        );
        expect(versions.map((v) => JSON.parse(v.value))).toEqual([c1, c2, c3]);
        expect(fake.calls.filter((c) => c.op === 'PutParameter' && c.name === name)).toHaveLength(3);
        expect(JSON.stringify(fake.calls)).not.toContain(CANARY);
      }
    });

    it('a database failure after the store write leaves the row on the previous, still readable version', async () => {
      const { t, fake } = ctx;
      const c1 = accessKey('dbfail-1');
      const { api, id, path, before } = await newSecret(t, c1);

      const marker = unique(`FAIL-DB-${kind}`);
      const c2 = accessKey('dbfail-2');
      const res = await withFailingTrigger(t, 'update', 'secrets', `new.description = '${marker}'`, () =>
        api('PATCH', path, { description: marker, credentials: c2 }),
      );

      expect(res.status, res.text).toBe(500);
      expect(res.body).toEqual({
        detail: 'Internal server error',
        request_id: res.headers.get('x-request-id'),
      });
      expect(res.body.request_id).toEqual(expect.any(String));
      expect(res.text).not.toContain(CANARY);
      expect(t.logs.some((l) => l.includes(res.body.request_id) && l.includes('unexpected error'))).toBe(
        true,
      );

      const after = await secretRow(t, id);
      expect(after).toEqual(before);
      expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(c1);
      if (fake) {
        // The store took the new version; the row ignores it (an orphan), so the two still agree.
        const versions = fake.versions(paramName(before.credential_ref));
        expect(versions.map((v) => v.version)).toEqual([
          before.credential_version,
          before.credential_version + 1,
        ]);
        expect(JSON.parse(versions[1].value)).toEqual(c2);
      } else {
        // The local store writes through the failed transaction: nothing of the new version remains.
        expect(await storedVersions(ctx, before.credential_ref)).toEqual([before.credential_version]);
      }

      // Nothing is lost: the next rotation works and points at its own credentials.
      const c3 = accessKey('dbfail-3');
      const retry = await api('PATCH', path, {
        description: 'fine now',
        credentials: c3,
      });
      expect(retry.status, retry.text).toBe(200);
      const next = await secretRow(t, id);
      expect(next.version).toBe(before.version + 1);
      expect(next.description).toBe('fine now');
      expect(next.credential_version).toBeGreaterThan(before.credential_version);
      expect(await readCreds(t, next.credential_ref, next.credential_version)).toEqual(c3);
      expect(await readCreds(t, before.credential_ref, before.credential_version)).toEqual(c1);
    });

    if (kind === 'local') {
      it('a failed credential_blobs write (the local store is the database) changes nothing', async () => {
        const { t } = ctx;
        const c1 = accessKey('blobfail-1');
        const { api, id, path, before } = await newSecret(t, c1);
        const newName = unique('renamed');
        const blobOfTheSecret = `new.ref = '${before.credential_ref}'`;
        const res = await withFailingTrigger(t, 'insert', 'credential_blobs', blobOfTheSecret, () =>
          api('PATCH', path, { name: newName, credentials: accessKey('blobfail-2') }),
        );
        expect(res.status, res.text).toBeGreaterThanOrEqual(500);
        expect(res.body).toEqual({
          detail: 'Internal server error',
          request_id: res.headers.get('x-request-id'),
        });
        await expectUnchanged(t, id, before, c1);
        expect(await storedVersions(ctx, before.credential_ref)).toEqual([before.credential_version]);
      });
    }

    if (kind === 'ssm') {
      const FAULTS: [string, Fault][] = [
        ['internal error (500)', 'internal'],
        ['throttling', 'throttle'],
        [`a delay beyond SSM_TIMEOUT_MS`, { delayMs: SSM_TIMEOUT_MS * 3 }],
        ['a connection reset', 'reset'],
      ];

      it.each(FAULTS)(
        'REST: PutParameter failing with %s is a 503 with Retry-After and changes nothing',
        async (_label, fault) => {
          const { t } = ctx;
          const fake = ctx.fake!;
          const c1 = accessKey('storefail-1');
          const { api, id, path, before } = await newSecret(t, c1);
          const name = paramName(before.credential_ref);
          const putsBefore = fake.calls.filter((c) => c.op === 'PutParameter' && c.name === name).length;

          const res = await withFault(fake, 'PutParameter', fault, 5, () =>
            api('PATCH', path, {
              name: unique('renamed'),
              description: 'must not stick',
              credentials: accessKey('storefail-2'),
            }),
          );

          expect(res.status, res.text).toBe(503);
          const retryAfter = res.headers.get('retry-after');
          expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
          expect(Object.keys(res.body)).toEqual(['detail']);
          expect(res.body.detail).toEqual(expect.any(String));
          expectNoInternals(res.text, ctx, before.credential_ref);
          expect(fake.calls.filter((c) => c.op === 'PutParameter' && c.name === name).length).toBeGreaterThan(
            putsBefore,
          );

          await expectUnchanged(t, id, before, c1);
          if (typeof fault === 'object') {
            // Timed-out puts still land in the store later; the row must keep reading its own version.
            await sleep(fault.delayMs + 300);
            await expectUnchanged(t, id, before, c1);
          }
        },
      );

      it.each(FAULTS)(
        'GraphQL: PutParameter failing with %s is SERVICE_UNAVAILABLE and changes nothing',
        async (_label, fault) => {
          const { t } = ctx;
          const fake = ctx.fake!;
          const c1 = accessKey('gqlfail-1');
          const { team, id, before } = await newSecret(t, c1);

          const res = await withFault(fake, 'PutParameter', fault, 5, () =>
            graphql(t.url, team.ownerKey)(UPDATE_SECRET, {
              t: team.teamId,
              s: id,
              input: { name: unique('renamed'), value: gqlCredentials(accessKey('gqlfail-2')) },
            }),
          );

          expect(res.body.errors, res.text).toHaveLength(1);
          expect(res.body.errors![0].extensions?.code).toBe('SERVICE_UNAVAILABLE');
          expect(res.body.data?.updateSecret ?? null).toBeNull();
          expectNoInternals(res.text, ctx, before.credential_ref);

          await expectUnchanged(t, id, before, c1);
          if (typeof fault === 'object') {
            await sleep(fault.delayMs + 300);
            await expectUnchanged(t, id, before, c1);
          }
        },
      );

      it('a failing store on create is a 503 and leaves no secret or vault connection behind', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const api = rest(t.url, team.ownerKey);
        const secretName = unique('create-fail');
        const connectionName = unique('vault-fail');
        const secret = await withFault(fake, 'PutParameter', 'internal', 5, () =>
          api('POST', `/v1/teams/${team.teamId}/secrets`, {
            name: secretName,
            secret_type: 's3',
            auth_method: 's3_access_key',
            credentials: accessKey('create-fail'),
          }),
        );
        const connection = await withFault(fake, 'PutParameter', 'throttle', 5, () =>
          api('POST', `/v1/teams/${team.teamId}/vault-connections`, {
            name: connectionName,
            vault_type: 'onepassword',
            access_token: `ops_${canary('create-fail-token')}`,
          }),
        );
        for (const res of [secret, connection]) {
          expect(res.status, res.text).toBe(503);
          expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
          expect(Object.keys(res.body)).toEqual(['detail']);
          expect(res.text).not.toContain(CANARY);
          expect(res.text).not.toContain('teams/');
          expect(res.text).not.toContain(SSM_PREFIX);
        }
        expect(
          await sql(t, 'select id from secrets where team_id = ? and name = ?', [team.teamId, secretName]),
        ).toEqual([]);
        expect(
          await sql(t, 'select id from vault_connections where team_id = ? and name = ?', [
            team.teamId,
            connectionName,
          ]),
        ).toEqual([]);
      });

      it.each([
        ['once (the retry succeeds)', 1],
        ['on every attempt', 5],
      ])('writeThenFail %s: the row and the store never disagree', async (_label, count) => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const c1 = accessKey('wtf-1');
        const { api, id, path, before } = await newSecret(t, c1);
        const c2 = accessKey('wtf-2');

        const res = await withFault(fake, 'PutParameter', 'writeThenFail', count, () =>
          api('PATCH', path, { credentials: c2 }),
        );
        expect([200, 503], res.text).toContain(res.status);
        expect(res.text).not.toContain(CANARY);
        // The lost responses left versions behind in the store.
        expect(fake.versions(paramName(before.credential_ref)).length).toBeGreaterThan(1);

        const after = await secretRow(t, id);
        const current = await readCreds(t, after.credential_ref, after.credential_version);
        expect([c1, c2]).toContainEqual(current);
        if (res.status === 200) {
          expect(current).toEqual(c2);
          expect(after.version).toBe(before.version + 1);
        } else {
          expect(after).toEqual(before);
          expect(current).toEqual(c1);
        }
      });

      it('writeThenFail on create: the secret either exists with the sent credentials or not at all', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const c1 = accessKey('wtf-create');
        const name = unique('created');
        const res = await withFault(fake, 'PutParameter', 'writeThenFail', 1, () =>
          rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/secrets`, {
            name,
            secret_type: 's3',
            auth_method: 's3_access_key',
            credentials: c1,
          }),
        );
        expect([201, 503], res.text).toContain(res.status);
        expect(res.text).not.toContain(CANARY);
        const rows = await sql<{ id: string }>(t, 'select id from secrets where team_id = ? and name = ?', [
          team.teamId,
          name,
        ]);
        if (res.status === 201) {
          expect(rows.map((r) => r.id)).toEqual([res.body.id]);
          const row = await secretRow(t, res.body.id);
          expect(await readCreds(t, row.credential_ref, row.credential_version)).toEqual(c1);
        } else {
          expect(rows).toEqual([]);
        }
      });

      it('random store faults over a series of rotations never make the row and the store disagree', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const api = rest(t.url, team.ownerKey);
        let current = accessKey('rand-0');
        const id = await createSecret(t, team, current);
        const sent: CredentialValue[] = [current];
        let row = await secretRow(t, id);
        const statuses: number[] = [];
        fake.failRandomly(
          'PutParameter',
          0.5,
          ['writeThenFail', 'internal', 'throttle', 'reset'],
          20_260_101,
        );
        try {
          for (let i = 1; i <= 12; i++) {
            const next = accessKey(`rand-${i}`);
            sent.push(next);
            const res = await api('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, { credentials: next });
            statuses.push(res.status);
            expect([200, 503], res.text).toContain(res.status);
            const now = await secretRow(t, id);
            const got = await readCreds(t, now.credential_ref, now.credential_version);
            expect(sent).toContainEqual(got);
            if (res.status === 200) {
              expect(got).toEqual(next);
              expect(now.version).toBe(row.version + 1);
              current = next;
            } else {
              expect(now).toEqual(row);
              expect(got).toEqual(current);
            }
            row = now;
          }
        } finally {
          fake.failRandomly('PutParameter', 0, []);
        }
        // The seed must exercise both outcomes, or the loop proved little.
        expect(statuses).toContain(200);
        expect(statuses).toContain(503);
      });

      /** Each stored version's labels, by version (the fake keeps SSM's 100-version limit). */
      const labelsOf = async (ref: string) => {
        await ctx.t.app.services.store.settled(); // labels are applied after the response
        return Object.fromEntries(
          ctx.fake!.versions(paramName(ref)).flatMap((v) => (v.labels.length ? [[v.version, v.labels]] : [])),
        );
      };

      it('106 versions: SSM keeps the newest 100, the current one labelled and readable; rollback to an evicted version is 409', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const api = rest(t.url, team.ownerKey);
        const sent = [accessKey('evict-0')];
        const id = await createSecret(t, team, sent[0]);
        const first = await secretRow(t, id);
        const path = `/v1/teams/${team.teamId}/secrets/${id}`;
        expect(await labelsOf(first.credential_ref)).toEqual({ [first.credential_version]: ['current'] });

        for (let i = 1; i <= 105; i++) {
          sent.push(accessKey(`evict-${i}`));
          const res = await api('PATCH', path, { credentials: sent[i] });
          expect(res.status, res.text).toBe(200);
        }
        const row = await secretRow(t, id);
        expect(row.version).toBe(106);
        expect(row.credential_version).toBe(first.credential_version + 105);
        const kept = fake.versions(paramName(row.credential_ref)).map((v) => v.version);
        expect(kept).toHaveLength(100);
        expect(kept[0]).toBe(first.credential_version + 6);
        expect(kept.at(-1)).toBe(row.credential_version);
        // The label sits on the last tenth committed version, at or before the current one.
        const tenth = row.credential_version - (row.credential_version % 10);
        expect(await labelsOf(row.credential_ref)).toEqual({ [tenth]: ['current'] });
        expect(await readCreds(t, row.credential_ref, row.credential_version)).toEqual(sent[105]);

        // History version 1 pointed at a store version that is gone: 409, and nothing changes.
        const gone = await api('POST', `${path}/rollback`, { version: 1 });
        expect(gone.status, gone.text).toBe(409);
        expect(gone.body.detail).toMatch(/version 1 .*expired/);
        expectNoInternals(gone.text, ctx, row.credential_ref);
        expect(await secretRow(t, id)).toEqual(row);

        // A version still kept rolls back as a new store version (the label stays on the tenth one).
        const back = await api('POST', `${path}/rollback`, { version: 50 });
        expect(back.status, back.text).toBe(200);
        const after = await secretRow(t, id);
        expect(after.version).toBe(107);
        expect(after.credential_version).toBe(row.credential_version + 1);
        expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(sent[49]);
        expect(await labelsOf(after.credential_ref)).toEqual({ [tenth]: ['current'] });
        expect(fake.versions(paramName(after.credential_ref))).toHaveLength(100);
      });

      it('uncommitted puts never evict the current version: the label holds it, and the 101st put is a clean 409', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const api = rest(t.url, team.ownerKey);
        const secretId = await createSecret(t, team, accessKey('orphan-0'));
        const path = `/v1/teams/${team.teamId}/secrets/${secretId}`;
        const c1 = accessKey('orphan-1');
        // Up to store version 10, which takes the label.
        for (let i = 2; i < 10; i++) {
          expect((await api('PATCH', path, { credentials: accessKey(`orphan-r${i}`) })).status).toBe(200);
        }
        expect((await api('PATCH', path, { credentials: c1 })).status).toBe(200);
        const row = await secretRow(t, secretId);
        expect(row.credential_version).toBe(10);
        const { store } = t.app.services;

        // Puts whose transaction then fails: the store keeps each version, the row never moves, and
        // the label stays where the row points (it only moves on commit).
        const failedPut = (i: number) =>
          unitOfWork(t.app.db.orm, async (_em, tx) => {
            await store.put(row.credential_ref, accessKey(`orphan-put-${i}`), tx);
            throw new Error('injected failure after the put');
          });
        for (let i = 1; i <= 99; i++) await expect(failedPut(i)).rejects.toThrow('injected failure');
        const kept = fake.versions(paramName(row.credential_ref)).map((v) => v.version);
        expect(kept).toHaveLength(100);
        expect(kept[0]).toBe(row.credential_version);
        expect(await labelsOf(row.credential_ref)).toEqual({ [row.credential_version]: ['current'] });

        // One more would evict the current version: SSM refuses, and so do both doors, changing nothing.
        await expect(failedPut(100)).rejects.toThrow(/oldest is still protected/);
        const res = await api('PATCH', path, { credentials: accessKey('orphan-2') });
        expect(res.status, res.text).toBe(409);
        expect(res.body.detail).toMatch(/^credentials: .*nothing was changed$/);
        expectNoInternals(res.text, ctx, row.credential_ref);
        const gql = await graphql(t.url, team.ownerKey)(UPDATE_SECRET, {
          t: team.teamId,
          s: secretId,
          input: { value: gqlCredentials(accessKey('orphan-3')) },
        });
        expect(gql.body.errors, gql.text).toBeUndefined();
        expect(gql.body.data.updateSecret.__typename).toBe('ConflictError');
        expect(gql.text).not.toContain(CANARY);
        expect(await secretRow(t, secretId)).toEqual(row);
        expect(await readCreds(t, row.credential_ref, row.credential_version)).toEqual(c1);
        expect(fake.versions(paramName(row.credential_ref)).map((v) => v.version)).toEqual(kept);
      });

      it('a failing label call after the commit neither fails the request nor unprotects anything', async () => {
        const { t } = ctx;
        const fake = ctx.fake!;
        const team = await t.newTeam();
        const id = await createSecret(t, team, accessKey('label-0'));
        const labelled = await secretRow(t, id);
        const api = rest(t.url, team.ownerKey);
        for (let i = 2; i < 10; i++) {
          const up = await api('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, {
            credentials: accessKey(`label-r${i}`),
          });
          expect(up.status).toBe(200);
        }
        const before = await secretRow(t, id);
        const c1 = accessKey('label-1');
        // Store version 10 would take the label.
        const res = await withFault(fake, 'LabelParameterVersion', 'internal', 5, async () => {
          const answer = await api('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, { credentials: c1 });
          await t.app.services.store.settled(); // the label call and its retries, all failing
          return answer;
        });
        expect(res.status, res.text).toBe(200);
        const after = await secretRow(t, id);
        expect(after.credential_version).toBe(before.credential_version + 1);
        expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(c1);
        // The label stayed on an earlier committed version, which still blocks eviction of the current one.
        expect(await labelsOf(after.credential_ref)).toEqual({ [labelled.credential_version]: ['current'] });
      });
    }

    it('20 concurrent rotations all succeed, in order, and the row points at the last one committed', async () => {
      const { t } = ctx;
      const { api, id, path, before } = await newSecret(t, accessKey('conc-0'));
      const creds = Array.from({ length: 20 }, (_, i) => accessKey(`conc-${i + 1}`));
      const requestIds = creds.map((_, i) => `${unique('rot')}-${i}`);

      const results = await Promise.all(
        creds.map((c, i) =>
          api(
            'PATCH',
            path,
            { credentials: c },
            {
              'x-request-id': requestIds[i],
            },
          ),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(creds.map(() => 200));

      const after = await secretRow(t, id);
      expect(after.version).toBe(before.version + 20);
      const current = await readCreds(t, after.credential_ref, after.credential_version);
      const winner = creds.findIndex((c) => isDeepStrictEqual(c, current));
      expect(winner).toBeGreaterThanOrEqual(0);

      const versions = await storedVersions(ctx, before.credential_ref);
      expect(versions[0]).toBe(before.credential_version);
      expect(versions).toContain(after.credential_version);
      const stored = await Promise.all(versions.slice(1).map((v) => readCreds(t, before.credential_ref, v)));
      if (ctx.fake) {
        // SSM rotations put before taking the row lock: one that loses the race puts again under the
        // lock, leaving an orphan version. Every request's credentials are there, and the label sits
        // on a committed version no newer than the row's (the label calls may land out of order).
        expect(versions.length).toBeGreaterThanOrEqual(21);
        for (const c of creds) expect(stored).toContainEqual(c);
        const committed = await sql<{ credential_version: number }>(
          t,
          'select credential_version from secret_versions where secret_id = ?',
          [id],
        );
        await t.app.services.store.settled();
        const labelled = ctx.fake
          .versions(paramName(before.credential_ref))
          .filter((v) => v.labels.includes('current'))
          .map((v) => v.version);
        expect(labelled).toHaveLength(1);
        expect(committed.map((r) => Number(r.credential_version))).toContain(labelled[0]);
        expect(labelled[0]).toBeLessThanOrEqual(after.credential_version);
      } else {
        // Under the row lock: exactly one version per request, and the row points at the newest.
        expect(versions).toHaveLength(21);
        expect(after.credential_version).toBe(versions[versions.length - 1]);
        expect(sortCreds(stored)).toEqual(sortCreds(creds));
      }

      // No lost update: one audit event per request, and the winner's is (among) the last.
      const events = await sql<{ request_id: string; created_at: Date }>(
        t,
        "select request_id, created_at from audit_events where resource_id = ? and event_type = 'secret_updated'",
        [id],
      );
      expect(events.map((e) => e.request_id).sort()).toEqual([...requestIds].sort());
      const last = Math.max(...events.map((e) => new Date(e.created_at).getTime()));
      const lastIds = events
        .filter((e) => new Date(e.created_at).getTime() === last)
        .map((e) => e.request_id);
      expect(lastIds).toContain(requestIds[winner]);
    });

    it('20 concurrent renames all succeed with no lost update', async () => {
      const { t } = ctx;
      const c0 = accessKey('rename-0');
      const { api, id, path, before } = await newSecret(t, c0);
      const names = Array.from({ length: 20 }, (_, i) => `${unique('renamed')}-${i}`);

      const results = await Promise.all(names.map((name) => api('PATCH', path, { name })));
      expect(results.map((r) => r.status)).toEqual(names.map(() => 200));
      expect(results.map((r) => r.body.name).sort()).toEqual([...names].sort());

      const after = await secretRow(t, id);
      expect(after.version).toBe(before.version + 20);
      expect(names).toContain(after.name);
      expect(after.credential_version).toBe(before.credential_version);
      expect(await readCreds(t, after.credential_ref, after.credential_version)).toEqual(c0);
      const events = await sql<{ resource_name: string; created_at: Date }>(
        t,
        "select resource_name, created_at from audit_events where resource_id = ? and event_type = 'secret_updated'",
        [id],
      );
      expect(events.map((e) => e.resource_name).sort()).toEqual([...names].sort());
      const last = Math.max(...events.map((e) => new Date(e.created_at).getTime()));
      expect(
        events.filter((e) => new Date(e.created_at).getTime() === last).map((e) => e.resource_name),
      ).toContain(after.name);
    });

    it('vault connections keep their token or client secret in the store and never return it', async () => {
      const { t, fake } = ctx;
      const team = await t.newTeam();
      const api = rest(t.url, team.ownerKey);
      const cases: {
        body: Record<string, string>;
        stored: CredentialValue;
        settings: Record<string, string>;
      }[] = [];
      const opToken = `ops_${canary('op-token')}`;
      cases.push({
        body: { vault_type: 'onepassword', access_token: opToken },
        stored: { access_token: opToken },
        settings: {},
      });
      const dpToken = `dp.st.${canary('doppler-token')}`;
      cases.push({
        body: { vault_type: 'doppler', access_token: dpToken, project: 'proj', config: 'prd' },
        stored: { access_token: dpToken },
        settings: { project: 'proj', config: 'prd' },
      });
      const clientSecret = canary('infisical-secret');
      cases.push({
        body: {
          vault_type: 'infisical',
          client_id: 'client-id-1',
          client_secret: clientSecret,
          project_id: 'project-1',
          environment: 'prod',
        },
        stored: { client_secret: clientSecret },
        settings: {
          client_id: 'client-id-1',
          project_id: 'project-1',
          environment: 'prod',
          secret_path: '/',
        },
      });

      for (const c of cases) {
        const name = unique(`vault-${c.body.vault_type}`);
        const res = await api('POST', `/v1/teams/${team.teamId}/vault-connections`, { name, ...c.body });
        expect(res.status, res.text).toBe(201);
        expect(Object.keys(res.body).sort()).toEqual(VAULT_CONNECTION_RESPONSE_KEYS);
        expect(res.text).not.toContain(CANARY);
        const rows = await sql<{ credential_ref: string; credential_version: number; settings: unknown }>(
          t,
          'select credential_ref, credential_version, settings from vault_connections where id = ?',
          [res.body.id],
        );
        expect(rows).toHaveLength(1);
        const [row] = rows;
        expect(row.credential_ref).toBe(`teams/${team.teamId}/vault-connections/${res.body.id}`);
        expect(await readCreds(t, row.credential_ref, row.credential_version)).toEqual(c.stored);
        const settings = typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings;
        expect(settings).toEqual(c.settings);
        if (fake) {
          const versions = fake.versions(paramName(row.credential_ref));
          expect(versions).toHaveLength(1);
          expect(versions[0]).toMatchObject({ type: 'SecureString', keyId: SSM_KMS_KEY_ID });
          expect(JSON.parse(versions[0].value)).toEqual(c.stored);
        }
      }
    });

    if (kind === 'local') {
      it('credential_blobs holds ciphertext only', async () => {
        const { t } = ctx;
        const team = await t.newTeam();
        const c1 = accessKey('blob');
        const id = await createSecret(t, team, c1);
        const row = await secretRow(t, id);
        const blobs = await sql<{ version: number; ciphertext: Buffer }>(
          t,
          'select version, ciphertext from credential_blobs where ref = ?',
          [row.credential_ref],
        );
        expect(blobs).toHaveLength(1);
        expect(Number(blobs[0].version)).toBe(row.credential_version);
        const blob = Buffer.from(blobs[0].ciphertext);
        expect(blob.length).toBeGreaterThan(28);
        for (const value of Object.values(c1)) {
          expect(blob.includes(Buffer.from(value, 'utf8'))).toBe(false);
          expect(blob.toString('latin1')).not.toContain(value);
          expect(blob.toString('base64')).not.toContain(Buffer.from(value).toString('base64').slice(0, 16));
        }
        expect(blob.toString('latin1')).not.toContain(CANARY);
        expect(await readCreds(t, row.credential_ref, row.credential_version)).toEqual(c1);
      });

      it('a blob moved to another (ref, version) slot, or read with another key, fails to decrypt', async () => {
        const { t } = ctx;
        const store = new LocalCredentialStore(Buffer.from(TEST_CREDENTIAL_KEY, 'base64'));
        const base = unique('test/aad');
        const refA = `${base}/a`;
        const refB = `${base}/b`;
        const value = accessKey('aad');
        try {
          const version = await unitOfWork(t.app.db.orm, (_em, tx) => store.put(refA, value, tx));
          expect(version).toBe(1);
          expect(await store.get(refA, 1, autocommit(t.app.db.orm))).toEqual(value);
          const [{ ciphertext }] = await sql<{ ciphertext: Buffer }>(
            t,
            'select ciphertext from credential_blobs where ref = ? and version = 1',
            [refA],
          );
          await sql(
            t,
            'insert into credential_blobs (ref, version, ciphertext, created_at) values (?, ?, ?, now())',
            [refB, 1, ciphertext],
          );
          await sql(
            t,
            'insert into credential_blobs (ref, version, ciphertext, created_at) values (?, ?, ?, now())',
            [refA, 2, ciphertext],
          );
          await expect(store.get(refB, 1, autocommit(t.app.db.orm))).rejects.toThrow();
          await expect(store.get(refA, 2, autocommit(t.app.db.orm))).rejects.toThrow();
          await expect(
            new LocalCredentialStore(randomBytes(32)).get(refA, 1, autocommit(t.app.db.orm)),
          ).rejects.toThrow();
          // The original slot still decrypts, so the failures above come from the binding, not the data.
          expect(await store.get(refA, 1, autocommit(t.app.db.orm))).toEqual(value);
        } finally {
          await sql(t, 'delete from credential_blobs where ref in (?, ?)', [refA, refB]);
        }
      });

      it('a put takes the version after the caller’s latest, or the next free one when that is taken', async () => {
        const { t } = ctx;
        const store = new LocalCredentialStore(Buffer.from(TEST_CREDENTIAL_KEY, 'base64'));
        const ref = unique('test/next');
        const values = [1, 2, 3, 4].map((n) => accessKey(`next-${n}`));
        const put = (n: number, latest?: number) =>
          unitOfWork(t.app.db.orm, (_em, tx) => store.put(ref, values[n - 1], tx, latest));
        try {
          expect(await put(1)).toBe(1);
          expect(await put(2, 1)).toBe(2);
          expect(await put(3, 2)).toBe(3);
          // A caller behind the store (its row still at version 1): version 2 is taken, so 4.
          expect(await put(4, 1)).toBe(4);
          for (const n of [1, 2, 3, 4])
            expect(await store.get(ref, n, autocommit(t.app.db.orm))).toEqual(values[n - 1]);
        } finally {
          await sql(t, 'delete from credential_blobs where ref = ?', [ref]);
        }
      });

      it('without CREDENTIAL_KEY the key file is created with mode 0600 and reused', () => {
        const tmp = mkdtempSync(path.join(tmpdir(), 'cs-key-'));
        try {
          const dir = path.join(tmp, 'data');
          const key = loadCredentialKey(undefined, dir);
          const file = path.join(dir, 'credential.key');
          expect(key).toHaveLength(32);
          expect(statSync(file).mode & 0o777).toBe(0o600);
          expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
          expect(loadCredentialKey(undefined, dir).equals(key)).toBe(true);
          expect(statSync(file).mode & 0o777).toBe(0o600);

          const other = path.join(tmp, 'other');
          expect(loadCredentialKey(undefined, other).equals(key)).toBe(false);

          const configured = path.join(tmp, 'configured');
          expect(loadCredentialKey(TEST_CREDENTIAL_KEY, configured).toString('base64')).toBe(
            TEST_CREDENTIAL_KEY,
          );
          expect(existsSync(path.join(configured, 'credential.key'))).toBe(false);
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      });
    }

    it('no credential value ever reached a log line (or, on SSM, the logged calls)', () => {
      const { t, fake } = ctx;
      expect(canaryCount).toBeGreaterThan(0);
      expect(t.logs.length).toBeGreaterThan(0);
      expect(t.logs.some((l) => l.includes('"msg":"request"'))).toBe(true);
      const leaking = t.logs.filter((l) => l.includes(CANARY));
      expect(leaking).toEqual([]);
      if (fake) expect(JSON.stringify(fake.calls)).not.toContain(CANARY);
    });
  });
}

storeSuite('local');
storeSuite('ssm');
