/**
 * Databases for the tests: the embedded PostgreSQL (PGlite) served on a local socket to several
 * connections, and a database of its own for apps that must not share the run's test database.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { ormOptions, pgliteTemplate } from '../../src/platform/db/database.js';
import { createPGlite } from '../../src/platform/db/pglite.js';

/** A database no other app of the run uses; `url` until `drop()`. */
export interface OwnDatabase {
  url: string;
  drop(): Promise<void>;
}

let ownCounter = 0;

/**
 * A new, migrated database beside the run's test database: on a PostgreSQL server a database of its
 * own (dropped afterwards); on the embedded run a PGlite copied from the migrated template and served
 * here on a socket (several connections, as the run's own). The app migrates a server database itself.
 */
export async function createOwnDatabase(
  sharedUrl: string,
  kind: 'embedded' | 'server',
): Promise<OwnDatabase> {
  if (kind === 'server') {
    const url = new URL(sharedUrl);
    const name = `${url.pathname.slice(1) || 'postgres'}_own_${process.pid}_${++ownCounter}`;
    const admin = await MikroORM.init(ormOptions(sharedUrl, 1));
    try {
      await admin.em.getConnection().execute(`drop database if exists "${name}"`);
      await admin.em.getConnection().execute(`create database "${name}"`);
    } finally {
      await admin.close();
    }
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const again = await MikroORM.init(ormOptions(sharedUrl, 1));
        try {
          await again.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
        } finally {
          await again.close();
        }
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'own-db-'));
  cpSync(await pgliteTemplate(), path.join(dir, 'pg'), { recursive: true });
  const pglite = await createPGlite(path.join(dir, 'pg'));
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 32 });
  keepExtendedQueriesWhole(server, pglite);
  await server.start();
  return {
    url: `postgresql://postgres:postgres@${server.getServerConn()}/postgres`,
    async drop() {
      await server.stop();
      await pglite.close();
      rmSync(dir, { recursive: true, force: true });
    },
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
export function keepExtendedQueriesWhole(server: PGLiteSocketServer, pglite: PGlite): void {
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

/** A session of its own on `url` in a transaction that has written (holds a transaction id), until `end`. */
export async function openWritingTransaction(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  await client.query('select pg_current_xact_id()');
  return {
    async end() {
      await client.query('rollback');
      await client.end();
    },
  };
}
