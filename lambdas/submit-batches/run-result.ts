/**
 * What a submit-batches run takes and gives: its settings, its result, and the error the
 * handler answers with while the run has work left.
 */
import type { Language } from "#shared/customers.ts";
import type { RunCounts, RunStatus, SkippedRow } from "#shared/state/runs.ts";

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
  | "schedule-disabled"
  /** A business-day rule's candidate firing on a day that is not the rule's: nothing submitted, no run. */
  | "not-a-business-day";

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

/** The result before anything is done (and the answer for a disabled schedule). */
export function emptyResult(schedule: string, scheduledTime: string, runPk: string): SubmitResult {
  return {
    outcome: "schedule-disabled",
    schedule,
    scheduledTime,
    runPk,
    planned: false,
    skipped: [],
    chunkCount: 0,
    batchesSubmittedNow: 0,
    batchesRejectedNow: 0,
    chunksRemaining: 0,
    stoppedForDeadline: false,
    chunks: [],
  };
}

/** Short text for records and logs; never contains secrets (the client redacts them). */
export const describeError = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);
