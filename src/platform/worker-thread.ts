import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `name` that sits beside `moduleUrl` (pass `import.meta.url`):
 * the compiled `name.js`, or, when the sources run as TypeScript (tests, tsx), `name.ts` through
 * tsx (a plain `.ts` worker fails even with `--import tsx`).
 */
export function startWorker(
  moduleUrl: string,
  name: string,
  workerData: unknown,
  options: WorkerOptions = {},
): Worker {
  const extension = path.extname(fileURLToPath(moduleUrl));
  const entry = new URL(`./${name}${extension}`, moduleUrl);
  if (extension === '.js') return new Worker(entry, { ...options, workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const load = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`;
  return new Worker(load, { ...options, eval: true, workerData });
}
