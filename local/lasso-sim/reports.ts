/**
 * Report production: one queued job becomes a report (the registry decides whether the
 * company exists, the fault engine the outcome), and a report's PDF is rendered on demand.
 */
import { randomBytes } from "node:crypto";
import type { ItemStatus } from "#shared/lasso/enums.ts";
import type { FaultEngine } from "./faults.ts";
import { reportFileName } from "./filename.ts";
import { renderReportPdf } from "./pdf.ts";
import { latestBalanceDate, lookupCompany } from "./registry.ts";
import { type Batch, FAULT_FAILED_MESSAGE, type Job, type Report, WARNING_MESSAGE } from "./sim-model.ts";

/** A new secret for a report's pdfurl. */
export const newPdfToken = (): string => randomBytes(24).toString("base64url");

/** The item's outcome: unknown companies fail with the registry's reason, others as the faults say. */
function outcomeOf(
  faults: FaultEngine,
  job: Job,
  cvr: string,
  lookup: ReturnType<typeof lookupCompany>,
): { status: ItemStatus; errorMessage: string | null } {
  if (!lookup.found) return { status: "Failed", errorMessage: lookup.reason };
  const status = faults.reportOutcome(job.key, cvr);
  if (status === "Failed") return { status, errorMessage: FAULT_FAILED_MESSAGE };
  if (status === "Warning") return { status, errorMessage: WARNING_MESSAGE };
  return { status, errorMessage: null };
}

/** The report for `job`, stamped now; undefined when the job names no item. */
export function produceReport(
  deps: { now: () => Date; faults: FaultEngine; failedReportsHavePdf: boolean },
  batch: Batch,
  job: Job,
): Report | undefined {
  const item = batch.input.items[job.key.itemIndex];
  if (item === undefined) return undefined;
  const timestamp = deps.now();
  const lookup = lookupCompany(item.cvr);
  const company = lookup.found ? lookup.company : undefined;
  const { status, errorMessage } = outcomeOf(deps.faults, job, item.cvr, lookup);
  const balanceDate = company === undefined ? undefined : latestBalanceDate(company.balanceDay, timestamp);
  return {
    id: job.reportId,
    batchId: batch.id,
    key: job.key,
    cvr: item.cvr,
    company,
    internalCustomerId: item.internalCustomerId,
    status,
    fileName: reportFileName({
      format: item.format ?? batch.input.format,
      name: company?.name ?? "",
      cvr: item.cvr,
      type: batch.input.type,
      balanceDate,
      runDate: timestamp,
      internalCustomerId: item.internalCustomerId,
      failed: status === "Failed",
      errorAppend: batch.input.errorAppend,
    }),
    pdfToken: status !== "Failed" || deps.failedReportsHavePdf ? newPdfToken() : undefined,
    timestamp,
    balanceDate,
    errorMessage,
  };
}

export function renderPdfOf(batch: Batch, report: Report): Promise<Uint8Array> {
  return renderReportPdf({
    companyName: report.company?.name ?? null,
    cvr: report.cvr,
    reportType: batch.input.type,
    runDate: report.timestamp,
    balanceDate: report.balanceDate,
    status: report.status,
    batchName: batch.input.batchName,
    reportId: report.id,
    message: report.errorMessage,
  });
}
