/**
 * Batch records (docs/state-model.md): written when a batch is submitted, reconciled by
 * the poller, read by the delivery for routing by manifest.
 */
import { batchKey } from "./keys.ts";
import type { BatchRecord } from "./records.ts";
import { getRecord, putIfAbsent, type StateTable } from "./state-table.ts";

export async function getBatchRecord(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRecord | undefined> {
  return getRecord<BatchRecord>(table, batchKey(lassoBatchId), "batch");
}

/** Creates the record once; false when it already exists (a re-run found the same batch). */
export async function putNewBatchRecord(table: StateTable, record: BatchRecord): Promise<boolean> {
  return putIfAbsent(table, record);
}
