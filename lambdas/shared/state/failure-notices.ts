/**
 * The once-only marker of a failure notice (deliver-report's failure-notice.ts): one per
 * customer and Lasso batch, created by a conditional write, so a storm of failed reports of
 * one customer in one run gives its accountant one mail. Kept as long as operational
 * records.
 */
import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { failureNoticeKey } from "./keys.ts";
import { expiresAt, putIfAbsent, type StateTable } from "./state-table.ts";

export interface FailureNoticeRecord {
  pk: string;
  sk: string;
  recordType: "failureNotice";
  customerId: number;
  lassoBatchId: string;
  /** The report whose failure the notice is about (the first of the batch). */
  identity: string;
  reason: string;
  /** SES's id of the notice, once SES accepted it. */
  sesMessageId?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: number;
}

/** True when this call may send the notice (no notice of this customer and batch yet). */
export async function claimFailureNotice(
  table: StateTable,
  notice: { customerId: number; lassoBatchId: string; identity: string; reason: string },
  now: Date,
): Promise<boolean> {
  const record: FailureNoticeRecord = {
    ...failureNoticeKey(notice.customerId, notice.lassoBatchId),
    recordType: "failureNotice",
    ...notice,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: expiresAt(table, now),
  };
  return putIfAbsent(table, record);
}

/** Gives the claim back after the notice could not be sent, so a later failure may try again. */
export async function releaseFailureNotice(
  table: StateTable,
  customerId: number,
  lassoBatchId: string,
): Promise<void> {
  await table.doc.send(
    new DeleteCommand({ TableName: table.tableName, Key: failureNoticeKey(customerId, lassoBatchId) }),
  );
}

/** The notice went out: SES's message id on its record (so tools can tell a notice from a report mail). */
export async function markFailureNoticeSent(
  table: StateTable,
  customerId: number,
  lassoBatchId: string,
  sesMessageId: string,
  now: Date,
): Promise<void> {
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: failureNoticeKey(customerId, lassoBatchId),
      UpdateExpression: "SET sesMessageId = :id, updatedAt = :now",
      ExpressionAttributeValues: { ":id": sesMessageId, ":now": now.toISOString() },
    }),
  );
}
