/**
 * The submit-batches use case: one firing of a schedule becomes a run, idempotent on
 * (schedule, scheduled time). See docs/submission.md.
 *
 * 1. The run record is created once (`attribute_not_exists`) with a lease for this
 *    invocation; a duplicate invocation finds it and submits nothing new (or, when the run
 *    still has work and no live lease, takes the lease and finishes it).
 * 2. Planning: customers selected, listener customers claimed, chunks (with manifests and
 *    unique tokens) stored, then the run moves to `submitting`. Nothing is sent before the
 *    whole plan is stored.
 * 3. Each chunk not yet submitted is POSTed at most once per attempt; an attempt whose
 *    outcome is unknown is resolved by the chunk's token before anything is sent again.
 *    Each accepted batch gets its batch record (manifest, open for the poller).
 * 4. The invocation stops cleanly before its deadline; the run then says `incomplete` and
 *    the next invocation (scheduler/Lambda retry, CLI) goes on from where it stopped.
 */
import { randomUUID } from "node:crypto";
import type { Language } from "#shared/customers.ts";
import { LassoApiError, LassoRequestError } from "#shared/lasso/errors.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { type Log, silentLog } from "#shared/runtime/log.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import { putNewBatchRecord } from "#shared/state/batches.ts";
import {
  type ChunkRecord,
  getChunk,
  listChunks,
  putPlannedChunk,
  settleChunk,
  startChunkAttempt,
  supersedeRejectedChunk,
} from "#shared/state/chunks.ts";
import {
  batchKey,
  chunkKey,
  listenerCoverageKey,
  OPEN_BATCH_PARTITION,
  RUNS_PARTITION,
  runKey,
  type StateKey,
} from "#shared/state/keys.ts";
import { claimListenerCoverage } from "#shared/state/listener-coverage.ts";
import type { BatchRecord } from "#shared/state/records.ts";
import {
  acquireRunLease,
  createRun,
  finishRunInvocation,
  getRun,
  LeaseLostError,
  MAX_ROWS_KEPT,
  type RunCounts,
  type RunRecord,
  type RunStatus,
  releaseRunLease,
  renewRunLease,
  type SkippedRow,
  savePlan,
} from "#shared/state/runs.ts";
import { expiresAt, type StateTable } from "#shared/state/state-table.ts";
import { chunkCustomers, lassoScheduledTime } from "./chunking.ts";
import { mapLimit } from "./concurrency.ts";
import { canonicalScheduledTime, judgeCoverage, nameChunks, type PlannedChunk, runCounts } from "./plan.ts";
import type { SubmitPorts } from "./ports.ts";
import { selectCustomers } from "./selection.ts";

export interface SubmitSettings {
  /** Most items per Lasso batch. */
  chunkSize: number;
  /**
   * Time one more chunk may need (the Lasso client's whole retry budget plus the state
   * writes): a chunk is only started while more than this is left before the deadline.
   */
  reserveMs: number;
  defaultLanguage?: Language;
  maxManifestBytes?: number;
  /**
   * How long the run's lease lasts from each renewal (before planning writes and before each
   * chunk); default `reserveMs` + 30 s. A crashed invocation's lease lapses after this.
   */
  leaseMs?: number;
  /** Concurrent coverage claims (listener runs). */
  claimConcurrency?: number;
}

export type SubmitOutcome =
  | RunStatus
  /** The run was already submitted: nothing new was sent. */
  | "already-submitted"
  /** Another invocation holds the run's lease: nothing was sent by this one. */
  | "in-progress-elsewhere"
  | "schedule-disabled";

