/**
 * Run records (docs/state-model.md, docs/submission.md): written by submit-batches, read by
 * the CLI (`status`, `plan`). A run's chunks are in ./chunks.ts, the listener coverage its
 * chunks claim in ./listener-coverage.ts.
 *
 * Every write is a single-item conditional write. The run's lease (`leaseOwner`,
 * `leaseUntil`) makes one invocation at a time work on a run.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { RUNS_PARTITION, type StateKey } from "./keys.ts";
import type { RecordBase } from "./records.ts";
import {
  expiresAt,
  getRecord,
  isConditionalCheckFailed,
  putIfAbsent,
  type StateTable,
  statusIn,
} from "./state-table.ts";

/**
 * planning: the run exists, its plan is being made (no chunk submitted yet);
 * submitting: the plan (chunks) is stored, chunks are being submitted;
 * incomplete: an invocation stopped (deadline, transient Lasso failure) with chunks left;
 * submitted: every chunk was submitted (or superseded);
 * partial: every chunk was tried, Lasso refused some (a re-invocation tries them again).
 */
export const RUN_STATUSES = ["planning", "submitting", "incomplete", "submitted", "partial"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A customer row the run could not use, and why. */
export interface SkippedRow {
  customerId?: number;
  cvr?: string;
  reason: string;
}

/** A usable row with a problem worth fixing (an ignored address, an unknown format variable). */
export interface RowWarning {
  customerId: number;
  warning: string;
}

export interface RunCounts {
  /** Items of the schedule's group read from the customers table. */
  customersRead: number;
  /** Customers that go into this run's batches. */
  selected: number;
  /** Rows switched off (`enabled` false). */
  disabled: number;
  /** Usable rows that do not want this report type. */
  notWanted: number;
  /** Listener runs: customers already covered by a listener batch. */
  alreadyCovered: number;
  /** Broken rows (see `skippedRows`). */
  skipped: number;
  /** Usable rows with warnings (see `warningRows`). */
  warnings: number;
}

export interface RunRecord extends RecordBase {
  recordType: "run";
  /** Sparse key of the `runsByTime` index. */
  runsPartition: typeof RUNS_PARTITION;
  runId: string;
  schedule: string;
  scheduledTime: string;
  reportType: ReportType;
  group: string;
  isListener: boolean;
  /** An operator's run of some customers only (`run SCHEDULE --customer ID…`): those ids, sorted. */
  customerIds?: number[];
  status: RunStatus;
  /** Identifies the stored plan: chunks of an abandoned earlier plan carry another id. */
  planId?: string;
  chunkCount?: number;
  counts?: RunCounts;
  /** The first {@link MAX_ROWS_KEPT} broken rows (all of them are logged). */
  skippedRows?: SkippedRow[];
  warningRows?: RowWarning[];
  /** True when more rows were skipped (or warned about) than are kept here. */
  rowsTruncated?: boolean;
  batchesSubmitted: number;
  batchesRejected: number;
  /** Chunks not yet submitted at the end of the last invocation. */
  chunksRemaining?: number;
  leaseOwner?: string;
  leaseUntil?: string;
  /** How many invocations took the lease. */
  invocations: number;
  plannedAt?: string;
  finishedAt?: string;
  lastError?: string;
}

/** Rows kept in a run record (an item holds at most 400 KB); every row is logged. */
export const MAX_ROWS_KEPT = 500;

/** A new run in `planning`, its lease held by the invocation that creates it. */
export function newRunRecord(
  table: StateTable,
  key: StateKey,
  run: Pick<RunRecord, "runId" | "schedule" | "scheduledTime" | "reportType" | "group" | "isListener"> &
    Partial<Pick<RunRecord, "customerIds">>,
  lease: { owner: string; until: string },
  now: Date,
): RunRecord {
  const at = now.toISOString();
  return {
    ...key,
    recordType: "run",
    runsPartition: RUNS_PARTITION,
    runId: run.runId,
    schedule: run.schedule,
    scheduledTime: run.scheduledTime,
    reportType: run.reportType,
    group: run.group,
    isListener: run.isListener,
    ...(run.customerIds === undefined || run.customerIds.length === 0
      ? {}
      : { customerIds: run.customerIds }),
    status: "planning",
    batchesSubmitted: 0,
    batchesRejected: 0,
    leaseOwner: lease.owner,
    leaseUntil: lease.until,
    invocations: 1,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(table, now),
  };
}

export async function getRun(table: StateTable, key: StateKey): Promise<RunRecord | undefined> {
  return getRecord<RunRecord>(table, key, "run");
}

/** Creates the run once; false when it exists (another invocation of the same firing). */
export async function createRun(table: StateTable, record: RunRecord): Promise<boolean> {
  return putIfAbsent(table, record);
}

/**
 * Takes the run's lease for `owner` until `until`, if the run is in one of `openStatuses`
 * and no other invocation holds an unexpired lease. Returns the run as it is now, or
 * undefined.
 */
export async function acquireRunLease(
  table: StateTable,
  key: StateKey,
  lease: { owner: string; until: string; now: string },
  openStatuses: readonly RunStatus[],
): Promise<RunRecord | undefined> {
  const open = statusIn(openStatuses);
  try {
    const { Attributes } = await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression:
          "SET leaseOwner = :owner, leaseUntil = :until, updatedAt = :now, invocations = invocations + :one",
        ConditionExpression: `attribute_exists(pk) AND ${open.expression} AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)`,
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":owner": lease.owner,
          ":until": lease.until,
          ":now": lease.now,
          ":one": 1,
          ...open.values,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes as RunRecord;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** Thrown when the lease was lost (expired and taken by another invocation): stop at once. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** Stores the plan and moves the run from planning to submitting (lease holder only). */
export async function savePlan(
  table: StateTable,
  key: StateKey,
  owner: string,
  plan: {
    planId: string;
    chunkCount: number;
    counts: RunCounts;
    skippedRows: SkippedRow[];
    warningRows: RowWarning[];
    rowsTruncated: boolean;
    now: string;
  },
): Promise<void> {
  await leaseHolderUpdate(table, key, owner, {
    UpdateExpression:
      "SET #status = :submitting, planId = :planId, chunkCount = :chunkCount, counts = :counts, skippedRows = :skipped, warningRows = :warnings, rowsTruncated = :truncated, plannedAt = :now, updatedAt = :now",
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":submitting": "submitting",
      ":planId": plan.planId,
      ":chunkCount": plan.chunkCount,
      ":counts": plan.counts,
      ":skipped": plan.skippedRows,
      ":warnings": plan.warningRows,
      ":truncated": plan.rowsTruncated,
      ":now": plan.now,
    },
  });
}

/**
 * Records where the run stands after an invocation and gives the lease back; `finished`
 * stamps `finishedAt`.
 */
export async function finishRunInvocation(
  table: StateTable,
  key: StateKey,
  owner: string,
  outcome: {
    status: RunStatus;
    finished: boolean;
    batchesSubmitted: number;
    batchesRejected: number;
    chunksRemaining: number;
    lastError?: string;
    now: string;
  },
): Promise<void> {
  await leaseHolderUpdate(table, key, owner, {
    UpdateExpression: `SET #status = :status, batchesSubmitted = :submitted, batchesRejected = :rejected, chunksRemaining = :remaining, updatedAt = :now${outcome.finished ? ", finishedAt = :now" : ""}${outcome.lastError === undefined ? "" : ", lastError = :error"} REMOVE leaseOwner, leaseUntil${outcome.lastError === undefined ? ", lastError" : ""}`,
    ExpressionAttributeNames: { "#status": "status" },
    ExpressionAttributeValues: {
      ":status": outcome.status,
      ":submitted": outcome.batchesSubmitted,
      ":rejected": outcome.batchesRejected,
      ":remaining": outcome.chunksRemaining,
      ":now": outcome.now,
      ...(outcome.lastError === undefined ? {} : { ":error": outcome.lastError.slice(0, 1000) }),
    },
  });
}

/** Extends the lease held by `owner` (before each chunk): throws LeaseLostError when it was lost. */
export async function renewRunLease(
  table: StateTable,
  key: StateKey,
  owner: string,
  lease: { until: string; now: string },
): Promise<void> {
  await leaseHolderUpdate(table, key, owner, {
    UpdateExpression: "SET leaseUntil = :until, updatedAt = :now",
    ExpressionAttributeValues: { ":until": lease.until, ":now": lease.now },
  });
}

/** Gives the lease back without changing the run (after an unexpected error). */
export async function releaseRunLease(table: StateTable, key: StateKey, owner: string): Promise<void> {
  try {
    await leaseHolderUpdate(table, key, owner, { UpdateExpression: "REMOVE leaseOwner, leaseUntil" });
  } catch (error) {
    if (!(error instanceof LeaseLostError)) throw error;
  }
}

async function leaseHolderUpdate(
  table: StateTable,
  key: StateKey,
  owner: string,
  update: {
    UpdateExpression: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  },
): Promise<void> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        ...update,
        ConditionExpression: "leaseOwner = :leaseOwner",
        ExpressionAttributeValues: { ...(update.ExpressionAttributeValues ?? {}), ":leaseOwner": owner },
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new LeaseLostError(`the lease on ${key.pk} was lost`);
    throw error;
  }
}
