/**
 * Lasso's rate limit as a budget every function spends before it calls (docs/lasso-api.md,
 * "The shared budget"). Lasso allows `limit` calls per API key in any 60 s (a sliding
 * window; refused calls do not count), for every call made with the key: submissions,
 * polls, item pages, PDF downloads. One sliding-window counter of the calls granted,
 * shared by every container of every function, holds the calls back before Lasso would
 * refuse them, and, as Lasso's own window does, lets a run spend after a quiet moment what
 * that moment left unused.
 *
 * This file is the port and the window's arithmetic (pure, clock passed in); the window
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

/** The key of the one budget item: one budget per Lasso API key, and a deployment has one. */
export const LASSO_BUDGET_KEY = "lasso-api";

/** Lasso's documented limit: 500 calls a minute per API key. */
export const LASSO_DEFAULT_CALLS_PER_MINUTE = 500;
/** Below this the margins leave too little to spend (see {@link budgetShape}). */
export const MIN_CALLS_PER_MINUTE = 10;

/** The window's measures for one limit. */
export interface BudgetShape {
  /** Lasso's limit: calls in any `windowMs`. */
  limit: number;
  windowMs: number;
  /** Grants are counted per slot of this length (the item keeps one count per slot). */
  slotMs: number;
  /**
   * How long a grant counts against the limit: Lasso's window, plus the lease's lifetime
   * (a leased token is sent at most that much later), plus the arrival margin.
   */
  reachMs: number;
  /** Tokens a container takes in one write at most. */
  leaseSize: number;
  /** A leased token not used within this long is dropped. */
  leaseLifetimeMs: number;
}

/** Latency spread between two calls on their way to Lasso: it shortens Lasso's window for us. */
const ARRIVAL_MARGIN_MS = 500;
/** Counted from before the lease's write: it covers the write's latency on a loaded machine too. */
const LEASE_LIFETIME_MS = 1_000;
const MAX_LEASE = 5;
/** Slots per window: 240 (250 ms at 60 s) keeps the item under 1 KB and the rounding at 0.4 %. */
const SLOTS_PER_WINDOW = 240;

/**
 * The window for `limit` calls in any `windowMs`. A call reaches Lasso at most the lease's
 * lifetime plus the arrival margin after its grant, so the calls in any window of Lasso's
 * were granted within `reachMs` = window + lifetime + margin before its end; a grant is
 * made only while the grants of the last `reachMs` (whole slots, rounded towards counting
 * more) are under the limit. So Lasso never sees more than `limit` in its window, and a
 * run that kept to the limit all along is paced at limit per `reachMs` (about 97 % of it).
 */
export function budgetShape(limit: number, windowMs = 60_000): BudgetShape {
  if (!Number.isInteger(limit) || limit < MIN_CALLS_PER_MINUTE) {
    throw new RangeError(`a Lasso call budget needs a limit of at least ${MIN_CALLS_PER_MINUTE} calls`);
  }
  return {
    limit,
    windowMs,
    slotMs: windowMs / SLOTS_PER_WINDOW,
    reachMs: windowMs + LEASE_LIFETIME_MS + ARRIVAL_MARGIN_MS,
    leaseSize: Math.max(1, Math.min(MAX_LEASE, Math.floor(limit / 20))),
    leaseLifetimeMs: LEASE_LIFETIME_MS,
  };
}

/**
 * The window as stored: grants per slot from slot `base` on (`counts[i]` is slot
 * `base + i`, a slot being `floor(time / slotMs)`), the latest time a taker wrote (ms since
 * the epoch), and a version for conditional writes.
 */
export interface WindowState {
  base: number;
  counts: number[];
  at: number;
  version: number;
}

/** An empty window, as the first taker finds it. */
export function freshWindow(now: number): WindowState {
  return { base: 0, counts: [], at: now, version: 0 };
}

/**
 * The item as the token bucket (the budget before the window) left it: its grants of the
 * last `reachMs` are not known, so the window is taken as full at its time `at`. The
 * first taker after the change waits one reach, rather than risking Lasso's limit.
 */
export function windowFromBucket(shape: BudgetShape, at: number, version: number): WindowState {
  return { base: Math.floor(at / shape.slotMs), counts: [shape.limit], at, version };
}

/**
 * Whether slot `slot` may still hold a grant that counts at `now`: a grant counts while
 * `now - grant < reachMs`, and the slot's grants are taken as made at its end.
 */
function counts(shape: BudgetShape, slot: number, now: number): boolean {
  return (slot + 1) * shape.slotMs > now - shape.reachMs;
}

/**
 * The window at `now`: only the slots that still count. A clock behind `at` (another
 * container's clock ahead of ours, or ours stepped back) is taken as `at`: the window
 * never moves back, and no grant is forgotten early.
 */
export function current(state: WindowState, shape: BudgetShape, now: number): WindowState {
  const at = Math.max(state.at, now);
  let drop = 0;
  // Leading empty slots go too: the item keeps only what still counts.
  while (drop < state.counts.length && (state.counts[drop] === 0 || !counts(shape, state.base + drop, at)))
    drop++;
  return { base: state.base + drop, counts: state.counts.slice(drop), at, version: state.version };
}

/** Grants that still count in a window made `current`. */
export function used(state: WindowState): number {
  return state.counts.reduce((sum, n) => sum + n, 0);
}

export type TakeResult = { ok: true; granted: number; next: WindowState } | { ok: false; waitMs: number };

/**
 * Up to `want` tokens at `now` if at least `need` are free (default 1, at most the lease
 * size), counted in the slot of `now`; or how long until `need` are free (the oldest
 * slots' grants stop counting).
 */
export function takeTokens(
  state: WindowState,
  shape: BudgetShape,
  now: number,
  want: number,
  need = 1,
): TakeResult {
  const window = current(state, shape, now);
  const least = Math.max(1, Math.min(Math.floor(need), shape.leaseSize));
  const free = shape.limit - used(window);
  if (free >= least) {
    const granted = Math.min(Math.max(least, Math.floor(want)), free);
    // The slot of `at`; never one before the newest stored (`at` only moves forward).
    const base = window.counts.length === 0 ? Math.floor(window.at / shape.slotMs) : window.base;
    const slot = Math.max(Math.floor(window.at / shape.slotMs), base + window.counts.length - 1);
    const next = [...window.counts];
    while (next.length <= slot - base) next.push(0);
    next[slot - base] = (next[slot - base] ?? 0) + granted;
    return { ok: true, granted, next: { base, counts: next, at: window.at, version: state.version + 1 } };
  }
  // Free when enough of the oldest slots have stopped counting.
  let freed = free;
  for (let i = 0; i < window.counts.length; i++) {
    freed += window.counts[i] ?? 0;
    if (freed >= least) {
      const endsAt = (window.base + i + 1) * shape.slotMs + shape.reachMs;
      return { ok: false, waitMs: Math.max(1, Math.ceil(endsAt - window.at)) };
    }
  }
  // Unreachable while `least` ≤ the limit: every slot stops counting eventually.
  return { ok: false, waitMs: Math.ceil(shape.reachMs) };
}
