/** The JSON the API answers with, built from the records (Lasso's field names and shapes). */
import { REPORT_TYPE_NUMBERS } from "#shared/lasso/enums.ts";
import { type Batch, completion, type Report } from "./sim-model.ts";
import type { BatchJson, BatchSnapshot, ItemJson, WebhookPayload } from "./types.ts";

/** The capability link of a report's PDF; null when it has none. */
export function pdfUrl(fileBaseUrl: string, report: Report): string | null {
  return report.pdfToken === undefined ? null : `${fileBaseUrl}/files/${report.id}/${report.pdfToken}.pdf`;
}

export function batchJson(batch: Batch, owner: { orgId: string; userId: string }): BatchJson {
  const { input } = batch;
  return {
    id: batch.id,
    name: input.batchName,
    batchName: input.batchName,
    type: REPORT_TYPE_NUMBERS[input.type],
    format: input.format,
    status: batch.status,
    batchSize: input.items.length,
    completionPercentage: completion(batch),
    scheduledTime: batch.runAt.toISOString(),
    timestamp: batch.createdAt.toISOString(),
    notificationEmail: input.notificationEmail,
    notificationWebHookUrl: input.notificationWebhookUrl,
    errorAppend: input.errorAppend,
    isListener: input.isListener,
    triggerNow: input.triggerNow,
    archived: false,
    lassoOrgId: owner.orgId,
    lassoUserId: owner.userId,
  };
}

export function itemJson(report: Report, batch: Batch, fileBaseUrl: string): ItemJson {
  return {
    id: report.id,
    batchId: report.batchId,
    lassoId: `CVR-1-${report.cvr}`,
    cvr: Number(report.cvr),
    name: report.company?.name ?? null,
    internalCustomerId: report.internalCustomerId,
    status: report.status,
    printType: REPORT_TYPE_NUMBERS[batch.input.type],
    pdfurl: pdfUrl(fileBaseUrl, report),
    fileName: report.fileName,
    timestamp: report.timestamp.toISOString(),
    errorMessage: report.errorMessage,
  };
}

/** The test hooks' view: the batch JSON plus what was asked for and what is still queued. */
export function snapshot(batch: Batch, json: BatchJson, items: ItemJson[]): BatchSnapshot {
  return {
    ...json,
    authConfig: batch.input.authConfig === null ? null : { ...batch.input.authConfig },
    requestedItems: batch.input.items.map((item) => ({ ...item })),
    items,
    pendingReports: batch.queue.length,
  };
}

export function webhookPayload(batch: Batch, report: Report, fileBaseUrl: string): WebhookPayload {
  return {
    batchId: batch.id,
    batchName: batch.input.batchName,
    lassoId: `CVR-1-${report.cvr}`,
    cvr: Number(report.cvr),
    companyName: report.company?.name ?? null,
    reportType: batch.input.type,
    printType: REPORT_TYPE_NUMBERS[batch.input.type],
    status: report.status,
    pdfUrl: pdfUrl(fileBaseUrl, report),
    fileName: report.fileName,
    internalCustomerId: report.internalCustomerId,
    reportId: report.id,
    timestamp: report.timestamp.toISOString(),
    errorMessage: report.errorMessage,
  };
}
