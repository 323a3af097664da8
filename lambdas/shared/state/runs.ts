/**
 * Run, chunk and listener-coverage records (docs/state-model.md, docs/submission.md):
 * written by submit-batches, read by the CLI (`status`, `plan`) and, for coverage, released
 * by the poller when a listener batch stops.
 *
 * Every write is a single-item conditional write. The run's lease (`leaseOwner`,
 * `leaseUntil`) makes one invocation at a time work on a run; chunk status conditions make
 * each chunk's POST happen at most once per attempt; coverage records are created with
 * `attribute_not_exists`, so no customer is covered by two listener batches.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { chunkKey, listenerCoverageKey, type RUNS_PARTITION, type StateKey } from "./keys.ts";
import type { ManifestEntry, RecordBase } from "./records.ts";
import { conditionalWrite, getRecord, isConditionalCheckFailed, type StateTable } from "./state-table.ts";

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/**
 * planning: the run exists, its plan is being made (no chunk submitted yet);
 * submitting: the plan (chunks) is stored, chunks are being submitted;
 * incomplete: an invocation stopped (deadline, transient Lasso failure) with chunks left;
 * submitted: every chunk was submitted (or superseded);
 * partial: every chunk was tried, Lasso refused some (a re-invocation tries them again).
 */
export const RUN_STATUSES = ["planning", "submitting", "incomplete", "submitted", "partial"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses in which a run still has work: an invocation may take its lease. */
export const OPEN_RUN_STATUSES: readonly RunStatus[] = ["planning", "submitting", "incomplete", "partial"];

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

/**
 * planned: stored, never sent; submitting: a POST was started (its outcome is resolved by
 * the token before any new POST); submitted: Lasso accepted it (`lassoBatchId`);
 * rejected: Lasso refused it (4xx) — a re-invocation tries again; superseded: a rejected
 * listener chunk whose customers a later run took over (never tried again).
 */
export const CHUNK_STATUSES = ["planned", "submitting", "submitted", "rejected", "superseded"] as const;
export type ChunkStatus = (typeof CHUNK_STATUSES)[number];

export interface ChunkManifestEntry extends ManifestEntry {
  /** The customer's own Lasso file-name format, when it has one. */
  format?: string;
}

export interface ChunkRecord extends RecordBase {
  recordType: "chunk";
  runPk: string;
  schedule: string;
  chunkIndex: number;
  planId: string;
  /** In the batch name: finds the batch in Lasso after an ambiguous POST. */
  uniqueToken: string;
  batchName: string;
  reportType: ReportType;
  isListener: boolean;
  manifest: ChunkManifestEntry[];
  status: ChunkStatus;
  attempts: number;
  lastAttemptAt?: string;
  lassoBatchId?: string;
  submittedAt?: string;
  error?: string;
}

/**
 * Which listener chunk (and so which listener batch) covers a customer for a report type.
 * No `expiresAt`: a listener batch listens until stopped, and an expired coverage would let
 * a second listener batch cover the customer. The poller deletes it when the batch stops
 * ({@link releaseListenerCoverage}).
 */
export interface ListenerCoverageRecord {
  pk: string;
  sk: string;
  recordType: "listenerCoverage";
  reportType: ReportType;
  customerId: number;
  cvr: string;
  schedule: string;
  runPk: string;
  chunkIndex: number;
  createdAt: string;
  updatedAt: string;
}

/** Rows kept in a run record (an item holds at most 400 KB); every row is logged. */
export const MAX_ROWS_KEPT = 500;

// ---------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------

export async function getRun(table: StateTable, key: StateKey): Promise<RunRecord | undefined> {
  return getRecord<RunRecord>(table, key, "run");
}

/** Creates the run once; false when it exists (another invocation of the same firing). */
export async function createRun(table: StateTable, record: RunRecord): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: record,
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ),
  );
}

/**
 * Takes the run's lease for `owner` until `until`, if the run still has work and no other
 * invocation holds an unexpired lease. Returns the run as it is now, or undefined.
 */
