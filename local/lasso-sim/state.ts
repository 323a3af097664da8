/**
 * Batches and their lifecycle.
 *
 * Normal batch:  [Scheduled until scheduledTime] → Initializing (initializingMs) → Executing
 *                (one report every reportDelayMs, in item order; completionPercentage =
 *                finished / batchSize) → Finished | FinishedWithWarning (some Warning item) |
 *                FinishedWithErrors (some Failed item; takes precedence over Warning).
 * Listener batch (ReelleEjere only): [Scheduled] → Initializing → Listening; with TriggerNow one
 *                report per item at once (sequentially); triggerChange() queues a new report for
 *                a company; stopListening() → ListeningStopped at once (reports already queued
 *                still finish). completionPercentage = share of items with at least one report.
 *
 * Each batch has one sequential report queue, so the order of reports within a batch is always
 * the item order (then the order of triggers). Timers run on real time; the injected clock
 * gives timestamps and decides when scheduledTime has come (re-checked at least every 200 ms).
 */

import { randomBytes, randomUUID } from "node:crypto";
import { type BatchStatus, type ItemStatus, REPORT_TYPE_NUMBERS } from "#shared/lasso/enums.ts";
import { conflict, notFound } from "./errors.ts";
import type { FaultEngine, ReportKey } from "./faults.ts";
import { reportFileName } from "./filename.ts";
import { renderReportPdf } from "./pdf.ts";
import { type Company, latestBalanceDate, lookupCompany } from "./registry.ts";
import type { BatchJson, BatchSnapshot, ItemJson, WebhookPayload } from "./types.ts";
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

interface Job {
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

const SCHEDULE_RECHECK_MS = 200;

export class SimState {
  private readonly batchesById = new Map<string, Batch>();
  private readonly reportsById = new Map<string, { batch: Batch; report: Report }>();
  private readonly pdfCache = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly deps: SimStateDeps) {}

  create(input: CreateBatchInput): Batch {
    const now = this.deps.now();
    const batch: Batch = {
      id: randomUUID(),
      ordinal: this.batchesById.size,
      input,
      status: "Scheduled",
      createdAt: now,
      runAt: input.scheduledTime ?? now,
      reports: [],
      queue: [],
      busy: false,
      reportsRequested: input.items.map(() => 0),
      timer: undefined,
    };
    this.batchesById.set(batch.id, batch);
    if (batch.runAt.getTime() > now.getTime()) this.armSchedule(batch);
    else this.startInitializing(batch);
    return batch;
  }

  all(): Batch[] {
    return [...this.batchesById.values()];
  }

  get(id: string): Batch | undefined {
    return this.batchesById.get(id.toLowerCase());
  }

  require(id: string): Batch {
    const batch = this.get(id);
    if (batch === undefined) throw notFound(`Batch ${id} was not found`);
    return batch;
  }

  findReport(id: string): { batch: Batch; report: Report } | undefined {
    return this.reportsById.get(id.toLowerCase());
  }

  batchJson(batch: Batch): BatchJson {
    const { input } = batch;
    return {
      id: batch.id,
      name: input.batchName,
      batchName: input.batchName,
      type: REPORT_TYPE_NUMBERS[input.type],
      format: input.format,
      status: batch.status,
      batchSize: input.items.length,
      completionPercentage: this.completion(batch),
      scheduledTime: batch.runAt.toISOString(),
      timestamp: batch.createdAt.toISOString(),
      notificationEmail: input.notificationEmail,
      notificationWebHookUrl: input.notificationWebhookUrl,
      errorAppend: input.errorAppend,
      isListener: input.isListener,
      triggerNow: input.triggerNow,
      archived: false,
      lassoOrgId: this.deps.orgId,
      lassoUserId: this.deps.userId,
    };
  }

  itemJson(report: Report): ItemJson {
    return {
      id: report.id,
      batchId: report.batchId,
      lassoId: `CVR-1-${report.cvr}`,
      cvr: Number(report.cvr),
      name: report.company?.name ?? null,
      internalCustomerId: report.internalCustomerId,
      status: report.status,
      printType: REPORT_TYPE_NUMBERS[this.batchOf(report).input.type],
      pdfurl: this.pdfUrl(report),
      fileName: report.fileName,
      timestamp: report.timestamp.toISOString(),
      errorMessage: report.errorMessage,
    };
  }

