/**
 * Change events, seen live: the `secretEvents` subscription over Server-Sent Events, fed by the
 * audit events of committed changes (through either door), resumable with `after`, authorized like
 * queries, and never carrying a credential.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { listen } from '../src/platform/db/notifications.js';
import type { Logger } from '../src/platform/logger.js';
import { sleep, UNKNOWN_UUID, unique } from './support/constants.js';
import { openWritingTransaction } from './support/databases.js';
import { createApiKey, createNativeSecret } from './support/factories.js';
import { graphql, queryDatabase, rest, useApp, useApps } from './support/harness.js';
import { SECRET_EVENTS, subscribe } from './support/sse.js';

const ROTATE = /* GraphQL */ `
  mutation Rotate($teamId: ID!, $secretId: ID!, $secret: String!) {
    updateSecret(teamId: $teamId, secretId: $secretId, input: {
      value: { credentials: { accessKey: { accessKeyId: "AKIAGRAPHQL", secretAccessKey: $secret } } }
    }) { __typename ... on UpdateSecretSuccess { secret { version } } }
  }
`;

const canary = () => `CANARY${randomBytes(12).toString('hex')}`;

const t = useApp();

describe('secretEvents', () => {
  it('streams a rotation through either door, once each, with names of fields and never values', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const sub = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    expect(sub.status).toBe(200);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/^graphql_live_streams [1-9]/m);
    const secrets = [canary(), canary(), canary()];

    const started = Date.now();
    const patched = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/secrets/${secret.id}`,
      {
        credentials: { access_key_id: 'AKIAREST', secret_access_key: secrets[0] },
      },
    );
    expect(patched.status, patched.text).toBe(200);
    const [viaRest] = await sub.take(1, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(viaRest.data.secretEvents).toMatchObject({
      type: 'ROTATED',
      secretId: secret.id,
      secretName: secret.name,
      version: 2,
      changedFields: ['credentials'],
      actor: { type: 'API_KEY', apiKeyId: expect.any(String) },
    });

    const viaGraphQL = await graphql(t.url, team.ownerKey)(ROTATE, {
      teamId: team.teamId,
      secretId: secret.id,
      secret: secrets[1],
    });
    expect(viaGraphQL.body.data.updateSecret.secret.version).toBe(3);
    const renamed = unique('renamed');
    await rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
      name: renamed,
    });
    const [rotated, updated] = await sub.take(2, 1000);
    expect(rotated.data.secretEvents).toMatchObject({ type: 'ROTATED', version: 3 });
    expect(updated.data.secretEvents).toMatchObject({
      type: 'UPDATED',
      version: 4,
      secretName: renamed,
      changedFields: ['name'],
    });
    // Once each: nothing more arrives.
    await expect(sub.take(1, 300)).rejects.toThrow(/Only 0 of 1/);
    sub.close();
    for (const value of secrets) {
      expect(sub.text()).not.toContain(value);
      expect(t.logs.join('\n')).not.toContain(value);
    }
  });

  it('resumes with `after` without missing or repeating an event', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const first = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    const patch = (body: object) =>
      rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, body);
    await patch({ description: 'one' });
    const [one] = await first.take(1);
    first.close();
    // While nobody listens: three changes, and a change of another team (never seen here).
    await patch({ description: 'two' });
    await patch({ credentials: { access_key_id: 'AKIA2', secret_access_key: 'z'.repeat(30) } });
    await rest(t.url, team.ownerKey)('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    const other = await t.newTeam();
    await createNativeSecret(t, other);

    const resumed = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, {
      teamId: team.teamId,
      after: one.data.secretEvents.id,
    });
    const replayed = await resumed.take(3);
    expect(replayed.map((r) => [r.data.secretEvents.type, r.data.secretEvents.version])).toEqual([
      ['UPDATED', 3],
      ['ROTATED', 4],
      ['DELETED', 4],
    ]);
    // Then live.
    const again = await createNativeSecret(t, team);
    const [created] = await resumed.take(1);
    expect(created.data.secretEvents).toMatchObject({ type: 'CREATED', secretId: again.id, version: 1 });
    await expect(resumed.take(1, 300)).rejects.toThrow(/Only 0 of 1/);
    resumed.close();
  });

  it('filters by secret and by type', async () => {
    const team = await t.newTeam();
    const [a, b] = [await createNativeSecret(t, team), await createNativeSecret(t, team)];
    const sub = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, {
      teamId: team.teamId,
      secretIds: [b.id.toUpperCase()],
      types: ['ROTATED'],
    });
    const patch = (id: string, body: object) =>
      rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${id}`, body);
    await patch(a.id, { credentials: { access_key_id: 'AKIAA', secret_access_key: 'a'.repeat(30) } });
    await patch(b.id, { description: 'not a rotation' });
    await patch(b.id, { credentials: { access_key_id: 'AKIAB', secret_access_key: 'b'.repeat(30) } });
    const [only] = await sub.take(1);
    expect(only.data.secretEvents).toMatchObject({ type: 'ROTATED', secretId: b.id });
    await expect(sub.take(1, 300)).rejects.toThrow(/Only 0 of 1/);
    sub.close();
  });

  it('asked for as plain JSON, is a 406 that says to ask for Server-Sent Events, and holds no subscription slot', async () => {
    const team = await t.newTeam();
    const accepts = ['application/json', 'application/graphql-response+json'];
    // More than SUBSCRIPTIONS_PER_KEY (10): each refused stream must give its slot back.
    for (const accept of [...accepts, ...accepts, ...accepts, ...accepts, ...accepts, ...accepts]) {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${team.ownerKey}` },
        body: JSON.stringify({ query: SECRET_EVENTS, variables: { teamId: team.teamId } }),
      });
      expect(res.status, accept).toBe(406);
      expect(await res.json()).toEqual({
        errors: [
          {
            message: 'A subscription is a stream of Server-Sent Events: send Accept: text/event-stream',
            extensions: { code: 'NOT_ACCEPTABLE' },
          },
        ],
      });
    }
    const sub = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    await createNativeSecret(t, team);
    const [event] = await sub.take(1, 5000);
    expect(event.data.secretEvents.type).toBe('CREATED');
    sub.close();
  });

  it('is authorized like a query: a key, the read scope, its own team', async () => {
    const team = await t.newTeam();
    const errorsOf = async (key: string, variables: Record<string, unknown>) => {
      const sub = await subscribe(t.url, key, SECRET_EVENTS, variables);
      await sub.ended;
      return JSON.parse(/data: (.*)/.exec(sub.text())![1]!).errors;
    };
    const writer = await team.keyFor('admin', ['secrets:update']);
    expect(await errorsOf(writer, { teamId: team.teamId })).toMatchObject([
      { extensions: { code: 'FORBIDDEN' }, message: "This API key lacks the scope 'secrets:read'" },
    ]);
    expect(await errorsOf(team.ownerKey, { teamId: UNKNOWN_UUID })).toMatchObject([
      { extensions: { code: 'NOT_FOUND' } },
    ]);
    expect(await errorsOf('csk_not_a_key', { teamId: team.teamId })).toMatchObject([
      { extensions: { code: 'UNAUTHENTICATED' } },
    ]);
    expect(await errorsOf(team.ownerKey, { teamId: team.teamId, after: UNKNOWN_UUID })).toMatchObject([
      { extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('No event of this team') },
    ]);
    const notAnId = canary();
    const refused = await errorsOf(team.ownerKey, { teamId: team.teamId, after: notAnId });
    expect(refused).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(JSON.stringify(refused)).not.toContain(notAnId);
  });
});

describe('limits', () => {
  const limited = useApp({ env: { SUBSCRIPTIONS_PER_KEY: '2' } });

  it('counts subscriptions opened at the same moment (each waiting on its `after`) against the limit', async () => {
    const team = await limited.newTeam();
    const secret = await createNativeSecret(limited, team);
    const trail = await rest(limited.url, team.ownerKey)(
      'GET',
      `/v1/teams/${team.teamId}/audit-logs?resource_id=${secret.id}`,
    );
    const after = trail.body.data[0].id;
    const subs = await Promise.all(
      [1, 2, 3, 4, 5].map(() =>
        subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId, after }),
      ),
    );
    const refused = await Promise.all(
      subs.map(async (sub) => {
        const ended = await Promise.race([sub.ended.then(() => true), sleepFalse(500)]);
        return ended && sub.text().includes('Subscription limit reached');
      }),
    );
    expect(refused.filter(Boolean)).toHaveLength(3);
    for (const sub of subs) sub.close();
  });

  it('refuses a key more open subscriptions than SUBSCRIPTIONS_PER_KEY, and frees one when it closes', async () => {
    const team = await limited.newTeam();
    const open = [
      await subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId }),
      await subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId }),
    ];
    const third = await subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    await third.ended;
    expect(third.text()).toContain('Subscription limit reached');
    open[0]!.close();
    await open[0]!.ended;
    // The server sees the disconnect shortly after.
    let fourth = await subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    for (let i = 0; i < 20 && (await Promise.race([fourth.ended.then(() => true), sleepFalse(100)])); i++) {
      fourth = await subscribe(limited.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    }
    await createNativeSecret(limited, team);
    expect((await fourth.take(1))[0].data.secretEvents.type).toBe('CREATED');
    fourth.close();
    open[1]!.close();
  });
});

const sleepFalse = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));

describe('a revoked key', () => {
  it('ends the streams opened with it, and no other', async () => {
    const team = await t.newTeam();
    const key = await createApiKey(t, team, ['secrets:read']);
    const sub = await subscribe(t.url, key.full_key, SECRET_EVENTS, { teamId: team.teamId });
    const owners = await subscribe(t.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    await createNativeSecret(t, team);
    const [seen] = await sub.take(1);
    await owners.take(1);
    const revoked = await rest(t.url, team.ownerKey)(
      'POST',
      `/v1/teams/${team.teamId}/api-keys/${key.id}/revoke`,
    );
    expect(revoked.status).toBe(200);
    const [last] = await sub.take(1);
    expect(last.errors).toMatchObject([
      { extensions: { code: 'UNAUTHENTICATED', lastEventId: seen.data.secretEvents.id } },
    ]);
    await sub.ended;
    // The owner's stream goes on.
    await createNativeSecret(t, team);
    expect((await owners.take(1))[0].data.secretEvents.type).toBe('CREATED');
    owners.close();
  });
});

describe('keys that stop authorizing', () => {
  // Two instances on one database, each trusting a key it has seen for 5 s; keys checked every 200 ms.
  const env = { EVENTS_POLL_MS: '200', AUTH_CACHE_TTL_MS: '5000' };
  const [here, there] = useApps({ env }, { env });

  it('end their streams: UNAUTHENTICATED once the key expires, FORBIDDEN once its creator leaves the team', async () => {
    const team = await here.newTeam();
    const expiring = await createApiKey(here, team, ['secrets:read'], {
      expires_at: new Date(Date.now() + 1500).toISOString(),
    });
    const expired = await subscribe(here.url, expiring.full_key, SECRET_EVENTS, { teamId: team.teamId });
    const viewerKey = await team.keyFor('viewer', ['secrets:read']);
    const leaving = await subscribe(here.url, viewerKey, SECRET_EVENTS, { teamId: team.teamId });
    const [viewer] = await queryDatabase<{ created_by: string }>(
      here,
      'select created_by from api_keys where key_id = ?',
      [viewerKey.split('_')[1]],
    );
    await queryDatabase(here, 'delete from memberships where team_id = ? and user_id = ?', [
      team.teamId,
      viewer!.created_by,
    ]);
    const [left] = await leaving.take(1, 3000);
    expect(left.errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' } }]);
    const [end] = await expired.take(1, 5000);
    expect(end.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' } }]);
    await Promise.all([leaving.ended, expired.ended]);
  });

  it('refuse a stream opened with the old secret of a key rotated on another instance', async () => {
    const team = await here.newTeam();
    const key = await createApiKey(here, team, ['secrets:read']);
    expect((await rest(there.url, key.full_key)('GET', `/v1/teams/${team.teamId}/secrets`)).status).toBe(200);
    const rotated = await rest(here.url, team.ownerKey)(
      'POST',
      `/v1/teams/${team.teamId}/api-keys/${key.id}/rotate`,
    );
    expect(rotated.status).toBe(200);
    const sub = await subscribe(there.url, key.full_key, SECRET_EVENTS, { teamId: team.teamId });
    const [refused] = await sub.take(1, 3000);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' } }]);
    await sub.ended;
  });

  it('refuse a stream for a key revoked on another instance, whatever this one still trusts', async () => {
    const team = await here.newTeam();
    const key = await createApiKey(here, team, ['secrets:read']);
    expect((await rest(there.url, key.full_key)('GET', `/v1/teams/${team.teamId}/secrets`)).status).toBe(200);
    await rest(here.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/api-keys/${key.id}/revoke`);
    // `there` still trusts the key (its cache), so a query passes; a stream is checked with the database.
    expect((await rest(there.url, key.full_key)('GET', `/v1/teams/${team.teamId}/secrets`)).status).toBe(200);
    const sub = await subscribe(there.url, key.full_key, SECRET_EVENTS, { teamId: team.teamId });
    const [refused] = await sub.take(1, 3000);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' } }]);
    await sub.ended;
  });
});

