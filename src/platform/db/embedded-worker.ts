/**
 * The embedded PostgreSQL's thread (started by src/platform/db/embedded.ts): PGlite persisted in
 * `workerData.pgDir` (first a copy of `workerData.template` when given), served on a local socket.
 * Posts the socket's `host:port` once listening; on the message `'close'`, stops serving, closes
 * PGlite (which flushes it) and ends the thread.
 */
import { cpSync, renameSync, rmSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createPGlite } from './pglite.js';

export interface EmbeddedWorkerData {
  pgDir: string;
  /** A template data directory to copy first (`pgDir` does not exist yet). */
  template?: string;
}

const { pgDir, template } = workerData as EmbeddedWorkerData;
if (template) {
  const partial = `${pgDir}.partial-${process.pid}`;
  try {
    rmSync(partial, { recursive: true, force: true });
    cpSync(template, partial, { recursive: true });
    renameSync(partial, pgDir); // atomic: PGlite never sees a half-copied directory
  } catch {
    // PGlite initialises the directory itself.
  }
}
const pglite = await createPGlite(pgDir);
// One socket connection and a pool of one: PGlite runs one session, so a second connection
// queried inside an open transaction would deadlock.
const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
try {
  await server.start();
} catch (error) {
  await pglite.close();
  throw error;
}
parentPort!.once('message', async () => {
  await server.stop();
  await pglite.close();
  process.exit(0);
});
parentPort!.postMessage(server.getServerConn());
