/**
 * Webhooks: change events POSTed to a receiver from the PostgreSQL outbox, signed, retried with
 * backoff, logged per webhook; targets guarded against SSRF; the plan caps how many a team has.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { verifySignature } from '../examples/webhook-receiver/receiver.js';
import { unique } from './support/constants.js';
import { openWritingTransaction } from './support/databases.js';
import { createNativeSecret } from './support/factories.js';
import { graphql, queryDatabase, rest, useApp } from './support/harness.js';
import { startReceiver } from './support/webhook-receiver.js';

/**
 * Apps that deliver run on a database of their own: every app drains the outbox of its database with
 * its own settings, so another file's app (which refuses loopback targets) would take these deliveries.
 */
const LOOPBACK_ALLOWED = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_BASE_MS: '50',
  EVENTS_POLL_MS: '100',
};

const canary = () => `CANARY${randomBytes(12).toString('hex')}`;
const receivers: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(receivers.map((r) => r.close())));

async function receiver(options: { failFirst?: number } = {}) {
  const started = await startReceiver(options);
  receivers.push(started);
  return started;
}

const ROTATE = /* GraphQL */ `
  mutation Rotate($teamId: ID!, $secretId: ID!, $secret: String!) {
    updateSecret(teamId: $teamId, secretId: $secretId, input: {
      value: { credentials: { accessKey: { accessKeyId: "AKIAGRAPHQL", secretAccessKey: $secret } } }
    }) { __typename }
  }
`;

