import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { migrationsList } from '../../migrations/index.js';
import { ENTITIES } from '../entities/index.js';

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

/** `DATABASE_URL` set: that PostgreSQL; unset: an embedded PostgreSQL (PGlite) persisted under `dataDir`. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const orm = await initOrm(options.databaseUrl, options.poolMax);
    try {
      await migrate(orm, true);
    } catch (error) {
      await orm.close();
      throw error;
    }
    return { orm, embedded: false, close: () => orm.close() };
  }
  return openEmbedded(options.dataDir);
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const releaseLock = lockDataDir(dataDir);
  let pglite: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let orm: MikroORM | undefined;
  try {
    pglite = await PGlite.create(path.join(dataDir, 'pg'));
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
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, silent: true, snapshot: false },
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
  if (!shared) {
    await orm.getMigrator().up();
    return;
  }
  const migrationOrm = await MikroORM.init(ormOptions(orm.config.get('clientUrl')!, 2));
  const knex = migrationOrm.em.getConnection().getKnex();
  const lockConnection = await knex.client.acquireConnection();
  try {
    await lockConnection.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrationOrm.getMigrator().up();
  } finally {
    await lockConnection.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await knex.client.releaseConnection(lockConnection);
    await migrationOrm.close();
  }
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