export interface SubmitResult {
  outcome: SubmitOutcome;
  schedule: string;
  scheduledTime: string;
  runPk: string;
  runId?: string;
  /** True when this invocation made the plan (counts and skipped rows are new). */
  planned: boolean;
  counts?: RunCounts;
  /** Rows skipped by the plan made in this invocation. */
  skipped: SkippedRow[];
  chunkCount: number;
  /** Batches Lasso accepted during this invocation (found by token included). */
  batchesSubmittedNow: number;
  /** Chunks Lasso refused during this invocation. */
  batchesRejectedNow: number;
  /** Chunks left for a later invocation. */
  chunksRemaining: number;
  /** Whether the invocation stopped because the deadline was near. */
  stoppedForDeadline: boolean;
  /** Every chunk of the run with its state at the end of this invocation. */
  chunks: { chunkIndex: number; status: string; lassoBatchId?: string; items: number; error?: string }[];
}

/** The handler's answer when the run has work left: a retry (or follow-up) goes on. */
export class RunIncompleteError extends Error {
  override readonly name = "RunIncompleteError";
  constructor(readonly result: SubmitResult) {
    super(
      `run ${result.runPk} is ${result.outcome}: ${result.chunksRemaining} of ${result.chunkCount} chunk(s) left${result.stoppedForDeadline ? " (stopped before the deadline)" : ""}; a re-invocation continues it`,
    );
  }
}

// Longer than one chunk can take (the reserve), short enough that Lambda's second retry of
// a crashed invocation (about 3 minutes later) finds the lease lapsed.
const LEASE_MARGIN_MS = 30_000;

const keyOf = (record: { pk: string; sk: string }): StateKey => ({ pk: record.pk, sk: record.sk });

/** Short text for records and logs; never contains secrets (the client redacts them). */
const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);

/** Lasso said no for good (4xx other than 408/429), or we built a request it cannot take. */
function isDefiniteRejection(error: unknown): boolean {
  return error instanceof LassoRequestError || (error instanceof LassoApiError && !error.retryable);
}

export async function submitScheduledRun(
  ports: SubmitPorts,
  input: { schedule: ScheduleConfig; scheduledTime: string | Date },
  settings: SubmitSettings,
): Promise<SubmitResult> {
  const { schedule } = input;
  const scheduledTime = canonicalScheduledTime(input.scheduledTime);
  const key = runKey(schedule.name, scheduledTime);
  const log = ports.log ?? silentLog;
  const base: SubmitResult = {
    outcome: "schedule-disabled",
    schedule: schedule.name,
    scheduledTime,
    runPk: key.pk,
    planned: false,
    skipped: [],
    chunkCount: 0,
    batchesSubmittedNow: 0,
    batchesRejectedNow: 0,
    chunksRemaining: 0,
    stoppedForDeadline: false,
    chunks: [],
  };
  if (!schedule.enabled) {
    log.warn("schedule is disabled: nothing submitted");
    return base;
  }

  const leaseMs = settings.leaseMs ?? settings.reserveMs + LEASE_MARGIN_MS;
  const leaseUntil = (): string => new Date(ports.clock().getTime() + leaseMs).toISOString();
  const now = ports.clock();
  const lease = { owner: ports.invocationId, until: leaseUntil(), now: now.toISOString() };

  const existing = await getRun(ports.state, key);
  let run: RunRecord | SubmitResult;
  if (existing === undefined) {
    const fresh = newRunRecord(ports.state, schedule, scheduledTime, key, lease, now);
    run = (await createRun(ports.state, fresh)) ? fresh : await acquireOrExplain(ports, key, lease, base);
  } else if (existing.status === "submitted") {
    return alreadySubmitted(base, existing, log);
  } else run = await acquireOrExplain(ports, key, lease, base);
  if (!isRunRecord(run)) return run;

  try {
    return await workOnRun(ports, settings, schedule, scheduledTime, run, base, leaseUntil);
  } catch (error) {
    await releaseRunLease(ports.state, key, ports.invocationId).catch((releaseError: unknown) => {
      log.error("could not release the run's lease", { error: describeError(releaseError) });
    });
    throw error;
  }
}

function isRunRecord(value: RunRecord | SubmitResult): value is RunRecord {
  return "recordType" in value;
}

function alreadySubmitted(base: SubmitResult, run: RunRecord, log: Log): SubmitResult {
  log.info("run already submitted: nothing new submitted", { runId: run.runId });
  return {
    ...base,
    outcome: "already-submitted",
    runId: run.runId,
    ...(run.counts === undefined ? {} : { counts: run.counts }),
    chunkCount: run.chunkCount ?? 0,
  };
}