describe('a server stopping', () => {
  const stopping = useApp({ database: 'own' });

  it('ends its streams with an error that says where to resume, and stops promptly', async () => {
    const team = await stopping.newTeam();
    const secret = await createNativeSecret(stopping, team);
    const sub = await subscribe(stopping.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
    await rest(stopping.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
      description: 'before the stop',
    });
    const [seen] = await sub.take(1, 15_000);
    const started = Date.now();
    await stopping.close();
    expect(Date.now() - started).toBeLessThan(5000);
    const [last] = await sub.take(1, 15_000);
    expect(last.errors).toMatchObject([
      { extensions: { code: 'SERVER_SHUTTING_DOWN', lastEventId: seen.data.secretEvents.id } },
    ]);
    await sub.ended;
    await stopping.start();
  });
});

// Concurrent sessions need a PostgreSQL server: the embedded database serves one session.
if (inject('databaseKind') === 'server')
  describe('an event committed while an older transaction runs', () => {
    // Its own database: no other app's commit wakes its feed, and the test's transaction holds up nobody else.
    // Small limits: one open subscription per key, five undelivered events per stream.
    const settling = useApp({
      database: 'own',
      env: { SUBSCRIPTIONS_PER_KEY: '1', EVENT_STREAM_BUFFER: '5' },
    });

    it('waits for that transaction of its database, and arrives soon after it ends, even by a rollback that wakes nobody', async () => {
      const team = await settling.newTeam();
      const secret = await createNativeSecret(settling, team);
      const sub = await subscribe(settling.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      try {
        await rest(settling.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
          description: 'while an older transaction runs',
        });
        // Until the older transaction ends, it could still commit events that come before this one.
        await expect(sub.take(1, 300)).rejects.toThrow(/Only 0 of 1/);
      } finally {
        await older.end();
      }
      const ended = Date.now();
      const [event] = await sub.take(1, 5000);
      expect(Date.now() - ended).toBeLessThan(1000);
      expect(event.data.secretEvents).toMatchObject({ secretId: secret.id, type: 'UPDATED' });
      sub.close();
    });

    it('does not wait for a transaction of another database on the same server', async () => {
      const team = await settling.newTeam();
      const secret = await createNativeSecret(settling, team);
      const sub = await subscribe(settling.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
      const elsewhere = await openWritingTransaction(inject('databaseUrl'));
      try {
        const started = Date.now();
        await rest(settling.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
          description: 'while another database writes',
        });
        const [event] = await sub.take(1, 5000);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(event.data.secretEvents).toMatchObject({ secretId: secret.id, type: 'UPDATED' });
      } finally {
        await elsewhere.end();
        sub.close();
      }
    });

    /** The id of the audit event (= change event) of `resourceId`'s creation. */
    async function creationEvent(team: { teamId: string; ownerKey: string }, resourceId: string) {
      const trail = await rest(settling.url, team.ownerKey)(
        'GET',
        `/v1/teams/${team.teamId}/audit-logs?resource_id=${resourceId}`,
      );
      return trail.body.data[0].id as string;
    }

    it('refuses a key revoked while its stream waited for `after` to settle', async () => {
      const team = await settling.newTeam();
      const key = await createApiKey(settling, team, ['secrets:read']);
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      const secret = await createNativeSecret(settling, team);
      const after = await creationEvent(team, secret.id);
      const opening = subscribe(settling.url, key.full_key, SECRET_EVENTS, { teamId: team.teamId, after });
      await sleep(300); // the stream waits for `after` to settle
      await rest(settling.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/api-keys/${key.id}/revoke`);
      await older.end();
      const sub = await opening;
      const [refused] = await sub.take(1, 5000);
      expect(refused.errors).toMatchObject([{ extensions: { code: 'UNAUTHENTICATED' } }]);
      await sub.ended;
    });

    it('frees at once the subscription slot of a client that went away while its stream waited to open', async () => {
      const team = await settling.newTeam();
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      try {
        const secret = await createNativeSecret(settling, team);
        const after = await creationEvent(team, secret.id);
        const leaving = new AbortController();
        const request = fetch(`${settling.url}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            authorization: `Bearer ${team.ownerKey}`,
          },
          body: JSON.stringify({ query: SECRET_EVENTS, variables: { teamId: team.teamId, after } }),
          signal: leaving.signal,
        }).catch(() => undefined);
        await sleep(300);
        leaving.abort();
        await request;
        await sleep(300); // the stream stops waiting and gives its slot back, the older transaction still running
        const again = await subscribe(settling.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
        await createNativeSecret(settling, team);
        await older.end();
        const [event] = await again.take(1, 5000);
        expect(event.data.secretEvents.type).toBe('CREATED');
        again.close();
      } finally {
        await older.end().catch(() => undefined);
      }
    });

    it('stops promptly while a stream waits for `after`, which gets SERVER_SHUTTING_DOWN with that id', async () => {
      const team = await settling.newTeam();
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      try {
        const secret = await createNativeSecret(settling, team);
        const after = await creationEvent(team, secret.id);
        const waiting = subscribe(settling.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId, after });
        await sleep(300);
        const started = Date.now();
        await settling.close();
        expect(Date.now() - started).toBeLessThan(2000);
        const [last] = await (await waiting).take(1, 3000);
        expect(last.errors).toMatchObject([
          { extensions: { code: 'SERVER_SHUTTING_DOWN', lastEventId: after } },
        ]);
      } finally {
        await older.end();
        await settling.start();
      }
    });

    it('does not end a consumer that keeps up when more events than its buffer (5) settle at once', async () => {
      const team = await settling.newTeam();
      const secret = await createNativeSecret(settling, team);
      const sub = await subscribe(settling.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      try {
        for (let i = 0; i < 12; i++) {
          await rest(settling.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
            description: `burst ${i}`,
          });
        }
      } finally {
        await older.end();
      }
      const events = await sub.take(12, 5000);
      expect(events.map((e) => e.data?.secretEvents.version)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 2),
      );
      sub.close();
    });
  });

