import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createNativeSecret, newTeamWithSecret } from './support/factories.js';
import { queryDatabase, rest, useApp } from './support/harness.js';

const t = useApp();

const count = async (query: string, params: unknown[]) =>
  ((await t.app.db.orm.em.fork().getConnection().execute(query, params)) as any[])[0].n as number;

describe('Idempotency-Key on REST writes', () => {
  it('replays the first response to a retried create without a second write', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const body = {
      name: 'once',
      secret_type: 's3',
      auth_method: 's3_access_key',
      credentials: { access_key_id: 'AKIA-I', secret_access_key: 'idem' },
    };
    const headers = { 'idempotency-key': 'create-once-1' };
    const first = await call('POST', `/v1/teams/${team.teamId}/secrets`, body, headers);
    const again = await call('POST', `/v1/teams/${team.teamId}/secrets`, body, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('etag')).toBe('"1"');
    expect(await count('select count(*)::int as n from secrets where team_id = ?', [team.teamId])).toBe(1);

    const different = await call(
      'POST',
      `/v1/teams/${team.teamId}/secrets`,
      { ...body, name: 'other' },
      headers,
    );
    expect(different.status).toBe(422);
    expect(different.body.detail[0].loc).toEqual(['header', 'idempotency-key']);
  });

  it('replays PATCH and DELETE, keeps keys per API key, and lets failed requests be retried', async () => {
    const { team, api, path } = await newTeamWithSecret(t, {
      name: 'patched',
      credentials: { access_key_id: 'AKIA-P', secret_access_key: 'p' },
    });
    const rotate = { credentials: { access_key_id: 'AKIA-P2', secret_access_key: 'p2' } };
    const a = await api('PATCH', path, rotate, { 'idempotency-key': 'rotate-1' });
    const b = await api('PATCH', path, rotate, { 'idempotency-key': 'rotate-1' });
    expect(b.body).toEqual(a.body);
    expect((await api('GET', path)).headers.get('etag')).toBe('"2"');

    const invalid = await api('PATCH', path, { name: '' }, { 'idempotency-key': 'bad-1' });
    expect(invalid.status).toBe(422);
    expect((await api('PATCH', path, { name: '' }, { 'idempotency-key': 'bad-1' })).status).toBe(422);

    const otherKey = await team.keyFor('admin', ['secrets:update', 'secrets:read']);
    const fromOther = await rest(t.url, otherKey)(
      'PATCH',
      path,
      { description: 'x' },
      { 'idempotency-key': 'rotate-1' },
    );
    expect(fromOther.status).toBe(200);
    expect(fromOther.headers.get('idempotent-replayed')).toBeNull();

    expect((await api('DELETE', path, undefined, { 'idempotency-key': 'del-1' })).status).toBe(204);
    const replayed = await api('DELETE', path, undefined, { 'idempotency-key': 'del-1' });
    expect(replayed.status).toBe(204);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect((await api('DELETE', path, undefined, { 'idempotency-key': 'del-2' })).status).toBe(404);
  });

  it('never stores a one-time API key secret for replay', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const body = { name: 'ci', scopes: ['secrets:read'] };
    const first = await call('POST', `/v1/teams/${team.teamId}/api-keys`, body, {
      'idempotency-key': 'key-1',
    });
    expect(first.status).toBe(201);
    const again = await call('POST', `/v1/teams/${team.teamId}/api-keys`, body, {
      'idempotency-key': 'key-1',
    });
    expect(again.status).toBe(409);
    const stored = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute("select response::text as r from idempotency_keys where key = 'key-1'");
    expect(JSON.stringify(stored)).not.toContain(first.body.full_key);
  });
});

describe('Idempotency-Key claims and the write transaction', () => {
  const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);
  /** As a process killed after its write committed, before it stored the response, leaves a claim. */
  const interrupt = async (key: string, committed: boolean) => {
    const deadPid = spawnSync('true').pid;
    await sql(
      `update idempotency_keys set status = null, response = null, owner = ?,
         committed_at = case when ? then committed_at end where key = ?`,
      [`${hostname()}:${deadPid}`, committed, key],
    );
  };

  it('never runs a committed write again, even when its response was lost', async () => {
    const { api, path } = await newTeamWithSecret(t, {
      name: 'marked',
      credentials: { access_key_id: 'AKIA-M', secret_access_key: 'm' },
    });
    const rotate = { credentials: { access_key_id: 'AKIA-M2', secret_access_key: 'm2' } };
    expect((await api('PATCH', path, rotate, { 'idempotency-key': 'lost-1' })).status).toBe(200);
    const [claim] = await sql("select committed_at from idempotency_keys where key = 'lost-1'");
    expect(claim.committed_at).not.toBeNull();

    await interrupt('lost-1', true);
    const retry = await api('PATCH', path, rotate, { 'idempotency-key': 'lost-1' });
    expect(retry.status).toBe(409);
    expect(retry.body.detail).toMatch(/carried out, but its response was lost/);
    expect((await api('GET', path)).headers.get('etag')).toBe('"2"');
    // Told once, told always: the claim now records the lost response.
    expect((await api('PATCH', path, rotate, { 'idempotency-key': 'lost-1' })).status).toBe(409);
    expect((await api('GET', path)).headers.get('etag')).toBe('"2"');
  });

  it('runs a write again when the process that claimed its key died before committing', async () => {
    const { api, secret, path } = await newTeamWithSecret(t, {
      name: 'cut-off',
      credentials: { access_key_id: 'AKIA-C', secret_access_key: 'c' },
    });
    const change = { description: 'once' };
    expect((await api('PATCH', path, change, { 'idempotency-key': 'cut-1' })).status).toBe(200);
    await interrupt('cut-1', false);
    await sql('update secrets set description = null where id = ?', [secret.id]);
    const retry = await api('PATCH', path, change, { 'idempotency-key': 'cut-1' });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect((await api('GET', path)).body.description).toBe('once');
  });

  it('frees the key when the write is refused inside its transaction', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const taken = await createNativeSecret(t, team, { name: 'taken' });
    const mover = await createNativeSecret(t, team, { name: 'mover' });
    const path = `/v1/teams/${team.teamId}/secrets/${mover.id}`;
    const clash = await call('PATCH', path, { name: 'taken' }, { 'idempotency-key': 'clash-1' });
    expect(clash.status).toBe(409);
    expect(await sql("select 1 from idempotency_keys where key = 'clash-1'")).toEqual([]);
    await call('PATCH', `/v1/teams/${team.teamId}/secrets/${taken.id}`, { name: 'freed' });
    const retry = await call('PATCH', path, { name: 'taken' }, { 'idempotency-key': 'clash-1' });
    expect(retry.status).toBe(200);
    expect(retry.body.name).toBe('taken');
  });
});
