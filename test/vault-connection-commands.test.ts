/**
 * Vault connections as typed commands through both doors: REST PATCH issues point at the body as it
 * was sent (unknown keys echoed as sent, types named); the credential store's `prune` keeps only the
 * current version of a rotated token where the store can (the local store, in the rotation's unit of
 * work, so a rolled-back rotation keeps everything), and SSM keeps its history.
 */
import { describe, expect, it } from 'vitest';
import { autocommit, unitOfWork } from '../src/platform/db/unit-of-work.js';
import { unique } from './support/constants.js';
import { createVaultConnection } from './support/factories.js';
import { rest, useApp } from './support/harness.js';

describe('local store', () => {
  const t = useApp();

  const versions = async (ref: string) =>
    (
      await autocommit(t.app.db.orm)<{ version: number }>(
        'select version from credential_blobs where ref = $1 order by version',
        [ref],
      )
    ).map((row) => row.version);

  it('REST PATCH: unknown keys are named as sent, wrong types as wrong types', async () => {
    const team = await t.newTeam();
    const { id } = await createVaultConnection(t, team);
    const res = await rest(t.url, team.ownerKey)(
      'PATCH',
      `/v1/teams/${team.teamId}/vault-connections/${id}`,
      {
        fooBar: 1,
        'Odd Key': 2,
        description: 5,
      },
    );
    expect(res.status, res.text).toBe(422);
    const other = 'Only name and description can be changed; create a new connection for other settings';
    expect(res.body.detail).toEqual([
      { loc: ['body', 'fooBar'], msg: other, type: 'extra_forbidden' },
      { loc: ['body', 'Odd Key'], msg: other, type: 'extra_forbidden' },
      { loc: ['body', 'description'], msg: 'Input should be a valid string', type: 'string_type' },
    ]);
  });

  it('prune removes the older versions with the unit of work, and not when it rolls back', async () => {
    const store = t.app.services.store;
    const ref = `test/prune-${unique('ref')}`;
    const put = (n: number) =>
      unitOfWork(t.app.db.orm, (_em, tx) => store.put(ref, { access_token: `v${n}` }, tx, n - 1));
    for (const n of [1, 2, 3]) expect(await put(n)).toBe(n);

    await expect(
      unitOfWork(t.app.db.orm, async (_em, tx) => {
        await store.prune(ref, 3, tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await versions(ref)).toEqual([1, 2, 3]);

    await unitOfWork(t.app.db.orm, (_em, tx) => store.prune(ref, 3, tx));
    expect(await versions(ref)).toEqual([3]);
    expect(await store.get(ref, 3, autocommit(t.app.db.orm))).toEqual({ access_token: 'v3' });
    await store.delete(ref, autocommit(t.app.db.orm));
  });
});

describe('SSM store', () => {
  const t = useApp({ ssm: { prefix: '/prune-test' } });

  it('a rotation keeps the parameter history (the row names the new version), and prune calls nothing', async () => {
    const team = await t.newTeam();
    const { id } = await createVaultConnection(t, team);
    const token = `ops_${unique('rotated')}`;
    const rotated = await rest(t.url, team.ownerKey)(
      'POST',
      `/v1/teams/${team.teamId}/vault-connections/${id}/rotate`,
      { access_token: token },
    );
    expect(rotated.status, rotated.text).toBe(200);
    const name = `/prune-test/teams/${team.teamId}/vault-connections/${id}`;
    expect(t.fake.versions(name).map((v) => v.version)).toEqual([1, 2]);
    const [row] = await autocommit(t.app.db.orm)<{ credential_version: number }>(
      'select credential_version from vault_connections where id = $1',
      [id],
    );
    expect(row.credential_version).toBe(2);
    const sql = autocommit(t.app.db.orm);
    expect(await t.app.services.store.get(`teams/${team.teamId}/vault-connections/${id}`, 2, sql)).toEqual({
      access_token: token,
    });

    await t.app.services.store.settled();
    const calls = t.fake.calls.length;
    await unitOfWork(t.app.db.orm, (_em, tx) =>
      t.app.services.store.prune(`teams/${team.teamId}/vault-connections/${id}`, 2, tx),
    );
    expect(t.fake.calls.length).toBe(calls);
    expect(t.fake.versions(name).map((v) => v.version)).toEqual([1, 2]);
  });
});