// LISTEN/NOTIFY is a PostgreSQL server's: the embedded database's feed polls.
if (inject('databaseKind') === 'server')
  describe('the LISTEN connection that wakes the other instances', () => {
    it('delivers a notification, and drops one sent while or after it closes without an error or a warning', async () => {
      const warnings: unknown[] = [];
      const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
      const channel = `test_${randomBytes(6).toString('hex')}`;
      // Each connection calls its listener once connected, then once per notification.
      const wakes = { receiver: 0, sender: 0 };
      const receiver = listen(inject('databaseUrl'), channel, () => wakes.receiver++, logger);
      const sender = listen(inject('databaseUrl'), channel, () => wakes.sender++, logger);
      try {
        await expect.poll(() => Math.min(wakes.receiver, wakes.sender), { timeout: 5000 }).toBe(1);
        await sender.notify();
        await expect.poll(() => wakes.receiver, { timeout: 2000 }).toBe(2);
        const inFlight = sender.notify();
        const closing = sender.close();
        await expect(sender.notify()).resolves.toBeUndefined();
        await expect(inFlight).resolves.toBeUndefined();
        await closing;
        await expect(sender.notify()).resolves.toBeUndefined();
        expect(warnings).toEqual([]);
      } finally {
        await Promise.all([receiver.close(), sender.close()]);
      }
    });
  });
