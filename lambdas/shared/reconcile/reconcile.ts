/**
 * Reconciles one open batch with Lasso (docs/polling.md): reads its status, reads its
 * finished items when something can have changed, hands every report not handed on yet to
 * the report-ready queue, records what needs a human, and closes the batch when it is done.
 * Never throws: every failure becomes the batch's outcome, and the batch stays open for the
 * next poll.
 */
import type { BatchStatus, ItemStatus } from "#shared/lasso/enums.ts";
import { isNotFound, isRateLimited, LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoBatch, LassoItemsPage } from "#shared/lasso/schemas.ts";
import type { Deadline } from "#shared/runtime/time.ts";
import {
  type BatchPollFields,
  type BatchPollUpdate,
  claimBatchForPolling,
  commitBatchPoll,
} from "#shared/state/batch-polling.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import type { BatchRecord, FailedItemNote } from "#shared/state/records.ts";
import { type HandOffEntry, handOnReports } from "#shared/state/report-handoff.ts";
import { releaseListenerCoverage } from "#shared/state/runs.ts";
import { expiresAt } from "#shared/state/state-table.ts";
import {
  type Alerts,
  clearAlert,
  decideClose,
  decideItemsRead,
  hasProgressed,
  type ItemsDecision,
  isFinalStatus,
  isStalled,
  type PollPolicy,
  raiseAlert,
} from "./assess.ts";
import { handOffEntryForItem, manifestCustomers } from "./items.ts";
import type { PollPorts } from "./ports.ts";
import { type LassoThrottle, PollStopped } from "./throttle.ts";

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
  /** Level signals (true every poll while they hold). */
  stalled: boolean;
  unknownToLasso: boolean;
  /** Edge signals (true in the poll that recorded them). */
  finishedWithErrors: boolean;
  incomplete: boolean;
  detail?: string;
}

const MAX_FAILED_NOTES = 100;

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
    stalled: false,
    unknownToLasso: false,
    finishedWithErrors: false,
    incomplete: false,
  };
  if (detail !== undefined) outcome.detail = detail;
  return outcome;
}

const describe = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/** The stop a Lasso error asks for (rate limit, bad key), if any. */
function stopFor(error: unknown): StopReason | undefined {
  if (error instanceof PollStopped) return error.reason;
  if (isRateLimited(error)) return "rateLimited";
  if (error instanceof LassoApiError && (error.status === 401 || error.status === 403)) return "unauthorized";
  return undefined;
}

interface ItemsRead {
  pages: number;
  complete: boolean;
  /** Why the read ended early. */
  error?: string;
  /** The read ended early because the poll must stop (deadline, rate limit), not on a failure. */
  stopped?: boolean;
  /** Distinct finished items (by Lasso's item id, else by identity). */
  finishedItems: number;
  counts: Record<ItemStatus, number>;
  failedNotes: FailedItemNote[];
  handedOn: HandOffEntry[];
  alreadyHandedOn: number;
  raced: number;
  unmarked: number;
  /** Reports that could not be handed on (SQS refused, invalid, unidentifiable), with why. */
  notHandedOn: string[];
}

