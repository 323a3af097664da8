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

import { randomUUID } from "node:crypto";
import { conflict, notFound } from "./errors.ts";
import { newPdfToken, produceReport, renderPdfOf } from "./reports.ts";
import { type Batch, finishedStatus, type Job, type Report, type SimStateDeps } from "./sim-model.ts";
import type { BatchJson, BatchSnapshot, ItemJson, WebhookPayload } from "./types.ts";
import type { CreateBatchInput } from "./validation.ts";
import * as views from "./views.ts";

// The records and messages moved to sim-model.ts; re-exported where they were first found.
export type { Batch, Report, SimStateDeps } from "./sim-model.ts";
export { FAULT_FAILED_MESSAGE, WARNING_MESSAGE } from "./sim-model.ts";

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
    return views.batchJson(batch, this.deps);
  }

  itemJson(report: Report): ItemJson {
    return views.itemJson(report, this.batchOf(report), this.deps.fileBaseUrl());
  }

  snapshot(batch: Batch): BatchSnapshot {
    return views.snapshot(
      batch,
      this.batchJson(batch),
      batch.reports.map((r) => this.itemJson(r)),
    );
  }

  /** The report's PDF, rendered on first use and cached; undefined when it has none. */
  pdf(reportId: string): Promise<Uint8Array> | undefined {
    const found = this.findReport(reportId);
    if (found === undefined || found.report.pdfToken === undefined) return undefined;
    const { batch, report } = found;
    let bytes = this.pdfCache.get(report.id);
    if (bytes === undefined) {
      bytes = renderPdfOf(batch, report);
      this.pdfCache.set(report.id, bytes);
    }
    return bytes;
  }

  /**
   * Gives every report of the batch a new pdfurl; the old links answer 404 from then on
   * (a capability link that expired, as storage links do). Returns how many changed.
   */
  expirePdfLinks(batchId: string): number {
    let changed = 0;
    for (const report of this.require(batchId).reports) {
      if (report.pdfToken === undefined) continue;
      report.pdfToken = newPdfToken();
      changed++;
    }
    return changed;
  }

  /** Queues a new report for `cvr` in a Listening batch; returns its id. */
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
    const report = produceReport(this.deps, batch, job);
    if (report === undefined) return;
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
    return views.webhookPayload(batch, report, this.deps.fileBaseUrl());
  }

  private finish(batch: Batch): void {
    batch.status = finishedStatus(batch);
  }
}