describe('delivery', () => {
  const t = useApp({ env: LOOPBACK_ALLOWED, database: 'own' });

  it('POSTs a rotation through either door once each, signed, within a second, never with a value', async () => {
    const team = await t.newTeam();
    const secret = await createNativeSecret(t, team);
    const target = await receiver();
    const created = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: target.url,
      event_types: ['secret.rotated'],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      url: target.url,
      event_types: ['secret.rotated'],
      active: true,
      signing_secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });
    const { signing_secret: signingSecret, ...shown } = created.body;
    const read = await rest(t.url, team.ownerKey)(
      'GET',
      `/v1/teams/${team.teamId}/webhooks/${created.body.id}`,
    );
    expect(read.body).toEqual(shown);
    expect(read.text).not.toContain(signingSecret);

    const values = [canary(), canary()];
    // The GraphQL door loads on its first request: not part of what is measured here.
    await graphql(t.url, team.ownerKey)('{ __typename }');
    let started = Date.now();
    const patched = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/secrets/${secret.id}`,
      {
        credentials: { access_key_id: 'AKIAREST', secret_access_key: values[0] },
      },
    );
    expect(patched.status).toBe(200);
    const [first] = await target.waitFor(1, 1000);
    expect(first!.at - started).toBeLessThan(1000);
    started = Date.now();
    await graphql(t.url, team.ownerKey)(ROTATE, {
      teamId: team.teamId,
      secretId: secret.id,
      secret: values[1],
    });
    const [, second] = await target.waitFor(2, 1000);
    expect(second!.at - started).toBeLessThan(1000);

    for (const [i, delivery] of [first!, second!].entries()) {
      expect(verifySignature(signingSecret, String(delivery.headers['x-signature']), delivery.body)).toBe(
        true,
      );
      expect(verifySignature('whsec_other', String(delivery.headers['x-signature']), delivery.body)).toBe(
        false,
      );
      const event = JSON.parse(delivery.body);
      expect(event).toEqual({
        id: delivery.headers['x-event-id'],
        type: 'secret.rotated',
        team_id: team.teamId,
        resource: { type: 'secret', id: secret.id, name: secret.name, version: i + 2 },
        changed_fields: ['credentials'],
        actor: { user_id: team.ownerId, api_key_id: expect.any(String) },
        occurred_at: expect.any(String),
      });
      expect(delivery.headers['x-event-type']).toBe('secret.rotated');
      expect(delivery.headers['content-type']).toBe('application/json');
      for (const value of values) expect(delivery.body).not.toContain(value);
    }
    // Once each: nothing more arrives.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(target.received).toHaveLength(2);

    const log = await rest(t.url, team.ownerKey)(
      'GET',
      `/v1/teams/${team.teamId}/webhooks/${created.body.id}/deliveries`,
    );
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(2);
    expect(log.body.data[0]).toMatchObject({
      event_type: 'secret.rotated',
      status: 'delivered',
      attempts: 1,
      last_status_code: 204,
      last_error: null,
      next_attempt_at: null,
    });
    for (const value of values) {
      expect(log.text).not.toContain(value);
      expect(t.logs.join('\n')).not.toContain(value);
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
    expect(metrics).toMatch(/^webhook_deliveries_total\{outcome="queued"\} [1-9]/m);
  });

  it('retries a failing receiver with backoff: five failures, delivered on the sixth attempt', async () => {
    const team = await t.newTeam();
    const target = await receiver({ failFirst: 5 });
    const hook = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: target.url,
      event_types: ['secret.created'],
    });
    const secret = await createNativeSecret(t, team);
    const attempts = await target.waitFor(6, 10_000);
    const ids = new Set(attempts.map((a) => a.headers['x-event-id']));
    expect(ids.size).toBe(1);
    expect(JSON.parse(attempts[5]!.body)).toMatchObject({
      type: 'secret.created',
      resource: { id: secret.id },
    });
    // Exponential: each wait at least as long as the one before (50, 100, 200, 400, 800 ms).
    const waits = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(waits[4]!).toBeGreaterThanOrEqual(700);
    expect(waits[4]!).toBeGreaterThan(waits[0]!);
    const log = await rest(t.url, team.ownerKey)(
      'GET',
      `/v1/teams/${team.teamId}/webhooks/${hook.body.id}/deliveries`,
    );
    expect(log.body.data).toMatchObject([
      { status: 'delivered', attempts: 6, last_status_code: 204, last_error: null },
    ]);
  });

  it('keeps delivering to others while one receiver never answers', async () => {
    const team = await t.newTeam();
    const hanging = createServer(() => {}); // takes the request, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    receivers.push({
      close: () =>
        new Promise<void>((resolve) => {
          hanging.closeAllConnections();
          hanging.close(() => resolve());
        }),
    });
    const prompt = await receiver();
    const post = (url: string) =>
      rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
        name: unique('hook'),
        url,
        event_types: ['secret.created'],
      });
    await post(`http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`);
    await post(prompt.url);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await createNativeSecret(t, team);
      const delivered = await prompt.waitFor(i + 1, 1000);
      expect(delivered.at(-1)!.at - started).toBeLessThan(1000);
    }
  });

  it('delivers only the event types asked for, and nothing to an inactive webhook', async () => {
    const team = await t.newTeam();
    const [deletions, paused] = [await receiver(), await receiver()];
    const post = (body: object) =>
      rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
        name: unique('hook'),
        ...body,
      });
    await post({ url: deletions.url, event_types: ['secret.deleted'] });
    await post({ url: paused.url, active: false });
    const secret = await createNativeSecret(t, team);
    await rest(t.url, team.ownerKey)('PATCH', `/v1/teams/${team.teamId}/secrets/${secret.id}`, {
      description: 'x',
    });
    await rest(t.url, team.ownerKey)('DELETE', `/v1/teams/${team.teamId}/secrets/${secret.id}`);
    const [only] = await deletions.waitFor(1);
    expect(JSON.parse(only!.body)).toMatchObject({
      type: 'secret.deleted',
      resource: { id: secret.id, version: 2 },
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(deletions.received).toHaveLength(1);
    expect(paused.received).toHaveLength(0);
  });

  it('re-checks a name at delivery: one that resolves to this machine is refused when private networks are not allowed', async () => {
    const guarded = await import('../src/modules/webhooks/webhook.dispatcher.js');
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guarded.publicOnlyLookup('localhost', { family: 0 }, (e) => resolve(e)),
    );
    expect(error?.message).toBe('The target resolves to a private, loopback or link-local address');
  });
});

// Concurrent sessions need a PostgreSQL server: the embedded database serves one session.
if (inject('databaseKind') === 'server')
  describe('an event committed while an older transaction runs', () => {
    // No streams open and no polling to speak of: only the fan-out's own look brings the event.
    const settling = useApp({ env: { ...LOOPBACK_ALLOWED, EVENTS_POLL_MS: '60000' }, database: 'own' });

    it('is delivered soon after that transaction ends, even by a rollback that wakes nobody', async () => {
      const team = await settling.newTeam();
      const target = await receiver();
      await rest(settling.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
        name: unique('hook'),
        url: target.url,
        event_types: ['secret.created'],
      });
      const older = await openWritingTransaction(settling.config.DATABASE_URL!);
      try {
        await createNativeSecret(settling, team);
        await expect(target.waitFor(1, 300)).rejects.toThrow();
      } finally {
        await older.end();
      }
      const ended = Date.now();
      const [delivery] = await target.waitFor(1, 5000);
      expect(delivery!.at - ended).toBeLessThan(1000);
      expect(JSON.parse(delivery!.body)).toMatchObject({ type: 'secret.created' });
    });
  });

describe('giving up', () => {
  const giving = useApp({ env: { ...LOOPBACK_ALLOWED, WEBHOOK_MAX_ATTEMPTS: '3' }, database: 'own' });

  it('gives up after WEBHOOK_MAX_ATTEMPTS (here 3) and says why in the log', async () => {
    const team = await giving.newTeam();
    const target = await receiver({ failFirst: 1000 });
    const hook = await rest(giving.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: target.url,
      event_types: ['secret.created'],
    });
    await createNativeSecret(giving, team);
    await target.waitFor(3);
    // No fourth attempt comes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(target.received).toHaveLength(3);
    let entry: any;
    for (let i = 0; i < 100 && entry?.status !== 'failed'; i++) {
      const log = await rest(giving.url, team.ownerKey)(
        'GET',
        `/v1/teams/${team.teamId}/webhooks/${hook.body.id}/deliveries`,
      );
      entry = log.body.data[0];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(entry).toMatchObject({
      status: 'failed',
      attempts: 3,
      last_status_code: 500,
      last_error: 'HTTP 500',
      next_attempt_at: null,
    });
  });
});

describe('targets and limits', () => {
  // Active webhooks on the shared database would have every other app of the run fan events out.
  const t = useApp({ database: 'own' });

  it('refuses http and private, loopback or link-local targets unless the operator allows them', async () => {
    const team = await t.newTeam();
    const post = (url: string) =>
      rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, { name: unique('hook'), url });
    const secretInUrl = canary();
    const refusals: Record<string, string> = {
      'http://example.com/hook': 'The URL must be https',
      'https://127.0.0.1/hook': 'private',
      'https://localhost/hook': 'private',
      'https://10.1.2.3/hook': 'private',
      'https://169.254.169.254/latest/meta-data': 'private',
      'https://[::1]/hook': 'private',
      'https://[::ffff:127.0.0.1]/hook': 'private',
      'https://[fd00::1]/hook': 'private',
      'https://[::127.0.0.1]/hook': 'private',
      'https://[2002:7f00:1::1]/hook': 'private',
      'https://2130706433/hook': 'private',
      'https://intranet/hook': 'private',
      [`https://user:${secretInUrl}@example.com/hook`]: 'user name or password',
      'not a url': 'valid URL',
    };
    for (const [url, reason] of Object.entries(refusals)) {
      const res = await post(url);
      expect(res.status, url).toBe(422);
      expect(res.body.detail, url).toMatchObject([
        { loc: ['body', 'url'], msg: expect.stringContaining(reason) },
      ]);
      expect(res.text).not.toContain(secretInUrl);
    }
    expect((await post('https://hooks.example.com/cloud-secrets')).status).toBe(201);
  });

  it('measures a URL as it is stored: one that percent-encoding makes longer than 2048 is a 422', async () => {
    const team = await t.newTeam();
    const longOnceEncoded = `https://hooks.example.com/${'é'.repeat(600)}`; // 627 characters, 3,627 encoded
    const created = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: longOnceEncoded,
    });
    expect(created.status).toBe(422);
    expect(created.body.detail).toMatchObject([
      {
        loc: ['body', 'url'],
        msg: expect.stringContaining('at most 2048 characters'),
        type: 'string_too_long',
      },
    ]);
    const hook = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: 'https://hooks.example.com/a',
    });
    const patched = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/webhooks/${hook.body.id}`,
      {
        url: longOnceEncoded,
      },
    );
    expect(patched.status).toBe(422);
    expect(patched.body.detail[0].loc).toEqual(['body', 'url']);
  });

  it('takes no `q` on the delivery log (deliveries have no name), and a reordering of event types changes nothing', async () => {
    const team = await t.newTeam();
    const hook = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: 'https://hooks.example.com/a',
      event_types: ['secret.rotated', 'secret.deleted'],
    });
    const path = `/v1/teams/${team.teamId}/webhooks/${hook.body.id}`;
    const searched = await rest(t.url, team.ownerKey)('GET', `${path}/deliveries?q=anything`);
    expect(searched.status).toBe(422);
    expect(searched.body.detail[0].loc).toEqual(['query', 'q']);
    const reordered = await rest(t.url, team.ownerKey)('PATCH', path, {
      event_types: ['secret.deleted', 'secret.rotated'],
    });
    expect(reordered.status).toBe(200);
    expect(reordered.body.updated_at).toBe(hook.body.updated_at);
    const trail = await queryDatabase(t, 'select event_type from audit_events where resource_id = ?', [
      hook.body.id,
    ]);
    expect(trail).toEqual([{ event_type: 'webhook_created' }]);
  });

  it("caps a team's webhooks by plan (free: 2) and checks the webhook scopes", async () => {
    const team = await t.newTeam('free');
    const post = () =>
      rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
        name: unique('hook'),
        url: 'https://hooks.example.com/a',
      });
    expect((await post()).status).toBe(201);
    expect((await post()).status).toBe(201);
    const third = await post();
    expect(third.status).toBe(403);
    expect(third.body.detail).toBe('Plan limit reached: the free plan allows at most 2 webhooks per team');

    const reader = await team.keyFor('viewer', ['secrets:read']);
    const listed = await rest(t.url, reader)('GET', `/v1/teams/${team.teamId}/webhooks`);
    expect(listed.status).toBe(403);
    expect(listed.body.detail).toBe("This API key lacks the scope 'webhooks:read'");
    const owner = await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/webhooks`);
    expect(owner.body.pagination.total).toBe(2);
    expect(owner.text).not.toContain('whsec_');
  });

  it('updates and deletes a webhook (its log goes with it), each change in the audit log', async () => {
    const team = await t.newTeam();
    const created = await rest(t.url, team.ownerKey)('POST', `/v1/teams/${team.teamId}/webhooks`, {
      name: unique('hook'),
      url: 'https://hooks.example.com/a',
    });
    const path = `/v1/teams/${team.teamId}/webhooks/${created.body.id}`;
    const patched = await rest(t.url, team.ownerKey)('PATCH', path, {
      url: 'https://hooks.example.com/b',
      event_types: ['secret.rotated', 'secret.deleted'],
      active: false,
    });
    expect(patched.body).toMatchObject({
      url: 'https://hooks.example.com/b',
      event_types: ['secret.rotated', 'secret.deleted'],
      active: false,
    });
    const bad = await rest(t.url, team.ownerKey)('PATCH', path, { event_types: ['secret.exploded'] });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(['body', 'event_types', 0]);
    expect((await rest(t.url, team.ownerKey)('DELETE', path)).status).toBe(204);
    expect((await rest(t.url, team.ownerKey)('GET', path)).status).toBe(404);
    const trail = await queryDatabase(
      t,
      'select event_type, changed_fields from audit_events where resource_id = ? order by seq',
      [created.body.id],
    );
    expect(trail).toEqual([
      { event_type: 'webhook_created', changed_fields: ['name', 'url', 'event_types', 'active'] },
      { event_type: 'webhook_updated', changed_fields: ['url', 'event_types', 'active'] },
      { event_type: 'webhook_deleted', changed_fields: [] },
    ]);
  });
});

