import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { migrationNames } from '../../../migrations/index.js';
import { startWorker } from '../worker-thread.js';
import type { EmbeddedWorkerData } from './embedded-worker.js';

/** Where the embedded database lives when `DATA_DIR` is not set. */
export const DEFAULT_DATA_DIR = './.data';

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data directory ${path.resolve(dataDir)} is in use by process ${pid} (a running server?). ` +
        'Stop that process first, or set DATABASE_URL to use a PostgreSQL server.',
    );
    this.name = 'DataDirInUseError';
  }
}

/** An embedded PostgreSQL (PGlite) served on a local socket. */
export interface EmbeddedServer {
  /** `host:port` of the socket. */
  address: string;
  /** Stops serving, closes PGlite (flushing it) and unlocks the data directory. */
  close(): Promise<void>;
}

/**
 * Starts PGlite persisted under `dataDir/pg` in a worker thread, so that its WebAssembly (start-up,
 * and every query later) runs beside the main thread's JavaScript instead of on it. Light on
 * imports: src/main.ts calls it before loading the ORM and the HTTP modules.
 * `buildTemplate`: a new database starts as a copy of the template, which it builds when missing
 * (`pgliteTemplate` in src/platform/db/database.ts; passed in, as this module must not load the ORM).
 */
export async function startEmbedded(
  dataDir: string,
  buildTemplate?: () => Promise<string>,
): Promise<EmbeddedServer> {
  const releaseLock = lockDataDir(dataDir);
  try {
    const pgDir = path.join(dataDir, 'pg');
    // Without a template (e.g. node_modules cannot be written), PGlite initialises the directory itself.
    const template =
      buildTemplate && !existsSync(pgDir)
        ? await findTemplate(buildTemplate).catch(() => undefined)
        : undefined;
    const worker = startWorker(import.meta.url, 'embedded-worker', {
      pgDir,
      template,
    } satisfies EmbeddedWorkerData);
    const address = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`The embedded database exited while starting (${code})`)),
      );
    });
    // From now on an error in the worker is not handled: it ends the process, as it did in-process,
    // and so does the worker ending other than through close().
    worker.removeAllListeners();
    let closing: Promise<void> | undefined;
    worker.once('exit', (code) => {
      if (!closing) throw new Error(`The embedded database stopped unexpectedly (${code})`);
    });
    return {
      address,
      close() {
        closing ??= new Promise<void>((resolve, reject) => {
          worker.once('exit', () => resolve());
          worker.once('error', reject);
          worker.postMessage('close');
        }).then(releaseLock);
        return closing;
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * A new embedded database starts as a copy of a freshly initialised and migrated one, kept beside
 * node_modules once per PGlite version and migration list: initdb and the migrations cost seconds of
 * WebAssembly, a copy a fraction of one (made by the worker, off the main thread).
 */
async function findTemplate(buildTemplate: () => Promise<string>): Promise<string> {
  const template = templatePath();
  if (existsSync(path.join(template, 'PG_VERSION'))) return template;
  return buildTemplate();
}

/** Where the template data directory of this PGlite version and migration list is (see pgliteTemplate). */
export function templatePath(): string {
  const packageDir = path.resolve(
    path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')),
    '..',
  );
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const migrations = createHash('sha256').update(migrationNames.join('\n')).digest('hex').slice(0, 12);
  return path.resolve(packageDir, `../../.cache/cloud-secrets/pglite-${version}-${migrations}`);
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
