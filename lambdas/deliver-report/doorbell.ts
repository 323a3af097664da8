/**
 * A webhook is a doorbell (docs/guarantees.md, "Trust"): it says "look at batch B for
 * company C now". It never says what the report is, whose it is, where its PDF is or
 * whether it failed: those come from our own records and from Lasso's API.
 *
 * 1. The batch: ours (a batch record with its manifest), adopted earlier, or unknown. For
 *    an unknown one Lasso's getBatch decides, once per batch: unknown to Lasso → the hint
 *    is unverified; named with one of our run tokens but not on record → brought back
 *    shortly (our record may be on its way), then unverified (a second batch made by an
 *    ambiguous POST is never delivered); made elsewhere (the portal) → adopted: recorded
 *    as an open batch without manifest, which the poller reconciles from then on.
 * 2. The hint against our facts: its type must be the batch's; for our batches its company
 *    must be in the manifest and its internalCustomerId the manifest's. Otherwise the hint
 *    is unverified: recorded, counted, alarmed, mailed to nobody.
 * 3. A report already handed on (or delivered) needs nothing. A report a read of Lasso's
 *    item list has seen finished carries that read's facts on its record (`ready`): the
 *    ring delivers it from them, in place, without a queue message of its own.
 * 4. Otherwise the batch is reconciled now, exactly as the poller does (reconcileBatch):
 *    every finished report of Lasso's list is seen (held for its own ring), or handed on
 *    when the hint cannot name its report; then this ring's report is delivered from the
 *    facts the read wrote (a report Lasso does not list yet is left to the poller). At most
 *    one read per batch per ring interval: a ring that comes sooner, or while another read
 *    holds the batch, is brought back later a bounded number of times, then left to the
 *    poller. Dropping a ring loses nothing: every batch it can be about is open for the
 *    poller, which sends a held report to the queue once its hold is over
 *    (state/report-handoff.ts).
 */

import { carriesRunToken } from "#shared/batch-token.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import { isNotFound, LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import type { LassoReader as PollLassoReader } from "#shared/reconcile/ports.ts";
import { type BatchOutcome, reconcileBatch } from "#shared/reconcile/reconcile.ts";
import { type PollRun, WEBHOOK_GRACE_BUSY_MS } from "#shared/reconcile/run.ts";
import { LassoThrottle } from "#shared/reconcile/throttle.ts";
import { type ReportReadyMessage, reportIdentity, reportReadyMessageSchema } from "#shared/report-ready.ts";
import type { ReportReadyQueue } from "#shared/report-ready-queue.ts";
import type { Log } from "#shared/runtime/log.ts";
import type { Counter } from "#shared/runtime/metrics.ts";
import type { RoutingFactsReader } from "#shared/state/batch-facts-cache.ts";
import { claimRingRead } from "#shared/state/batch-polling.ts";
import {
  type BatchRoutingFacts,
  getBatchRoutingFacts,
  isBatchOpen,
  type NewBatchRecord,
  putNewBatchRecord,
} from "#shared/state/batches.ts";
import { batchKey, OPEN_BATCH_PARTITION } from "#shared/state/keys.ts";
import type { BatchRecord, ReportRecord } from "#shared/state/records.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import { expiresAt, type StateTable } from "#shared/state/state-table.ts";
import {
  freshBatchVerdict,
  recordBatchVerdict,
  recordUnverifiedHint,
  takeBatchLookUp,
  type UnverifiedHint,
} from "#shared/state/unverified.ts";
import { adoptionRefusal, pdfHostOf } from "./adoption.ts";
import { isRetryableLasso, RetryLaterError } from "./errors.ts";

