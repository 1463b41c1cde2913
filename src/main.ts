process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { DataDirInUseError, DEFAULT_DATA_DIR, startEmbedded } from './platform/db/embedded.js';

// First of all, the embedded database starts in its worker thread, so that PGlite's start-up overlaps
// the loading of everything else: its two settings are read here as loadConfig reads them.
const embedded = process.env.DATABASE_URL
  ? undefined
  : startEmbedded(process.env.DATA_DIR ?? DEFAULT_DATA_DIR, () =>
      import('./platform/db/database.js').then((db) => db.pgliteTemplate()),
    );
embedded?.catch(() => {}); // openDatabase awaits it

const { loadConfig } = await import('./platform/config.js');
const { createLogger } = await import('./platform/logger.js');
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  // An invalid configuration leaves no lock behind on the data directory.
  await embedded?.then((server) => server.close()).catch(() => {});
  throw error;
}
const logger = createLogger(config.LOG_LEVEL);

async function main(): Promise<void> {
  // The database opens while the ORM, HTTP and GraphQL modules load.
  const database = import('./app/database.js').then(({ openConfiguredDatabase }) =>
    openConfiguredDatabase(config, { embedded }),
  );
  database.catch(() => {}); // createApp awaits it: a failure is reported there, not as unhandled
  const { createApp } = await import('./app/app.js');
  const app = await createApp(config, logger, database);
  const { bootstrapTeam, hasAnyTeam } = await import('./app/team-admin.js');
  if (app.db.embedded && !(await hasAnyTeam(app.db.orm))) {
    const created = await bootstrapTeam(app.db.orm, {
      team: 'default',
      email: 'owner@localhost',
      plan: 'pro',
    });
    // The one time this key is shown: printed directly, not through the (redacting) logger.
    process.stdout.write(
      `${JSON.stringify({ msg: 'First start: created a team and an owner API key. Keep the key; it is not shown again.', ...created })}\n`,
    );
  }
  const url = await app.listen();
  logger.info(
    { url, database: app.db.embedded ? 'embedded' : 'postgresql', credentialStore: app.services.store.kind },
    'listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.error({ signal }, 'shutdown took longer than 10 s: exiting with requests still in flight');
      process.exit(1);
    }, 10_000).unref();
    try {
      await app.close();
    } catch (error) {
      logger.error(
        { error: error instanceof Error ? { type: error.name, message: error.message } : error },
        'shutdown failed',
      );
      process.exit(1);
    }
    clearTimeout(force);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof DataDirInUseError ? error.message : 'failed to start';
  logger.fatal(
    { error: error instanceof Error ? { type: error.name, message: error.message } : error },
    message,
  );
  process.exit(1);
});
