import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { loadMigrations, migrationNames } from '../../migrations/index.js';
import type { Config } from '../config.js';
import { UnavailableError } from '../domain/errors.js';
import { ENTITIES } from '../entities/index.js';
import { prepareStatements } from './transaction.js';

export interface Database {
  orm: MikroORM;
  embedded: boolean;
  close(): Promise<void>;
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data directory ${path.resolve(dataDir)} is in use by process ${pid} (a running server?). ` +
        'Stop that process first, or set DATABASE_URL to use a PostgreSQL server.',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolMax: number;
}

export function databaseOptions(config: Config): DatabaseOptions {
  return { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolMax: config.DATABASE_POOL_MAX };
}

/** `DATABASE_URL` set: that PostgreSQL; unset: an embedded PostgreSQL (PGlite) persisted under `dataDir`. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const orm = await initOrm(options.databaseUrl, options.poolMax);
    try {
      await migrate(orm, true);
      // A PGlite socket (the test suite's) runs one session for all its connections: names would clash.
      const [{ version }] = await orm.em.getConnection().execute<{ version: string }[]>('select version()');
      if (!version.includes('PGlite')) prepareStatements(orm);
    } catch (error) {
      await orm.close();
      throw error;
    }
    return { orm, embedded: false, close: () => orm.close() };
  }
  return openEmbedded(options.dataDir, true);
}

/** `fromTemplate`: a new database starts as a copy of the template (see pgliteTemplate). */
async function openEmbedded(dataDir: string, fromTemplate: boolean): Promise<Database> {
  const releaseLock = lockDataDir(dataDir);
  let pglite: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let orm: MikroORM | undefined;
  try {
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-socket'),
    ]);
    const pgDir = path.join(dataDir, 'pg');
    if (fromTemplate && !existsSync(pgDir)) {
      // Without a template (e.g. node_modules cannot be written), PGlite initialises the directory itself.
      await copyFromTemplate(pgDir).catch(() => {});
    }
    pglite = await PGlite.create(pgDir);
    // One socket connection and a pool of one: PGlite runs one session, so a second connection
    // queried inside an open transaction would deadlock.
    server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await server.start();
    orm = await initOrm(`postgresql://postgres:postgres@${server.getServerConn()}/postgres`, 1);
    await migrate(orm, false);
  } catch (error) {
    await orm?.close();
    await server?.stop();
    await pglite?.close();
    releaseLock();
    throw error;
  }
  const opened = { orm, server, pglite };
  return {
    orm,
    embedded: true,
    async close() {
      await opened.orm.close();
      await opened.server.stop();
      await opened.pglite.close();
      releaseLock();
    },
  };
}

export function ormOptions(clientUrl: string, poolMax: number): Options {
  return {
    clientUrl,
    entities: ENTITIES,
    migrations: { transactional: true, allOrNothing: true, silent: true, snapshot: false },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000 },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    // Never keep state between requests: each use case forks its own EntityManager.
    allowGlobalContext: false,
  };
}

async function initOrm(clientUrl: string, poolMax: number): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, poolMax));
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
  const migrationOrm = await MikroORM.init(ormOptions(orm.config.get('clientUrl')!, 2));
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
    const rows: Array<{ name: string }> = await orm.em.getConnection().execute(`select name from ${table}`);
    const applied = new Set(rows.map((row) => row.name));
    return migrationNames.every((name) => applied.has(name));
  } catch {
    return false; // no migrations table yet
  }
}

/**
 * The pool had no free connection within its acquire timeout (every connection busy): a 503 the
 * caller may retry, not an unexpected error. Null for any other error.
 */
export function poolExhausted(error: unknown): UnavailableError | null {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause.name === 'KnexTimeoutError') {
      return new UnavailableError('The database is busy: no connection was free in time. Retry shortly.', 1);
    }
  }
  return null;
}

/**
 * A new embedded database starts as a copy of a freshly initialised and migrated one, kept beside
 * node_modules once per PGlite version and migration list: initdb and the migrations cost seconds of
 * WebAssembly, a copy a fraction of one.
 */
async function copyFromTemplate(pgDir: string): Promise<void> {
  const template = await pgliteTemplate();
  const partial = `${pgDir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(template, partial, { recursive: true });
  renameSync(partial, pgDir); // atomic: PGlite never sees a half-copied directory
}

/** The template data directory, created (initdb, migrations, clean shutdown) when missing. */
export async function pgliteTemplate(): Promise<string> {
  const packageDir = path.resolve(
    path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')),
    '..',
  );
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const migrations = createHash('sha256').update(migrationNames.join('\n')).digest('hex').slice(0, 12);
  const cache = path.resolve(packageDir, '../../.cache/cloud-secrets');
  const name = `pglite-${version}-${migrations}`;
  const template = path.join(cache, name);
  if (existsSync(path.join(template, 'PG_VERSION'))) return template;
  const building = path.join(cache, `building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  await (await openEmbedded(building, false)).close();
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

/** A pid file, created atomically, that keeps two processes from opening the same embedded database. */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'pid.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    if (holder && isAlive(holder)) throw new DataDirInUseError(dataDir, holder);
    rmSync(lockFile, { force: true }); // left behind by a process that died
  }
  throw new Error(`Could not lock the data directory ${path.resolve(dataDir)}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
