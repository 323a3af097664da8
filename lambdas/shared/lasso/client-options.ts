/**
 * The Lasso client's options, their defaults and their checks: a client with a bad base
 * URL, key or number fails when it is built, not on its first call.
 */
import { type LassoCallBudget, UNLIMITED_LASSO_BUDGET } from "./call-budget.ts";
import type { LassoRetryOptions, TransportOptions } from "./transport.ts";

/**
 * How a batch is looked up by its token after an ambiguous POST: Lasso may list a batch it
 * accepted only some seconds later, so "not listed" is believed only after a few looks.
 */
export interface SettleLookupOptions {
  /** Look-ups before the batch is taken not to exist (default 3). */
  lookups?: number;
  /** Wait before the second look-up, doubled before each later one (default 2500 ms: looks at 0, 2.5 and 7.5 s). */
  delayMs?: number;
}

export interface LassoClientOptions {
  /** e.g. "https://api.lassox.com" or "http://127.0.0.1:4010" (a trailing slash is ignored). */
  baseUrl: string;
  apiKey: string;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
  retry?: LassoRetryOptions;
  settleLookup?: SettleLookupOptions;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Lasso's rate limit, shared with every other caller of the key: each request takes a
   * token first (default: none, for tools that make a handful of calls).
   */
  callBudget?: LassoCallBudget;
}

const DEFAULTS = { timeoutMs: 10_000, retries: 4, minDelayMs: 200, maxDelayMs: 5_000, maxTotalMs: 30_000 };
const SETTLE_DEFAULTS = { lookups: 3, delayMs: 2_500 };

/** The options checked and completed with their defaults, as the client and its transport take them. */
export function resolveClientOptions(options: LassoClientOptions): {
  settle: Required<SettleLookupOptions>;
  transport: TransportOptions;
} {
  const apiKey = options.apiKey.trim();
  if (!/^[\x20-\x7e]+$/.test(apiKey)) {
    throw new TypeError("LassoClient: apiKey must be a non-empty string of printable ASCII characters");
  }
  const trimmed = options.baseUrl.trim().replace(/\/+$/, "");
  let base: URL;
  try {
    base = new URL(trimmed);
  } catch {
    throw new TypeError(`LassoClient: baseUrl "${trimmed}" is not a URL`);
  }
  if (
    (base.protocol !== "https:" && base.protocol !== "http:") ||
    base.search ||
    base.hash ||
    base.username
  ) {
    throw new TypeError(`LassoClient: baseUrl "${trimmed}" must be a plain http(s) URL`);
  }
  const retry = options.retry ?? {};
  const settle = options.settleLookup ?? {};
  return {
    settle: {
      lookups: Math.max(1, nonNegativeInt(settle.lookups, SETTLE_DEFAULTS.lookups, "settleLookup.lookups")),
      delayMs: nonNegative(settle.delayMs, SETTLE_DEFAULTS.delayMs, "settleLookup.delayMs"),
    },
    transport: {
      apiKey,
      root: `${trimmed}/apps/reporting`,
      origin: base.origin,
      timeoutMs: positive(options.timeoutMs, DEFAULTS.timeoutMs, "timeoutMs"),
      retry: {
        retries: nonNegativeInt(retry.retries, DEFAULTS.retries, "retry.retries"),
        minDelayMs: nonNegative(retry.minDelayMs, DEFAULTS.minDelayMs, "retry.minDelayMs"),
        maxDelayMs: nonNegative(retry.maxDelayMs, DEFAULTS.maxDelayMs, "retry.maxDelayMs"),
        maxTotalMs: nonNegative(retry.maxTotalMs, DEFAULTS.maxTotalMs, "retry.maxTotalMs"),
      },
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      callBudget: options.callBudget ?? UNLIMITED_LASSO_BUDGET,
    },
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out <= 0)
    throw new RangeError(`LassoClient: ${name} must be a positive number`);
  return out;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out < 0) throw new RangeError(`LassoClient: ${name} must be a number >= 0`);
  return out;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  const out = nonNegative(value, fallback, name);
  if (!Number.isInteger(out)) throw new RangeError(`LassoClient: ${name} must be an integer`);
  return out;
}
