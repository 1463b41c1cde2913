export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix seconds when the current window ends. */
  resetAt: number;
}

const WINDOW_MS = 60_000;

/**
 * Fixed one-minute windows per key (an API key id or a client IP), in this process's memory.
 * A limit of 0 turns it off.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly perMinute: number) {}

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  hit(key: string, now = Date.now()): RateDecision {
    const start = now - (now % WINDOW_MS);
    this.sweep(start);
    let window = this.windows.get(key);
    if (!window || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    return {
      allowed: window.count <= this.perMinute,
      limit: this.perMinute,
      remaining: Math.max(0, this.perMinute - window.count),
      resetAt: Math.ceil((start + WINDOW_MS) / 1000),
    };
  }

  private sweep(currentStart: number): void {
    if (currentStart === this.lastSweep) return;
    this.lastSweep = currentStart;
    for (const [key, window] of this.windows) if (window.start < currentStart) this.windows.delete(key);
  }
}

export function rateLimitHeaders(decision: RateDecision, now = Date.now()): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetAt),
  };
  if (!decision.allowed)
    headers['retry-after'] = String(Math.max(1, decision.resetAt - Math.floor(now / 1000)));
  return headers;
}
