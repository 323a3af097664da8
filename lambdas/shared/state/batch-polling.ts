/**
 * The poller's reads and writes of batch records (docs/polling.md): the open set through
 * the sparse `openBatches` index, a lease while a poll reads a batch's items, and one
 * version-checked update per poll that records what Lasso said and closes the batch.
 */
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expireManifestWithRecord, storedBatchRecord } from "./batches.ts";
import { batchKey, OPEN_BATCH_PARTITION } from "./keys.ts";
import type { BatchRecord } from "./records.ts";
import { conditionalWrite, isConditionalCheckFailed, type StateTable } from "./state-table.ts";

/** What the poller needs of each open batch to order its work: it reads the record itself. */
export type OpenBatchListing = Pick<BatchRecord, "lassoBatchId" | "lastPolledAt">;

/** Every open batch, whole records (sparse index, no scan of history; eventually consistent). */
export async function listOpenBatches(table: StateTable): Promise<BatchRecord[]> {
  return (await queryOpenBatches<Record<string, unknown>>(table)).map(storedBatchRecord);
}

/**
 * Every open batch, only what the poller orders them by (the index projects whole records,
 * which DynamoDB bills either way; a record's manifest is an item of its own).
 */
export async function listOpenBatchesToPoll(table: StateTable): Promise<OpenBatchListing[]> {
  return queryOpenBatches<OpenBatchListing>(table, {
    expression: "#recordType, #lassoBatchId, #lastPolledAt",
    names: { "#recordType": "recordType", "#lassoBatchId": "lassoBatchId", "#lastPolledAt": "lastPolledAt" },
  });
}

/** The batch records of the open index's pages, whole or only the projected attributes. */
async function queryOpenBatches<T>(
  table: StateTable,
  projection?: { expression: string; names: Record<string, string> },
): Promise<T[]> {
  const out: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: "openBatches",
        KeyConditionExpression: "#open = :open",
        ExpressionAttributeNames: { "#open": "openPartition", ...projection?.names },
        ExpressionAttributeValues: { ":open": OPEN_BATCH_PARTITION },
        ...(projection === undefined ? {} : { ProjectionExpression: projection.expression }),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.recordType === "batch") out.push(item as T);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return out;
}

/**
 * Takes the batch for one poll: bumps `version` and sets `pollLeaseUntil`, provided the
 * record is still open, unchanged since it was read, and not leased by a poll still
 * running. The updated record, or undefined when another writer got there first.
 */
export async function claimBatchForPolling(
  table: StateTable,
  record: BatchRecord,
  leaseUntil: Date,
  now: Date,
): Promise<BatchRecord | undefined> {
  try {
    const { Attributes } = await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: batchKey(record.lassoBatchId),
        UpdateExpression: "SET #lease = :lease, #version = :next",
        ConditionExpression:
          "attribute_exists(#open) AND #version = :expected AND (attribute_not_exists(#lease) OR #lease < :now)",
        ExpressionAttributeNames: {
          "#lease": "pollLeaseUntil",
          "#version": "version",
          "#open": "openPartition",
        },
        ExpressionAttributeValues: {
          ":lease": leaseUntil.toISOString(),
          ":now": now.toISOString(),
          ":expected": record.version,
          ":next": record.version + 1,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return storedBatchRecord(Attributes ?? {});
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** Attributes the poller may set; `pk`, `sk`, `version`, `updatedAt` are the store's. */
export type BatchPollFields = Partial<
  Omit<BatchRecord, "pk" | "sk" | "recordType" | "version" | "updatedAt">
>;

export interface BatchPollUpdate {
  set: BatchPollFields;
  remove?: readonly (keyof BatchPollFields)[];
  /** Close: removes `openPartition` (leaves the index) and the lease. */
  close?: { reason: string };
}

/**
 * Writes one poll's outcome, provided the record still has the version the poll worked
 * from and is still open; always drops the lease. The updated record, or undefined when
 * the record changed meanwhile (the poll's findings are then left for the next poll).
 */
export async function commitBatchPoll(
  table: StateTable,
  record: BatchRecord,
  update: BatchPollUpdate,
  now: Date,
): Promise<BatchRecord | undefined> {
  const names: Record<string, string> = { "#version": "version", "#open": "openPartition" };
  const values: Record<string, unknown> = {
    ":expected": record.version,
    ":next": record.version + 1,
  };
  const sets = ["#version = :next"];
  const removes = new Set<string>(["pollLeaseUntil", ...(update.remove ?? [])]);
  const fields: Record<string, unknown> = { ...update.set, updatedAt: now.toISOString() };
  if (update.close) {
    fields.closedAt = now.toISOString();
    fields.closeReason = update.close.reason;
    removes.add("openPartition");
  }
  let n = 0;
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    removes.delete(field);
    names[`#s${n}`] = field;
    values[`:s${n}`] = value;
    sets.push(`#s${n} = :s${n}`);
    n++;
  }
  if (update.close) {
    // Before the close, so that a failure leaves the batch open for the next poll to retry
    // (after it, nothing would try again); a close that then loses its race changes nothing
    // the next close does not set again.
    await expireManifestWithRecord(table, record.lassoBatchId, update.set.expiresAt ?? record.expiresAt, now);
  }
  const removeParts = [...removes].map((field, i) => {
    if (field === "openPartition") return "#open";
    names[`#r${i}`] = field;
    return `#r${i}`;
  });
  try {
    const { Attributes } = await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: batchKey(record.lassoBatchId),
        UpdateExpression: `SET ${sets.join(", ")}${removeParts.length > 0 ? ` REMOVE ${removeParts.join(", ")}` : ""}`,
        ConditionExpression: "attribute_exists(#open) AND #version = :expected",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return storedBatchRecord(Attributes ?? {});
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/**
 * Takes the batch's ring read: at most one read caused by webhooks per `intervalMs` and
 * batch, decided by one conditional write before any Lasso call, so rings that arrive
 * together do not each ask Lasso. Leaves `version` alone: it does not race the poller.
 */
export async function claimRingRead(
  table: StateTable,
  lassoBatchId: string,
  now: Date,
  intervalMs: number,
): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: batchKey(lassoBatchId),
        UpdateExpression: "SET #ring = :now",
        ConditionExpression: "attribute_exists(#open) AND (attribute_not_exists(#ring) OR #ring < :cutoff)",
        ExpressionAttributeNames: { "#ring": "ringReadAt", "#open": "openPartition" },
        ExpressionAttributeValues: {
          ":now": now.toISOString(),
          ":cutoff": new Date(now.getTime() - intervalMs).toISOString(),
        },
      }),
    ),
  );
}
