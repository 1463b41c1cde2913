/**
 * `npm start`: runs the compiled server (dist/), compiling it first when dist/ is missing or older
 * than a source file. `npm run build` (`--build`): compile now, and prepare the embedded database's
 * initial data directory (see pgliteTemplate in src/platform/db/database.ts).
 *
 * Plain JavaScript so that it runs before anything is compiled. Without TypeScript installed
 * (`npm ci --omit=dev`) and no up-to-date dist/, it runs the sources through tsx instead.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.built');
/** Out of git's and biome's sight (both ignore node_modules/), on the same file system as dist/. */
const scratch = path.join(root, 'node_modules', '.cache', 'cloud-secrets');
const SOURCES = ['src', 'migrations', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** Newest modification time under a path (a directory's own time changes when files come or go). */
function newest(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((max, name) => Math.max(max, newest(path.join(file, name))), stat.mtimeMs);
}

function upToDate() {
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return SOURCES.every((source) => newest(path.join(root, source)) <= built);
}

function typescriptCompiler() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

/**
 * Compiles src/ and migrations/ into dist/ (type checking is `npm run typecheck`'s job), in a
 * directory of its own first, so that a server starting meanwhile never sees half a dist/.
 */
function compile(tsc) {
  process.stderr.write('Compiling to dist/ (once per change of the sources)...\n');
  const started = new Date(); // a source saved during the compile must make the next start compile again
  const fresh = path.join(scratch, `dist-building-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--outDir', fresh],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    throw new Error(`tsc failed (exit ${result.status ?? result.signal})`);
  }
  // src/app/openapi.ts reads the version from ../../package.json, which from dist/src/app is here.
  cpSync(path.join(root, 'package.json'), path.join(fresh, 'package.json'));
  writeFileSync(path.join(fresh, '.built'), started.toISOString());
  utimesSync(path.join(fresh, '.built'), started, started);
  const old = path.join(scratch, `dist-old-${process.pid}`);
  try {
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(fresh, dist);
  } catch (error) {
    // Another process starting at the same time swapped in its build first: theirs is as good.
    if (!upToDate()) throw error;
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

const tsc = typescriptCompiler();
if (process.argv.includes('--build')) {
  if (!tsc) throw new Error('TypeScript is not installed: run npm ci (with dev dependencies) first');
  compile(tsc);
  const { pgliteTemplate } = await import(pathToFileURL(path.join(dist, 'src/platform/db/database.js')).href);
  await pgliteTemplate();
} else if (tsc || upToDate()) {
  if (!upToDate()) compile(tsc);
  await import(pathToFileURL(path.join(dist, 'src/main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(root, 'src/main.ts')).href);
}
