/**
 * Webhooks that were not believed (docs/guarantees.md, "Trust"): a doorbell for a batch
 * Lasso does not know, for a company that is not in our batch, for another type or another
 * customer than we asked for. Each is one record per (batch, company, type), counted on
 * every repeat; and per batch one verdict record, so that a flood of webhooks for an
 * unknown batch costs Lasso one look-up per {@link UNKNOWN_BATCH_RECHECK_MS}, not one each.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import { unverifiedKey } from "./keys.ts";
import type { UnverifiedRecord } from "./records.ts";
import { expiresAt, getRecord, type StateTable } from "./state-table.ts";

/** How long Lasso's "no such batch" is believed before it is asked again. */
export const UNKNOWN_BATCH_RECHECK_MS = 15 * 60_000;

export interface UnverifiedHint {
  lassoBatchId: string;
  cvr?: string;
  reportType?: ReportType;
  internalCustomerId?: number;
  pdfHost?: string;
  reason: string;
  unknownToLasso?: boolean;
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
    unknownToLasso: hint.unknownToLasso,
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

/** Records Lasso's answer that it does not know the batch. */
export async function recordUnknownBatch(table: StateTable, lassoBatchId: string, now: Date): Promise<void> {
  await upsert(
    table,
    { lassoBatchId, reason: "Lasso does not know this batch (404)", unknownToLasso: true },
    "BATCH",
    now,
  );
}

/** True when Lasso said it does not know the batch less than the recheck time ago. */
export async function isKnownUnknownBatch(
  table: StateTable,
  lassoBatchId: string,
  now: Date,
): Promise<boolean> {
  const record = await getRecord<UnverifiedRecord>(table, unverifiedKey(lassoBatchId, "BATCH"), "unverified");
  return (
    record?.unknownToLasso === true &&
    now.getTime() - Date.parse(record.lastSeenAt) < UNKNOWN_BATCH_RECHECK_MS
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
