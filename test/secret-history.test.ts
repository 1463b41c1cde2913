import { describe, expect, it } from 'vitest';
import { autocommit } from '../src/platform/db/unit-of-work.js';
import { newTeamWithSecret } from './support/factories.js';
import { queryDatabase, rest, useApp } from './support/harness.js';

const t = useApp();

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

async function nativeSecret() {
  const { team, api, secret, path } = await newTeamWithSecret(t, {
    name: 'history',
    credentials: { access_key_id: 'AKIA-V1', secret_access_key: 'secret-v1' },
  });
  return { team, call: api, path, id: secret.id };
}

async function currentCredentials(id: string) {
  const [row] = await sql('select credential_ref, credential_version from secrets where id = ?', [id]);
  return t.app.services.store.get(row.credential_ref, row.credential_version, autocommit(t.app.db.orm));
}

describe('secret history and rollback', () => {
  it('records every accepted change (names only) and rolls credentials back as a new version', async () => {
    const { call, path, id } = await nativeSecret();
    await call('PATCH', path, { credentials: { access_key_id: 'AKIA-V2', secret_access_key: 'secret-v2' } });
    await call('PATCH', path, { name: 'renamed', description: 'd' });
    await call('PATCH', path, {});

    const versions = await call('GET', `${path}/versions?sort_order=asc`);
    expect(versions.status).toBe(200);
    expect(versions.body.pagination.total).toBe(3);
    expect(versions.body.data.map((v: any) => [v.version, v.changed_fields])).toEqual([
      [1, ['name', 'secret_type', 'auth_method', 'credentials']],
      [2, ['credentials']],
      [3, ['name', 'description']],
    ]);
    expect(versions.text).not.toContain('secret-v1');
    expect(versions.body.data[0].actor.user_id).toBeTruthy();

    const rolled = await call('POST', `${path}/rollback`, { version: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.headers.get('etag')).toBe('"4"');
    expect(rolled.body.name).toBe('renamed');
    expect(await currentCredentials(id)).toEqual({
      access_key_id: 'AKIA-V1',
      secret_access_key: 'secret-v1',
    });
    const latest = await call('GET', `${path}/versions?limit=1`);
    expect(latest.body.data[0]).toMatchObject({ version: 4, changed_fields: ['credentials'] });
    const audit = await sql(
      "select event_type from audit_events where resource_id = ? and event_type = 'secret_rolled_back'",
      [id],
    );
    expect(audit).toHaveLength(1);
  });

  it('refuses unknown versions (422), stale preconditions (412), expired values and other field sets (409)', async () => {
    const { call, path, id } = await nativeSecret();
    const missing = await call('POST', `${path}/rollback`, { version: 9 });
    expect(missing.status).toBe(422);
    expect(missing.body.detail[0].loc).toEqual(['body', 'version']);
    expect((await call('POST', `${path}/rollback`, { version: 'one' })).status).toBe(422);
    expect((await call('POST', `${path}/rollback`, { version: 1 }, { 'if-match': '"7"' })).status).toBe(412);

    await call('PATCH', path, { credentials: { access_key_id: 'AKIA-V2', secret_access_key: 'secret-v2' } });
    const [row] = await sql('select credential_ref from secrets where id = ?', [id]);
    await sql('delete from credential_blobs where ref = ? and version = 1', [row.credential_ref]);
    const expired = await call('POST', `${path}/rollback`, { version: 1 });
    expect(expired.status).toBe(409);
    expect(expired.body.detail).toContain('expired');

    await call('PATCH', path, {
      secret_type: 'azure_blob',
      auth_method: 'azure_account_key',
      credentials: { account_name: 'acct', account_key: 'key' },
    });
    const otherFields = await call('POST', `${path}/rollback`, { version: 2 });
    expect(otherFields.status).toBe(409);
    expect(await currentCredentials(id)).toEqual({ account_name: 'acct', account_key: 'key' });
  });

  it('rolls back the field mappings of an external-vault secret', async () => {
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const vault = await call('POST', `/v1/teams/${team.teamId}/vault-connections`, {
      name: 'doppler',
      vault_type: 'doppler',
      access_token: 'dp.st.token',
      project: 'p',
      config: 'c',
    });
    const mapping = (a: string, b: string) => [
      { field_name: 'access_key_id', reference: a },
      { field_name: 'secret_access_key', reference: b },
    ];
    const created = await call('POST', `/v1/teams/${team.teamId}/secrets`, {
      name: 'byov',
      secret_type: 's3',
      auth_method: 's3_access_key',
      vault_connection_id: vault.body.id,
      field_mappings: mapping('KEY_ONE', 'SECRET_ONE'),
    });
    const path = `/v1/teams/${team.teamId}/secrets/${created.body.id}`;
    await call('PATCH', path, { field_mappings: mapping('KEY_TWO', 'SECRET_TWO') });
    expect((await call('POST', `${path}/rollback`, { version: 1 })).status).toBe(200);
    const detail = await call('GET', path);
    expect(detail.body.external_field_mappings).toEqual({
      access_key_id: 'KEY_ONE',
      secret_access_key: 'SECRET_ONE',
    });
  });
});
