/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by module
 * (npm package, src/ file or Node internals), and inclusive time by package (time with that package
 * anywhere on the stack). Idle time is reported but left out of the percentages.
 *
 * `tsx bench/summarize-profile.ts <file.cpuprofile> [--top=25] [--from=µs --to=µs] [--callers=fn] [--json=out.json]`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  /** Every busy sample in exactly one bucket (see `categoryOf`). */
  categories: Row[];
  functions: Row[];
  modules: Row[];
  packagesInclusive: Row[];
  /** Inclusive time of the project's own functions (a top-down view through src/). */
  srcInclusive: Row[];
  /** Inclusive time of MikroORM functions. */
  ormInclusive: Row[];
  /** With `callersOf`: the call chains leading to that function, by its self time. */
  callers?: { of: string; rows: Row[] };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Which module a frame belongs to: an npm package, a project file, Node internals or a V8 pseudo-frame. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle), (root)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node: internals';
  let file = url;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // keep as is
    }
  }
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith(ROOT)) return path.relative(ROOT, file);
  return file;
}

const ORM_PACKAGES = new Set(['knex', 'lodash', 'tarn', 'dataloader']);
const PG_PACKAGES = new Set(['pg', 'pg-protocol', 'pg-pool', 'pg-types', 'postgres-array', 'postgres-date']);

/**
 * Where a sample's time goes, from its whole stack (innermost first): one bucket per sample, so the
 * buckets add up to 100 % of busy time.
 */
export function categoryOf(stack: { module: string; functionName: string; url: string }[]): string {
  const leaf = stack[0];
  const modules = stack.map((f) => f.module);
  const has = (pred: (m: string) => boolean) => modules.some(pred);
  const inOrm = has((m) => m.startsWith('@mikro-orm/') || m === 'knex');
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(program)') return 'V8/native, unattributed ((program))';
  if (leaf.module === 'bench/sql-trace.ts') return 'profiling preload (bench/sql-trace.ts)';
  if (has((m) => m.startsWith('wasm://') || m.startsWith('@electric-sql/pglite')))
    return 'embedded PostgreSQL (PGlite: JS + WASM)';
  if (
    stack.some((f) => f.url.startsWith('node:internal/modules/')) ||
    has((m) => m === 'tsx' || m === 'esbuild')
  )
    return 'module loading (resolve, tsx transform, compile, top-level evaluation)';
  if (leaf.functionName === 'writeBuffer' || leaf.functionName === 'writev') {
    if (has((m) => PG_PACKAGES.has(m))) return 'socket writes to PostgreSQL (syscalls)';
    if (
      has((m) => m === 'node: internals') &&
      stack.some((f) => /^(_?write|end|_send|writeHead)/.test(f.functionName)) &&
      !inOrm
    )
      return 'socket writes: HTTP responses (syscalls)';
    return 'socket writes, other';
  }
  if (inOrm && (leaf.module.startsWith('@mikro-orm/') || ORM_PACKAGES.has(leaf.module)))
    return 'ORM: MikroORM + knex (their own code)';
  if (has((m) => PG_PACKAGES.has(m))) return 'pg driver (protocol, type parsing)';
  if (inOrm) return 'ORM: runtime code it calls (promises, events, ...)';
  if (
    has((m) => m === 'node: internals') &&
    stack.some((f) => /Hook$|^_propagate$|^run$/.test(f.functionName)) &&
    leaf.module === 'node: internals'
  )
    return 'async_hooks / AsyncLocalStorage';
  if (has((m) => m.startsWith('src/'))) return 'product code (src/ on the stack, outside the ORM)';
  if (has((m) => m === 'bench/ceiling.ts')) return 'ceiling code (bench/ceiling.ts on the stack)';
  if (leaf.module === 'node: internals' || leaf.module === '(native)')
    return 'Node runtime: http/net/streams/events/microtasks';
  return `other: ${leaf.module}`;
}

/** Package-level grouping: project files collapse to their top directory (src/http, src/secrets, ...). */
function packageOf(module: string): string {
  if (module.startsWith('src/') || module.startsWith('bench/') || module.startsWith('migrations/')) {
    const parts = module.split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : module;
  }
  return module;
}

/**
 * `fromUs`/`toUs`: only samples taken in that window (V8 profile timestamps: CLOCK_MONOTONIC in µs,
 * the clock of `process.hrtime` in any process on the machine).
 */
