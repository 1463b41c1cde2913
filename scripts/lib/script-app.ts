/**
 * The service in-process for the integrity scripts: `createApp` (the same wiring as `npm start`) on
 * DATABASE_URL when set, else on a fresh embedded database in a temporary data directory. Log lines
 * are kept in memory so the scripts can search them for credential values.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { type App, createApp } from '../../src/app/app.js';
import { bootstrapTeam } from '../../src/app/team-admin.js';
import { type Config, loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';

export interface ScriptApp {
  app: App;
  url: string;
  config: Config;
  logs: string[];
  newTeam(): Promise<{ teamId: string; key: string }>;
  close(): Promise<void>;
}

export async function startScriptApp(env: Record<string, string> = {}): Promise<ScriptApp> {
  const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(path.join(tmpdir(), 'integrity-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    DATA_DIR: dataDir ?? './.data',
    CREDENTIAL_KEY: process.env.CREDENTIAL_KEY ?? randomBytes(32).toString('base64'),
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const app = await createApp(config, createLogger(config.LOG_LEVEL, sink));
  const url = await app.listen();
  let teams = 0;
  return {
    app,
    url,
    config,
    logs,
    async newTeam() {
      const tag = `${process.pid}-${++teams}-${Date.now()}`;
      const created = await bootstrapTeam(app.db.orm, {
        team: `integrity-${tag}`,
        email: `integrity-${tag}@example.com`,
        plan: 'pro',
      });
      return { teamId: created.team_id, key: created.api_key };
    },
    async close() {
      await app.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `--name value` from argv, as a number, else the fallback. */
export function numberArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

/** `--name value` from argv, else the fallback. */
export function stringArg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : (process.argv[index + 1] ?? fallback);
}
