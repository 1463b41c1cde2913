/**
 * Change events across instances on one database: a change committed by one instance reaches a
 * subscriber of another, and a webhook receiver, within a second (on a PostgreSQL server through
 * LISTEN/NOTIFY; on the embedded database, which serves one process, through the feed's polling).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNativeSecret } from './support/factories.js';
import { graphql, rest, useApp, useApps, useServerProcesses } from './support/harness.js';
import { SECRET_EVENTS, subscribe } from './support/sse.js';
import { startReceiver } from './support/webhook-receiver.js';

const ROTATE = /* GraphQL */ `
  mutation Rotate($teamId: ID!, $secretId: ID!) {
    updateSecret(teamId: $teamId, secretId: $secretId, input: {
      value: { credentials: { accessKey: { accessKeyId: "AKIAGRAPHQL", secretAccessKey: "g-rotated-value-000000000000" } } }
    }) { __typename }
  }
`;

/** A rotation through each door of `writer`, each seen once by a subscriber of `reader` within a second. */
async function rotationsReachAnotherInstance(
  writer: string,
  reader: string,
  team: { teamId: string; ownerKey: string },
  secretId: string,
) {
  // Each door of the writer has served a request before: the first one loads its code.
  await rest(writer, team.ownerKey)('GET', `/v1/teams/${team.teamId}/secrets/${secretId}`);
  await graphql(writer, team.ownerKey)('{ __typename }');
  const sub = await subscribe(reader, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
  try {
    let started = Date.now();
    const patched = await rest(writer, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/secrets/${secretId}`,
      {
        credentials: { access_key_id: 'AKIAREST', secret_access_key: 'r-rotated-value-000000000000' },
      },
    );
    expect(patched.status, patched.text).toBe(200);
    const [viaRest] = await sub.take(1, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    started = Date.now();
    const viaGraphQL = await graphql(writer, team.ownerKey)(ROTATE, { teamId: team.teamId, secretId });
    expect(viaGraphQL.body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
    const [second] = await sub.take(1, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect([viaRest.data.secretEvents, second.data.secretEvents]).toMatchObject([
      { type: 'ROTATED', secretId, version: 2 },
      { type: 'ROTATED', secretId, version: 3 },
    ]);
    await expect(sub.take(1, 300)).rejects.toThrow(/Only 0 of 1/);
  } finally {
    sub.close();
  }
}

describe('two app instances on one database (every test database)', () => {
  const [a, b] = useApps({ env: { EVENTS_POLL_MS: '200' } }, { env: { EVENTS_POLL_MS: '200' } });

  it('a change through one is seen by a subscriber of the other', async () => {
    const team = await a.newTeam();
    const secret = await createNativeSecret(a, team);
    await rotationsReachAnotherInstance(a.url, b.url, team, secret.id);
  });
});

// Real server processes need a real PostgreSQL server: the embedded database is one process by design.
if (inject('databaseKind') === 'server')
  describe('server processes on one PostgreSQL', () => {
    // A database of their own: every app drains the webhook outbox of its database with its settings.
    const loopbackReceivers = { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
    const t = useApp({ env: { LOG_LEVEL: 'warn', ...loopbackReceivers }, database: 'own' });
    // The default poll (1 s) is a safety net only: NOTIFY must bring the event well within a second.
    const servers = useServerProcesses(2, t, {
      DATABASE_POOL_MAX: '5',
      EVENTS_POLL_MS: '60000',
      ...loopbackReceivers,
    });
    let target: Awaited<ReturnType<typeof startReceiver>>;
    beforeAll(async () => {
      target = await startReceiver();
    });
    afterAll(async () => {
      await target?.close();
    });

    it('a rotation through one process is seen by a subscriber of the other, once, within a second', async () => {
      const team = await t.newTeam();
      const secret = await createNativeSecret(t, team);
      await rotationsReachAnotherInstance(servers[0]!.url, servers[1]!.url, team, secret.id);
    });

    it('a rotation through either process reaches a webhook receiver once each, within a second', async () => {
      const team = await t.newTeam();
      const secret = await createNativeSecret(t, team);
      const [a, b] = [servers[0]!.url, servers[1]!.url];
      const hook = await rest(a, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
        name: 'rotations',
        url: target.url,
        event_types: ['secret.rotated'],
      });
      expect(hook.status, hook.text).toBe(201);
      await graphql(b, team.ownerKey)('{ __typename }');
      let started = Date.now();
      await rest(a, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
        credentials: { access_key_id: 'AKIAREST', secret_access_key: 'r-rotated-value-000000000000' },
      });
      const [first] = await target.waitFor(1, 1000);
      expect(first!.at - started).toBeLessThan(1000);
      started = Date.now();
      await graphql(b, team.ownerKey)(ROTATE, { teamId: team.teamId, secretId: secret.id });
      const [, second] = await target.waitFor(2, 1000);
      expect(second!.at - started).toBeLessThan(1000);
      expect([first, second].map((d) => JSON.parse(d!.body).resource.version)).toEqual([2, 3]);
      expect(new Set([first, second].map((d) => d!.headers['x-event-id'])).size).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(target.received).toHaveLength(2);
    });
  });