/** Takes the lease of an existing run, or says why this invocation has nothing to do. */
async function acquireOrExplain(
  ports: SubmitPorts,
  key: { pk: string; sk: string },
  lease: { owner: string; until: string; now: string },
  base: SubmitResult,
): Promise<RunRecord | SubmitResult> {
  const log = ports.log ?? silentLog;
  const taken = await acquireRunLease(ports.state, key, lease);
  if (taken !== undefined) {
    log.info("resuming run", { runId: taken.runId, status: taken.status, invocations: taken.invocations });
    return taken;
  }
  const current = await getRun(ports.state, key);
  if (current?.status === "submitted") return alreadySubmitted(base, current, log);
  log.info("another invocation is working on this run: nothing submitted by this one", {
    runId: current?.runId,
    leaseUntil: current?.leaseUntil,
  });
  return {
    ...base,
    outcome: "in-progress-elsewhere",
    ...(current === undefined ? {} : { runId: current.runId }),
  };
}

function newRunRecord(
  state: StateTable,
  schedule: ScheduleConfig,
  scheduledTime: string,
  key: { pk: string; sk: string },
  lease: { owner: string; until: string },
  now: Date,
): RunRecord {
  const at = now.toISOString();
  return {
    ...key,
    recordType: "run",
    runsPartition: RUNS_PARTITION,
    runId: randomUUID(),
    schedule: schedule.name,
    scheduledTime,
    reportType: schedule.reportType,
    group: schedule.group,
    isListener: schedule.listener !== undefined,
    status: "planning",
    batchesSubmitted: 0,
    batchesRejected: 0,
    leaseOwner: lease.owner,
    leaseUntil: lease.until,
    invocations: 1,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(state, now),
  };
}

async function workOnRun(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  base: SubmitResult,
  leaseUntil: () => string,
): Promise<SubmitResult> {
  const log = ports.log ?? silentLog;
  const result: SubmitResult = { ...base, runId: run.runId };
  let planId = run.planId;
  if (run.status === "planning" || planId === undefined) {
    const made = await makePlan(ports, settings, schedule, scheduledTime, run, leaseUntil);
    planId = made.planId;
    result.planned = true;
    result.counts = made.counts;
    result.skipped = made.skipped;
  } else if (run.counts !== undefined) result.counts = run.counts;

  const chunks = await listChunks(ports.state, run.pk, planId);
  result.chunkCount = chunks.length;
  let auth: Awaited<ReturnType<SubmitPorts["webhook"]["auth"]>> | undefined;
  let lastError: string | undefined;

  for (const chunk of chunks) {
    if (chunk.status === "submitted" || chunk.status === "superseded") continue;
    const remaining = ports.deadline?.remainingMs();
    if (remaining !== undefined && remaining < settings.reserveMs) {
      result.stoppedForDeadline = true;
      log.warn("stopping before the deadline; the next invocation continues", {
        remainingMs: remaining,
        chunkIndex: chunk.chunkIndex,
      });
      break;
    }
    // Kept alive chunk by chunk: a slow run (rate limits) never loses its lease to a duplicate.
    await renewRunLease(ports.state, keyOf(run), ports.invocationId, {
      until: leaseUntil(),
      now: ports.clock().toISOString(),
    });
    auth ??= await ports.webhook.auth();
    const outcome = await submitChunk(ports, schedule, scheduledTime, chunk, auth);
    if (outcome.kind === "submitted") result.batchesSubmittedNow++;
    else if (outcome.kind === "rejected") {
      result.batchesRejectedNow++;
      lastError = outcome.error;
    } else {
      // Lasso is unreachable or answered ambiguously: stop here, the retry resolves by token.
      lastError = outcome.error;
      break;
    }
  }

  // Chunk states as stored now (this invocation changed some).
  const final = await listChunks(ports.state, run.pk, planId);
  const submitted = final.filter((c) => c.status === "submitted").length;
  const rejected = final.filter((c) => c.status === "rejected").length;
  const open = final.filter((c) => c.status === "planned" || c.status === "submitting").length;
  const status: RunStatus = open > 0 ? "incomplete" : rejected > 0 ? "partial" : "submitted";
  result.outcome = status;
  result.chunksRemaining = open + rejected;
  result.chunks = final.map((c) => ({
    chunkIndex: c.chunkIndex,
    status: c.status,
    items: c.manifest.length,
    ...(c.lassoBatchId === undefined ? {} : { lassoBatchId: c.lassoBatchId }),
    ...(c.error === undefined ? {} : { error: c.error }),
  }));
  await finishRunInvocation(ports.state, keyOf(run), ports.invocationId, {
    status,
    batchesSubmitted: submitted,
    batchesRejected: rejected,
    chunksRemaining: result.chunksRemaining,
    ...(lastError === undefined || status === "submitted" ? {} : { lastError }),
    now: ports.clock().toISOString(),
  });
  const summary = {
    runId: run.runId,
    status,
    chunks: final.length,
    batchesSubmitted: submitted,
    batchesSubmittedNow: result.batchesSubmittedNow,
    batchesRejected: rejected,
    chunksRemaining: result.chunksRemaining,
  };
  if (status === "submitted") log.info("run submitted", summary);
  else log.error(`run ${status}`, { ...summary, lastError });
  return result;
}