export const DOORBELL_METRICS = {
  /** A webhook our records or Lasso's API contradict: mailed to nobody (alarmed). */
  unverified: "WebhookUnverified",
  /** A ring that read the batch's items from Lasso. */
  read: "DoorbellRead",
  /** Reports a ring's read handed on to the report-ready queue (as facts from Lasso). */
  handedOn: "DoorbellHandedOn",
  /** A ring for a report already handed on: nothing to do. */
  alreadyHandedOn: "DoorbellAlreadyHandedOn",
  /** A ring that delivers its report in place, from the facts a read of Lasso's list wrote. */
  deliversInPlace: "DoorbellDeliversInPlace",
  /** A ring brought back later (dimension `reason`: too-soon, skipped, lasso, ...). */
  deferred: "DoorbellDeferred",
  /** A ring given up on after its bounded retries: the poller's next run covers it. */
  leftToPoller: "DoorbellLeftToPoller",
} as const;

export interface DoorbellConfig {
  /** Least time between two item reads of one batch caused by rings. */
  ringIntervalMs: number;
  /** Receives of one ring message before it is left to the poller (below the queue's maxReceiveCount). */
  ringMaxReceives: number;
  /** Lasso look-ups of batches we have no record of, per minute, for all rings together. */
  lookUpsPerMinute: number;
  /** Our webhook's URL: a batch made elsewhere is adopted only if Lasso notifies exactly it. */
  webhookUrl?: string;
  /** The poller's settings, for the same verdicts (stalled, unknown) from either path. */
  stalledAfterMs: number;
  reserveMs: number;
}

/** What a ring needs of a recorded batch: its fixed facts (the open state is read apart). */
export type RingBatch = BatchRoutingFacts & Pick<BatchRecord, "lassoBatchId">;

export interface DoorbellDeps {
  state: StateTable;
  /**
   * A recorded batch's facts, read once per container (they never change; the manifest
   * holds up to 1,000 entries); without it every ring reads them.
   */
  routingFacts?: RoutingFactsReader;
  queue: ReportReadyQueue;
  lasso: () => Promise<PollLassoReader>;
  clock: () => Date;
  metrics: Counter;
  logger: Log;
  config: DoorbellConfig;
}

export interface RingContext {
  deadline: Date;
  /** SQS's ApproximateReceiveCount of the ring message (1 on its first receive). */
  receiveCount: number;
}

export type RingOutcome =
  | { outcome: "unverified"; reason: string }
  | { outcome: "already-handed-on"; identity: string }
  /**
   * Deliver `message` now (Lasso's facts of the report, from its record), as a report-ready
   * message; `seenAt` names its entry in the batch's held set.
   */
  | { outcome: "deliver"; identity: string; message: ReportReadyMessage; seenAt?: string }
  | { outcome: "read"; batch: BatchOutcome["result"]; handedOn: number }
  | { outcome: "left-to-poller"; reason: string };

/** Why a last ring for a batch we have no record of is recorded unverified. */
const UNSETTLED: Readonly<Record<string, string>> = {
  "own-batch-not-recorded":
    "the batch carries one of our run tokens but is not on record (a second batch from an ambiguous submission?)",
  lasso: "Lasso could not be asked about this batch (errors or throttling on every try)",
  "look-up-budget":
    "the look-ups of unknown batches were over their budget on every try (a flood of webhooks?)",
};

type BatchVerdict =
  | { kind: "known"; record: RingBatch; answered?: LassoBatch }
  | { kind: "unverified"; reason: string }
  | { kind: "later"; reason: string; retryAfterMs: number };

/** A recorded batch's fixed facts, from the container's cache when there is one. */
async function recordedBatch(deps: DoorbellDeps, id: string): Promise<RingBatch | undefined> {
  const facts = await (deps.routingFacts ?? getBatchRoutingFacts)(deps.state, id);
  return facts === undefined ? undefined : { ...facts, lassoBatchId: id };
}

