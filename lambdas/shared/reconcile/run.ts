/**
 * One poll's shared state (a poll of the open set, or a webhook's ring of one batch): the
 * deadline, the policy, the throttled Lasso reader, and the stop every batch sees at once.
 */
import { isRateLimited, LassoApiError } from "#shared/lasso/errors.ts";
import type { Deadline } from "#shared/runtime/time.ts";
import { type LassoThrottle, PollStopped } from "./throttle.ts";

/** How the poll judges a batch over time. */
export interface PollPolicy {
  /** A batch without progress for this long (and not Listening) is stalled. */
  stalledAfterMs: number;
  /** Lasso answering 404 this many polls in a row closes the batch. */
  unknownClosePolls: number;
  /**
   * How long, after a read first saw it, a finished report of a batch Lasso rings webhooks
   * for is held for its own ring (which delivers it without a queue message of its own)
   * before this read sends it: its webhook was lost. 0 sends at once; a ring's read never
   * ends a hold (infinite), the poller does (poll-batches/poll.ts).
   */
  webhookHoldMs: number;
}

/**
 * The poller's hold while the report-ready queue is empty: Lasso calls the webhook as each
 * report finishes (and retries a failed call), and a ring delivers within seconds of it;
 * two minutes later, with nothing on the queue, the webhook is lost.
 */
export const WEBHOOK_GRACE_MS = 120_000;
/**
 * The hold while the queue holds messages (its rings may be among them, waiting behind a
 * backlog): at most this long, so that a lost webhook costs a bounded delay, never a report.
 */
export const WEBHOOK_GRACE_BUSY_MS = 15 * 60_000;

export type StopReason = "rateLimited" | "unauthorized" | "deadline";

/** One poll's shared state: every batch of the poll sees a stop at once. */
export interface PollRun {
  deadline: Deadline;
  /** Time kept free at the end: no batch or page is started with less left. */
  reserveMs: number;
  policy: PollPolicy;
  /** Safety stop against endless paging. */
  maxPages: number;
  /** Every Lasso call of the poll goes through it (rate limit, priorities). */
  lasso: LassoThrottle;
  stop: StopReason | undefined;
}

/** Whether new work may start; records a deadline stop. */
export function mayContinue(run: PollRun): boolean {
  run.stop ??= run.lasso.stopped?.reason;
  if (run.stop !== undefined) return false;
  if (run.deadline.remainingMs() < run.reserveMs) {
    run.stop = "deadline";
    return false;
  }
  return true;
}

/** An error as one line for records and logs (bounded). */
export const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/** The stop a Lasso error asks for (rate limit, bad key), if any. */
export function stopFor(error: unknown): StopReason | undefined {
  if (error instanceof PollStopped) return error.reason;
  if (isRateLimited(error)) return "rateLimited";
  if (error instanceof LassoApiError && (error.status === 401 || error.status === 403)) return "unauthorized";
  return undefined;
}
