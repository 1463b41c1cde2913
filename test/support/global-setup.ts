import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { MikroORM } from '@mikro-orm/postgresql';
import type { TestProject } from 'vitest/node';
import { migrate, ormOptions } from '../../src/platform/db/database.js';

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
  const pglite = await PGlite.create('memory://');
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

/** Protocol messages after which a connection's extended query is over: Sync, simple Query, Terminate. */
const QUERY_ENDS = new Set(['S', 'Q', 'X'].map((c) => c.charCodeAt(0)));
/** Extended-query messages: from the first of them to the Sync, the query is the connection's turn. */
const EXTENDED_QUERY = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));

/**
 * pglite-socket queues every protocol message on its own and, outside a transaction, takes the next
 * one from any connection. Another connection's Parse can then land between a connection's Parse and
 * its Bind, and the one PGlite session has one unnamed statement: under concurrency a query fails
 * with "prepared statement does not exist" (26000). This keeps a connection's turn from its first
 * extended-query message to its Sync, as the queue already does inside a transaction. (The server
 * itself never shares its embedded database: one connection, src/platform/db/embedded-worker.ts.)
 */
function keepExtendedQueriesWhole(server: PGLiteSocketServer, pglite: PGlite): void {
  const queue = (server as unknown as { queryQueue: { db: PGlite } }).queryQueue;
  let midQuery = false;
  queue.db = new Proxy(pglite, {
    get(target, property) {
      if (property === 'isInTransaction') return () => midQuery || target.isInTransaction();
      if (property === 'execProtocolRawStream') {
        return (message: Uint8Array, options: Parameters<PGlite['execProtocolRawStream']>[1]) => {
          // Other messages (the startup packet, a password) neither begin nor end one.
          if (EXTENDED_QUERY.has(message[0]!)) midQuery = true;
          else if (QUERY_ENDS.has(message[0]!)) midQuery = false;
          return target.execProtocolRawStream(message, options);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
