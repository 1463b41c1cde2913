/**
 * The rate limiter's arithmetic without a database (src/platform/http/rate-limit.ts): fixed
 * one-minute windows, the size of a leased block, what a lease grants once the shared count is
 * known, the remaining count and reset time of a decision, and the Retry-After header.
 */
import { describe, expect, it } from 'vitest';
import {
  leaseBlock,
  leaseOutcome,
  rateDecision,
  rateLimitHeaders,
  WINDOW_MS,
  windowStart,
} from '../src/platform/http/rate-limit.js';

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('windows', () => {
  it('are one minute long, aligned to the minute', () => {
    expect(WINDOW_MS).toBe(MINUTE);
    expect(windowStart(at('2030-01-01T10:00:00.000Z'))).toBe(at('2030-01-01T10:00:00.000Z'));
    expect(windowStart(at('2030-01-01T10:00:59.999Z'))).toBe(at('2030-01-01T10:00:00.000Z'));
    expect(windowStart(at('2030-01-01T10:01:00.000Z'))).toBe(at('2030-01-01T10:01:00.000Z'));
  });
});

describe('leased blocks', () => {
  it('are a twentieth of the limit, at least 1 and at most 50', () => {
    expect(leaseBlock(1)).toBe(1);
    expect(leaseBlock(19)).toBe(1);
    expect(leaseBlock(40)).toBe(2);
    expect(leaseBlock(100)).toBe(5);
    expect(leaseBlock(1000)).toBe(50);
    expect(leaseBlock(100_000)).toBe(50);
  });

  it('grant the whole block while the shared count, this lease included, stays within the limit', () => {
    // Limit 100, blocks of 5: the count goes 5, 10, ... each lease adding a block.
    expect(leaseOutcome(5, 100, 5)).toEqual({ granted: 5, sharedUsed: 5, final: false });
    expect(leaseOutcome(5, 100, 95)).toEqual({ granted: 5, sharedUsed: 95, final: false });
  });

  it('grant only the part under the limit, and mark the window used up, once the count reaches it', () => {
    expect(leaseOutcome(5, 100, 100)).toEqual({ granted: 5, sharedUsed: 100, final: true });
    // Another process had leased 3 past 95 (98 before this lease): 2 of this block remain.
    expect(leaseOutcome(5, 100, 103)).toEqual({ granted: 2, sharedUsed: 100, final: true });
    // Everything was taken before this lease: nothing is granted, never a negative grant.
    expect(leaseOutcome(5, 100, 105)).toEqual({ granted: 0, sharedUsed: 100, final: true });
    expect(leaseOutcome(5, 100, 150)).toEqual({ granted: 0, sharedUsed: 100, final: true });
  });

  it('across processes never admit more than the limit in all', () => {
    // Three processes leasing blocks in turn until each is told the window is used up.
    const limit = 47;
    const block = leaseBlock(limit);
    let used = 0;
    let admitted = 0;
    const done = [false, false, false];
    while (done.includes(false)) {
      for (const p of [0, 1, 2]) {
        if (done[p]) continue;
        used += block;
        const outcome = leaseOutcome(block, limit, used);
        admitted += outcome.granted;
        done[p] = outcome.final;
      }
    }
    expect(admitted).toBe(limit);
  });
});

describe('decisions', () => {
  const start = at('2030-01-01T10:00:00.000Z');

  it('remaining: the limit less the shared count, plus what this process holds unspent', () => {
    // Limit 100; the shared count is 20 after this process's leases of 10, of which it used 4.
    expect(rateDecision(100, { start, granted: 10, consumed: 4, sharedUsed: 20 }, true)).toEqual({
      allowed: true,
      limit: 100,
      remaining: 86,
      resetAt: start / 1000 + 60,
    });
    expect(rateDecision(100, { start, granted: 10, consumed: 10, sharedUsed: 100 }, true).remaining).toBe(0);
  });

  it('a refusal has nothing remaining; the reset is the end of the window in Unix seconds', () => {
    const refused = rateDecision(3, { start, granted: 3, consumed: 3, sharedUsed: 3 }, false);
    expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, resetAt: start / 1000 + 60 });
  });
});

describe('headers', () => {
  const resetAt = at('2030-01-01T10:01:00.000Z') / 1000;

  it('an admitted request carries the limit, what remains and the reset, and no Retry-After', () => {
    expect(
      rateLimitHeaders({ allowed: true, limit: 40, remaining: 7, resetAt }, at('2030-01-01T10:00:30Z')),
    ).toEqual({
      'x-ratelimit-limit': '40',
      'x-ratelimit-remaining': '7',
      'x-ratelimit-reset': String(resetAt),
    });
  });

  it('a refusal says how many seconds until the window ends, at least 1', () => {
    const refused = { allowed: false, limit: 40, remaining: 0, resetAt };
    expect(rateLimitHeaders(refused, at('2030-01-01T10:00:15.000Z'))['retry-after']).toBe('45');
    // Part of a second left counts as the whole second it is in.
    expect(rateLimitHeaders(refused, at('2030-01-01T10:00:59.400Z'))['retry-after']).toBe('1');
    // At (or, with clock skew, past) the reset: still 1, never 0 or negative.
    expect(rateLimitHeaders(refused, at('2030-01-01T10:01:00.000Z'))['retry-after']).toBe('1');
    expect(rateLimitHeaders(refused, at('2030-01-01T10:01:05.000Z'))['retry-after']).toBe('1');
  });
});
