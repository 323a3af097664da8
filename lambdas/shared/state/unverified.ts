/**
 * Webhooks that were not believed (docs/guarantees.md, "Trust"): a doorbell for a batch
 * Lasso does not know, for a company that is not in our batch, for another type or another
 * customer than we asked for. Each is one record per (batch, company, type), counted on
 * every repeat; per batch one verdict record, so that more webhooks for a batch Lasso does
 * not know (or that is not ours to adopt) cost no look-up for {@link BATCH_VERDICT_RECHECK_MS};
 * and a budget of look-ups of unknown batches a minute, shared by all rings.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { lookUpBudgetKey, unverifiedKey } from "./keys.ts";
import type { UnverifiedRecord } from "./records.ts";
import { conditionalWrite, expiresAt, getRecord, type StateTable } from "./state-table.ts";

/** How long a verdict on a whole batch ("Lasso does not know it") is believed. */
export const BATCH_VERDICT_RECHECK_MS = 15 * 60_000;

export interface UnverifiedHint {
  lassoBatchId: string;
  cvr?: string;
  reportType?: ReportType;
  internalCustomerId?: number;
  pdfHost?: string;
  reason: string;
  batchVerdict?: boolean;
}

async function upsert(
  table: StateTable,
  hint: UnverifiedHint,
  subject: Parameters<typeof unverifiedKey>[1],
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  const fields: Record<string, unknown> = {
    recordType: "unverified",
    lassoBatchId: hint.lassoBatchId,
    cvr: hint.cvr,
    reportType: hint.reportType,
    internalCustomerId: hint.internalCustomerId,
    pdfHost: hint.pdfHost,
    reason: hint.reason.slice(0, 1000),
    batchVerdict: hint.batchVerdict,
    lastSeenAt: at,
    updatedAt: at,
    expiresAt: expiresAt(table, now),
  };
  const names: Record<string, string> = {
    "#hints": "hints",
    "#first": "firstSeenAt",
    "#created": "createdAt",
  };
  const values: Record<string, unknown> = { ":one": 1, ":at": at };
  const sets = ["#first = if_not_exists(#first, :at)", "#created = if_not_exists(#created, :at)"];
  let i = 0;
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#f${i}`] = name;
    values[`:f${i}`] = value;
    sets.push(`#f${i} = :f${i}`);
    i++;
  }
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: unverifiedKey(hint.lassoBatchId, subject),
      UpdateExpression: `SET ${sets.join(", ")} ADD #hints :one`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Records (or counts once more) a hint that was not believed. */
export async function recordUnverifiedHint(
  table: StateTable,
  hint: UnverifiedHint,
  now: Date,
): Promise<void> {
  const subject =
    hint.cvr === undefined
      ? ("BATCH" as const)
      : { cvr: hint.cvr, ...(hint.reportType === undefined ? {} : { reportType: hint.reportType }) };
  await upsert(table, hint, subject, now);
}

/**
 * Records a verdict on a whole batch (Lasso does not know it, it is not ours to adopt),
 * believed for {@link BATCH_VERDICT_RECHECK_MS}: more webhooks for it cost Lasso nothing.
 */
export async function recordBatchVerdict(
  table: StateTable,
  lassoBatchId: string,
  reason: string,
  now: Date,
): Promise<void> {
  await upsert(table, { lassoBatchId, reason, batchVerdict: true }, "BATCH", now);
}

/** The batch's verdict, while it is younger than the recheck time. */
export async function freshBatchVerdict(
  table: StateTable,
  lassoBatchId: string,
  now: Date,
): Promise<string | undefined> {
  const record = await getRecord<UnverifiedRecord>(table, unverifiedKey(lassoBatchId, "BATCH"), "unverified");
  if (record?.batchVerdict !== true) return undefined;
  return now.getTime() - Date.parse(record.lastSeenAt) < BATCH_VERDICT_RECHECK_MS ? record.reason : undefined;
}

/**
 * Takes one of the `perMinute` Lasso look-ups of unknown batches that all rings share in a
 * clock minute (one counter record per minute, conditional increment): a flood of webhooks
 * for made-up batch ids cannot spend Lasso's budget (500 calls a minute, shared with the
 * poller, the submissions and the PDF downloads). False when this minute's are gone.
 */
export async function takeBatchLookUp(table: StateTable, now: Date, perMinute: number): Promise<boolean> {
  const minute = now.toISOString().slice(0, 16);
  return conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: lookUpBudgetKey(minute),
        UpdateExpression: "SET #type = :type, #expires = :expires ADD #taken :one",
        ConditionExpression: "attribute_not_exists(#taken) OR #taken < :limit",
        ExpressionAttributeNames: { "#type": "recordType", "#expires": "expiresAt", "#taken": "taken" },
        ExpressionAttributeValues: {
          ":type": "lookUpBudget",
          // Kept a day (TTL), long enough to see a flood after the fact.
          ":expires": Math.floor(now.getTime() / 1000) + 86_400,
          ":one": 1,
          ":limit": perMinute,
        },
      }),
    ),
  );
}

/** Every unverified record of a batch (the batch verdict and each hint), for operators. */
export async function getUnverifiedRecord(
  table: StateTable,
  lassoBatchId: string,
  subject: Parameters<typeof unverifiedKey>[1],
): Promise<UnverifiedRecord | undefined> {
  return getRecord<UnverifiedRecord>(table, unverifiedKey(lassoBatchId, subject), "unverified");
}
