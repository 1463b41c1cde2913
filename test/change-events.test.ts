/**
 * Change events, seen live: the `secretEvents` subscription over Server-Sent Events, fed by the
 * audit events of committed changes (through either door), resumable with `after`, authorized like
 * queries, and never carrying a credential.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { UNKNOWN_UUID, unique } from './support/constants.js';
import { openWritingTransaction } from './support/databases.js';
import { createApiKey, createNativeSecret } from './support/factories.js';
import { graphql, rest, useApp } from './support/harness.js';
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
    const settling = useApp({ database: 'own' });

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
  });