/** Step 1: our record of the batch, or Lasso's word on it (once per batch). */
async function batchVerdict(message: ReportReadyMessage, deps: DoorbellDeps): Promise<BatchVerdict> {
  const id = message.batchId;
  const record = await recordedBatch(deps, id);
  if (record !== undefined) return { kind: "known", record };
  const now = deps.clock();
  const cached = await freshBatchVerdict(deps.state, id, now);
  if (cached !== undefined) return { kind: "unverified", reason: cached };
  if (!(await takeBatchLookUp(deps.state, now, deps.config.lookUpsPerMinute))) {
    const untilNextMinute = 60_000 - (now.getTime() % 60_000);
    return { kind: "later", reason: "look-up-budget", retryAfterMs: untilNextMinute + 1_000 };
  }
  let batch: LassoBatch;
  try {
    batch = await (await deps.lasso()).getBatch(id);
  } catch (error) {
    if (isNotFound(error)) {
      const reason = "Lasso does not know this batch";
      await recordBatchVerdict(deps.state, id, reason, now);
      return { kind: "unverified", reason };
    }
    if (isRetryableLasso(error)) {
      const retryAfterMs = error instanceof LassoApiError ? (error.retryAfterMs ?? 30_000) : 30_000;
      return { kind: "later", reason: "lasso", retryAfterMs };
    }
    throw error;
  }
  if (carriesRunToken(batch.name)) {
    // Our submission records a batch right after Lasso answers: give that record a moment.
    return { kind: "later", reason: "own-batch-not-recorded", retryAfterMs: 2 * deps.config.ringIntervalMs };
  }
  const refusal = adoptionRefusal(batch, id, now, deps.config.webhookUrl);
  if (refusal !== undefined) {
    await recordBatchVerdict(deps.state, id, refusal, now);
    return { kind: "unverified", reason: refusal };
  }
  const type = batch.type as ReportType;
  const at = now.toISOString();
  const adopted: NewBatchRecord = {
    ...batchKey(id),
    recordType: "batch",
    lassoBatchId: id,
    name: batch.name,
    reportType: type,
    isListener: batch.isListener,
    manifest: [],
    status: batch.status,
    batchSize: batch.batchSize,
    completionPercentage: batch.completionPercentage,
    lastProgressAt: at,
    openPartition: OPEN_BATCH_PARTITION,
    adoptedAt: at,
    version: 1,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(deps.state, now),
  };
  if (await putNewBatchRecord(deps.state, adopted)) {
    deps.logger.info("batch made elsewhere adopted after Lasso confirmed it", {
      lassoBatchId: id,
      reportType: type,
      isListener: batch.isListener,
    });
    const facts: RingBatch = {
      lassoBatchId: id,
      reportType: type,
      isListener: batch.isListener,
      manifest: [],
      adoptedAt: at,
    };
    return { kind: "known", record: facts, answered: batch };
  }
  // Someone recorded it meanwhile (our own submission, or another ring): theirs counts.
  const recorded = await recordedBatch(deps, id);
  if (recorded === undefined) throw new Error(`batch record ${id} vanished after a conditional put failed`);
  return { kind: "known", record: recorded };
}

/** Step 2: why the hint contradicts what we know of the batch, if it does. */
export function hintContradiction(message: ReportReadyMessage, record: RingBatch): string | undefined {
  if (message.reportType !== undefined && message.reportType !== record.reportType) {
    return `the webhook says ${message.reportType}, the batch is ${record.reportType}`;
  }
  if (record.adoptedAt !== undefined) return undefined; // made elsewhere: Lasso's item list decides
  const entries = record.manifest.filter((entry) => entry.cvr === message.cvr);
  if (entries.length === 0) return `cvr ${message.cvr} is not in the batch we submitted`;
  const id = message.internalCustomerId;
  if (id !== undefined && !entries.some((entry) => entry.customerId === id)) {
    return `the webhook names customer ${id}; the batch has cvr ${message.cvr} for customer ${entries.map((e) => e.customerId).join(", ")}`;
  }
  return undefined;
}

/** Step 3: the report's identity, when the hint names one report we can tell. */
function hintedIdentity(message: ReportReadyMessage, record: RingBatch): string | undefined {
  if (record.isListener && message.reportId === undefined) return undefined;
  return reportIdentity(
    {
      batchId: record.lassoBatchId,
      cvr: message.cvr,
      reportType: record.reportType,
      reportId: message.reportId,
    },
    { isListener: record.isListener },
  );
}

