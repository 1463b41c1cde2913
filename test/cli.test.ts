import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rest } from './support/harness.js';

const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const dirs: string[] = [];

function freshDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'secrets-cli-'));
  dirs.push(dir);
  return dir;
}

function cli(dataDir: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  const result = spawnSync(tsx, ['src/cli.ts', ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `src/main.ts` (what `npm start` runs) and resolves once it logs that it is listening. */
function startServer(dataDir: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
  delete env.DATABASE_URL;
  const child: ChildProcessWithoutNullStreams = spawn(tsx, ['src/main.ts'], { cwd: root, env });
  const lines: string[] = [];
  const listening = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === 'listening' && parsed.url) resolve(parsed.url);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, lines, listening, exited };
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('CLI', () => {
  it('bootstrap prints one JSON line with an owner key; api-key create prints the new key', () => {
    const dataDir = freshDataDir();
    const boot = cli(dataDir, [
      'bootstrap',
      '--team',
      'acme',
      '--email',
      'ops@acme.example',
      '--plan',
      'free',
    ]);
    expect(boot.code).toBe(0);
    const lines = boot.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const created = JSON.parse(lines[0]);
    expect(Object.keys(created).sort()).toEqual(['api_key', 'team_id', 'user_id']);
    expect(created.api_key).toMatch(/^dr_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);

    const key = cli(dataDir, [
      'api-key',
      'create',
      '--team',
      created.team_id,
      '--name',
      'ci',
      '--scopes',
      'secrets:read,secrets:update',
    ]);
    expect(key.code).toBe(0);
    const issued = JSON.parse(key.stdout.trim());
    expect(Object.keys(issued).sort()).toEqual(['full_key', 'id', 'key_id', 'scopes']);
    expect(issued.key_id).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(issued.full_key.startsWith(`dr_${issued.key_id}_`)).toBe(true);
    expect(issued.scopes).toEqual(['secrets:read', 'secrets:update']);

    const bad = cli(dataDir, [
      'api-key',
      'create',
      '--team',
      created.team_id,
      '--name',
      'x',
      '--scopes',
      'secrets:steal',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('secrets:steal');

    const usage = cli(dataDir, ['bootstrap', '--team', 'acme']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--email is required');
  }, 120_000);

  it('first start creates a team and prints one owner key; the CLI refuses the data directory while the server runs', async () => {
    const dataDir = freshDataDir();
    const first = startServer(dataDir);
    const url = await first.listening;
    const banner = first.lines.map((l) => JSON.parse(l)).find((l) => l.api_key);
    expect(banner.team_id).toBeTruthy();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const created = await rest(url, banner.api_key)('POST', `/v1/teams/${banner.team_id}/secrets`, {
      name: 'first',
      secret_type: 'gcs',
      auth_method: 'gcs_service_account',
      credentials: {
        service_account_json: JSON.stringify({
          type: 'service_account',
          client_email: 'a@b.iam',
          private_key: 'k',
        }),
      },
    });
    expect(created.status).toBe(201);

    const busy = cli(dataDir, ['bootstrap', '--team', 'other', '--email', 'x@y.z']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/in use by process \d+/);
    expect(busy.stdout).toBe('');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startServer(dataDir);
    await second.listening;
    expect(second.lines.some((l) => l.includes('api_key'))).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);
});
