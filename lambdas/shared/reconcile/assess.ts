/**
 * The poller's decisions about one batch, as pure functions of what the record says, what
 * Lasso says now, and the clock (docs/polling.md).
 */
import { type BatchStatus, FINISHED_BATCH_STATUSES } from "#shared/lasso/enums.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import type { BatchPollFields, BatchPollUpdate } from "#shared/state/batch-polling.ts";
import type { BatchAlert, BatchAlertKind, BatchRecord } from "#shared/state/records.ts";
import type { ItemsRead, ReadPlan } from "./items-read.ts";
import type { PollPolicy } from "./run.ts";

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
  | { read: true; why: "final" | "listening" | "progress"; plan: ReadPlan }
  | { read: false; why: "scheduled" | "noProgress" };

/**
 * Whether this poll reads the batch's items, and from where. Reading costs Lasso rate budget
 * (one call per page), so a batch is read only when something can have changed: its
 * completion moved since the last complete read, it is finished (the closing read, always),
 * or it is a listener batch that is Listening (new reports do not move its completion). A
 * read resumes at the record's cursor when there is one.
 */
export function decideItemsRead(record: BatchRecord, lasso: LassoBatch): ItemsDecision {
  const isListener = record.isListener || lasso.isListener;
  const resume = record.itemsCursor !== undefined;
  if (isFinalStatus(lasso.status)) {
    // A listener batch closes only after a whole read from page 1 (decideClose): the poll
    // after the one that saw the stop makes it. A normal batch's closing read may resume:
    // it starts over when it counts fewer items than batchSize.
    if (isListener) {
      return { read: true, why: "final", plan: { resume: resume && record.finishedSeenAt === undefined } };
    }
    return { read: true, why: "final", plan: { resume, expectItems: lasso.batchSize } };
  }
  if (lasso.status === "Scheduled") return { read: false, why: "scheduled" };
  if (isListener && lasso.status === "Listening") return { read: true, why: "listening", plan: { resume } };
  if (lasso.completionPercentage !== (record.itemsReadAtCompletion ?? 0))
    return { read: true, why: "progress", plan: { resume } };
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
  /** The read reached the end of the list in this poll. */
  completeRead: boolean;
  /** ...and it began at page 1 (a listener batch closes only after such a read). */
  readFromFirstPage: boolean;
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
 * - a normal batch when the items read cover its batchSize (a read resumed at the cursor
 *   counts the items before it; one that comes up short is redone from page 1 by
 *   items-read.ts, so the order of Lasso's list does not matter); when fewer appear, it waits
 *   (the items list may lag the status) and closes as incomplete after `stalledAfterMs`;
 * - a listener batch after ListeningStopped, once a poll after the one that first saw the
 *   stop reads the whole list from page 1 and finds nothing new (reports queued before the
 *   stop still finish).
 */
export function decideClose(input: CloseInput): CloseDecision {
  const { lasso } = input;
  if (!isFinalStatus(lasso.status) || !input.completeRead || !input.allHandedOn) return { close: false };
  if (input.isListener) {
    if (input.finishedSeenBefore !== undefined && input.readFromFirstPage && input.newlyHandedOn === 0) {
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

export interface Verdict {
  now: Date;
  update: BatchPollUpdate;
  close: CloseDecision;
  stalled: boolean;
  lastProgressAt: string;
  failedHandedOn: number;
  newlyFinishedWithErrors: boolean;
}

/** Step 4 of a reconciliation: what this poll learnt, as one update of the record (pure). */
export function assessBatch(
  record: BatchRecord,
  lasso: LassoBatch,
  read: ItemsRead | undefined,
  now: Date,
  policy: PollPolicy,
  /** The record's new TTL (epoch seconds). */
  expiresAt: number,
  /** Reports still held for their ring after this poll settled the batch's holds. */
  heldReports = 0,
): Verdict {
  const nowIso = now.toISOString();
  const progressed = hasProgressed(record, lasso) || (read?.handedOn.length ?? 0) > 0;
  const lastProgressAt = progressed ? nowIso : record.lastProgressAt;
  const set: BatchPollUpdate["set"] = {
    status: lasso.status,
    batchSize: lasso.batchSize,
    completionPercentage: lasso.completionPercentage,
    lastProgressAt,
    lastPolledAt: nowIso,
    expiresAt,
  };
  if (lasso.scheduledTime !== undefined) set.scheduledTime = lasso.scheduledTime;
  if (record.status !== lasso.status) set.statusChangedAt = nowIso;
  if (isFinalStatus(lasso.status) && record.finishedSeenAt === undefined) set.finishedSeenAt = nowIso;
  const remove: (keyof BatchPollFields)[] = ["unknownSince", "unknownPolls"];

  const allHandedOn = read?.complete === true && read.notHandedOn.length === 0;
  if (read?.complete === true) {
    set.itemCounts = read.counts;
    set.failedItems = read.failedNotes;
  }
  // The cursor moves only past pages on which every report was handed on (or held in the
  // batch's held set): a later read resumed there must not skip a report that still has to go.
  if (allHandedOn) {
    set.itemsReadAtCompletion = lasso.completionPercentage;
    if (read.cursor !== undefined) set.itemsCursor = read.cursor;
    else remove.push("itemsCursor");
  } else if (read?.startedOver !== undefined) remove.push("itemsCursor");
  if (read?.error !== undefined) {
    set.lastPollError = read.error;
    set.lastPollErrorAt = nowIso;
  } else remove.push("lastPollError", "lastPollErrorAt");

  const failedHandedOn = read?.handedOn.filter((e) => e.message.itemStatus === "Failed").length ?? 0;
  const stalled = isStalled(lastProgressAt, lasso, now, policy);
  const closeInput: CloseInput = {
    lasso,
    isListener: record.isListener || lasso.isListener,
    completeRead: read?.complete === true,
    readFromFirstPage: read?.fromFirstPage === true,
    allHandedOn,
    finishedItems: read?.finishedItems ?? 0,
    newlyHandedOn: read?.handedOn.length ?? 0,
    finishedSeenBefore: record.finishedSeenAt,
    now,
    policy,
  };
  // A report held for its ring is not done: the batch stays open until none is.
  const close = decideClose({ ...closeInput, allHandedOn: allHandedOn && heldReports === 0 });
  if (!close.close && heldReports > 0) {
    // Closing waits only for the held reports: nothing more to read from Lasso for it.
    const closing = decideClose(closeInput);
    if (closing.close && closing.incomplete === undefined) set.closeWhenSettled = closing.reason;
  }
  set.alerts = alertsOf(record, lasso, read, {
    now,
    failedHandedOn,
    allHandedOn,
    stalled,
    lastProgressAt,
    close,
  });
  const update: BatchPollUpdate = { set, remove };
  if (close.close) update.close = { reason: close.reason };
  return {
    now,
    update,
    close,
    stalled,
    lastProgressAt,
    failedHandedOn,
    newlyFinishedWithErrors: lasso.status === "FinishedWithErrors" && record.status !== "FinishedWithErrors",
  };
}

/** The batch's alerts after this poll: raised while a condition holds, cleared after. */
function alertsOf(
  record: BatchRecord,
  lasso: LassoBatch,
  read: ItemsRead | undefined,
  facts: {
    now: Date;
    failedHandedOn: number;
    allHandedOn: boolean;
    stalled: boolean;
    lastProgressAt: string;
    close: CloseDecision;
  },
): Alerts {
  const { now } = facts;
  let alerts: Alerts = clearAlert(record.alerts ?? {}, "BatchUnknownToLasso", now);
  const failedTotal =
    read?.complete === true ? read.counts.Failed : (record.itemCounts?.Failed ?? 0) + facts.failedHandedOn;
  if (failedTotal > 0) {
    const notes = read?.complete === true ? read.failedNotes : (record.failedItems ?? []);
    const cvrs = notes.slice(0, 10).map((n) => n.cvr);
    alerts = raiseAlert(
      alerts,
      "ReportFailed",
      now,
      `${failedTotal} Failed report(s) for operators (not sent to customers): cvr ${cvrs.join(", ")}${failedTotal > cvrs.length ? ", ..." : ""}`,
      failedTotal,
    );
  }
  if (lasso.status === "FinishedWithErrors") {
    alerts = raiseAlert(
      alerts,
      "BatchFinishedWithErrors",
      now,
      "Lasso finished the batch with errors",
      failedTotal,
    );
  }
  if (read !== undefined && read.notHandedOn.length > 0) {
    alerts = raiseAlert(
      alerts,
      "ReportsNotHandedOn",
      now,
      `${read.notHandedOn.length} report(s) not handed on: ${read.notHandedOn.slice(0, 3).join("; ")}`,
      read.notHandedOn.length,
    );
  } else if (facts.allHandedOn) alerts = clearAlert(alerts, "ReportsNotHandedOn", now);
  alerts = facts.stalled
    ? raiseAlert(alerts, "BatchStalled", now, `no progress since ${facts.lastProgressAt} (${lasso.status})`)
    : clearAlert(alerts, "BatchStalled", now);
  if (facts.close.close && facts.close.incomplete !== undefined) {
    alerts = raiseAlert(alerts, "BatchIncomplete", now, facts.close.incomplete);
  }
  return alerts;
}
