/**
 * Lasso's rate limit as a budget every function spends before it calls (docs/lasso-api.md,
 * "The shared budget"). Lasso allows `limit` calls per API key in any 60 s (a sliding
 * window; refused calls do not count), for every call made with the key: submissions,
 * polls, item pages, PDF downloads. One token bucket, shared by every container of every
 * function, holds the calls back before Lasso would refuse them.
 *
 * This file is the port and the bucket's arithmetic (pure, clock passed in); the bucket
 * shared through DynamoDB is runtime/lasso-budget.ts.
 */

/** What a Lasso call takes one token from, just before it is sent. */
export interface LassoCallBudget {
  /**
   * Resolves when one call may be made now. Waits for a token at most `maxWaitMs` (the
   * budget's own default when absent); when the wait would be longer, throws
   * {@link LassoBudgetExhausted} with the time until a token is expected.
   */
  take(options?: { maxWaitMs?: number }): Promise<void>;
}

/** No token within the time the caller could wait: treat it as Lasso's 429 with that `retry-after`. */
export class LassoBudgetExhausted extends Error {
  override readonly name = "LassoBudgetExhausted";
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super(`Lasso's call budget has no token for another ${Math.ceil(retryAfterMs)} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** For a Lasso without a limit (local `--lasso-rate 0`) and for tests that do not count. */
export const UNLIMITED_LASSO_BUDGET: LassoCallBudget = { take: async () => undefined };

/** The key of the one bucket item: one bucket per Lasso API key, and a deployment has one. */
export const LASSO_BUDGET_KEY = "lasso-api";

/** Lasso's documented limit: 500 calls a minute per API key. */
export const LASSO_DEFAULT_CALLS_PER_MINUTE = 500;
/** Below this the bucket's margins leave too little to spend (see {@link budgetShape}). */
export const MIN_CALLS_PER_MINUTE = 10;

/** The bucket's size and pace for one limit. */
export interface BudgetShape {
  /** Lasso's limit: calls in any `windowMs`. */
  limit: number;
  windowMs: number;
  /** Tokens the bucket holds at most (the largest burst). */
  capacity: number;
  /** Tokens added per millisecond. */
  refillPerMs: number;
  /** Tokens a container takes in one write. */
  leaseSize: number;
  /** A leased token not used within this long is dropped. */
  leaseLifetimeMs: number;
}

/** Latency spread between two calls on their way to Lasso: it shortens Lasso's window for us. */
const ARRIVAL_MARGIN_MS = 500;
const LEASE_LIFETIME_MS = 1_000;
const MAX_CAPACITY = 5;

/**
 * The bucket for `limit` calls in any `windowMs`. Calls sent in a window of Lasso's are at
 * most the tokens taken from the bucket from `leaseLifetimeMs` before it (a lease's tokens
 * are used within that) plus the arrival margin to its end: capacity + refill × (window +
 * lease lifetime + margin). The refill is chosen so that this is exactly `limit`; the
 * capacity is small (5 at 500 a minute), so the bucket runs at 98 % of the limit.
 */
export function budgetShape(limit: number, windowMs = 60_000): BudgetShape {
  if (!Number.isInteger(limit) || limit < MIN_CALLS_PER_MINUTE) {
    throw new RangeError(`a Lasso call budget needs a limit of at least ${MIN_CALLS_PER_MINUTE} calls`);
  }
  const capacity = Math.max(1, Math.min(MAX_CAPACITY, Math.floor(limit / 20)));
  return {
    limit,
    windowMs,
    capacity,
    refillPerMs: (limit - capacity) / (windowMs + LEASE_LIFETIME_MS + ARRIVAL_MARGIN_MS),
    leaseSize: capacity,
    leaseLifetimeMs: LEASE_LIFETIME_MS,
  };
}

/** The bucket as stored: tokens left at time `at` (ms since the epoch), and a version for conditional writes. */
export interface BucketState {
  tokens: number;
  at: number;
  version: number;
}

/** A full bucket, as the first taker finds it. */
export function freshBucket(shape: BudgetShape, now: number): BucketState {
  return { tokens: shape.capacity, at: now, version: 0 };
}

/**
 * The bucket at `now`: refilled for the time since `at`, never above capacity. A clock
 * behind `at` (another container's clock ahead of ours, or ours stepped back) adds nothing
 * and leaves `at` where it was: time is never counted twice.
 */
export function refilled(state: BucketState, shape: BudgetShape, now: number): BucketState {
  const elapsed = Math.max(0, now - state.at);
  return {
    tokens: Math.min(shape.capacity, Math.max(0, state.tokens) + elapsed * shape.refillPerMs),
    at: Math.max(state.at, now),
    version: state.version,
  };
}

export type TakeResult = { ok: true; granted: number; next: BucketState } | { ok: false; waitMs: number };

/**
 * Up to `want` whole tokens at `now` if at least `need` are there (default 1, at most the
 * capacity), or how long until `need` are.
 */
export function takeTokens(
  state: BucketState,
  shape: BudgetShape,
  now: number,
  want: number,
  need = 1,
): TakeResult {
  const current = refilled(state, shape, now);
  const least = Math.max(1, Math.min(Math.floor(need), shape.capacity));
  const available = Math.floor(current.tokens);
  if (available >= least) {
    const granted = Math.min(Math.max(least, Math.floor(want)), available);
    return {
      ok: true,
      granted,
      next: { tokens: current.tokens - granted, at: current.at, version: state.version + 1 },
    };
  }
  return { ok: false, waitMs: Math.max(1, Math.ceil((least - current.tokens) / shape.refillPerMs)) };
}
