/**
 * A finished Lasso item as a report-ready message (lambdas/shared/report-ready.ts, the
 * schema the webhook path uses too) and the report's identity.
 */
import type { LassoItem } from "#shared/lasso/schemas.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import type { BatchRecord, ManifestEntry } from "#shared/state/records.ts";
import type { HandOffEntry } from "#shared/state/report-handoff.ts";

/** Cuts informational text to the schema's limit instead of refusing the whole report. */
const cut = (text: string | undefined, max: number): string | undefined =>
  text === undefined ? undefined : text.slice(0, max);

/** The manifest's customer for each cvr that appears exactly once in it. */
export function manifestCustomers(manifest: readonly ManifestEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of manifest) counts.set(entry.cvr, (counts.get(entry.cvr) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const entry of manifest) if (counts.get(entry.cvr) === 1) out.set(entry.cvr, entry.customerId);
  return out;
}

export type EntryResult = { ok: true; entry: HandOffEntry } | { ok: false; reason: string };

/**
 * The hand-off entry of one finished item. `internalCustomerId` comes from Lasso's item,
 * else from the manifest when the cvr is in it once. Fails when the report cannot be
 * identified (a listener batch's item without an id) or is of another type than the batch.
 */
export function handOffEntryForItem(
  record: Pick<BatchRecord, "lassoBatchId" | "reportType" | "isListener">,
  isListener: boolean,
  customers: ReadonlyMap<string, number>,
  item: LassoItem,
  seenAt: Date,
): EntryResult {
  // The batch's type, as the delivery takes it: both paths must compute the same identity.
  const reportType = record.reportType;
  if (item.printType !== undefined && item.printType !== reportType) {
    // Lasso lists a report of another type than the batch we asked for: not ours to mail.
    return { ok: false, reason: `Lasso lists a ${item.printType} report in a ${reportType} batch` };
  }
  let identity: string;
  try {
    identity = reportIdentity(
      { batchId: record.lassoBatchId, cvr: item.cvr, reportType, reportId: item.id },
      { isListener },
    );
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const message: ReportReadyMessage = {
    version: 1,
    batchId: record.lassoBatchId,
    cvr: item.cvr,
    reportType,
    itemStatus: item.status,
    internalCustomerId: item.internalCustomerId ?? customers.get(item.cvr),
    reportId: item.id,
    lassoId: cut(item.lassoId, 200),
    companyName: cut(item.name, 500),
    pdfUrl: item.pdfUrl,
    fileName: item.fileName,
    errorMessage: cut(item.errorMessage, 2000),
    finishedAt: cut(item.finishedAt, 100),
    source: "poll",
    seenAt: seenAt.toISOString(),
  };
  for (const key of Object.keys(message) as (keyof ReportReadyMessage)[]) {
    if (message[key] === undefined) delete message[key];
  }
  return { ok: true, entry: { identity, reportType, message } };
}
