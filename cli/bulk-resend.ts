/**
 * `resend --batch ID --failed | --all`: re-sends many reports of one batch at once. Each goes
 * the way a single `resend` goes (a report-ready message with `source: "resend"`, its
 * `seenAt` the resend key; deliver-report claims it once per resend message), so the
 * guarantees are the same. Chosen first (and shown, for the operator's yes), sent, then
 * followed to their new outcome with a progress bar.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { getBatchManifest, getBatchRecord } from "#shared/state/batches.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { CliFailure } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";
import { resendMessage, resendRefusal } from "./queue-ops.ts";
import { waitForResends } from "./resend-wait.ts";
import { type ReportView, reportsOfBatch, reportView } from "./state-views.ts";

/** `--failed`: the reports recorded failed or unroutable; `--all`: every report that can be re-sent. */
export type ResendChoice = "failed" | "all";

export interface ResendPlan {
  lassoBatchId: string;
  choice: ResendChoice;
  /** What will be re-sent: the report and the customer it goes to. */
  chosen: { record: ReportRecord; customerId: number }[];
  /** Reports of the choice that cannot be re-sent now, and why. */
  refused: { view: ReportView; reason: string }[];
}

/** The reports of the batch that `choice` names, and which of them can be re-sent now. */
export async function planBatchResend(
  state: StateTable,
  lassoBatchId: string,
  choice: ResendChoice,
  now: Date,
  progress: ProgressFactory,
): Promise<ResendPlan> {
  const batch = await getBatchRecord(state, lassoBatchId);
  if (batch === undefined) throw new CliFailure(`no batch ${lassoBatchId} in the state table`);
  const manifest = await getBatchManifest(state, lassoBatchId);
  const records = await reportsOfBatch(state, batch, manifest, progress);
  const inChoice =
    choice === "all"
      ? records
      : records.filter(
          (record) => record.deliveryStatus === "failed" || record.deliveryStatus === "unroutable",
        );
  const plan: ResendPlan = { lassoBatchId, choice, chosen: [], refused: [] };
  for (const record of inChoice) {
    // An unroutable report may carry no customer id; the batch's manifest still names its cvr.
    const customerId = record.customerId ?? manifest.find((entry) => entry.cvr === record.cvr)?.customerId;
    const refusal =
      resendRefusal(record, now) ??
      (customerId === undefined ? "no customer for its cvr in the batch's manifest" : undefined);
    if (refusal !== undefined || customerId === undefined) {
      plan.refused.push({ view: reportView(record, now), reason: refusal ?? "" });
    } else plan.chosen.push({ record, customerId });
  }
  return plan;
}

export interface BatchResendOutcome {
  lassoBatchId: string;
  choice: ResendChoice;
  /** The resend key of every message sent (the same for all of one bulk re-send). */
  resendKey: string;
  reports: { identity: string; customerId: number; before: ReportView; after?: ReportView }[];
  refused: ResendPlan["refused"];
  /** True when the delivery took every re-send before the timeout. */
  settled: boolean;
}

/** Sends the plan's re-sends (10 a request) and, with wait, follows them to their outcome. */
export async function resendBatch(
  ports: { state: StateTable; sqs: SQSClient; queueUrl: string },
  plan: ResendPlan,
  options: {
    wait: boolean;
    timeoutMs: number;
    pollMs?: number;
    progress: ProgressFactory;
    clock?: () => Date;
  },
): Promise<BatchResendOutcome> {
  const clock = options.clock ?? (() => new Date());
  const now = clock();
  const messages = plan.chosen.map(({ record, customerId }) => resendMessage(record, customerId, now));
  const sending = options.progress("queueing re-sends", messages.length);
  try {
    for (let start = 0; start < messages.length; start += 10) {
      const part = messages.slice(start, start + 10);
      await sendReportReady({ sqs: ports.sqs, queueUrl: ports.queueUrl }, part);
      sending.tick(part.length);
    }
  } finally {
    sending.done();
  }
  const outcome: BatchResendOutcome = {
    lassoBatchId: plan.lassoBatchId,
    choice: plan.choice,
    resendKey: now.toISOString(),
    reports: plan.chosen.map(({ record, customerId }) => ({
      identity: record.identity,
      customerId,
      before: reportView(record, now),
    })),
    refused: plan.refused,
    settled: false,
  };
  if (!options.wait) return outcome;
  const after = await waitForResends(
    ports.state,
    outcome.reports.map((report) => report.identity),
    outcome.resendKey,
    options,
  );
  for (const report of outcome.reports) {
    const record = after.get(report.identity);
    if (record !== undefined) report.after = reportView(record, clock());
  }
  outcome.settled = after.size === outcome.reports.length;
  return outcome;
}