export async function answerDoorbell(
  message: ReportReadyMessage,
  deps: DoorbellDeps,
  context: RingContext,
): Promise<RingOutcome> {
  const ring = ringOf(message, deps, context);
  const verdict = await batchVerdict(message, deps);
  if (verdict.kind === "unverified") return ring.unverified(verdict.reason);
  if (verdict.kind === "later") {
    // Nobody polls a batch we have no record of: a last ring that could not settle it must
    // leave a trace an operator sees, not vanish.
    if (ring.last)
      return ring.unverified(UNSETTLED[verdict.reason] ?? `could not be confirmed (${verdict.reason})`);
    return ring.later(verdict.reason, verdict.retryAfterMs, `batch ${message.batchId}: ${verdict.reason}`);
  }
  const { record } = verdict;
  const contradiction = hintContradiction(message, record);
  if (contradiction !== undefined) return ring.unverified(contradiction);

  const identity = hintedIdentity(message, record);
  if (identity !== undefined) {
    const known = await reportOnRecord(deps, identity);
    if (known !== undefined) return known;
  }
  if (!(await isBatchOpen(deps.state, record.lassoBatchId))) {
    // A batch closes only after a complete read of its items: Lasso did not list this one.
    return ring.unverified("the batch is closed and Lasso's item list did not have this report");
  }
  if (!(await claimRingRead(deps.state, record.lassoBatchId, deps.clock(), deps.config.ringIntervalMs))) {
    return ring.later("too-soon", deps.config.ringIntervalMs, "another ring read the batch a moment ago");
  }
  // A ring's read holds every report for its own ring: the poller ends holds, a ring's read
  // only the longest (so the bound does not depend on the poller reaching the batch). A
  // hint that cannot name its report reads as the poller would without holding.
  const holdMs = identity === undefined ? 0 : WEBHOOK_GRACE_BUSY_MS;
  const outcome = await readBatch(record, verdict.answered, deps, context.deadline, holdMs);
  if (outcome.result === "skipped" || outcome.result === "conflict" || outcome.result === "deferred") {
    // Another read holds the batch, or this one could not finish: look again shortly.
    return ring.later(outcome.result, deps.config.ringIntervalMs, outcome.detail ?? outcome.result);
  }
  const read: RingOutcome = { outcome: "read", batch: outcome.result, handedOn: outcome.handedOn };
  // Not listed yet (or handed on by this read): the poller sends it once it is listed and
  // its hold is over. A ring brought back for it would cost a read of the batch each time.
  if (holdMs === 0 || identity === undefined) return read;
  const report = await getReportRecord(deps.state, identity);
  if (report?.ready === undefined) return read;
  return (await reportOnRecord(deps, identity, report)) ?? read;
}

/**
 * What the report's record settles for its ring: nothing to do (handed on, or a delivery
 * on record that is not an expired claim), or a delivery from the facts a read wrote.
 */
async function reportOnRecord(
  deps: DoorbellDeps,
  identity: string,
  known?: ReportRecord,
): Promise<RingOutcome | undefined> {
  const report = known ?? (await getReportRecord(deps.state, identity));
  if (report === undefined) return undefined;
  if (isSettled(report, deps)) {
    deps.metrics.count(DOORBELL_METRICS.alreadyHandedOn);
    return { outcome: "already-handed-on", identity };
  }
  if (report.ready === undefined) return undefined;
  const ready = reportReadyMessageSchema.safeParse(report.ready);
  if (!ready.success || ready.data.source !== "poll" || ready.data.batchId !== report.lassoBatchId) {
    // Our own record, written from Lasso's list: unreadable means a bug; the poller's send covers it.
    deps.logger.error("a seen report's facts are unreadable: left to the poller", { identity });
    return undefined;
  }
  deps.metrics.count(DOORBELL_METRICS.deliversInPlace);
  return {
    outcome: "deliver",
    identity,
    message: ready.data,
    ...(report.seenAt === undefined ? {} : { seenAt: report.seenAt }),
  };
}

