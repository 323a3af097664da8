/**
 * Chunk records (docs/state-model.md, docs/submission.md): one per batch a run's plan will
 * submit, written by submit-batches, read by the CLI (`status`) and by listener planning.
 *
 * Chunk status conditions make each chunk's POST happen at most once per attempt.
 */
import { paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { chunkKey, type StateKey } from "./keys.ts";
import type { ManifestEntry, RecordBase } from "./records.ts";
import {
  conditionalWrite,
  expiresAt,
  getRecord,
  isConditionalCheckFailed,
  putIfAbsent,
  type StateTable,
  statusIn,
} from "./state-table.ts";

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

/** A chunk of a run's plan, stored before anything is sent (`planned`). */
export function plannedChunkRecord(
  table: StateTable,
  runKey: StateKey,
  chunk: Pick<
    ChunkRecord,
    | "schedule"
    | "chunkIndex"
    | "planId"
    | "uniqueToken"
    | "batchName"
    | "reportType"
    | "isListener"
    | "manifest"
  >,
  now: Date,
): ChunkRecord {
  const at = now.toISOString();
  return {
    ...chunkKey(runKey, chunk.chunkIndex),
    recordType: "chunk",
    runPk: runKey.pk,
    schedule: chunk.schedule,
    chunkIndex: chunk.chunkIndex,
    planId: chunk.planId,
    uniqueToken: chunk.uniqueToken,
    batchName: chunk.batchName,
    reportType: chunk.reportType,
    isListener: chunk.isListener,
    manifest: chunk.manifest,
    status: "planned",
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(table, now),
  };
}

/**
 * Stores a planned chunk. It may replace a chunk of an abandoned plan that was never sent
 * (`planned`), never one that was sent. False when a sent chunk is in the way.
 */
export async function putPlannedChunk(table: StateTable, chunk: ChunkRecord): Promise<boolean> {
  return putIfAbsent(table, chunk, {
    expression: "#status = :planned",
    names: { "#status": "status" },
    values: { ":planned": "planned" },
  });
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
 * Marks that a POST of the chunk starts now. Refused (false) unless the chunk is in this
 * plan and in one of `attemptable`.
 */
export async function startChunkAttempt(
  table: StateTable,
  chunk: ChunkRecord,
  now: string,
  attemptable: readonly ChunkStatus[],
): Promise<boolean> {
  const from = statusIn(attemptable);
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: chunk.pk, sk: chunk.sk },
        UpdateExpression:
          "SET #status = :submitting, attempts = attempts + :one, lastAttemptAt = :now, updatedAt = :now",
        ConditionExpression: `planId = :planId AND ${from.expression}`,
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":submitting": "submitting",
          ":one": 1,
          ":now": now,
          ":planId": chunk.planId,
          ...from.values,
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
