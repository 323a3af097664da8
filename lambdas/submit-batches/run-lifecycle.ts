/**
 * The run's lifecycle as submit-batches decides it (docs/submission.md): which statuses
 * still have work, the lease one invocation at a time holds, and where the run stands after
 * an invocation. The records themselves are written by #shared/state/runs.ts.
 *
 *   planning → submitting → submitted
 *                         ↘ incomplete | partial → (next invocation) → ...
 */
import { randomUUID } from "node:crypto";
import { type Log, silentLog } from "#shared/runtime/log.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import type { ChunkRecord } from "#shared/state/chunks.ts";
import type { StateKey } from "#shared/state/keys.ts";
import {
  acquireRunLease,
  createRun,
  finishRunInvocation,
  getRun,
  newRunRecord,
  type RunRecord,
  type RunStatus,
  releaseRunLease,
  renewRunLease,
} from "#shared/state/runs.ts";
import type { SubmitPorts } from "./ports.ts";
import { describeError, type SubmitResult, type SubmitSettings } from "./run-result.ts";

/** Statuses in which a run still has work: an invocation may take its lease. */
export const OPEN_RUN_STATUSES: readonly RunStatus[] = ["planning", "submitting", "incomplete", "partial"];

// Longer than one chunk can take (the reserve), short enough that Lambda's second retry of
// a crashed invocation (about 3 minutes later) finds the lease lapsed.
const LEASE_MARGIN_MS = 30_000;

/** This invocation's hold on a run: who holds it, and how far a renewal made now reaches. */
export interface RunLease {
  owner: string;
  until(): string;
}

export function runLease(ports: SubmitPorts, settings: SubmitSettings): RunLease {
  const leaseMs = settings.leaseMs ?? settings.reserveMs + LEASE_MARGIN_MS;
  return {
    owner: ports.invocationId,
    until: () => new Date(ports.clock().getTime() + leaseMs).toISOString(),
  };
}

export const keyOf = (record: { pk: string; sk: string }): StateKey => ({ pk: record.pk, sk: record.sk });

export function isRunRecord(value: RunRecord | SubmitResult): value is RunRecord {
  return "recordType" in value;
}

/**
 * The run this invocation works on, with its lease: created once, or an existing run's
 * lease taken. Otherwise the result that says why there is nothing to do (already
 * submitted, or another invocation holds the lease).
 */
export async function openRun(
  ports: SubmitPorts,
  schedule: ScheduleConfig,
  scheduledTime: string,
  key: StateKey,
  lease: RunLease,
  base: SubmitResult,
  customerIds?: readonly number[],
): Promise<RunRecord | SubmitResult> {
  const now = ports.clock();
  const taking = { owner: lease.owner, until: lease.until(), now: now.toISOString() };
  const existing = await getRun(ports.state, key);
  if (existing?.status === "submitted") return alreadySubmitted(base, existing, ports.log ?? silentLog);
  if (existing !== undefined) return acquireOrExplain(ports, key, taking, base);
  const fresh = newRunRecord(
    ports.state,
    key,
    {
      runId: randomUUID(),
      schedule: schedule.name,
      scheduledTime,
      reportType: schedule.reportType,
      group: schedule.group,
      isListener: schedule.listener !== undefined,
      ...(customerIds === undefined || customerIds.length === 0 ? {} : { customerIds: [...customerIds] }),
    },
    taking,
    now,
  );
  return (await createRun(ports.state, fresh)) ? fresh : acquireOrExplain(ports, key, taking, base);
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
  key: StateKey,
  lease: { owner: string; until: string; now: string },
  base: SubmitResult,
): Promise<RunRecord | SubmitResult> {
  const log = ports.log ?? silentLog;
  const taken = await acquireRunLease(ports.state, key, lease, OPEN_RUN_STATUSES);
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

/** Extends this invocation's lease; throws LeaseLostError when another invocation took it. */
export async function renewLease(ports: SubmitPorts, run: RunRecord, lease: RunLease): Promise<void> {
  await renewRunLease(ports.state, keyOf(run), lease.owner, {
    until: lease.until(),
    now: ports.clock().toISOString(),
  });
}

/** Where a run stands from its chunks as stored. */
export function runStanding(chunks: readonly ChunkRecord[]): {
  status: RunStatus;
  submitted: number;
  rejected: number;
  remaining: number;
} {
  const submitted = chunks.filter((c) => c.status === "submitted").length;
  const rejected = chunks.filter((c) => c.status === "rejected").length;
  const open = chunks.filter((c) => c.status === "planned" || c.status === "submitting").length;
  const status: RunStatus = open > 0 ? "incomplete" : rejected > 0 ? "partial" : "submitted";
  return { status, submitted, rejected, remaining: open + rejected };
}

/**
 * Ends the invocation: the run's standing (from `final`, the chunks as stored now) goes
 * into the result and the run record, and the lease is given back.
 */
export async function closeInvocation(
  ports: SubmitPorts,
  run: RunRecord,
  final: readonly ChunkRecord[],
  lastError: string | undefined,
  result: SubmitResult,
): Promise<SubmitResult> {
  const log = ports.log ?? silentLog;
  const { status, submitted, rejected, remaining } = runStanding(final);
  result.outcome = status;
  result.chunksRemaining = remaining;
  result.chunks = final.map((c) => ({
    chunkIndex: c.chunkIndex,
    status: c.status,
    items: c.manifest.length,
    ...(c.lassoBatchId === undefined ? {} : { lassoBatchId: c.lassoBatchId }),
    ...(c.error === undefined ? {} : { error: c.error }),
  }));
  await finishRunInvocation(ports.state, keyOf(run), ports.invocationId, {
    status,
    finished: status === "submitted",
    batchesSubmitted: submitted,
    batchesRejected: rejected,
    chunksRemaining: remaining,
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
    chunksRemaining: remaining,
  };
  if (status === "submitted") log.info("run submitted", summary);
  else log.error(`run ${status}`, { ...summary, lastError });
  return result;
}

/** Gives the lease back after an unexpected error (the error itself is the caller's to throw). */
export async function releaseAfterError(ports: SubmitPorts, key: StateKey): Promise<void> {
  await releaseRunLease(ports.state, key, ports.invocationId).catch((releaseError: unknown) => {
    (ports.log ?? silentLog).error("could not release the run's lease", {
      error: describeError(releaseError),
    });
  });
}
