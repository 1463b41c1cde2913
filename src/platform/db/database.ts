import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { loadMigrations, migrationNames } from '../../../migrations/index.js';
import { UnavailableError } from '../../domain/errors.js';
import { type EmbeddedServer, startEmbedded, templatePath } from './embedded.js';
import { autocommit, prepareStatements } from './unit-of-work.js';

export { DataDirInUseError } from './embedded.js';

export interface Database {
  orm: MikroORM;
  embedded: boolean;
  /** Where to `LISTEN` for notifications; null on PGlite, which delivers them to no other connection. */
  listenUrl: string | null;
  close(): Promise<void>;
}

type Entities = NonNullable<Options['entities']>;

export interface DatabaseOptions {
  /** The entities the ORM maps (every module's: src/app/database.ts). */
  entities: Entities;
  databaseUrl?: string;
  dataDir: string;
  poolMax: number;
  /** The embedded database, already starting (src/main.ts starts it before loading the ORM). */
  embedded?: Promise<EmbeddedServer>;
}

/** `DATABASE_URL` set: that PostgreSQL; unset: an embedded PostgreSQL (PGlite) persisted under `dataDir`. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const orm = await initOrm(options.databaseUrl, options.poolMax, options.entities);
    let pglite: boolean;
    try {
      await migrate(orm, true);
      const [server] = await autocommit(orm)<{ version: string }>('select version()');
      pglite = Boolean(server?.version.includes('PGlite'));
      // A PGlite socket (the test suite's) runs one session for all its connections: names would clash.
      if (!pglite) prepareStatements(orm);
    } catch (error) {
      await orm.close();
      throw error;
    }
    return {
      orm,
      embedded: false,
      listenUrl: pglite ? null : options.databaseUrl,
      close: () => orm.close(),
    };
  }
  return openEmbedded(options.embedded ?? startEmbedded(options.dataDir, pgliteTemplate), options.entities);
}

async function openEmbedded(starting: Promise<EmbeddedServer>, entities: Entities): Promise<Database> {
  // The ORM discovers its entities while PGlite starts, and connects once it listens.
  const orm = await MikroORM.init({
    ...ormOptions('postgresql://embedded/postgres', 1, entities),
    connect: false,
  });
  let embedded: EmbeddedServer;
  try {
    embedded = await starting;
  } catch (error) {
    await orm.close();
    throw error;
  }
  try {
    await orm.reconnect({ clientUrl: `postgresql://postgres:postgres@${embedded.address}/postgres` });
    await migrate(orm, false);
  } catch (error) {
    await orm.close();
    await embedded.close();
    throw error;
  }
  return {
    orm,
    embedded: true,
    listenUrl: null,
    async close() {
      await orm.close();
      await embedded.close();
    },
  };
}

export function ormOptions(clientUrl: string, poolMax: number, entities: Entities = []): Options {
  return {
    clientUrl,
    entities,
    migrations: { transactional: true, allOrNothing: true, silent: true, snapshot: false },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000 },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    // Never keep state between requests: each use case forks its own EntityManager.
    allowGlobalContext: false,
  };
}

async function initOrm(clientUrl: string, poolMax: number, entities: Entities): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, poolMax, entities));
}

const MIGRATION_LOCK = 727_274_001;

/**
 * Applies pending migrations. On a shared server, racing processes take turns under an advisory
 * lock, held on one connection of a small dedicated pool while the migrator uses the other.
 */
export async function migrate(orm: MikroORM, shared: boolean): Promise<void> {
  if (await upToDate(orm)) return;
  if (!shared) {
    await (await migratorOf(orm)).up();
    return;
  }
  const migrationOrm = await MikroORM.init(
    ormOptions(orm.config.get('clientUrl')!, 2, orm.config.get('entities')),
  );
  const knex = migrationOrm.em.getConnection().getKnex();
  const lockConnection = await knex.client.acquireConnection();
  try {
    await lockConnection.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await (await migratorOf(migrationOrm)).up();
  } finally {
    await lockConnection.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await knex.client.releaseConnection(lockConnection);
    await migrationOrm.close();
  }
}

/** The migrator, loaded (with the migrations) only when there is something to migrate. */
async function migratorOf(orm: MikroORM) {
  const [{ Migrator }, migrationsList] = await Promise.all([
    import('@mikro-orm/migrations'),
    loadMigrations(),
  ]);
  Object.assign(orm.config.get('migrations'), { migrationsList });
  Migrator.register(orm);
  return orm.migrator;
}

/** Whether every migration in the list is recorded as applied (one query; migrations are only ever added). */
async function upToDate(orm: MikroORM): Promise<boolean> {
  const table = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations';
  try {
    const rows = await autocommit(orm)<{ name: string }>(`select name from ${table}`);
    const applied = new Set(rows.map((row) => row.name));
    return migrationNames.every((name) => applied.has(name));
  } catch {
    return false; // no migrations table yet
  }
}

/** Throws unless the database answers (readiness). */
export async function pingDatabase(orm: MikroORM): Promise<void> {
  await autocommit(orm)('select 1');
}

/**
 * The error as a 503 the caller may retry: an `UnavailableError` itself, or the pool having had no
 * free connection within its acquire timeout (every connection busy). Null for any other error.
 */
export function asUnavailable(error: unknown): UnavailableError | null {
  if (error instanceof UnavailableError) return error;
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause.name === 'KnexTimeoutError') {
      return new UnavailableError('The database is busy: no connection was free in time. Retry shortly.', 1);
    }
  }
  return null;
}

/** The template data directory, created (initdb, migrations, clean shutdown) when missing. */
export async function pgliteTemplate(): Promise<string> {
  const template = templatePath();
  if (existsSync(path.join(template, 'PG_VERSION'))) return template;
  const cache = path.dirname(template);
  const name = path.basename(template);
  const building = path.join(cache, `building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  // Migrations only: the template maps no entities.
  await (await openEmbedded(startEmbedded(building), [])).close();
  try {
    renameSync(path.join(building, 'pg'), template);
  } catch (error) {
    // Another process got there first: theirs is as good as ours.
    if (!existsSync(path.join(template, 'PG_VERSION'))) throw error;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  // Templates of other versions or migration lists are of no further use.
  for (const entry of readdirSync(cache)) {
    if (entry.startsWith('pglite-') && entry !== name)
      rmSync(path.join(cache, entry), { recursive: true, force: true });
  }
  return template;
}