export async function acquireRunLease(
  table: StateTable,
  key: StateKey,
  lease: { owner: string; until: string; now: string },
): Promise<RunRecord | undefined> {
  try {
    const { Attributes } = await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression:
          "SET leaseOwner = :owner, leaseUntil = :until, updatedAt = :now, invocations = invocations + :one",
        ConditionExpression:
          "attribute_exists(pk) AND #status IN (:s0, :s1, :s2, :s3) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":owner": lease.owner,
          ":until": lease.until,
          ":now": lease.now,
          ":one": 1,
          ":s0": OPEN_RUN_STATUSES[0],
          ":s1": OPEN_RUN_STATUSES[1],
          ":s2": OPEN_RUN_STATUSES[2],
          ":s3": OPEN_RUN_STATUSES[3],
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

/** Records where the run stands after an invocation and gives the lease back. */
export async function finishRunInvocation(
  table: StateTable,
  key: StateKey,
  owner: string,
  outcome: {
    status: RunStatus;
    batchesSubmitted: number;
    batchesRejected: number;
    chunksRemaining: number;
    lastError?: string;
    now: string;
  },
): Promise<void> {
  const done = outcome.status === "submitted";
  await leaseHolderUpdate(table, key, owner, {
    UpdateExpression: `SET #status = :status, batchesSubmitted = :submitted, batchesRejected = :rejected, chunksRemaining = :remaining, updatedAt = :now${done ? ", finishedAt = :now" : ""}${outcome.lastError === undefined ? "" : ", lastError = :error"} REMOVE leaseOwner, leaseUntil${outcome.lastError === undefined ? ", lastError" : ""}`,
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

// ---------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------

/**
 * Stores a planned chunk. It may replace a chunk of an abandoned plan that was never sent
 * (`planned`), never one that was sent. False when a sent chunk is in the way.
 */
export async function putPlannedChunk(table: StateTable, chunk: ChunkRecord): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: chunk,
        ConditionExpression: "attribute_not_exists(pk) OR #status = :planned",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":planned": "planned" },
      }),
    ),
  );
}

export async function getChunk(
  table: StateTable,
  runPk: string,
  chunkIndex: number,
): Promise<ChunkRecord | undefined> {
  return getRecord<ChunkRecord>(table, chunkKey({ pk: runPk, sk: "RUN" }, chunkIndex), "chunk");
}

/** Every chunk of a run's current plan, in order. */
export async function listChunks(table: StateTable, runPk: string, planId: string): Promise<ChunkRecord[]> {
  const chunks: ChunkRecord[] = [];
  const pages = paginateQuery(
    { client: table.doc },
    {
      TableName: table.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": runPk, ":prefix": "CHUNK#" },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (item.recordType === "chunk" && item.planId === planId) chunks.push(item as ChunkRecord);
    }
  }
  return chunks.sort((a, b) => a.chunkIndex - b.chunkIndex);
}

/**
 * Marks that a POST of the chunk starts now. Refused (false) unless the chunk is still
 * unsent or unresolved (planned, submitting, rejected) in this plan.
 */
export async function startChunkAttempt(
  table: StateTable,
  chunk: ChunkRecord,
  now: string,
): Promise<boolean> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: chunk.pk, sk: chunk.sk },
        UpdateExpression:
          "SET #status = :submitting, attempts = attempts + :one, lastAttemptAt = :now, updatedAt = :now",
        ConditionExpression: "planId = :planId AND #status IN (:planned, :submitting, :rejected)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":submitting": "submitting",
          ":planned": "planned",
          ":rejected": "rejected",
          ":one": 1,
          ":now": now,
          ":planId": chunk.planId,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Records the outcome of an attempt (only over an attempt in progress). */
export async function settleChunk(
  table: StateTable,
  chunk: ChunkRecord,
  outcome:
    | { status: "submitted"; lassoBatchId: string; now: string }
    | { status: "rejected"; error: string; now: string }
    | { status: "submitting"; error: string; now: string },
): Promise<void> {
  const values: Record<string, unknown> = {
    ":status": outcome.status,
    ":now": outcome.now,
    ":submitting": "submitting",
  };
  let expression = "SET #status = :status, updatedAt = :now";
  if (outcome.status === "submitted") {
    expression += ", lassoBatchId = :batchId, submittedAt = :now REMOVE #error";
    values[":batchId"] = outcome.lassoBatchId;
  } else {
    expression += ", #error = :error";
    values[":error"] = outcome.error.slice(0, 1000);
  }
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: chunk.pk, sk: chunk.sk },
      UpdateExpression: expression,
      ConditionExpression: "#status = :submitting",
      ExpressionAttributeNames: { "#status": "status", "#error": "error" },
      ExpressionAttributeValues: values,
    }),
  );
}

