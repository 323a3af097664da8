/**
 * Listener-coverage records (docs/state-model.md, docs/submission.md): which listener chunk
 * covers a customer for a report type. Claimed by submit-batches while planning a listener
 * run, released by the poller when a listener batch stops. A claim is a conditional create
 * (`attribute_not_exists`), so no customer is covered by two listener batches.
 */
import { BatchGetCommand, DeleteCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { listenerCoverageKey } from "./keys.ts";
import type { ManifestEntry } from "./records.ts";
import { getRecord, isConditionalCheckFailed, putIfAbsent, type StateTable } from "./state-table.ts";

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

/** The claim of one customer for a listener chunk. */
export function coverageRecord(
  claim: Pick<
    ListenerCoverageRecord,
    "reportType" | "customerId" | "cvr" | "schedule" | "runPk" | "chunkIndex"
  >,
  now: string,
): ListenerCoverageRecord {
  return {
    ...listenerCoverageKey(claim.reportType, claim.customerId),
    recordType: "listenerCoverage",
    reportType: claim.reportType,
    customerId: claim.customerId,
    cvr: claim.cvr,
    schedule: claim.schedule,
    runPk: claim.runPk,
    chunkIndex: claim.chunkIndex,
    createdAt: now,
    updatedAt: now,
  };
}

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
  let condition = "runPk = :runPk";
  if (takeOverFrom !== undefined) {
    condition += " OR (runPk = :oldRunPk AND chunkIndex = :oldChunk)";
    values[":oldRunPk"] = takeOverFrom.runPk;
    values[":oldChunk"] = takeOverFrom.chunkIndex;
  }
  return putIfAbsent(table, record, { expression: condition, values });
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