/** Handed on, or a delivery on record that is not an expired claim (a crashed or given-up attempt). */
function isSettled(report: ReportRecord, deps: Pick<DoorbellDeps, "clock">): boolean {
  if (report.handedOnAt !== undefined) return true;
  if (report.deliveryStatus !== "claimed") return report.deliveryStatus !== undefined;
  return report.claimUntil !== undefined && Date.parse(report.claimUntil) >= deps.clock().getTime();
}

/** How one ring ends when it cannot read now (later, or left to the poller) or is not believed. */
function ringOf(message: ReportReadyMessage, deps: DoorbellDeps, context: RingContext) {
  const { metrics, logger } = deps;
  const last = context.receiveCount >= deps.config.ringMaxReceives;
  return {
    last,
    later(reason: string, retryAfterMs: number, detail: string): RingOutcome {
      if (last) {
        metrics.count(DOORBELL_METRICS.leftToPoller, { reason });
        logger.info("ring left to the poller", { reason, detail, receiveCount: context.receiveCount });
        return { outcome: "left-to-poller", reason: detail };
      }
      metrics.count(DOORBELL_METRICS.deferred, { reason });
      throw new RetryLaterError(`ring-${reason}`, detail, { retryAfterMs: Math.max(1_000, retryAfterMs) });
    },
    async unverified(reason: string): Promise<RingOutcome> {
      const hint: UnverifiedHint = {
        lassoBatchId: message.batchId,
        cvr: message.cvr,
        reason,
        ...(message.reportType === undefined ? {} : { reportType: message.reportType }),
        ...(message.internalCustomerId === undefined
          ? {}
          : { internalCustomerId: message.internalCustomerId }),
      };
      const pdfHost = pdfHostOf(message.pdfUrl);
      if (pdfHost !== undefined) hint.pdfHost = pdfHost;
      await recordUnverifiedHint(deps.state, hint, deps.clock());
      metrics.count(DOORBELL_METRICS.unverified);
      logger.warn("webhook not confirmed: recorded as unverified, mailed to nobody", { reason });
      return { outcome: "unverified", reason };
    },
  };
}

/** Step 4: the batch reconciled exactly as a poll would, within this invocation's deadline. */
async function readBatch(
  record: RingBatch,
  answered: LassoBatch | undefined,
  deps: DoorbellDeps,
  deadline: Date,
  webhookHoldMs: number,
): Promise<BatchOutcome> {
  const remainingMs = () => deadline.getTime() - Date.now();
  const lasso = await deps.lasso();
  const run: PollRun = {
    deadline: { remainingMs },
    reserveMs: deps.config.reserveMs,
    policy: { stalledAfterMs: deps.config.stalledAfterMs, unknownClosePolls: 3, webhookHoldMs },
    maxPages: 10_000,
    lasso: new LassoThrottle(lasso, {
      concurrency: 1,
      deadline: { remainingMs },
      reserveMs: deps.config.reserveMs,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
    stop: undefined,
  };
  const outcome = await reconcileBatch(
    {
      table: deps.state,
      queue: deps.queue,
      lasso,
      clock: deps.clock,
      log: deps.logger,
      ...(deps.routingFacts === undefined ? {} : { routingFacts: deps.routingFacts }),
    },
    run,
    record,
    0,
    answered,
  );
  deps.metrics.count(DOORBELL_METRICS.read);
  if (outcome.handedOn > 0) deps.metrics.count(DOORBELL_METRICS.handedOn, undefined, outcome.handedOn);
  deps.logger.info("ring: batch reconciled", {
    result: outcome.result,
    handedOn: outcome.handedOn,
    held: outcome.held,
    pages: outcome.pages,
  });
  return outcome;
}
