import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { reconcile } from '../src/app/reconcile-credentials.js';
import { createNativeSecret } from './support/factories.js';
import { queryDatabase, useApp } from './support/harness.js';

const PREFIX = `/reconcile-${process.pid}`;
const t = useApp({ ssm: { prefix: PREFIX, timeoutMs: 500 } });
const ssmEnv = () => ({
  CREDENTIAL_STORE: 'ssm',
  AWS_ENDPOINT_URL_SSM: t.fake.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  SSM_PARAMETER_PREFIX: PREFIX,
  SSM_TIMEOUT_MS: '500',
});

const sql = (query: string, params: unknown[] = []): Promise<any[]> => queryDatabase(t, query, params);

describe('reconcile', () => {
  it('reports unreadable pointers and orphaned stored values, and --fix removes the orphans', async () => {
    const team = await t.newTeam();
    const healthy = await createNativeSecret(t, team, { name: 'healthy' });
    const broken = await createNativeSecret(t, team, { name: 'broken' });
    await sql('update secrets set credential_version = 42 where id = ?', [broken.id]);

    const orphanRef = `teams/${team.teamId}/secrets/00000000-0000-4000-8000-00000000dead`;
    const client = new SSMClient({
      endpoint: t.fake.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await client.send(
      new PutParameterCommand({ Name: `${PREFIX}/${orphanRef}`, Value: '{"k":"v"}', Type: 'SecureString' }),
    );

    const report = await reconcile(t.app.db.orm, t.app.services.store, false);
    expect(report.unreadable.filter((u) => u.team_id === team.teamId)).toEqual([
      { resource_type: 'secret', id: broken.id, team_id: team.teamId, version: 42, reason: 'missing' },
    ]);
    expect(report.orphans).toContain(orphanRef);
    expect(report.removed).toEqual([]);
    expect(t.fake.has(`${PREFIX}/${orphanRef}`)).toBe(true);

    const fixed = await reconcile(t.app.db.orm, t.app.services.store, true);
    expect(fixed.removed).toContain(orphanRef);
    expect(t.fake.has(`${PREFIX}/${orphanRef}`)).toBe(false);
    expect(t.fake.has(`${PREFIX}/teams/${team.teamId}/secrets/${healthy.id}`)).toBe(true);
    await sql('update secrets set credential_version = 1 where id = ?', [broken.id]);
    const clean = await reconcile(t.app.db.orm, t.app.services.store, false);
    expect(clean.unreadable.filter((u) => u.team_id === team.teamId)).toEqual([]);
    expect(clean.orphans.filter((ref) => ref.includes(team.teamId))).toEqual([]);
  }, 120_000);

  it('runs as `cli reconcile`, printing the report as JSON', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    // Asynchronous: the fake SSM endpoint lives in this process and must keep answering.
    const result = await promisify(execFile)(
      path.join(root, 'node_modules/.bin/tsx'),
      ['src/cli.ts', 'reconcile', '--fix'],
      {
        cwd: root,
        env: { ...process.env, ...ssmEnv(), DATABASE_URL: t.config.DATABASE_URL },
        timeout: 60_000,
      },
    ).catch((error: { stdout: string; stderr: string; code: number }) => error);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report).sort()).toEqual(['orphans', 'removed', 'unreadable']);
    expect(report.orphans).toEqual(report.removed);
  }, 120_000);
});