// ---------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------

async function makePlan(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  leaseUntil: () => string,
): Promise<{ planId: string; counts: RunCounts; skipped: SkippedRow[] }> {
  const log = ports.log ?? silentLog;
  const planId = randomUUID();
  const selection = await selectCustomers(
    ports.customers,
    { group: schedule.group, reportType: schedule.reportType },
    settings.defaultLanguage === undefined ? {} : { defaultLanguage: settings.defaultLanguage },
  );
  for (const row of selection.skipped) log.warn("customer row skipped", { ...row });
  for (const row of selection.warnings) log.warn("customer row warning", { ...row });

  let chunks: PlannedChunk[];
  let alreadyCovered = 0;
  if (schedule.listener === undefined) {
    chunks = nameChunks(schedule, scheduledTime, chunkCustomers(selection.selected, settings));
  } else {
    const claimed = await claimListenerCustomers(
      ports,
      settings,
      schedule,
      scheduledTime,
      run,
      selection.selected,
    );
    chunks = claimed.chunks;
    alreadyCovered = claimed.alreadyCovered;
  }

  // Selection (and listener claims) took a while: the lease must still be ours, and fresh,
  // before the plan is written, so a lapsed planner can never overwrite a newer plan.
  await renewRunLease(ports.state, keyOf(run), ports.invocationId, {
    until: leaseUntil(),
    now: ports.clock().toISOString(),
  });
  const at = ports.clock();
  for (const planned of chunks) {
    const record = chunkRecord(ports.state, schedule, run, planId, planned, at);
    if (!(await putPlannedChunk(ports.state, record))) {
      // Only possible if a chunk of this run was sent while it was still planning: a bug.
      throw new Error(
        `chunk ${planned.chunkIndex} of ${run.pk} was already sent; the plan cannot be replaced`,
      );
    }
  }
  const selected = chunks.reduce((sum, chunk) => sum + chunk.manifest.length, 0);
  const counts = runCounts(selection, selected, alreadyCovered);
  const truncated = selection.skipped.length > MAX_ROWS_KEPT || selection.warnings.length > MAX_ROWS_KEPT;
  await savePlan(ports.state, keyOf(run), ports.invocationId, {
    planId,
    chunkCount: chunks.length,
    counts,
    skippedRows: selection.skipped.slice(0, MAX_ROWS_KEPT),
    warningRows: selection.warnings.slice(0, MAX_ROWS_KEPT),
    rowsTruncated: truncated,
    now: ports.clock().toISOString(),
  });
  log.info("run planned", { runId: run.runId, chunks: chunks.length, ...counts });
  return { planId, counts, skipped: selection.skipped };
}

function chunkRecord(
  state: StateTable,
  schedule: ScheduleConfig,
  run: RunRecord,
  planId: string,
  planned: PlannedChunk,
  now: Date,
): ChunkRecord {
  const at = now.toISOString();
  return {
    ...chunkKey(run, planned.chunkIndex),
    recordType: "chunk",
    runPk: run.pk,
    schedule: schedule.name,
    chunkIndex: planned.chunkIndex,
    planId,
    uniqueToken: planned.uniqueToken,
    batchName: planned.batchName,
    reportType: schedule.reportType,
    isListener: schedule.listener !== undefined,
    manifest: planned.manifest,
    status: "planned",
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(state, now),
  };
}

/**
 * Listener runs: only customers no live listener batch covers join this run, each claimed
 * (conditional create of its coverage record) for its chunk before anything is sent. A
 * customer whose claim is lost to a concurrent run leaves the chunk; an empty chunk is
 * dropped.
 */
async function claimListenerCustomers(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  selected: Parameters<typeof chunkCustomers>[0],
): Promise<{ chunks: PlannedChunk[]; alreadyCovered: number }> {
  const verdicts = await judgeCoverage(ports.state, schedule.reportType, run.pk, selected);
  const now = ports.clock().toISOString();
  const superseded = new Map<string, Promise<boolean>>();
  const candidates = selected.filter((customer) => verdicts.get(customer.customerId)?.kind !== "covered");
  let alreadyCovered = selected.length - candidates.length;
  const planned = nameChunks(schedule, scheduledTime, chunkCustomers(candidates, settings));

  const claims = planned.flatMap((chunk) => chunk.manifest.map((entry) => ({ chunk, entry })));
  const won = await mapLimit(claims, settings.claimConcurrency ?? 16, async ({ chunk, entry }) => {
    const verdict = verdicts.get(entry.customerId);
    let takeOverFrom: { runPk: string; chunkIndex: number } | undefined;
    if (verdict?.kind === "takeOver") {
      const from = { runPk: verdict.coverage.runPk, chunkIndex: verdict.coverage.chunkIndex };
      if (verdict.supersede) {
        // Retire the refused chunk first, so its own run can never send it after we take over.
        const cacheKey = `${from.runPk}#${from.chunkIndex}`;
        let retired = superseded.get(cacheKey);
        if (retired === undefined) {
          retired = retireChunk(ports.state, from.runPk, from.chunkIndex, now);
          superseded.set(cacheKey, retired);
        }
        if (!(await retired)) return false;
      }
      takeOverFrom = from;
    }
    const record = {
      ...listenerCoverageKey(schedule.reportType, entry.customerId),
      recordType: "listenerCoverage" as const,
      reportType: schedule.reportType,
      customerId: entry.customerId,
      cvr: entry.cvr,
      schedule: schedule.name,
      runPk: run.pk,
      chunkIndex: chunk.chunkIndex,
      createdAt: now,
      updatedAt: now,
    };
    return claimListenerCoverage(ports.state, record, takeOverFrom);
  });

  const winners = new Set<string>();
  claims.forEach(({ chunk, entry }, index) => {
    if (won[index]) winners.add(`${chunk.chunkIndex}#${entry.customerId}`);
    else alreadyCovered++;
  });
  const chunks = planned
    .map((chunk) => ({
      ...chunk,
      manifest: chunk.manifest.filter((entry) => winners.has(`${chunk.chunkIndex}#${entry.customerId}`)),
    }))
    .filter((chunk) => chunk.manifest.length > 0);
  return { chunks, alreadyCovered };
}

/** Supersedes a rejected chunk; true when it is (now or already) superseded. */
async function retireChunk(
  state: StateTable,
  runPk: string,
  chunkIndex: number,
  now: string,
): Promise<boolean> {
  if (await supersedeRejectedChunk(state, runPk, chunkIndex, now)) return true;
  return (await getChunk(state, runPk, chunkIndex))?.status === "superseded";
}

