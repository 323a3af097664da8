/**
 * Reconciles one open batch with Lasso (docs/polling.md), in five steps:
 * 1. the record, unless it closed meanwhile or another poll holds it;
 * 2. Lasso's status (getBatch; 404 counts towards closing it as unknown);
 * 3. the finished items, when something can have changed (items-read.ts), and the
 *    reports held for their ring (held.ts);
 * 4. the verdicts: progress, counts, alerts, whether it is done (assess.ts decides);
 * 5. one version-checked write of all that, and the outcome.
 * Never throws: every failure becomes the batch's outcome, and the batch stays open for the
 * next poll.
 */
import type { BatchStatus } from "#shared/lasso/enums.ts";
import { isNotFound } from "#shared/lasso/errors.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { type BatchPollUpdate, claimBatchForPolling, commitBatchPoll } from "#shared/state/batch-polling.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import { earliestOf } from "#shared/state/held-reports.ts";
import { releaseListenerCoverage } from "#shared/state/listener-coverage.ts";
import type { BatchRecord, ManifestEntry } from "#shared/state/records.ts";
import { expiresAt } from "#shared/state/state-table.ts";
import {
  assessBatch,
  decideItemsRead,
  type ItemsDecision,
  isFinalStatus,
  raiseAlert,
  type Verdict,
} from "./assess.ts";
import { holdsToSettle, settleHeld } from "./held.ts";
import { type ItemsRead, readAndHandOn } from "./items-read.ts";
import { manifestOf, type PollPorts } from "./ports.ts";
import { describeError, mayContinue, type PollRun, stopFor } from "./run.ts";

export type BatchResult = "closed" | "open" | "deferred" | "skipped" | "conflict" | "error";

export interface BatchOutcome {
  lassoBatchId: string;
  result: BatchResult;
  status?: BatchStatus;
  closeReason?: string;
  items?: ItemsDecision["why"];
  pages: number;
  completeRead: boolean;
  handedOn: number;
  failedHandedOn: number;
  warningHandedOn: number;
  alreadyHandedOn: number;
  raced: number;
  notHandedOn: number;
  unmarked: number;
  /** Reports still held for their own ring (held.ts). */
  held: number;
  /** Reports whose hold ended: sent to the queue (their webhook was lost); counted in `handedOn` too. */
  holdsEnded: number;
  /** Level signals (true every poll while they hold). */
  stalled: boolean;
  unknownToLasso: boolean;
  /** Edge signals (true in the poll that recorded them). */
  finishedWithErrors: boolean;
  incomplete: boolean;
  detail?: string;
}

function emptyOutcome(lassoBatchId: string, result: BatchResult, detail?: string): BatchOutcome {
  const outcome: BatchOutcome = {
    lassoBatchId,
    result,
    pages: 0,
    completeRead: false,
    handedOn: 0,
    failedHandedOn: 0,
    warningHandedOn: 0,
    alreadyHandedOn: 0,
    raced: 0,
    notHandedOn: 0,
    unmarked: 0,
    held: 0,
    holdsEnded: 0,
    stalled: false,
    unknownToLasso: false,
    finishedWithErrors: false,
    incomplete: false,
  };
  if (detail !== undefined) outcome.detail = detail;
  return outcome;
}