/** Reads every page of the batch's finished items, handing each page on as it comes. */
async function readAndHandOn(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  isListener: boolean,
  priority: number,
): Promise<ItemsRead> {
  const read: ItemsRead = {
    pages: 0,
    complete: false,
    finishedItems: 0,
    counts: { Completed: 0, Warning: 0, Failed: 0 },
    failedNotes: [],
    handedOn: [],
    alreadyHandedOn: 0,
    raced: 0,
    unmarked: 0,
    notHandedOn: [],
  };
  const customers = manifestCustomers(record);
  const itemKeys = new Set<string>();
  const identities = new Set<string>();
  const tokens = new Set<string>();
  let cToken: string | undefined;
  for (;;) {
    if (!mayContinue(run)) {
      read.error = `stopped after ${read.pages} pages (${run.stop})`;
      read.stopped = true;
      return read;
    }
    let page: LassoItemsPage;
    try {
      const options = cToken === undefined ? {} : { cToken };
      page = await run.lasso.call(priority, (lasso) => lasso.listItems(record.lassoBatchId, options));
    } catch (error) {
      const stop = stopFor(error);
      if (stop !== undefined) {
        run.stop ??= stop;
        read.stopped = true;
      }
      read.error = `items page ${read.pages + 1}: ${describe(error)}`;
      return read;
    }
    read.pages++;
    const seenAt = ports.clock();
    const entries: HandOffEntry[] = [];
    for (const item of page.items) {
      const made = handOffEntryForItem(record, isListener, customers, item, seenAt);
      if (!made.ok) {
        read.notHandedOn.push(`cvr ${item.cvr}: ${made.reason}`);
        continue;
      }
      const { entry } = made;
      itemKeys.add(item.id ?? entry.identity);
      if (identities.has(entry.identity)) continue;
      identities.add(entry.identity);
      read.counts[item.status]++;
      if (item.status === "Failed" && read.failedNotes.length < MAX_FAILED_NOTES) {
        const note: FailedItemNote = { cvr: item.cvr };
        if (item.id !== undefined) note.reportId = item.id;
        if (entry.message.internalCustomerId !== undefined)
          note.internalCustomerId = entry.message.internalCustomerId;
        if (item.fileName !== undefined) note.fileName = item.fileName;
        if (item.errorMessage !== undefined) note.message = item.errorMessage.slice(0, 300);
        read.failedNotes.push(note);
      }
      entries.push(entry);
    }
    let handed: Awaited<ReturnType<typeof handOnReports>>;
    try {
      handed = await handOnReports(ports, entries, ports.clock());
    } catch (error) {
      // Nothing of this page was sent (the markers could not be read): the next poll reads it again.
      read.error = `hand-off of items page ${read.pages}: ${describe(error)}`;
      return read;
    }
    read.handedOn.push(...handed.handedOn);
    read.alreadyHandedOn += handed.alreadyHandedOn.length;
    read.raced += handed.raced.length;
    // Accepted by SQS: handed on, though the marker is missing (the next read may send it again).
    read.unmarked += handed.unmarked.length;
    for (const { entry, rejection } of handed.notHandedOn) {
      read.notHandedOn.push(`${entry.identity}: ${rejection.kind} (${rejection.reason})`);
    }
    const next = page.continuationToken;
    if (next === undefined) {
      read.complete = true;
      read.finishedItems = itemKeys.size;
      return read;
    }
    if (tokens.has(next) || read.pages >= run.maxPages) {
      read.error = tokens.has(next)
        ? `items page ${read.pages} repeats a continuation token`
        : `more than ${run.maxPages} items pages`;
      return read;
    }
    tokens.add(next);
    cToken = next;
  }
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
  const close = polls >= run.policy.unknownClosePolls;
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
  const committed = await commitBatchPoll(ports.table, record, update, now);
  const outcome = emptyOutcome(
    record.lassoBatchId,
    committed === undefined ? "conflict" : close ? "closed" : "open",
  );
  outcome.unknownToLasso = true;
  if (close && committed !== undefined) {
    outcome.closeReason = "unknownToLasso";
    await releaseCoverage(ports, record);
  }
  ports.log.warn("batch unknown to Lasso", { lassoBatchId: record.lassoBatchId, polls, closed: close });
  return outcome;
}

/**
 * A closed listener batch covers nobody any more: its customers' coverage is released so
 * the schedule's next run puts them into a new listener batch.
 */