  snapshot(batch: Batch): BatchSnapshot {
    return {
      ...this.batchJson(batch),
      authConfig: batch.input.authConfig === null ? null : { ...batch.input.authConfig },
      requestedItems: batch.input.items.map((item) => ({ ...item })),
      items: batch.reports.map((r) => this.itemJson(r)),
      pendingReports: batch.queue.length,
    };
  }

  /** The report's PDF, rendered on first use and cached; undefined when it has none. */
  pdf(reportId: string): Promise<Uint8Array> | undefined {
    const found = this.findReport(reportId);
    if (found === undefined || found.report.pdfToken === undefined) return undefined;
    const { batch, report } = found;
    let bytes = this.pdfCache.get(report.id);
    if (bytes === undefined) {
      bytes = renderReportPdf({
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
      this.pdfCache.set(report.id, bytes);
    }
    return bytes;
  }

  /** Queues a new report for `cvr` in a Listening batch; returns its id. */
  /**
   * Gives every report of the batch a new pdfurl; the old links answer 404 from then on
   * (a capability link that expired, as storage links do). Returns how many changed.
   */
  expirePdfLinks(batchId: string): number {
    let changed = 0;
    for (const report of this.require(batchId).reports) {
      if (report.pdfToken === undefined) continue;
      report.pdfToken = randomBytes(24).toString("base64url");
      changed++;
    }
    return changed;
  }

  triggerChange(batchId: string, cvrValue: string | number): string {
    const batch = this.require(batchId);
    if (!batch.input.isListener) throw conflict(`Batch ${batch.id} is not a listener batch`);
    if (batch.status !== "Listening") throw conflict(`Batch ${batch.id} is ${batch.status}, not Listening`);
    const cvr = String(cvrValue).trim();
    const indexes = batch.input.items.flatMap((item, index) => (item.cvr === cvr ? [index] : []));
    if (indexes.length === 0) throw notFound(`CVR ${cvr} is not part of batch ${batch.id}`);
    const ids = indexes.map((index) => this.enqueue(batch, index));
    return ids[0] ?? "";
  }

  stopListening(batchId: string): void {
    const batch = this.require(batchId);
    if (!batch.input.isListener) throw conflict(`Batch ${batch.id} is not a listener batch`);
    if (batch.status === "ListeningStopped") return;
    this.deps.tracker.clearTimer(batch.timer);
    batch.timer = undefined;
    batch.status = "ListeningStopped";
  }

  runNow(batchId: string): void {
    const batch = this.require(batchId);
    if (batch.status !== "Scheduled") throw conflict(`Batch ${batch.id} is ${batch.status}, not Scheduled`);
    this.deps.tracker.clearTimer(batch.timer);
    this.startInitializing(batch);
  }

  private batchOf(report: Report): Batch {
    const batch = this.batchesById.get(report.batchId);
    if (batch === undefined) throw new Error(`report ${report.id} has no batch`);
    return batch;
  }

  private pdfUrl(report: Report): string | null {
    return report.pdfToken === undefined
      ? null
      : `${this.deps.fileBaseUrl()}/files/${report.id}/${report.pdfToken}.pdf`;
  }

  private completion(batch: Batch): number {
    const size = batch.input.items.length;
    if (size === 0) return 0;
    if (!batch.input.isListener && batch.status.startsWith("Finished")) return 1;
    const reported = new Set(batch.reports.map((r) => r.key.itemIndex));
    return reported.size / size;
  }

  private armSchedule(batch: Batch): void {
    const wait = batch.runAt.getTime() - this.deps.now().getTime();
    batch.timer = this.deps.tracker.setTimer(
      () => {
        batch.timer = undefined;
        if (batch.status !== "Scheduled") return;
        if (this.deps.now().getTime() >= batch.runAt.getTime()) this.startInitializing(batch);
        else this.armSchedule(batch);
      },
      Math.min(Math.max(wait, 0), SCHEDULE_RECHECK_MS),
    );
  }

  private startInitializing(batch: Batch): void {
    batch.status = "Initializing";
    const end = this.deps.tracker.begin();
    batch.timer = this.deps.tracker.setTimer(() => {
      batch.timer = undefined;
      if (batch.status === "Initializing") {
        if (batch.input.isListener) {
          batch.status = "Listening";
          if (batch.input.triggerNow) this.enqueueAll(batch);
        } else {
          batch.status = "Executing";
          this.enqueueAll(batch);
        }
      }
      end();
    }, this.deps.initializingMs);
  }

  private enqueueAll(batch: Batch): void {
    for (let index = 0; index < batch.input.items.length; index++) this.enqueue(batch, index);
  }

  private enqueue(batch: Batch, itemIndex: number): string {
    const reportOrdinal = batch.reportsRequested[itemIndex] ?? 0;
    batch.reportsRequested[itemIndex] = reportOrdinal + 1;
    const job: Job = {
      reportId: randomUUID(),
      key: { batchOrdinal: batch.ordinal, itemIndex, reportOrdinal },
      end: this.deps.tracker.begin(),
    };
    batch.queue.push(job);
    this.pump(batch);
    return job.reportId;
  }

  private pump(batch: Batch): void {
    if (batch.busy || batch.queue.length === 0) return;
    batch.busy = true;
    this.deps.tracker.setTimer(() => {
      const job = batch.queue.shift();
      batch.busy = false;
      if (job === undefined) return;
      this.produce(batch, job);
      if (!batch.input.isListener && batch.queue.length === 0 && batch.status === "Executing") {
        this.finish(batch);
      }
      this.pump(batch);
      job.end();
    }, this.deps.reportDelayMs);
  }

  private produce(batch: Batch, job: Job): void {
    const item = batch.input.items[job.key.itemIndex];
    if (item === undefined) return;
    const timestamp = this.deps.now();
    const lookup = lookupCompany(item.cvr);
    const company = lookup.found ? lookup.company : undefined;
    let status: ItemStatus;
    let errorMessage: string | null = null;
    if (!lookup.found) {
      status = "Failed";
      errorMessage = lookup.reason;
    } else {
      status = this.deps.faults.reportOutcome(job.key, item.cvr);
      if (status === "Failed") errorMessage = FAULT_FAILED_MESSAGE;
      if (status === "Warning") errorMessage = WARNING_MESSAGE;
    }
    const balanceDate = company === undefined ? undefined : latestBalanceDate(company.balanceDay, timestamp);
    const report: Report = {
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
      pdfToken:
        status !== "Failed" || this.deps.failedReportsHavePdf
          ? randomBytes(24).toString("base64url")
          : undefined,
      timestamp,
      balanceDate,
      errorMessage,
    };
    batch.reports.push(report);
    this.reportsById.set(report.id, { batch, report });
    const url = batch.input.notificationWebhookUrl;
    if (url !== null) {
      this.deps.webhooks.deliverReport(
        { url, auth: batch.input.authConfig },
        this.webhookPayload(batch, report),
        this.deps.faults.webhookPlan(job.key),
      );
    }
  }

  webhookPayload(batch: Batch, report: Report): WebhookPayload {
    return {
      batchId: batch.id,
      batchName: batch.input.batchName,
      lassoId: `CVR-1-${report.cvr}`,
      cvr: Number(report.cvr),
      companyName: report.company?.name ?? null,
      reportType: batch.input.type,
      printType: REPORT_TYPE_NUMBERS[batch.input.type],
      status: report.status,
      pdfUrl: this.pdfUrl(report),
      fileName: report.fileName,
      internalCustomerId: report.internalCustomerId,
      reportId: report.id,
      timestamp: report.timestamp.toISOString(),
      errorMessage: report.errorMessage,
    };
  }

  private finish(batch: Batch): void {
    const statuses = new Set(batch.reports.map((r) => r.status));
    batch.status = statuses.has("Failed")
      ? "FinishedWithErrors"
      : statuses.has("Warning")
        ? "FinishedWithWarning"
        : "Finished";
  }
}
