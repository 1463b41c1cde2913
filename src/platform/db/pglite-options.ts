import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * How every embedded PostgreSQL starts, the server's and the tests': PGlite's own start parameters,
 * with 16 MB of shared buffers instead of PostgreSQL's 128 MB. PGlite sets up its shared memory in
 * WebAssembly at every start: 128 MB took ~0.35 s of a ~1 s start here, and as much resident memory.
 * One session on a development-sized database does not need them (ADR 0014).
 */
export const PGLITE_OPTIONS = {
  startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'],
} satisfies PGliteOptions;
