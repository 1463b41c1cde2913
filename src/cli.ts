process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { parseArgs } from 'node:util';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createCredentialStore } from './app/app.js';
import { openConfiguredDatabase } from './app/database.js';
import { reconcile } from './app/reconcile-credentials.js';
import { bootstrapTeam, createTeamApiKey, UnknownScopeError } from './app/team-admin.js';
import { isUuid } from './domain/ids.js';
import { loadConfig } from './platform/config.js';
import { DataDirInUseError } from './platform/db/database.js';

const USAGE = `Usage:
  npm run cli -- bootstrap --team <name> --email <email> [--plan free|pro]
  npm run cli -- api-key create --team <team_id> --name <name> --scopes <a,b,...>
  npm run cli -- migrate
  npm run cli -- reconcile [--fix]     compare the database with the credential store; --fix removes orphans

Results are printed to stdout as one JSON line; messages go to stderr.
Uses DATABASE_URL when set, else the embedded database under DATA_DIR (stop the server first).`;

class UsageError extends Error {}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value.trim();
}

async function run(argv: string[]): Promise<unknown> {
  const [command, subcommand] = argv;
  const { values } = parseArgs({
    args: argv.slice(command === 'api-key' ? 2 : 1),
    options: {
      team: { type: 'string' },
      email: { type: 'string' },
      plan: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      fix: { type: 'boolean' },
    },
    strict: true,
  });
  if (command === 'bootstrap') {
    const team = required(values, 'team');
    const email = required(values, 'email');
    const plan = values.plan ?? 'pro';
    if (plan !== 'free' && plan !== 'pro') throw new UsageError('--plan must be free or pro');
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError('--email must be an email address');
    return withDatabase((orm) => bootstrapTeam(orm, { team, email, plan }));
  }
  if (command === 'api-key' && subcommand === 'create') {
    const teamId = required(values, 'team');
    if (!isUuid(teamId)) throw new UsageError('--team must be a team id (UUID)');
    const name = required(values, 'name');
    const scopes = required(values, 'scopes')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return withDatabase((orm) => createTeamApiKey(orm, { teamId: teamId.toLowerCase(), name, scopes }));
  }
  if (command === 'reconcile') {
    const store = await createCredentialStore(loadConfig());
    const report = await withDatabase((orm) => reconcile(orm, store, values.fix === true));
    const clean = report.unreadable.length === 0 && report.orphans.length === report.removed.length;
    if (!clean) process.exitCode = 1;
    return report;
  }
  if (command === 'migrate') {
    return withDatabase(async () => ({ migrated: true }));
  }
  throw new UsageError(command ? `Unknown command: ${argv.join(' ')}` : 'No command given');
}

async function withDatabase<T>(work: (orm: MikroORM) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openConfiguredDatabase(config, { poolMax: 2 });
  try {
    return await work(db.orm);
  } finally {
    await db.close();
  }
}

run(process.argv.slice(2))
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  })
  .catch((error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof DataDirInUseError || error instanceof UnknownScopeError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });
