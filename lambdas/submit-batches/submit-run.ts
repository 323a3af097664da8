/**
 * The submit-batches use case: one firing of a schedule becomes a run, idempotent on
 * (schedule, scheduled time). See docs/submission.md.
 *
 * 1. The run record is created once (`attribute_not_exists`) with a lease for this
 *    invocation; a duplicate invocation finds it and submits nothing new (or, when the run
 *    still has work and no live lease, takes the lease and finishes it). ./run-lifecycle.ts
 * 2. Planning: customers selected, listener customers claimed, chunks (with manifests and
 *    unique tokens) stored, then the run moves to `submitting`. Nothing is sent before the
 *    whole plan is stored. ./make-plan.ts, ./listener-claims.ts
 * 3. Each chunk not yet submitted is POSTed at most once per attempt; an attempt whose
 *    outcome is unknown is resolved by the chunk's token before anything is sent again.
 *    Each accepted batch gets its batch record (manifest, open for the poller).
 *    ./submit-chunk.ts
 * 4. The invocation stops cleanly before its deadline; the run then says `incomplete` and
 *    the next invocation (scheduler/Lambda retry, CLI) goes on from where it stopped.
 *    ./run-lifecycle.ts
 *
 * The records are read and written by #shared/state/ (runs.ts, chunks.ts,
 * listener-coverage.ts, batches.ts); the decisions are made here.
 */
import { silentLog } from "#shared/runtime/log.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import { skipReason } from "#shared/schedule-rules.ts";
import { type ChunkRecord, listChunks } from "#shared/state/chunks.ts";
import { runKey } from "#shared/state/keys.ts";
import type { RunRecord } from "#shared/state/runs.ts";
import { makePlan } from "./make-plan.ts";
import { canonicalScheduledTime } from "./plan.ts";
import type { SubmitPorts } from "./ports.ts";
import {
  closeInvocation,
  isRunRecord,
  openRun,
  type RunLease,
  releaseAfterError,
  renewLease,
  runLease,
} from "./run-lifecycle.ts";
import { emptyResult, type SubmitResult, type SubmitSettings } from "./run-result.ts";
import { onlyCustomers } from "./selection.ts";
import { chunkIsDone, submitChunk, type WebhookAuth } from "./submit-chunk.ts";

export type FiredBy = "scheduler" | "operator";

export async function submitScheduledRun(
  ports: SubmitPorts,
  input: {
    schedule: ScheduleConfig;
    scheduledTime: string | Date;
    /** An operator's run of these customers only: its own run, keyed on them too. */
    customerIds?: readonly number[];
    /**
     * Who fired: the scheduler (default), whose candidate firings of a business-day rule are
     * checked against the rule, or an operator (`lasso-reports run`), who means it.
     */
    firedBy?: FiredBy;
  },
  settings: SubmitSettings,
): Promise<SubmitResult> {
  const { schedule } = input;
  const scheduledTime = canonicalScheduledTime(input.scheduledTime);
  const customerIds = sortedIds(input.customerIds);
  const key = runKey(schedule.name, scheduledTime, customerIds);
  const base = emptyResult(schedule.name, scheduledTime, key.pk);
  if (!schedule.enabled) {
    (ports.log ?? silentLog).warn("schedule is disabled: nothing submitted");
    return base;
  }
  // Scheduler cannot express holidays: a business-day rule's candidate that is not its day ends here.
  const notTheDay = input.firedBy === "operator" ? undefined : skipReason(schedule, new Date(scheduledTime));
  if (notTheDay !== undefined) {
    (ports.log ?? silentLog).info("not a firing of the business-day rule: nothing submitted", {
      reason: notTheDay,
    });
    return { ...base, outcome: "not-a-business-day" };
  }

  // 1. The run, created or its lease taken; or why this invocation has nothing to do.
  const lease = runLease(ports, settings);
  const run = await openRun(ports, schedule, scheduledTime, key, lease, base, customerIds);
  if (!isRunRecord(run)) return run;
  // A run of some customers reads only their rows: the plan, its counts and skipped rows are theirs.
  const scoped =
    customerIds === undefined ? ports : { ...ports, customers: onlyCustomers(ports.customers, customerIds) };

  try {
    const result: SubmitResult = { ...base, runId: run.runId };
    // 2. The plan: made and stored now, or the one stored by an earlier invocation.
    const planId = await ensurePlan(scoped, settings, schedule, scheduledTime, run, lease, result);
    // 3. The chunks not yet submitted, one at a time, until done, refused or out of time.
    const chunks = await listChunks(ports.state, run.pk, planId);
    result.chunkCount = chunks.length;
    const lastError = await submitOpenChunks(
      ports,
      settings,
      schedule,
      scheduledTime,
      run,
      chunks,
      lease,
      result,
    );
    // 4. Where the run stands (the chunks as stored now), recorded; the lease given back.
    const final = await listChunks(ports.state, run.pk, planId);
    return await closeInvocation(ports, run, final, lastError, result);
  } catch (error) {
    await releaseAfterError(ports, key);
    throw error;
  }
}

/** Each id once, ascending; undefined for none (a whole run). */
function sortedIds(ids: readonly number[] | undefined): number[] | undefined {
  if (ids === undefined || ids.length === 0) return undefined;
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** The run's plan id: a new plan while the run is planning, else the stored one. */
async function ensurePlan(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  lease: RunLease,
  result: SubmitResult,
): Promise<string> {
  if (run.status !== "planning" && run.planId !== undefined) {
    if (run.counts !== undefined) result.counts = run.counts;
    return run.planId;
  }
  const made = await makePlan(ports, settings, schedule, scheduledTime, run, lease);
  result.planned = true;
  result.counts = made.counts;
  result.skipped = made.skipped;
  return made.planId;
}

/**
 * Submits the chunks not done yet, in order, renewing the lease before each. Stops before
 * the deadline, or when Lasso is unreachable or answers ambiguously (the retry resolves by
 * token). Counts into `result`; returns the last error.
 */
async function submitOpenChunks(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  chunks: readonly ChunkRecord[],
  lease: RunLease,
  result: SubmitResult,
): Promise<string | undefined> {
  const log = ports.log ?? silentLog;
  let auth: WebhookAuth | undefined;
  let lastError: string | undefined;
  for (const chunk of chunks) {
    if (chunkIsDone(chunk)) continue;
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
    await renewLease(ports, run, lease);
    auth ??= await ports.webhook.auth(schedule.webhookAuth);
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
  return lastError;
}
