import v8 from 'node:v8';
import { PGlite } from '@electric-sql/pglite';

/**
 * A PGlite as every embedded PostgreSQL here starts, the server's and the tests' (ADR 0014):
 * - 16 MB of shared buffers instead of PostgreSQL's 128 MB: PGlite sets up its shared memory in
 *   WebAssembly at every start (128 MB took ~0.35 s of a ~1 s start here, and stayed resident);
 * - V8's baseline WebAssembly code only: its optimising tier recompiles the hot functions in the
 *   background, and Node's event loop waits for those jobs before it goes on (~0.3 s right after the
 *   start, before the database could serve). Queries run ~10 % slower once warm. The flag is
 *   process-wide; PGlite is the only WebAssembly in these processes.
 */
export function createPGlite(dataDir: string): Promise<PGlite> {
  v8.setFlagsFromString('--liftoff-only');
  return PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] });
}
