/**
 * The `secretEvents` subscription through Hive Gateway (examples/hive-gateway/, run as its README
 * says): the client subscribes to the gateway over Server-Sent Events with its own key, and the gateway
 * subscribes to our subgraph with that key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNativeSecret } from './support/factories.js';
import { rest, type TestTeam, useApp } from './support/harness.js';
import { composeSupergraph, type Gateway, startGateway } from './support/hive-gateway.js';
import { SECRET_EVENTS, subscribe } from './support/sse.js';

const t = useApp();
const gateways: Gateway[] = [];
let team: TestTeam;
let secret: { id: string; name: string };
let workDir: string;
let gateway: Gateway;

beforeAll(async () => {
  team = await t.newTeam();
  secret = await createNativeSecret(t, team);
  workDir = await mkdtemp(path.join(tmpdir(), 'hive-gateway-subscription-'));
  const supergraph = path.join(workDir, 'supergraph.graphql');
  await composeSupergraph(`${t.url}/graphql`, team.ownerKey, supergraph);
  gateway = await startGateway(supergraph, (started) => gateways.push(started));
});

afterAll(async () => {
  await Promise.all(gateways.map((started) => started.stop()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

it('streams a rotation made on our server to a subscriber of the gateway, once, without its value', async () => {
  const sub = await subscribe(gateway.url, team.ownerKey, SECRET_EVENTS, { teamId: team.teamId });
  expect(sub.status).toBe(200);
  const openStreams = () => t.app.services.events.feed.openStreams;
  // The gateway's own subscription to our subgraph.
  expect(openStreams()).toBe(1);
  const value = `CANARY${randomBytes(12).toString('hex')}`;
  const patch = (body: object) =>
    rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, body);

  const rotated = await patch({ credentials: { access_key_id: 'AKIAGATEWAY', secret_access_key: value } });
  expect(rotated.status, rotated.text).toBe(200);
  const [event] = await sub.take(1, 5000);
  expect(event).toEqual({
    data: {
      secretEvents: {
        id: expect.any(String),
        type: 'ROTATED',
        secretId: secret.id,
        secretName: secret.name,
        version: 2,
        changedFields: ['credentials'],
        occurredAt: expect.any(String),
        actor: { type: 'API_KEY', userId: team.ownerId, apiKeyId: expect.any(String) },
      },
    },
  });

  // Once: the next event the subscriber gets is the next change's, not the rotation again.
  const described = await patch({ description: 'after the rotation' });
  expect(described.status, described.text).toBe(200);
  const [next] = await sub.take(1, 5000);
  expect(next.data.secretEvents).toMatchObject({ type: 'UPDATED', version: 3 });
  sub.close();
  await expect.poll(openStreams, { timeout: 5000 }).toBe(0);

  expect(sub.text()).not.toContain(value);
  expect(gateway.output()).not.toContain(value);
});

it('refuses a key without secrets:read with FORBIDDEN, through the gateway', async () => {
  const writer = await team.keyFor('admin', ['secrets:update']);
  const sub = await subscribe(gateway.url, writer, SECRET_EVENTS, { teamId: team.teamId });
  await sub.ended;
  const [result] = await sub.take(1, 0);
  expect(result, sub.text()).toMatchObject({
    errors: [{ extensions: { code: 'FORBIDDEN' }, message: "This API key lacks the scope 'secrets:read'" }],
  });
  expect(result.data ?? null).toBeNull();
});
