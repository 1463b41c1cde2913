import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { MikroORM } from '@mikro-orm/postgresql';
import type { TestProject } from 'vitest/node';
import { migrate, ormOptions } from '../../src/platform/db/database.js';
import { createPGlite } from '../../src/platform/db/pglite.js';
import { keepExtendedQueriesWhole } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'embedded' | 'server';
  }
}

/**
 * Boots the database once per test run: the PostgreSQL at DATABASE_URL (reset to an empty schema),
 * or else an embedded PostgreSQL (PGlite) served on a local socket. Migrations run once, here.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const orm = await MikroORM.init(ormOptions(serverUrl, 2));
    await orm.em.getConnection().execute('drop schema if exists public cascade; create schema public;');
    await migrate(orm, true);
    await orm.close();
    project.provide('databaseUrl', serverUrl);
    project.provide('databaseKind', 'server');
    return;
  }
  const pglite = await createPGlite('memory://');
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 32 });
  keepExtendedQueriesWhole(server, pglite);
  await server.start();
  const url = `postgresql://postgres:postgres@${server.getServerConn()}/postgres`;
  const orm = await MikroORM.init(ormOptions(url, 1));
  await migrate(orm, false);
  await orm.close();
  project.provide('databaseUrl', url);
  project.provide('databaseKind', 'embedded');
  return async () => {
    await server.stop();
    await pglite.close();
  };
}
