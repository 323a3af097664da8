/**
 * One poll (docs/polling.md): every open batch, oldest-polled first, a few at a time,
 * until the open set is done or the invocation must stop (its deadline, Lasso's rate limit,
 * a rejected API key). Batches not reached stay open for the next poll: nothing is dropped.
 */

import { readQueueDepth } from "#shared/queue-depth.ts";
import type { PollPorts } from "#shared/reconcile/ports.ts";
import { type BatchOutcome, reconcileBatch } from "#shared/reconcile/reconcile.ts";
import {
  describeError,
  mayContinue,
  type PollPolicy,
  type PollRun,
  type StopReason,
  WEBHOOK_GRACE_BUSY_MS,
} from "#shared/reconcile/run.ts";
import { LassoThrottle } from "#shared/reconcile/throttle.ts";
import type { Deadline } from "#shared/runtime/time.ts";
import { listOpenBatchesToPoll, type OpenBatchListing } from "#shared/state/batch-polling.ts";

export interface PollOptions {
  deadline: Deadline;
  /** Open batches reconciled at the same time. */
  concurrency: number;
  /** Time kept free at the end of the invocation (longest Lasso call with retries, and a margin). */
  reserveMs: number;
  stalledAfterMs: number;
  /**
   * How long a report of a batch with webhooks is held for its own ring while the queue is
   * empty; while it holds messages, WEBHOOK_GRACE_BUSY_MS (or this, if longer).
   */
  webhookGraceMs: number;
  /** 404s in a row before a batch Lasso does not know is closed (default 3). */
  unknownClosePolls?: number;
  /** Safety stop against endless item paging (default 10000 pages). */
  maxPages?: number;
}

export interface PollSummary {
  openBatches: number;
  /** Batches this poll did not get to (left open for the next one). */
  notStarted: number;
  closed: number;
  open: number;
  deferred: number;
  skipped: number;
  conflicts: number;
  errors: number;
  pagesRead: number;
  reportsHandedOn: number;
  reportsFailed: number;
  reportsWarning: number;
  reportsAlreadyHandedOn: number;
  reportsRaced: number;
  reportsNotHandedOn: number;
  reportsUnmarked: number;
  /** Still held for their ring after this poll (docs/polling.md, "Held for its ring"). */
  reportsHeld: number;
  /** Sent by this poll after their hold: their webhook was lost. */
  reportsSentAfterHold: number;
  batchesStalled: number;
  batchesUnknownToLasso: number;
  batchesFinishedWithErrors: number;
  batchesIncomplete: number;
  /** 429s that got past the client's retries: each paused the poll (or stopped it). */
  rateLimitHits: number;
  rateLimitPausedMs: number;
  stoppedBy?: StopReason;
  batches: BatchOutcome[];
}

/** Never polled first, then the longest ago: a poll cut short does not starve the same batches. */
export function pollOrder<T extends OpenBatchListing>(records: readonly T[]): T[] {
  return [...records].sort((a, b) => {
    const at = a.lastPolledAt ?? "";
    const bt = b.lastPolledAt ?? "";
    if (at !== bt) return at < bt ? -1 : 1;
    return a.lassoBatchId < b.lassoBatchId ? -1 : a.lassoBatchId > b.lassoBatchId ? 1 : 0;
  });
}

/**
 * Runs `work` over `items` with at most `concurrency` at a time, starting an item only
 * while `mayStart()` holds. Resolves with how many were started, when all started are done.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  mayStart: () => boolean,
  work: (item: T, index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && mayStart()) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return next;
}

/**
 * This poll's hold for reports waiting for their ring: the grace, or longer while the
 * report-ready queue holds messages (the rings may be waiting there behind a backlog).
 * Unknown depth counts as empty: a report sent too early costs a message, not a mail.
 */
export async function webhookHoldMs(ports: PollPorts, graceMs: number): Promise<number> {
  if (graceMs <= 0) return 0;
  try {
    const depth = await readQueueDepth(ports.queue.sqs, ports.queue.queueUrl);
    return depth.total > 0 ? Math.max(graceMs, WEBHOOK_GRACE_BUSY_MS) : graceMs;
  } catch (error) {
    ports.log.warn("report-ready queue depth not read: the hold for rings is the grace", {
      error: describeError(error),
    });
    return graceMs;
  }
}

export async function pollOpenBatches(ports: PollPorts, options: PollOptions): Promise<PollSummary> {
  const policy: PollPolicy = {
    stalledAfterMs: options.stalledAfterMs,
    unknownClosePolls: options.unknownClosePolls ?? 3,
    webhookHoldMs: await webhookHoldMs(ports, options.webhookGraceMs),
  };
  const sleep = ports.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const lasso = new LassoThrottle(ports.lasso, {
    concurrency: options.concurrency,
    deadline: options.deadline,
    reserveMs: options.reserveMs,
    sleep,
  });
  const run: PollRun = {
    deadline: options.deadline,
    reserveMs: options.reserveMs,
    policy,
    maxPages: options.maxPages ?? 10_000,
    lasso,
    stop: undefined,
  };
  const records = pollOrder(await listOpenBatchesToPoll(ports.table));
  const outcomes: BatchOutcome[] = [];
  const started = await runBounded(
    records,
    options.concurrency,
    () => mayContinue(run),
    async (record, index) => {
      outcomes.push(await reconcileBatch(ports, run, record, index));
    },
  );
  const count = (result: BatchOutcome["result"]): number =>
    outcomes.filter((o) => o.result === result).length;
  const sum = (pick: (o: BatchOutcome) => number): number =>
    outcomes.reduce((total, o) => total + pick(o), 0);
  const summary: PollSummary = {
    openBatches: records.length,
    notStarted: records.length - started,
    closed: count("closed"),
    open: count("open"),
    deferred: count("deferred"),
    skipped: count("skipped"),
    conflicts: count("conflict"),
    errors: count("error"),
    pagesRead: sum((o) => o.pages),
    reportsHandedOn: sum((o) => o.handedOn),
    reportsFailed: sum((o) => o.failedHandedOn),
    reportsWarning: sum((o) => o.warningHandedOn),
    reportsAlreadyHandedOn: sum((o) => o.alreadyHandedOn),
    reportsRaced: sum((o) => o.raced),
    reportsNotHandedOn: sum((o) => o.notHandedOn),
    reportsUnmarked: sum((o) => o.unmarked),
    reportsHeld: sum((o) => o.held),
    reportsSentAfterHold: sum((o) => o.holdsEnded),
    batchesStalled: sum((o) => (o.stalled ? 1 : 0)),
    batchesUnknownToLasso: sum((o) => (o.unknownToLasso ? 1 : 0)),
    batchesFinishedWithErrors: sum((o) => (o.finishedWithErrors ? 1 : 0)),
    batchesIncomplete: sum((o) => (o.incomplete ? 1 : 0)),
    rateLimitHits: lasso.rateLimitHits,
    rateLimitPausedMs: lasso.pausedMs,
    batches: outcomes,
  };
  if (run.stop !== undefined) summary.stoppedBy = run.stop;
  return summary;
}
