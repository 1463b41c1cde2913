/**
 * Preload for a server under profile (`node --import tsx --import ./bench/sql-trace.ts ...`): counts
 * the SQL statements sent through `pg` (which MikroORM/knex use), by statement text with literals and
 * placeholders folded, and writes them to SQL_TRACE_FILE on exit. Never records parameter values.
 * Counting is off until the first SIGUSR2 and stops at the second, so a load window can be isolated.
 */
import { writeFileSync } from 'node:fs';
import { Server } from 'node:http';
import pg from 'pg';

const counts = new Map<string, number>();
let total = 0;
let requests = 0;
let recording = false;
let toggles = 0;
process.on('SIGUSR2', () => {
  toggles++;
  recording = toggles === 1;
});

function normalize(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "'?'")
    .replace(/\$\d+/g, '?')
    .replace(/\b\d+\b/g, 'N')
    .replace(/\((?:\?, ?)+\?\)/g, '(?…)')
    .trim()
    .slice(0, 200);
}

const proto = (pg as unknown as { Client: { prototype: { query: (...args: unknown[]) => unknown } } }).Client
  .prototype;
const original = proto.query;
proto.query = function query(this: unknown, ...args: unknown[]) {
  const first = args[0] as string | { text?: string } | undefined;
  const text = typeof first === 'string' ? first : first?.text;
  if (text && recording) {
    const key = normalize(text);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  return original.apply(this, args);
};

// HTTP requests that arrived while recording: the denominator for statements per request.
const emit = Server.prototype.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;
Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'request' && recording) requests++;
  return emit.apply(this, [event, ...args]);
} as typeof Server.prototype.emit;

process.on('exit', () => {
  const file = process.env.SQL_TRACE_FILE;
  if (!file) return;
  const statements = [...counts].sort((a, b) => b[1] - a[1]).map(([sql, count]) => ({ count, sql }));
  writeFileSync(file, `${JSON.stringify({ requests, total, statements }, null, 2)}\n`);
});