export function summarize(
  file: string,
  {
    top = 25,
    fromUs = -Infinity,
    toUs = Infinity,
    callersOf,
  }: { top?: number; fromUs?: number; toUs?: number; callersOf?: string } = {},
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByNode = new Map<number, number>();
  let at = profile.startTime;
  let firstUs = Infinity;
  let lastUs = -Infinity;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (at < fromUs || at > toUs) continue;
    firstUs = Math.min(firstUs, at);
    lastUs = Math.max(lastUs, at);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // the delta after a sample is that sample's time
    selfByNode.set(profile.samples[i], (selfByNode.get(profile.samples[i]) ?? 0) + dt);
  }

  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  const pkgInclusive = new Map<string, number>();
  const callers = new Map<string, number>();
  const categories = new Map<string, number>();
  const srcInclusive = new Map<string, number>();
  const ormInclusive = new Map<string, number>();
  let idleMs = 0;
  let gcMs = 0;
  let totalMs = 0;
  for (const [id, ms] of selfByNode) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    totalMs += ms;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (functionName === '(garbage collector)') gcMs += ms;
    const module = moduleOf(url, functionName);
    // Line numbers of tsx-transformed project files do not match the sources: left out for them.
    const line = module.startsWith('src/') || module.startsWith('bench/') ? '' : `:${lineNumber + 1}`;
    const label = url ? `${functionName || '(anonymous)'}  ${module}${line}` : functionName || '(anonymous)';
    fn.set(label, (fn.get(label) ?? 0) + ms);
    mod.set(module, (mod.get(module) ?? 0) + ms);
    // Inclusive: every distinct package (and src/ or MikroORM function) on this sample's stack gets the time once.
    const seen = new Set<string>();
    const seenSrc = new Set<string>();
    const seenOrm = new Set<string>();
    const stack: { module: string; functionName: string; url: string }[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (frame.functionName === '(root)') continue;
      const frameModule = moduleOf(frame.url, frame.functionName);
      stack.push({ module: frameModule, functionName: frame.functionName, url: frame.url });
      seen.add(packageOf(frameModule));
      const line = frameModule.startsWith('src/') ? '' : `:${frame.lineNumber + 1}`;
      const name = `${frame.functionName || '(anonymous)'}  ${frameModule}${line}`;
      if (frameModule.startsWith('src/')) seenSrc.add(name);
      if (frameModule.startsWith('@mikro-orm/') && frame.functionName) seenOrm.add(name);
    }
    const category = categoryOf(stack);
    categories.set(category, (categories.get(category) ?? 0) + ms);
    for (const p of seen) pkgInclusive.set(p, (pkgInclusive.get(p) ?? 0) + ms);
    for (const f of seenSrc) srcInclusive.set(f, (srcInclusive.get(f) ?? 0) + ms);
    for (const f of seenOrm) ormInclusive.set(f, (ormInclusive.get(f) ?? 0) + ms);
    if (callersOf && functionName === callersOf) {
      // The nearest 5 JavaScript frames above it outside Node's own code, innermost first.
      const chain: string[] = [];
      for (let cur = parent.get(id); cur !== undefined && chain.length < 5; cur = parent.get(cur)) {
        const frame = byId.get(cur)!.callFrame;
        if (!frame.url || frame.url.startsWith('node:')) continue;
        chain.push(`${frame.functionName || '(anonymous)'}@${moduleOf(frame.url, frame.functionName)}`);
      }
      const key = chain.join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + ms);
    }
  }
  const busyMs = totalMs - idleMs;
  const rows = (m: Map<string, number>, n: number): Row[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((1000 * ms) / busyMs) / 10 }));
  return {
    file,
    wallMs: Math.round(
      (Number.isFinite(lastUs) ? lastUs - firstUs : profile.endTime - profile.startTime) / 1000,
    ),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleMs),
    gcMs: Math.round(gcMs),
    categories: rows(categories, 100),
    functions: rows(fn, top),
    modules: rows(mod, top),
    packagesInclusive: rows(pkgInclusive, top),
    srcInclusive: rows(srcInclusive, top),
    ormInclusive: rows(ormInclusive, top),
    ...(callersOf ? { callers: { of: callersOf, rows: rows(callers, top) } } : {}),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const table = (title: string, rows: Row[]) =>
    [
      title,
      ...rows.map((r) => `  ${r.pct.toFixed(1).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`),
    ].join('\n');
  return [
    `${path.relative(process.cwd(), s.file)}: ${s.wallMs} ms profiled, ${s.busyMs} ms busy (percentages are of busy time), ${s.idleMs} ms idle, GC ${s.gcMs} ms`,
    '',
    table('Where the time goes (each sample in one bucket, by its whole stack):', s.categories),
    '',
    table('Self time by module:', s.modules),
    '',
    table('Inclusive time by package (package anywhere on the stack):', s.packagesInclusive),
    '',
    table('Inclusive time of src/ functions (top-down through the product code):', s.srcInclusive),
    '',
    table('Inclusive time of MikroORM functions:', s.ormInclusive),
    '',
    table('Self time by function:', s.functions),
    ...(s.callers ? ['', table(`Callers of ${s.callers.of} (its self time):`, s.callers.rows)] : []),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write(
      'usage: tsx bench/summarize-profile.ts <file.cpuprofile> [--top=25] [--json=out.json]\n',
    );
    process.exit(2);
  }
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const summary = summarize(file, {
    top: Number(arg('top') ?? 25),
    fromUs: arg('from') ? Number(arg('from')) : undefined,
    toUs: arg('to') ? Number(arg('to')) : undefined,
    callersOf: arg('callers'),
  });
  console.log(formatSummary(summary));
  const json = arg('json');
  if (json) writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`);
}
