import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ormOptions } from '../src/platform/db/database.js';
import { RateLimiter } from '../src/platform/http/rate-limit.js';
import { createLogger } from '../src/platform/logger.js';
import { UNKNOWN_UUID } from './support/constants.js';
import { graphql, rest, useApp, useApps, useServerProcesses } from './support/harness.js';
import { sleep } from './support/scenarios/processes.js';

/** Counts are per one-minute window: a burst that must fit in one window starts early in one. */
async function awayFromWindowEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await sleep(left + 50);
}

/** A fixed moment at the start of a minute, far from the real clock's windows. */
const T0 = Date.UTC(2020, 0, 1, 12, 0, 0);

async function hits(limiter: RateLimiter, key: string, count: number, now: number) {
  const decisions = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.hit(key, now));
  return decisions;
}

describe('rate limits per API key', () => {
  const t = useApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });

  it('answers 429 with Retry-After once a key exceeds its limit, on both doors; other keys are unaffected', async () => {
    await awayFromWindowEnd();
    const team = await t.newTeam();
    const call = rest(t.url, team.ownerKey);
    const path = `/v1/teams/${team.teamId}/secrets/${UNKNOWN_UUID}`;
    const first = await call('GET', path);
    expect(first.status).toBe(404);
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect((await call('GET', path)).headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await call('GET', path)).headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await call('GET', path);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.body).toMatchObject({
      error: 'Rate limit exceeded',
      detail: expect.stringContaining('3'),
    });

    const gql = await graphql(t.url, team.ownerKey)('{ __typename }');
    expect(gql.status).toBe(429);

    const other = await t.newTeam();
    expect((await rest(t.url, other.ownerKey)('GET', `/v1/teams/${other.teamId}/secrets`)).status).toBe(200);
  });

  it('counts in PostgreSQL, per API key and window', async () => {
    await awayFromWindowEnd();
    const team = await t.newTeam();
    const [key] = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>('select id from api_keys where team_id = ?', [team.teamId]);
    await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/secrets`);
    await rest(t.url, team.ownerKey)('GET', `/v1/teams/${team.teamId}/secrets`);
    const rows = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute<{ used: number }[]>('select used from rate_limits where bucket = ?', [`key:${key!.id}`]);
    expect(rows).toEqual([{ used: 2 }]);
  });

  it('a limit of 0 turns a limit off: the IP limit (0 here) adds no headers', async () => {
    const anonymous = await rest(t.url)('GET', '/v1/teams/x/secrets');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-ratelimit-limit')).toBeNull();
    expect(new RateLimiter(0, t.app.db.orm, createLogger('silent')).enabled).toBe(false);
  });
});

describe('rate limits per client IP', () => {
  const t = useApp({ env: { RATE_LIMIT_IP_PER_MINUTE: '2' } });

  it('limits unauthenticated and authenticated requests from one IP alike', async () => {
    await awayFromWindowEnd();
    const call = rest(t.url);
    expect((await call('GET', '/v1/teams/x/secrets')).status).toBe(401);
    expect((await call('GET', '/v1/teams/x/secrets')).status).toBe(401);
    const limited = await call('GET', '/v1/teams/x/secrets');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});

describe('two limiters sharing one database', () => {
  const t = useApp();
  let other: MikroORM;
  beforeAll(async () => {
    // A second connection pool: the two limiters share nothing but the database.
    other = await MikroORM.init(ormOptions(inject('databaseUrl'), 1));
  });
  afterAll(async () => {
    await other?.close();
  });
  const logger = createLogger('silent');
  const stored = async (bucket: string) =>
    (
      await t.app.db.orm.em
        .fork()
        .getConnection()
        .execute<{ used: number }[]>('select used from rate_limits where bucket = ?', [bucket])
    ).map((row) => row.used);

  it('together admit exactly the limit per window, then both refuse until the window ends', async () => {
    const a = new RateLimiter(100, t.app.db.orm, logger);
    const b = new RateLimiter(100, other, logger);
    const key = `key:${randomUUID()}`;
    const fromA = await hits(a, key, 3, T0 + 1_000);
    expect(fromA.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(fromA.map((d) => d.remaining)).toEqual([99, 98, 97]);
    const fromB = await hits(b, key, 96, T0 + 2_000);
    expect(fromB.filter((d) => d.allowed)).toHaveLength(95);
    expect(fromB.at(-1)).toMatchObject({ allowed: false, remaining: 0, limit: 100 });
    // A still holds the rest of its block (2 of 5), then finds the shared window used up.
    const more = await hits(a, key, 4, T0 + 3_000);
    expect(more.map((d) => d.allowed)).toEqual([true, true, false, false]);
    expect(more[2]!.resetAt).toBe((T0 + 60_000) / 1000);
    expect(await stored(key)).toEqual([105]);

    // The next window starts from zero on both.
    const next = T0 + 60_000;
    expect(await b.hit(key, next)).toMatchObject({ allowed: true, remaining: 99 });
    expect(await a.hit(key, next + 1)).toMatchObject({ allowed: true, resetAt: (T0 + 120_000) / 1000 });
  });

  it('admit from a leased block without the database, and refuse without it once exhausted', async () => {
    const a = new RateLimiter(40, t.app.db.orm, logger); // blocks of 2
    const key = `ip:${randomUUID()}`;
    const conn = t.app.db.orm.em.fork().getConnection();
    expect((await a.hit(key, T0)).allowed).toBe(true);
    expect(await stored(key)).toEqual([2]);
    await conn.execute('delete from rate_limits where bucket = ?', [key]);
    expect((await a.hit(key, T0)).allowed).toBe(true); // the rest of the block: no row written
    expect(await stored(key)).toEqual([]);
    expect((await a.hit(key, T0)).allowed).toBe(true); // a new lease
    expect(await stored(key)).toEqual([2]);

    // Another process used up the window: the next lease sees it, later refusals ask nobody.
    await conn.execute('update rate_limits set used = 40 where bucket = ?', [key]);
    expect(await hits(a, key, 2, T0)).toMatchObject([{ allowed: true }, { allowed: false }]);
    await conn.execute('delete from rate_limits where bucket = ?', [key]);
    expect((await a.hit(key, T0)).allowed).toBe(false);
    expect(await stored(key)).toEqual([]);
  });

  it('concurrent requests of one key in one process share a lease', async () => {
    const a = new RateLimiter(1000, t.app.db.orm, logger); // blocks of 50
    const key = `key:${randomUUID()}`;
    const decisions = await Promise.all(Array.from({ length: 30 }, () => a.hit(key, T0)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(await stored(key)).toEqual([50]);
  });

  it('fail open when the database is unavailable: this process counts alone, logged once', async () => {
    const closed = await MikroORM.init(ormOptions(inject('databaseUrl'), 1));
    await closed.close();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const limiter = new RateLimiter(3, closed, createLogger('info', sink));
    const decisions = await hits(limiter, `key:${randomUUID()}`, 4, T0);
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    await limiter.hit(`key:${randomUUID()}`, T0);
    expect(lines.filter((line) => line.includes('database unavailable'))).toHaveLength(1);
  });
});

describe('two app instances on one database', () => {
  const [a, b] = useApps({ env: { RATE_LIMIT_PER_MINUTE: '40' } }, { env: { RATE_LIMIT_PER_MINUTE: '40' } });

  it('share one API key limit: 40 requests in all, then 429 from both', async () => {
    await sharedLimit([a.url, b.url], await a.newTeam(), 40);
  });
});

async function sharedLimit(
  urls: string[],
  team: { teamId: string; ownerKey: string },
  limit: number,
): Promise<void> {
  await awayFromWindowEnd();
  const statuses: number[] = [];
  const resets = new Set<string | null>();
  for (let i = 0; i < limit + urls.length; i++) {
    const res = await rest(urls[i % urls.length]!, team.ownerKey)('GET', `/v1/teams/${team.teamId}/secrets`);
    statuses.push(res.status);
    resets.add(res.headers.get('x-ratelimit-reset'));
  }
  expect(resets.size).toBe(1); // one window
  expect(statuses.slice(0, limit).every((status) => status === 200)).toBe(true);
  expect(statuses.slice(limit)).toEqual(urls.map(() => 429));
}

// Real server processes need a PostgreSQL server (the embedded database serves one process).
if (inject('databaseKind') === 'server')
  describe('two server processes on one PostgreSQL', () => {
    const t = useApp({ env: { LOG_LEVEL: 'warn' } });
    const servers = useServerProcesses(2, t, { DATABASE_POOL_MAX: '2', RATE_LIMIT_PER_MINUTE: '40' });

    it('share one API key limit: 40 requests in all, then 429 from both', async () => {
      await sharedLimit(
        servers.map((s) => s.url),
        await t.newTeam(),
        40,
      );
      for (const server of servers) {
        expect(server.stdout.filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
      }
    }, 60_000);
  });