/** Lasso does not know the batch (404): alert, and close after several polls in a row. */
async function recordUnknown(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  now: Date,
): Promise<BatchOutcome> {
  const polls = (record.unknownPolls ?? 0) + 1;
  const since = record.unknownSince ?? now.toISOString();
  const alerts = raiseAlert(
    record.alerts ?? {},
    "BatchUnknownToLasso",
    now,
    `Lasso answers 404 for batch ${record.lassoBatchId} (${polls} polls in a row since ${since})`,
    polls,
  );
  // Nobody reads a closed batch again: what it still holds for rings is sent first, and it
  // closes only when nothing is left held.
  const held =
    polls >= run.policy.unknownClosePolls ? await settleHeld(ports, record.lassoBatchId, 0) : undefined;
  const close = held !== undefined && held.remaining === 0;
  const update: BatchPollUpdate = {
    set: {
      unknownSince: since,
      unknownPolls: polls,
      alerts,
      lastPolledAt: now.toISOString(),
      expiresAt: expiresAt(ports.table, now),
    },
  };
  if (close) update.close = { reason: "unknownToLasso" };
  const coverage = close ? await coverageToRelease(ports, record) : [];
  const committed = await commitBatchPoll(ports.table, record, update, now);
  const outcome = emptyOutcome(
    record.lassoBatchId,
    committed === undefined ? "conflict" : close ? "closed" : "open",
  );
  outcome.unknownToLasso = true;
  outcome.held = held?.remaining ?? 0;
  outcome.holdsEnded = held?.sent ?? 0;
  outcome.handedOn += outcome.holdsEnded;
  if (close && committed !== undefined) {
    outcome.closeReason = "unknownToLasso";
    await releaseCoverage(ports, record, coverage);
  }
  ports.log.warn("batch unknown to Lasso", { lassoBatchId: record.lassoBatchId, polls, closed: close });
  return outcome;
}

/**
 * Whose coverage a listener batch about to close releases: its manifest, read before the
 * close is committed (a read failing after it would leave the coverage taken for good).
 */
async function coverageToRelease(ports: PollPorts, record: BatchRecord): Promise<readonly ManifestEntry[]> {
  return record.isListener ? manifestOf(ports, record.lassoBatchId) : [];
}

/**
 * A closed listener batch covers nobody any more: its customers' coverage is released so
 * the schedule's next run puts them into a new listener batch.
 */
async function releaseCoverage(
  ports: PollPorts,
  record: BatchRecord,
  manifest: readonly ManifestEntry[],
): Promise<void> {
  if (!record.isListener) return;
  const released = await releaseListenerCoverage(ports.table, { ...record, manifest });
  ports.log.info("listener coverage released", { lassoBatchId: record.lassoBatchId, released });
}

/**
 * Reconciles one batch. `listed` is the record as the open index gave it (maybe stale);
 * `priority` orders its Lasso calls against the other batches' (lower first); `answered`
 * is Lasso's getBatch answer when the caller has just read it (the doorbell), so that it
 * is not asked twice.
 */
export async function reconcileBatch(
  ports: PollPorts,
  run: PollRun,
  listed: Pick<BatchRecord, "lassoBatchId">,
  priority = 0,
  answered?: LassoBatch,
): Promise<BatchOutcome> {
  const id = listed.lassoBatchId;
  try {
    const record = await openRecord(ports, id);
    if (typeof record === "string") return emptyOutcome(id, "skipped", record);
    if (record.closeWhenSettled !== undefined)
      return await closeWhenSettled(ports, run, record, record.closeWhenSettled);
    const status = await readStatus(ports, run, record, priority, answered);
    if (!status.ok) return status.outcome;
    const items = await readItemsIfDue(ports, run, record, status.lasso, priority);
    if (!items.ok) return items.outcome;
    const holdMs = holdMsFor(run, status.lasso);
    const final = isFinalStatus(status.lasso.status);
    const settled = holdsToSettle(record, items.read?.heldFrom, final, holdMs, ports.clock())
      ? await settleHeld(ports, id, holdMs)
      : undefined;
    // Unsettled: nothing can be sent yet, and the batch cannot close (its status is not final).
    const held = settled ?? {
      remaining: record.heldCount ?? 0,
      sent: 0,
      from: earliestOf([record.heldFrom ?? undefined, items.read?.heldFrom]),
    };
    const now = ports.clock();
    const verdict = assessBatch(
      record,
      status.lasso,
      items.read,
      now,
      run.policy,
      expiresAt(ports.table, now),
      held.remaining,
    );
    verdict.update.set.heldFrom = held.from ?? null;
    if (settled !== undefined) {
      verdict.update.set.heldSettledAt = now.toISOString();
      verdict.update.set.heldCount = settled.remaining;
    }
    const outcome = await commitAndReport(ports, record, status.lasso, items, verdict);
    outcome.held = held.remaining;
    outcome.holdsEnded = held.sent;
    outcome.handedOn += held.sent;
    return outcome;
  } catch (error) {
    ports.log.error("batch poll failed", { lassoBatchId: id, error: describeError(error) });
    return emptyOutcome(id, "error", describeError(error));
  }
}

