/** What the delivery throws to its handler (lambda.ts) when a message cannot settle now. */
import { LassoApiError, LassoNetworkError } from "#shared/lasso/errors.ts";

/** Try again later: the message is reported as a batch item failure. */
export class RetryLaterError extends Error {
  override readonly name = "RetryLaterError";
  readonly reason: string;
  /** How long the other side asked us to wait (`retry-after`), when it said. */
  readonly retryAfterMs?: number;

  constructor(reason: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** The message names no report we can identify (no batch anywhere, listener report without id). */
export class UnidentifiableReportError extends Error {
  override readonly name = "UnidentifiableReportError";
}

export function isRetryableLasso(error: unknown): boolean {
  return error instanceof LassoNetworkError || (error instanceof LassoApiError && error.retryable);
}

/** A retryable Lasso failure as a RetryLaterError, with Lasso's `retry-after` when it gave one. */
export function retryLaterForLasso(error: unknown, what: string): RetryLaterError {
  const retryAfter =
    error instanceof LassoApiError && error.retryAfterMs !== undefined
      ? { retryAfterMs: error.retryAfterMs }
      : {};
  return new RetryLaterError("lasso", `Lasso ${what} failed: ${(error as Error).message}`, {
    cause: error,
    ...retryAfter,
  });
}