describe('through GraphQL', () => {
  const t = useApp({ database: 'own' });
  const CREATE = /* GraphQL */ `
    mutation Create($teamId: ID!, $input: CreateWebhookInput!, $key: String) {
      createWebhook(teamId: $teamId, input: $input, idempotencyKey: $key) {
        __typename
        ... on CreateWebhookSuccess { signingSecret webhook { id name url eventTypes active } }
        ... on ValidationError { issues { path message } }
        ... on Error { message }
      }
    }
  `;

  it('creates (the signing secret once), lists, updates and deletes a webhook, with REST’s rules', async () => {
    const team = await t.newTeam();
    const run = graphql(t.url, team.ownerKey);
    const input = {
      name: unique('hook'),
      url: 'https://hooks.example.com/g',
      eventTypes: ['SECRET_ROTATED'],
    };
    const created = await run(CREATE, { teamId: team.teamId, input, key: unique('idem') });
    expect(created.body.data.createWebhook).toMatchObject({
      __typename: 'CreateWebhookSuccess',
      signingSecret: expect.stringMatching(/^whsec_/),
      webhook: { name: input.name, url: input.url, eventTypes: ['SECRET_ROTATED'], active: true },
    });
    const id = created.body.data.createWebhook.webhook.id;

    const refused = await run(CREATE, {
      teamId: team.teamId,
      input: { ...input, name: unique('hook'), url: 'https://10.0.0.1/x' },
    });
    expect(refused.body.data.createWebhook).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'url'], message: expect.stringContaining('private') }],
    });
    const tooLong = await run(CREATE, {
      teamId: team.teamId,
      input: { ...input, name: unique('hook'), url: `https://hooks.example.com/${'a'.repeat(3000)}` },
    });
    expect(tooLong.body.data.createWebhook).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'url'], message: expect.stringContaining('at most 2048 characters') }],
    });
    const taken = await run(CREATE, { teamId: team.teamId, input });
    expect(taken.body.data.createWebhook).toMatchObject({
      __typename: 'ConflictError',
      message: 'A webhook with this name already exists in the team',
    });

    const listed = await run(
      'query($teamId: ID!) { webhooks(teamId: $teamId) { totalCount nodes { id url } } }',
      { teamId: team.teamId },
    );
    expect(listed.body.data.webhooks).toEqual({ totalCount: 1, nodes: [{ id, url: input.url }] });
    expect(listed.text).not.toContain('whsec_');

    const updated = await run(
      `mutation($teamId: ID!, $id: ID!) { updateWebhook(teamId: $teamId, webhookId: $id, input: { active: false, eventTypes: [] }) {
        __typename ... on UpdateWebhookSuccess { webhook { active eventTypes } } } }`,
      { teamId: team.teamId, id },
    );
    expect(updated.body.data.updateWebhook).toEqual({
      __typename: 'UpdateWebhookSuccess',
      webhook: { active: false, eventTypes: [] },
    });
    const log = await run(
      'query($teamId: ID!, $id: ID!) { webhookDeliveries(teamId: $teamId, webhookId: $id) { totalCount } }',
      { teamId: team.teamId, id },
    );
    expect(log.body.data.webhookDeliveries.totalCount).toBe(0);
    const removed = await run(
      'mutation($teamId: ID!, $id: ID!) { deleteWebhook(teamId: $teamId, webhookId: $id) { __typename ... on DeleteWebhookSuccess { deletedId } } }',
      { teamId: team.teamId, id },
    );
    expect(removed.body.data.deleteWebhook).toEqual({ __typename: 'DeleteWebhookSuccess', deletedId: id });
    const gone = await run('query($teamId: ID!, $id: ID!) { webhook(teamId: $teamId, id: $id) { id } }', {
      teamId: team.teamId,
      id,
    });
    expect(gone.body.data.webhook).toBeNull();
  });

  it('never replays a signing secret: a retry with the idempotency key is a ConflictError; another input under it a ValidationError', async () => {
    const team = await t.newTeam();
    const run = graphql(t.url, team.ownerKey);
    const variables = {
      teamId: team.teamId,
      input: { name: unique('hook'), url: 'https://hooks.example.com/g' },
      key: unique('idem'),
    };
    const first = await run(CREATE, variables);
    const secret = first.body.data.createWebhook.signingSecret;
    const retry = await run(CREATE, variables);
    expect(retry.body.data.createWebhook.__typename).toBe('ConflictError');
    expect(retry.text).not.toContain(secret);

    const otherInput = { ...variables, input: { ...variables.input, name: unique('hook') } };
    const reused = await run(CREATE, otherInput);
    expect(reused.body.data.createWebhook).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['idempotencyKey'] }],
    });
    const listed = await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/webhooks`);
    expect(listed.body.data.map((w: { name: string }) => w.name)).toEqual([variables.input.name]);
  });

  it('needs the webhook scopes', async () => {
    const team = await t.newTeam();
    const reader = await team.keyFor('admin', ['webhooks:read']);
    const res = await graphql(t.url, reader)(CREATE, {
      teamId: team.teamId,
      input: { name: unique('hook'), url: 'https://hooks.example.com/g' },
    });
    expect(res.body.errors).toMatchObject([
      { extensions: { code: 'FORBIDDEN' }, message: "This API key lacks the scope 'webhooks:create'" },
    ]);
  });
});