/**
 * A batch whose closing read is done waits only for its held reports: they are settled,
 * and it closes with the reason that read decided once none is held. No Lasso call.
 */
async function closeWhenSettled(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  reason: string,
): Promise<BatchOutcome> {
  const id = record.lassoBatchId;
  const held = await settleHeld(ports, id, run.policy.webhookHoldMs);
  let outcome = emptyOutcome(id, "open", "closing once its held reports are settled");
  if (held.remaining === 0) {
    const now = ports.clock();
    const coverage = await coverageToRelease(ports, record);
    const committed = await commitBatchPoll(
      ports.table,
      record,
      { set: { lastPolledAt: now.toISOString() }, close: { reason } },
      now,
    );
    outcome = emptyOutcome(id, committed === undefined ? "conflict" : "closed");
    if (committed !== undefined) {
      outcome.closeReason = reason;
      await releaseCoverage(ports, record, coverage);
      ports.log.info("batch closed", { lassoBatchId: id, reason, afterHeld: true });
    }
  }
  outcome.held = held.remaining;
  outcome.holdsEnded = held.sent;
  outcome.handedOn += held.sent;
  return outcome;
}

/** Lasso's own word on the batch says whether a webhook rings for each of its reports. */
const holdMsFor = (run: PollRun, lasso: LassoBatch): number =>
  lasso.notificationWebhookUrl === undefined ? 0 : run.policy.webhookHoldMs;

/** Step 1: the batch's record, or why this poll leaves it alone. */
async function openRecord(ports: PollPorts, id: string): Promise<BatchRecord | string> {
  const start = ports.clock();
  const record = await getBatchRecord(ports.table, id);
  if (record === undefined || record.openPartition === undefined) return "closed meanwhile";
  if (record.pollLeaseUntil !== undefined && Date.parse(record.pollLeaseUntil) > start.getTime()) {
    return `another poll holds it until ${record.pollLeaseUntil}`;
  }
  return record;
}

type Step<T> = ({ ok: true } & T) | { ok: false; outcome: BatchOutcome };

/** Step 2: Lasso's word on the batch; a failure is recorded on the batch and ends the step. */
async function readStatus(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  priority: number,
  answered: LassoBatch | undefined,
): Promise<Step<{ lasso: LassoBatch }>> {
  const id = record.lassoBatchId;
  try {
    return { ok: true, lasso: answered ?? (await run.lasso.call(priority, (reader) => reader.getBatch(id))) };
  } catch (error) {
    if (isNotFound(error))
      return { ok: false, outcome: await recordUnknown(ports, run, record, ports.clock()) };
    const stop = stopFor(error);
    if (stop !== undefined) {
      run.stop ??= stop;
      return { ok: false, outcome: emptyOutcome(id, "deferred", describeError(error)) };
    }
    const now = ports.clock();
    const at = now.toISOString();
    await commitBatchPoll(
      ports.table,
      record,
      { set: { lastPollError: describeError(error), lastPollErrorAt: at, lastPolledAt: at } },
      now,
    );
    ports.log.warn("batch status not read", { lassoBatchId: id, error: describeError(error) });
    return { ok: false, outcome: emptyOutcome(id, "error", describeError(error)) };
  }
}

