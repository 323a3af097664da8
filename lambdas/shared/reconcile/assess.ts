/**
 * The poller's decisions about one batch, as pure functions of what the record says, what
 * Lasso says now, and the clock (docs/polling.md).
 */
import { type BatchStatus, FINISHED_BATCH_STATUSES } from "#shared/lasso/enums.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import type { BatchAlert, BatchAlertKind, BatchRecord } from "#shared/state/records.ts";

export interface PollPolicy {
  /** A batch without progress for this long (and not Listening) is stalled. */
  stalledAfterMs: number;
  /** Lasso answering 404 this many polls in a row closes the batch. */
  unknownClosePolls: number;
}

/** After these statuses a batch produces no new reports (reports queued before may still finish). */
export const isFinalStatus = (status: BatchStatus): boolean => FINISHED_BATCH_STATUSES.has(status);

/** Lasso's `scheduledTime` ("YYYY-MM-DD HH:mm:ss" UTC, or ISO 8601) as a date, if readable. */
export function parseLassoTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const plain = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(\.\d+)?)$/.exec(trimmed);
  const iso = plain ? `${plain[1]}T${plain[2]}Z` : trimmed;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export type ItemsDecision =
  | { read: true; why: "final" | "listening" | "progress" }
  | { read: false; why: "scheduled" | "noProgress" };

/**
 * Whether this poll reads the batch's items. Reading costs Lasso rate budget (one call per
 * page), so a batch is read only when something can have changed: its completion moved
 * since the last complete read, it is finished (the closing read, always), or it is a
 * listener batch that is Listening (new reports do not move its completion).
 */
export function decideItemsRead(record: BatchRecord, lasso: LassoBatch): ItemsDecision {
  if (isFinalStatus(lasso.status)) return { read: true, why: "final" };
  if (lasso.status === "Scheduled") return { read: false, why: "scheduled" };
  if ((record.isListener || lasso.isListener) && lasso.status === "Listening") {
    return { read: true, why: "listening" };
  }
  if (lasso.completionPercentage !== (record.itemsReadAtCompletion ?? 0))
    return { read: true, why: "progress" };
  return { read: false, why: "noProgress" };
}

/**
 * Lasso's answer shows the batch moving: a new status or completion (a completion not
 * recorded yet counts as 0, so learning that a waiting batch is at 0 is no progress).
 */
export function hasProgressed(record: BatchRecord, lasso: LassoBatch): boolean {
  return record.status !== lasso.status || (record.completionPercentage ?? 0) !== lasso.completionPercentage;
}

/**
 * A batch is stalled when it should be moving and has not for `stalledAfterMs`: measured
 * from its last progress, or from its scheduled time when that is later (a batch scheduled
 * for next week is waiting, not stalled). Listening batches and finished ones never stall.
 */
export function isStalled(
  lastProgressAt: string,
  lasso: LassoBatch,
  now: Date,
  policy: Pick<PollPolicy, "stalledAfterMs">,
): boolean {
  if (isFinalStatus(lasso.status) || lasso.status === "Listening") return false;
  const progress = Date.parse(lastProgressAt);
  const scheduled = parseLassoTime(lasso.scheduledTime)?.getTime() ?? Number.NEGATIVE_INFINITY;
  const reference = Math.max(Number.isNaN(progress) ? 0 : progress, scheduled);
  return now.getTime() - reference > policy.stalledAfterMs;
}

export interface CloseInput {
  lasso: LassoBatch;
  isListener: boolean;
  /** Every page was read in this poll. */
  completeRead: boolean;
  /** Every finished item read was handed on (now or before). */
  allHandedOn: boolean;
  /** Distinct finished items the read found. */
  finishedItems: number;
  /** Reports this read handed on for the first time. */
  newlyHandedOn: number;
  /** When a final status was first seen (before this poll), if it was. */
  finishedSeenBefore: string | undefined;
  now: Date;
  policy: Pick<PollPolicy, "stalledAfterMs">;
}

export type CloseDecision = { close: false } | { close: true; reason: string; incomplete?: string };

/**
 * Closes a batch once it is finished and every finished report is handed on:
 * - a normal batch when the items read cover its batchSize; when fewer appear, it waits
 *   (the items list may lag the status) and closes as incomplete after `stalledAfterMs`;
 * - a listener batch after ListeningStopped, once a poll after the one that first saw the
 *   stop finds nothing new (reports queued before the stop still finish).
 */
export function decideClose(input: CloseInput): CloseDecision {
  const { lasso } = input;
  if (!isFinalStatus(lasso.status) || !input.completeRead || !input.allHandedOn) return { close: false };
  if (input.isListener) {
    if (input.finishedSeenBefore !== undefined && input.newlyHandedOn === 0) {
      return { close: true, reason: lasso.status };
    }
    return { close: false };
  }
  if (input.finishedItems >= lasso.batchSize) return { close: true, reason: lasso.status };
  const seen = input.finishedSeenBefore === undefined ? Number.NaN : Date.parse(input.finishedSeenBefore);
  if (!Number.isNaN(seen) && input.now.getTime() - seen > input.policy.stalledAfterMs) {
    return {
      close: true,
      reason: "incomplete",
      incomplete: `Lasso finished the batch (${lasso.status}) with ${input.finishedItems} of ${lasso.batchSize} reports`,
    };
  }
  return { close: false };
}

export type Alerts = Partial<Record<BatchAlertKind, BatchAlert>>;

/** Raises (or refreshes) an alert: `since` stays from its first raising while it is active. */
export function raiseAlert(
  alerts: Alerts,
  kind: BatchAlertKind,
  now: Date,
  detail: string,
  count?: number,
): Alerts {
  const previous = alerts[kind];
  const active = previous !== undefined && previous.clearedAt === undefined;
  const next: BatchAlert = {
    since: active ? previous.since : now.toISOString(),
    lastSeenAt: now.toISOString(),
    detail,
  };
  if (count !== undefined) next.count = count;
  return { ...alerts, [kind]: next };
}

/** Marks an active alert cleared; no change when it is absent or already cleared. */
export function clearAlert(alerts: Alerts, kind: BatchAlertKind, now: Date): Alerts {
  const previous = alerts[kind];
  if (previous === undefined || previous.clearedAt !== undefined) return alerts;
  return { ...alerts, [kind]: { ...previous, clearedAt: now.toISOString() } };
}
