/**
 * Per-API-key rate limiter: a sliding window log. At most `limit` requests per key within any
 * `windowMs`; past it the caller is told how long to wait (whole seconds, at least 1), which
 * the server sends as `retry-after` with a 429 and errorCode 26.
 */

export type RateDecision =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

/** What the limiter saw, for benchmarks: calls let through, calls refused, the most let through in one window. */
export interface RateStats {
  accepted: number;
  refused: number;
  /** The most requests of one key let through within any `windowMs` (0 when limiting is off). */
  maxInWindow: number;
  /** The clock's time of the first and the last request let through (0 before any). */
  firstAt: number;
  lastAt: number;
  /** Requests let through in each whole second from the first one (index 0 holds the first). */
  acceptedPerSecond: number[];
}

export class RateLimiter {
  private readonly log = new Map<string, number[]>();
  private readonly counted: RateStats = {
    accepted: 0,
    refused: 0,
    maxInWindow: 0,
    firstAt: 0,
    lastAt: 0,
    acceptedPerSecond: [],
  };

  /**
   * @param limit requests allowed per window; 0 or Infinity disables limiting
   * @param windowMs window length in milliseconds
   * @param clock monotonic milliseconds (injectable for tests)
   */
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Counts one request for `key` when allowed; a refused request does not count. */
  take(key: string): RateDecision {
    const now = this.clock();
    if (this.limit <= 0 || !Number.isFinite(this.limit)) {
      this.#counted(now);
      return { allowed: true, remaining: Infinity };
    }
    const since = now - this.windowMs;
    const stamps = (this.log.get(key) ?? []).filter((t) => t > since);
    if (stamps.length >= this.limit) {
      this.log.set(key, stamps);
      this.counted.refused++;
      const oldest = stamps[0] ?? now;
      const waitMs = oldest + this.windowMs - now;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    stamps.push(now);
    this.log.set(key, stamps);
    this.#counted(now);
    // The log holds exactly the window ending now: its length is that window's count.
    this.counted.maxInWindow = Math.max(this.counted.maxInWindow, stamps.length);
    return { allowed: true, remaining: this.limit - stamps.length };
  }

  #counted(now: number): void {
    if (this.counted.accepted === 0) this.counted.firstAt = now;
    this.counted.accepted++;
    this.counted.lastAt = now;
    // One number a second of traffic: where a run left the limit unused (benchmarks).
    const second = Math.floor((now - this.counted.firstAt) / 1000);
    const perSecond = this.counted.acceptedPerSecond;
    while (perSecond.length <= second) perSecond.push(0);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  }

  stats(): RateStats {
    return { ...this.counted, acceptedPerSecond: [...this.counted.acceptedPerSecond] };
  }

  reset(): void {
    this.log.clear();
  }
}