interface ItemsStep {
  decision: ItemsDecision;
  /** The record as claimed for the read (its version moved), else as read. */
  working: BatchRecord;
  read: ItemsRead | undefined;
  /** A read was due, but the poll had to stop first. */
  deferredRead: boolean;
}

/** Step 3: the finished items, read under the batch's lease, when something can have changed. */
async function readItemsIfDue(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  lasso: LassoBatch,
  priority: number,
): Promise<Step<ItemsStep>> {
  const decision = decideItemsRead(record, lasso);
  if (!decision.read) return { ok: true, decision, working: record, read: undefined, deferredRead: false };
  if (!mayContinue(run)) return { ok: true, decision, working: record, read: undefined, deferredRead: true };
  const now = ports.clock();
  const claimed = await claimBatchForPolling(
    ports.table,
    record,
    new Date(now.getTime() + run.deadline.remainingMs()),
    now,
  );
  if (claimed === undefined) {
    return {
      ok: false,
      outcome: emptyOutcome(record.lassoBatchId, "conflict", "the record changed before the items read"),
    };
  }
  const isListener = record.isListener || lasso.isListener;
  const read = await readAndHandOn(ports, run, claimed, isListener, priority, {
    ...decision.plan,
    holdMs: holdMsFor(run, lasso),
  });
  return { ok: true, decision, working: claimed, read, deferredRead: false };
}

/** Step 5: one version-checked write; the outcome says what happened, logs say what needs a human. */
async function commitAndReport(
  ports: PollPorts,
  record: BatchRecord,
  lasso: LassoBatch,
  items: ItemsStep,
  verdict: Verdict,
): Promise<BatchOutcome> {
  const id = record.lassoBatchId;
  const { read, working } = items;
  const { close } = verdict;
  const coverage = close.close ? await coverageToRelease(ports, working) : [];
  const committed = await commitBatchPoll(ports.table, working, verdict.update, verdict.now);
  const result: BatchResult =
    committed === undefined
      ? "conflict"
      : close.close
        ? "closed"
        : read?.complete === false && read.stopped !== true
          ? "error"
          : items.deferredRead || read?.complete === false
            ? "deferred"
            : "open";
  const outcome = emptyOutcome(id, result);
  outcome.status = lasso.status;
  outcome.items = items.decision.why;
  outcome.stalled = verdict.stalled;
  if (read !== undefined) {
    outcome.pages = read.pages;
    outcome.completeRead = read.complete;
    outcome.handedOn = read.handedOn.length;
    outcome.failedHandedOn = verdict.failedHandedOn;
    outcome.warningHandedOn = read.handedOn.filter((e) => e.message.itemStatus === "Warning").length;
    outcome.alreadyHandedOn = read.alreadyHandedOn;
    outcome.raced = read.raced;
    outcome.notHandedOn = read.notHandedOn.length;
    outcome.unmarked = read.unmarked;
    if (read.error !== undefined) outcome.detail = read.error;
  }
  if (committed !== undefined) {
    outcome.finishedWithErrors = verdict.newlyFinishedWithErrors;
    if (close.close) {
      outcome.closeReason = close.reason;
      outcome.incomplete = close.incomplete !== undefined;
      await releaseCoverage(ports, working, coverage);
      ports.log.info("batch closed", {
        lassoBatchId: id,
        reason: close.reason,
        itemCounts: verdict.update.set.itemCounts,
      });
    }
  } else {
    outcome.detail = "the record changed during the poll; left for the next poll";
  }
  if (read !== undefined && read.notHandedOn.length > 0) {
    ports.log.error("reports not handed on", { lassoBatchId: id, reports: read.notHandedOn.slice(0, 20) });
  }
  if (verdict.stalled) {
    ports.log.warn("batch stalled", {
      lassoBatchId: id,
      status: lasso.status,
      lastProgressAt: verdict.lastProgressAt,
    });
  }
  return outcome;
}
