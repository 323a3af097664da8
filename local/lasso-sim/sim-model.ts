/**
 * The simulator's records: a batch, its reports and its queued report jobs, and what the
 * state needs from the rest of the simulator. Shared by the lifecycle (state.ts), report
 * production (reports.ts) and the JSON views (views.ts).
 */
import type { BatchStatus, ItemStatus } from "#shared/lasso/enums.ts";
import type { FaultEngine, ReportKey } from "./faults.ts";
import type { Company } from "./registry.ts";
import type { CreateBatchInput } from "./validation.ts";
import type { WebhookDispatcher } from "./webhooks.ts";
import type { WorkTracker } from "./work.ts";

export const WARNING_MESSAGE =
  "The latest annual report is older than 18 months; the report may be incomplete";
export const FAULT_FAILED_MESSAGE = "Report generation failed (simulated fault)";

export interface Report {
  id: string;
  batchId: string;
  key: ReportKey;
  cvr: string;
  company: Company | undefined;
  internalCustomerId: number | null;
  status: ItemStatus;
  fileName: string;
  /** Secret part of the pdfurl; undefined when the report has no PDF. */
  pdfToken: string | undefined;
  timestamp: Date;
  balanceDate: Date | undefined;
  errorMessage: string | null;
}

export interface Job {
  reportId: string;
  key: ReportKey;
  end: () => void;
}

export interface Batch {
  id: string;
  ordinal: number;
  input: CreateBatchInput;
  status: BatchStatus;
  createdAt: Date;
  runAt: Date;
  reports: Report[];
  queue: Job[];
  busy: boolean;
  /** Reports requested so far per item index (the next report ordinal). */
  reportsRequested: number[];
  timer: NodeJS.Timeout | undefined;
}

export interface SimStateDeps {
  now: () => Date;
  reportDelayMs: number;
  initializingMs: number;
  failedReportsHavePdf: boolean;
  orgId: string;
  userId: string;
  faults: FaultEngine;
  webhooks: WebhookDispatcher;
  tracker: WorkTracker;
  /** Base URL of pdfurl links (known once the server listens). */
  fileBaseUrl: () => string;
}

/** Share of the batch done: finished normal batches are 1, listeners count items with a report. */
export function completion(batch: Batch): number {
  const size = batch.input.items.length;
  if (size === 0) return 0;
  if (!batch.input.isListener && batch.status.startsWith("Finished")) return 1;
  const reported = new Set(batch.reports.map((r) => r.key.itemIndex));
  return reported.size / size;
}

/** A finished normal batch's status: Failed items take precedence over Warning ones. */
export function finishedStatus(batch: Batch): BatchStatus {
  const statuses = new Set(batch.reports.map((r) => r.status));
  return statuses.has("Failed")
    ? "FinishedWithErrors"
    : statuses.has("Warning")
      ? "FinishedWithWarning"
      : "Finished";
}
