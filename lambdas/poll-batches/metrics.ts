/**
 * The poller's CloudWatch metrics (Powertools EMF, namespace METRICS_NAMESPACE,
 * dimension `service` = poll-batches). Every poll emits every metric, zeros included, so
 * alarms see continuous data. Alarm on the first group (sum >= 1); the rest are for graphs.
 */
import type { PollSummary } from "./poll.ts";

export const SERVICE_NAME = "poll-batches";

/** Conditions that need a human: alarm when the sum over a period is at least 1. */
export const POLL_ALARM_METRICS = {
  /** Batches Lasso finished with errors (counted once, when first seen). */
  batchFinishedWithErrors: "BatchFinishedWithErrors",
  /** Failed reports handed on (they go to operators, never to customers). */
  reportFailed: "ReportFailed",
  /** Open batches without progress for STALLED_AFTER_MINUTES (every poll while stalled). */
  batchStalled: "BatchStalled",
  /** Open batches Lasso answers 404 for (every poll; closed after 3 in a row). */
  batchUnknownToLasso: "BatchUnknownToLasso",
  /** Batches closed although fewer finished reports than batchSize appeared. */
  batchIncomplete: "BatchIncomplete",
  /** Finished reports that could not be put on the queue this poll (retried next poll). */
  reportsNotHandedOn: "ReportsNotHandedOn",
  /** Batches whose poll failed with an error (Lasso 5xx after retries, DynamoDB, ...). */
  batchPollErrors: "BatchPollErrors",
  /** 1 when Lasso rejected the API key (401/403) in this poll. */
  lassoUnauthorized: "LassoUnauthorized",
} as const;

/** Throughput and health, for dashboards. */
export const POLL_INFO_METRICS = {
  reportsHandedOn: "ReportsHandedOn",
  reportWarning: "ReportWarning",
  reportsAlreadyHandedOn: "ReportsAlreadyHandedOn",
  /** Sent by the poll but marked by another sender first: a duplicate message the delivery absorbs. */
  reportsRaced: "ReportsRaced",
  /** Accepted by SQS but the marker write failed: may be sent again. */
  reportsUnmarked: "ReportsUnmarked",
  /** Reports of batches with webhooks still held for their own ring after the poll. */
  reportsHeldForRing: "ReportsHeldForRing",
  /** Held reports the poll sent because no ring delivered them in time (lost webhooks; in ReportsHandedOn too). */
  reportsSentAfterHold: "ReportsSentAfterHold",
  openBatches: "OpenBatches",
  batchesClosed: "BatchesClosed",
  /** Batches left for the next poll (deadline, rate limit, cut-short reads). */
  batchesDeferred: "BatchesDeferred",
  /** Updates lost to a concurrent writer (left for the next poll). */
  batchConflicts: "BatchConflicts",
  itemPagesRead: "ItemPagesRead",
  /** 429s that got past the client's retries (each paused the whole poll). */
  lassoRateLimited: "LassoRateLimited",
  /** 1 when the deadline or a rate-limit pause it could not afford stopped the poll early. */
  pollCutShort: "PollCutShort",
} as const;

export type PollMetricName =
  | (typeof POLL_ALARM_METRICS)[keyof typeof POLL_ALARM_METRICS]
  | (typeof POLL_INFO_METRICS)[keyof typeof POLL_INFO_METRICS];

/** Every metric of one poll, as name -> count. */
export function pollMetrics(summary: PollSummary): Record<PollMetricName, number> {
  return {
    BatchFinishedWithErrors: summary.batchesFinishedWithErrors,
    ReportFailed: summary.reportsFailed,
    BatchStalled: summary.batchesStalled,
    BatchUnknownToLasso: summary.batchesUnknownToLasso,
    BatchIncomplete: summary.batchesIncomplete,
    ReportsNotHandedOn: summary.reportsNotHandedOn,
    BatchPollErrors: summary.errors,
    LassoUnauthorized: summary.stoppedBy === "unauthorized" ? 1 : 0,
    ReportsHandedOn: summary.reportsHandedOn,
    ReportWarning: summary.reportsWarning,
    ReportsAlreadyHandedOn: summary.reportsAlreadyHandedOn,
    ReportsRaced: summary.reportsRaced,
    ReportsUnmarked: summary.reportsUnmarked,
    ReportsHeldForRing: summary.reportsHeld,
    ReportsSentAfterHold: summary.reportsSentAfterHold,
    OpenBatches: summary.openBatches,
    BatchesClosed: summary.closed,
    BatchesDeferred: summary.deferred + summary.notStarted,
    BatchConflicts: summary.conflicts,
    ItemPagesRead: summary.pagesRead,
    LassoRateLimited: summary.rateLimitHits,
    PollCutShort: summary.stoppedBy === "deadline" || summary.stoppedBy === "rateLimited" ? 1 : 0,
  };
}