async function releaseCoverage(ports: PollPorts, record: BatchRecord): Promise<void> {
  if (!record.isListener) return;
  const released = await releaseListenerCoverage(ports.table, record);
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
    const start = ports.clock();
    const record = await getBatchRecord(ports.table, id);
    if (record === undefined || record.openPartition === undefined) {
      return emptyOutcome(id, "skipped", "closed meanwhile");
    }
    if (record.pollLeaseUntil !== undefined && Date.parse(record.pollLeaseUntil) > start.getTime()) {
      return emptyOutcome(id, "skipped", `another poll holds it until ${record.pollLeaseUntil}`);
    }

    let lasso: LassoBatch;
    try {
      lasso = answered ?? (await run.lasso.call(priority, (reader) => reader.getBatch(id)));
    } catch (error) {
      if (isNotFound(error)) return await recordUnknown(ports, run, record, ports.clock());
      const stop = stopFor(error);
      if (stop !== undefined) {
        run.stop ??= stop;
        return emptyOutcome(id, "deferred", describe(error));
      }
      const now = ports.clock();
      await commitBatchPoll(
        ports.table,
        record,
        {
          set: {
            lastPollError: describe(error),
            lastPollErrorAt: now.toISOString(),
            lastPolledAt: now.toISOString(),
          },
        },
        now,
      );
      ports.log.warn("batch status not read", { lassoBatchId: id, error: describe(error) });
      return emptyOutcome(id, "error", describe(error));
    }

    const isListener = record.isListener || lasso.isListener;
    const decision = decideItemsRead(record, lasso);
    let working = record;
    let read: ItemsRead | undefined;
    let deferredRead = false;
    if (decision.read) {
      if (!mayContinue(run)) deferredRead = true;
      else {
        const now = ports.clock();
        const claimed = await claimBatchForPolling(
          ports.table,
          record,
          new Date(now.getTime() + run.deadline.remainingMs()),
          now,
        );
        if (claimed === undefined)
          return emptyOutcome(id, "conflict", "the record changed before the items read");
        working = claimed;
        read = await readAndHandOn(ports, run, working, isListener, priority);
      }
    }

    const now = ports.clock();
    const nowIso = now.toISOString();
    const progressed = hasProgressed(record, lasso) || (read?.handedOn.length ?? 0) > 0;
    const lastProgressAt = progressed ? nowIso : record.lastProgressAt;
    const set: BatchPollUpdate["set"] = {
      status: lasso.status,
      batchSize: lasso.batchSize,
      completionPercentage: lasso.completionPercentage,
      lastProgressAt,
      lastPolledAt: nowIso,
      expiresAt: expiresAt(ports.table, now),
    };
    if (lasso.scheduledTime !== undefined) set.scheduledTime = lasso.scheduledTime;
    if (record.status !== lasso.status) set.statusChangedAt = nowIso;
    const final = isFinalStatus(lasso.status);
    if (final && record.finishedSeenAt === undefined) set.finishedSeenAt = nowIso;
    const remove: (keyof BatchPollFields)[] = ["unknownSince", "unknownPolls"];

    let alerts: Alerts = clearAlert(record.alerts ?? {}, "BatchUnknownToLasso", now);
    const allHandedOn = read?.complete === true && read.notHandedOn.length === 0;
    if (read?.complete === true) {
      set.itemCounts = read.counts;
      set.failedItems = read.failedNotes;
      if (read.notHandedOn.length === 0) set.itemsReadAtCompletion = lasso.completionPercentage;
    }
    if (read?.error !== undefined) {
      set.lastPollError = read.error;
      set.lastPollErrorAt = nowIso;
    } else remove.push("lastPollError", "lastPollErrorAt");

    const failedHandedOn = read?.handedOn.filter((e) => e.message.itemStatus === "Failed").length ?? 0;
    const failedTotal =
      read?.complete === true ? read.counts.Failed : (record.itemCounts?.Failed ?? 0) + failedHandedOn;
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
    const newlyFinishedWithErrors =
      lasso.status === "FinishedWithErrors" && record.status !== "FinishedWithErrors";
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
    } else if (allHandedOn) alerts = clearAlert(alerts, "ReportsNotHandedOn", now);
    const stalled = isStalled(lastProgressAt, lasso, now, run.policy);
    if (stalled) {
      alerts = raiseAlert(
        alerts,
        "BatchStalled",
        now,
        `no progress since ${lastProgressAt} (${lasso.status})`,
      );
    } else alerts = clearAlert(alerts, "BatchStalled", now);

    const close = decideClose({
      lasso,
      isListener,
      completeRead: read?.complete === true,
      allHandedOn,
      finishedItems: read?.finishedItems ?? 0,
      newlyHandedOn: read?.handedOn.length ?? 0,
      finishedSeenBefore: record.finishedSeenAt,
      now,
      policy: run.policy,
    });
    const update: BatchPollUpdate = { set, remove };
    if (close.close) {
      update.close = { reason: close.reason };
      if (close.incomplete !== undefined)
        alerts = raiseAlert(alerts, "BatchIncomplete", now, close.incomplete);
    }
    set.alerts = alerts;

    const committed = await commitBatchPoll(ports.table, working, update, now);
    const outcome = emptyOutcome(
      id,
      committed === undefined
        ? "conflict"
        : close.close
          ? "closed"
          : read?.complete === false && read.stopped !== true
            ? "error"
            : deferredRead || read?.complete === false
              ? "deferred"
              : "open",
    );
    outcome.status = lasso.status;
    outcome.items = decision.why;
    outcome.stalled = stalled;
    if (read !== undefined) {
      outcome.pages = read.pages;
      outcome.completeRead = read.complete;
      outcome.handedOn = read.handedOn.length;
      outcome.failedHandedOn = failedHandedOn;
      outcome.warningHandedOn = read.handedOn.filter((e) => e.message.itemStatus === "Warning").length;
      outcome.alreadyHandedOn = read.alreadyHandedOn;
      outcome.raced = read.raced;
      outcome.notHandedOn = read.notHandedOn.length;
      outcome.unmarked = read.unmarked;
      if (read.error !== undefined) outcome.detail = read.error;
    }
    if (committed !== undefined) {
      outcome.finishedWithErrors = newlyFinishedWithErrors;
      if (close.close) {
        outcome.closeReason = close.reason;
        outcome.incomplete = close.incomplete !== undefined;
        await releaseCoverage(ports, working);
        ports.log.info("batch closed", {
          lassoBatchId: id,
          reason: close.reason,
          itemCounts: set.itemCounts,
        });
      }
    } else {
      outcome.detail = "the record changed during the poll; left for the next poll";
    }
    if (read !== undefined && read.notHandedOn.length > 0) {
      ports.log.error("reports not handed on", { lassoBatchId: id, reports: read.notHandedOn.slice(0, 20) });
    }
    if (stalled) ports.log.warn("batch stalled", { lassoBatchId: id, status: lasso.status, lastProgressAt });
    return outcome;
  } catch (error) {
    ports.log.error("batch poll failed", { lassoBatchId: id, error: describe(error) });
    return emptyOutcome(id, "error", describe(error));
  }
}