// ---------------------------------------------------------------------------------------
// Submitting one chunk
// ---------------------------------------------------------------------------------------

type ChunkOutcome = { kind: "submitted"; batch: LassoBatch } | { kind: "rejected" | "failed"; error: string };

async function submitChunk(
  ports: SubmitPorts,
  schedule: ScheduleConfig,
  scheduledTime: string,
  chunk: ChunkRecord,
  auth: Awaited<ReturnType<SubmitPorts["webhook"]["auth"]>>,
): Promise<ChunkOutcome> {
  const log = ports.log ?? silentLog;
  // A chunk left `submitting` had a POST whose answer was lost: Lasso may hold the batch.
  const outcomeUnknown = chunk.status === "submitting";
  if (!(await startChunkAttempt(ports.state, chunk, ports.clock().toISOString()))) {
    throw new LeaseLostError(`chunk ${chunk.chunkIndex} of ${chunk.runPk} changed under this invocation`);
  }
  const context = { chunkIndex: chunk.chunkIndex, items: chunk.manifest.length, token: chunk.uniqueToken };
  let batch: LassoBatch | undefined;
  try {
    if (outcomeUnknown) {
      batch = await ports.lasso.findBatchByToken(chunk.uniqueToken);
      if (batch !== undefined)
        log.info("found the batch of an earlier attempt by its token", {
          ...context,
          lassoBatchId: batch.id,
        });
    }
    batch ??= await ports.lasso.createBatch(
      {
        batchName: chunk.batchName,
        type: schedule.reportType,
        format: schedule.format,
        items: chunk.manifest.map((entry) => ({
          cvr: entry.cvr,
          internalCustomerId: entry.customerId,
          ...(entry.format === undefined ? {} : { format: entry.format }),
        })),
        notificationWebhookUrl: ports.webhook.url,
        authConfig: auth,
        ...(schedule.errorAppend === undefined ? {} : { errorAppend: schedule.errorAppend }),
        ...(() => {
          const at = lassoScheduledTime(new Date(scheduledTime), schedule.delayMinutes);
          return at === undefined ? {} : { scheduledTime: at };
        })(),
        ...(schedule.listener === undefined
          ? {}
          : { isListener: true, triggerNow: schedule.listener.triggerNow }),
      },
      { uniqueToken: chunk.uniqueToken },
    );
  } catch (error) {
    const text = describeError(error);
    const now = ports.clock().toISOString();
    if (isDefiniteRejection(error)) {
      await settleChunk(ports.state, chunk, { status: "rejected", error: text, now });
      log.error("Lasso rejected a batch", { ...context, error: text });
      return { kind: "rejected", error: text };
    }
    await settleChunk(ports.state, chunk, { status: "submitting", error: text, now });
    log.error("batch submission failed; its outcome is resolved by token on the next attempt", {
      ...context,
      error: text,
    });
    return { kind: "failed", error: text };
  }

  const now = ports.clock();
  const at = now.toISOString();
  const record: BatchRecord = {
    ...batchKey(batch.id),
    recordType: "batch",
    lassoBatchId: batch.id,
    runPk: chunk.runPk,
    schedule: chunk.schedule,
    chunkIndex: chunk.chunkIndex,
    name: batch.name,
    reportType: chunk.reportType,
    isListener: chunk.isListener,
    manifest: chunk.manifest.map(({ customerId, cvr }) => ({ customerId, cvr })),
    status: batch.status,
    batchSize: batch.batchSize,
    completionPercentage: batch.completionPercentage,
    lastProgressAt: at,
    openPartition: OPEN_BATCH_PARTITION,
    version: 1,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(ports.state, now),
  };
  // The batch record first: once it exists the poller works on the batch, whatever happens next.
  await putNewBatchRecord(ports.state, record);
  await settleChunk(ports.state, chunk, { status: "submitted", lassoBatchId: batch.id, now: at });
  log.info("batch submitted", { ...context, lassoBatchId: batch.id, status: batch.status });
  return { kind: "submitted", batch };
}
