/**
 * Batch records (docs/state-model.md): written when a batch is submitted, reconciled by
 * the poller, read by the delivery for routing by manifest.
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { batchKey } from "./keys.ts";
import type { BatchRecord } from "./records.ts";
import { isConditionalCheckFailed, type StateTable } from "./state-table.ts";

export async function getBatchRecord(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRecord | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: batchKey(lassoBatchId), ConsistentRead: true }),
  );
  return Item?.recordType === "batch" ? (Item as BatchRecord) : undefined;
}

/** Creates the record once; false when it already exists (a re-run found the same batch). */
export async function putNewBatchRecord(table: StateTable, record: BatchRecord): Promise<boolean> {
  try {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: record,
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