/** Retires a rejected chunk so that its run never tries it again; false when it is not rejected. */
export async function supersedeRejectedChunk(
  table: StateTable,
  runPk: string,
  chunkIndex: number,
  now: string,
): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: chunkKey({ pk: runPk, sk: "RUN" }, chunkIndex),
        UpdateExpression: "SET #status = :superseded, updatedAt = :now",
        ConditionExpression: "#status = :rejected",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":superseded": "superseded", ":rejected": "rejected", ":now": now },
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Listener coverage
// ---------------------------------------------------------------------------------------

const BATCH_GET_LIMIT = 100;

/** The coverage records that exist for these customers (BatchGetItem, unprocessed keys retried). */
export async function getListenerCoverage(
  table: StateTable,
  reportType: ReportType,
  customerIds: readonly number[],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<Map<number, ListenerCoverageRecord>> {
  const found = new Map<number, ListenerCoverageRecord>();
  for (let start = 0; start < customerIds.length; start += BATCH_GET_LIMIT) {
    let keys: Record<string, unknown>[] = customerIds
      .slice(start, start + BATCH_GET_LIMIT)
      .map((id) => ({ ...listenerCoverageKey(reportType, id) }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
      if (attempt > 10) throw new Error("listener coverage read: DynamoDB left keys unprocessed 10 times");
      const answer = await table.doc.send(
        new BatchGetCommand({ RequestItems: { [table.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of answer.Responses?.[table.tableName] ?? []) {
        if (item.recordType === "listenerCoverage") {
          const record = item as ListenerCoverageRecord;
          found.set(record.customerId, record);
        }
      }
      keys = answer.UnprocessedKeys?.[table.tableName]?.Keys ?? [];
    }
  }
  return found;
}

export async function getCoverage(
  table: StateTable,
  reportType: ReportType,
  customerId: number,
): Promise<ListenerCoverageRecord | undefined> {
  return getRecord<ListenerCoverageRecord>(
    table,
    listenerCoverageKey(reportType, customerId),
    "listenerCoverage",
  );
}

/**
 * Claims a customer for a listener chunk. Succeeds when nobody covers the customer, or the
 * claim already belongs to the same run (a re-plan moves it to the new chunk), or it belongs
 * to `takeOverFrom` (a superseded chunk). False when someone else holds it.
 */
export async function claimListenerCoverage(
  table: StateTable,
  record: ListenerCoverageRecord,
  takeOverFrom?: { runPk: string; chunkIndex: number },
): Promise<boolean> {
  const values: Record<string, unknown> = { ":runPk": record.runPk };
  let condition = "attribute_not_exists(pk) OR runPk = :runPk";
  if (takeOverFrom !== undefined) {
    condition += " OR (runPk = :oldRunPk AND chunkIndex = :oldChunk)";
    values[":oldRunPk"] = takeOverFrom.runPk;
    values[":oldChunk"] = takeOverFrom.chunkIndex;
  }
  return conditionalWrite(() =>
    table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: record,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

/**
 * For the poller, when a listener batch has stopped (ListeningStopped) or is closed for
 * good: deletes the coverage of every customer of its manifest that this batch's chunk
 * still holds, so the next run of the schedule covers them again. Returns how many were
 * released. Batches without run/chunk (not ours) release nothing.
 */
export async function releaseListenerCoverage(
  table: StateTable,
  batch: { runPk?: string; chunkIndex?: number; reportType: ReportType; manifest: readonly ManifestEntry[] },
): Promise<number> {
  if (batch.runPk === undefined || batch.chunkIndex === undefined) return 0;
  let released = 0;
  for (const entry of batch.manifest) {
    try {
      await table.doc.send(
        new DeleteCommand({
          TableName: table.tableName,
          Key: listenerCoverageKey(batch.reportType, entry.customerId),
          ConditionExpression: "runPk = :runPk AND chunkIndex = :chunkIndex",
          ExpressionAttributeValues: { ":runPk": batch.runPk, ":chunkIndex": batch.chunkIndex },
        }),
      );
      released++;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
  return released;
}
