/**
 * Batch records (docs/state-model.md): written when a batch is submitted, reconciled by
 * the poller, read by the delivery for routing by manifest.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { ChunkRecord } from "./chunks.ts";
import { batchKey, OPEN_BATCH_PARTITION } from "./keys.ts";
import type { BatchRecord } from "./records.ts";
import { expiresAt, getRecord, putIfAbsent, type StateTable } from "./state-table.ts";

/** The record of a batch Lasso accepted for a chunk: open for the poller, with the chunk's manifest. */
export function submittedBatchRecord(
  table: StateTable,
  chunk: ChunkRecord,
  batch: {
    id: string;
    name: string;
    status: BatchRecord["status"];
    batchSize: number;
    completionPercentage: number;
  },
  now: Date,
): BatchRecord {
  const at = now.toISOString();
  return {
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
    expiresAt: expiresAt(table, now),
  };
}

export async function getBatchRecord(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRecord | undefined> {
  return getRecord<BatchRecord>(table, batchKey(lassoBatchId), "batch");
}

/** What the delivery routes by; fixed once the batch is recorded (submission or adoption). */
export type BatchRoutingFacts = Pick<BatchRecord, "reportType" | "isListener" | "manifest" | "adoptedAt">;

/**
 * A batch record's routing facts only (no poll state, alerts or failed items), strongly
 * consistent: a batch recorded a moment ago must be found, or it would route as unknown.
 */
export async function getBatchRoutingFacts(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRoutingFacts | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: batchKey(lassoBatchId),
      ConsistentRead: true,
      ProjectionExpression: "recordType, reportType, isListener, manifest, adoptedAt",
    }),
  );
  if (Item?.recordType !== "batch") return undefined;
  const { reportType, isListener, manifest, adoptedAt } = Item as BatchRecord;
  return { reportType, isListener, manifest, ...(adoptedAt === undefined ? {} : { adoptedAt }) };
}

/**
 * Whether the batch is still open (the poller or a ring may still hand its reports on),
 * strongly consistent; only `openPartition` comes back, not the manifest.
 */
export async function isBatchOpen(table: StateTable, lassoBatchId: string): Promise<boolean> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: batchKey(lassoBatchId),
      ConsistentRead: true,
      ProjectionExpression: "openPartition",
    }),
  );
  return Item?.openPartition !== undefined;
}

/** Creates the record once; false when it already exists (a re-run found the same batch). */
export async function putNewBatchRecord(table: StateTable, record: BatchRecord): Promise<boolean> {
  return putIfAbsent(table, record);
}
