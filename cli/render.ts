/**
 * The readable (default) form of each command's result. The `--json` form is the data
 * itself; these only arrange it for a terminal.
 */
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import type { DeleteReport } from "./customer-delete.ts";
import type { ImportReport } from "./customer-import.ts";
import type { CustomerListRow, ValidationReport } from "./customer-views.ts";
import { bar, blocks, cell, fields, table } from "./output.ts";
import type { PdfHostsResult } from "./pdf-hosts.ts";
import type { RedriveOutcome, ResendOutcome } from "./queue-ops.ts";
import type { RunReport } from "./runs.ts";
import type { BatchView, DeliveriesReport, ReportView, StatusReport } from "./state-views.ts";
import type { WebhookTestReport } from "./webhook-test.ts";

const ids = (list: readonly number[], max = 12): string =>
  list.length <= max ? list.join(", ") : `${list.slice(0, max).join(", ")}, … (${list.length})`;

export function renderImport(report: ImportReport): string {
  const head = `${report.file}: ${report.rows} rows, ${report.valid} valid, ${report.invalid.length} invalid.`;
  const invalid =
    report.invalid.length === 0
      ? undefined
      : `Invalid rows:\n${table(
          ["line", "customerId", "reason"],
          report.invalid.map((row) => [row.line, row.customerId, row.reason]),
        )}`;
  const warnings =
    report.warnings.length === 0
      ? undefined
      : `Warnings (the rows are imported):\n${table(
          ["line", "customerId", "warning"],
          report.warnings.map((row) => [row.line, row.customerId, row.warning]),
        )}`;
  const cvrChanges =
    report.cvrChanges.length === 0
      ? undefined
      : `CVR changes (another company under the same customerId${report.refused === undefined ? ", allowed by --allow-cvr-change" : ": refused without --allow-cvr-change"}):\n${table(
          ["line", "customerId", "stored cvr", "file's cvr"],
          report.cvrChanges.map((row) => [row.line, row.customerId, row.from, row.to]),
        )}`;
  const pruneVerb = report.written ? "Deleted" : "To be deleted";
  const pruned =
    report.pruned.length === 0
      ? undefined
      : `${pruneVerb} (--prune: stored, not in the file):\n${table(
          ["customerId", "cvr", "name"],
          report.pruned.map((row) => [row.customerId, row.cvr, row.name]),
        )}`;
  if (report.refused !== undefined)
    return blocks(head, invalid, warnings, cvrChanges, pruned, `Nothing written: ${report.refused}.`);
  const verb = report.written ? "" : report.dryRun ? " (dry run: nothing written)" : "";
  const deletions = report.pruned.length === 0 ? "" : `, deleted ${report.pruned.length}`;
  const counts = `created ${report.created.length}, updated ${report.updated.length}, unchanged ${report.unchanged.length}${deletions}${verb}`;
  const updated =
    report.updated.length === 0
      ? undefined
      : `Updated:\n${table(
          ["customerId", "changed"],
          report.updated.map((row) => [row.customerId, row.changed]),
        )}`;
  const skippedNote =
    report.invalid.length > 0 ? `${report.invalid.length} invalid rows skipped (--skip-invalid).` : undefined;
  return blocks(head, invalid, warnings, cvrChanges, updated, pruned, skippedNote, counts);
}

export function renderDelete(report: DeleteReport): string {
  const rows =
    report.deleted.length === 0
      ? undefined
      : `${report.written ? "Deleted" : "Not deleted"}:\n${table(
          ["customerId", "cvr", "name"],
          report.deleted.map((row) => [row.customerId, row.cvr, row.name]),
        )}`;
  const missing = report.notFound.length === 0 ? undefined : `No such customer: ${ids(report.notFound)}.`;
  const outcome =
    report.refused === undefined
      ? `${report.written ? report.deleted.length : 0} customer(s) deleted.`
      : `Nothing deleted: ${report.refused}.`;
  return blocks(rows, missing, outcome);
}

export function renderCustomerList(rows: readonly CustomerListRow[]): string {
  if (rows.length === 0) return "No customers.";
  return blocks(
    table(
      ["customerId", "cvr", "name", "group", "reportTypes", "emails", "enabled", "language", "problem"],
      rows.map((row) => [
        row.customerId,
        row.cvr,
        row.name,
        row.group,
        row.reportTypes,
        row.emails,
        row.enabled,
        row.language,
        row.ok ? (row.warnings ?? []).join("; ") : `INVALID: ${row.reason}`,
      ]),
    ),
    `${rows.length} customers, ${rows.filter((row) => !row.ok).length} invalid.`,
  );
}

export function renderValidation(report: ValidationReport): string {
  const summary = `${report.rows} rows: ${report.valid} usable, ${report.disabled} switched off, ${report.skipped.length} cannot be used.`;
  return blocks(
    summary,
    report.skipped.length === 0
      ? "No row would be skipped."
      : `Skipped (and by which schedules' runs):\n${table(
          ["customerId", "cvr", "reason", "skipped by"],
          report.skipped.map((row) => [
            row.customerId,
            row.cvr,
            row.reason,
            row.schedules.length === 0 ? "(no schedule reads its group)" : row.schedules,
          ]),
        )}`,
    report.warnings.length === 0
      ? undefined
      : `Warnings (the rows are used):\n${table(
          ["customerId", "warning"],
          report.warnings.map((row) => [row.customerId, row.warning]),
        )}`,
    report.unscheduled.length === 0
      ? undefined
      : `No schedule covers (group and report type):\n${table(
          ["customerId", "group", "reportTypes"],
          report.unscheduled.map((row) => [row.customerId, row.group, row.reportTypes]),
        )}`,
  );
}

export function renderPlan(plan: SchedulePlan): string {
  const c = plan.counts;
  return blocks(
    fields([
      ["schedule", plan.schedule],
      ["scheduled time", plan.scheduledTime],
      ["run", plan.runPk],
      ["report type", `${plan.reportType}${plan.isListener ? " (listener)" : ""}`],
      ["group", plan.group],
      [
        "customers",
        `${c.customersRead} read: ${c.selected} selected, ${c.skipped} skipped, ${c.disabled} switched off, ${c.notWanted} without this report type${plan.isListener ? `, ${c.alreadyCovered} already covered` : ""}`,
      ],
    ]),
    plan.chunks.length === 0
      ? "No batch would be submitted."
      : `Batches (${plan.chunks.length}):\n${table(
          ["#", "batch name", "customers", "customer ids"],
          plan.chunks.map((chunk) => [
            chunk.chunkIndex,
            chunk.batchName,
            chunk.manifest.length,
            ids(chunk.manifest.map((entry) => entry.customerId)),
          ]),
        )}`,
    plan.skipped.length === 0
      ? undefined
      : `Skipped:\n${table(
          ["customerId", "cvr", "reason"],
          plan.skipped.map((row) => [row.customerId, row.cvr, row.reason]),
        )}`,
    plan.warnings.length === 0
      ? undefined
      : `Warnings:\n${table(
          ["customerId", "warning"],
          plan.warnings.map((row) => [row.customerId, row.warning]),
        )}`,
    plan.alreadyCovered.length === 0
      ? undefined
      : `Already covered by a listener batch:\n${table(
          ["customerId", "cvr", "run", "chunk"],
          plan.alreadyCovered.map((row) => [row.customerId, row.cvr, row.runPk, row.chunkIndex]),
        )}`,
    "Dry run: nothing written, Lasso not called.",
  );
}

export function renderRun(report: RunReport): string {
  const run = report.run;
  return blocks(
    fields([
      ["schedule", report.schedule],
      [
        "scheduled time",
        `${report.scheduledTime}  (the run's key: re-run with --scheduled-time to finish it)`,
      ],
      ["run", report.runPk],
      [
        "fired",
        report.via === "lambda" ? "submit-batches function (asynchronous invoke)" : "in this process",
      ],
      ["outcome", report.outcome],
      ["status", run?.status],
      ["selected", run?.selected],
      ["skipped", run?.skipped],
      [
        "batches",
        run === undefined ? undefined : `${run.batchesSubmitted} submitted of ${run.chunkCount ?? "?"}`,
      ],
      ["last error", run?.lastError],
    ]),
    run === undefined || run.chunks.length === 0
      ? undefined
      : table(
          ["#", "status", "lasso batch", "customers", "error"],
          run.chunks.map((chunk) => [
            chunk.chunkIndex,
            chunk.status,
            chunk.lassoBatchId,
            chunk.customerIds.length,
            chunk.error,
          ]),
        ),
    run === undefined || run.skippedRows.length === 0
      ? undefined
      : `Skipped rows:\n${table(
          ["customerId", "cvr", "reason"],
          run.skippedRows.map((row) => [row.customerId, row.cvr, row.reason]),
        )}`,
    report.outcome === "still-running"
      ? "The run is still being submitted: follow it with `lasso-reports status`."
      : undefined,
  );
}

export function renderStatus(status: StatusReport): string {
  return blocks(
    status.runs.length === 0
      ? "No runs yet."
      : `Recent runs:\n${table(
          ["schedule", "scheduled time", "status", "selected", "skipped", "batches", "started", "error"],
          status.runs.map((run) => [
            run.schedule,
            run.scheduledTime,
            run.status,
            run.selected,
            run.skipped,
            `${run.batchesSubmitted}/${run.chunkCount ?? "?"}${run.batchesRejected > 0 ? ` (${run.batchesRejected} rejected)` : ""}`,
            run.createdAt,
            run.lastError,
          ]),
        )}`,
    status.openBatches.length === 0
      ? "No open batches."
      : `Open batches:\n${table(
          [
            "lasso batch",
            "schedule",
            "type",
            "status",
            "progress",
            "customers",
            "items",
            "last poll",
            "alerts",
          ],
          status.openBatches.map((batch) => [
            batch.lassoBatchId,
            batch.schedule,
            `${batch.reportType}${batch.isListener ? " (listener)" : ""}`,
            batch.status,
            bar(batch.completionPercentage),
            batch.customers,
            Object.entries(batch.itemCounts ?? {})
              .map(([status, count]) => `${status} ${count}`)
              .join(", "),
            batch.lastPolledAt,
            batch.alerts,
          ]),
        )}`,
  );
}

function reportRows(reports: readonly ReportView[], withBatch: boolean): string {
  const head = [
    ...(withBatch ? ["when", "lasso batch", "type"] : ["customerId", "cvr"]),
    "state",
    "recipients",
    ...(withBatch ? [] : ["when"]),
    "SES message id",
    "source",
    "reason / detail",
  ];
  return table(
    head,
    reports.map((report) => {
      const when = report.deliveredAt ?? report.updatedAt;
      return [
        ...(withBatch ? [when, report.lassoBatchId, report.reportType] : [report.customerId, report.cvr]),
        report.state,
        report.recipients,
        ...(withBatch ? [] : [report.state === "waiting" ? undefined : when]),
        report.sesMessageId,
        report.source,
        [report.reason, report.detail].filter(Boolean).join("; "),
      ];
    }),
  );
}

/** The hosts Lasso's PDF links point to, each allowed by pdfHosts or not (never a link). */
export function renderPdfHosts(result: PdfHostsResult): string {
  if (!result.ok) return `PDF hosts: could not read Lasso's item list (${result.error}).`;
  const { hosts, withoutLink, unreadable } = result.view;
  const notes = [
    withoutLink > 0 ? `${withoutLink} item(s) without a PDF link` : undefined,
    unreadable > 0 ? `${unreadable} item(s) whose link is not a URL` : undefined,
  ].filter((note) => note !== undefined);
  if (hosts.length === 0) {
    return `PDF hosts: none in Lasso's item list yet${notes.length > 0 ? ` (${notes.join(", ")})` : ""}.`;
  }
  const refused = hosts.filter((row) => !row.allowed);
  return blocks(
    `PDF hosts in Lasso's item list (host names only; the links themselves are capabilities):`,
    table(
      ["host", "scheme", "items", "pdfHosts"],
      hosts.map((row) => [row.host, row.scheme, row.items, row.allowed ? "allowed" : "NOT allowed"]),
    ),
    notes.length > 0 ? notes.join(", ") : undefined,
    refused.length > 0 &&
      `Not allowed by pdfHosts: ${refused.map((row) => row.host).join(", ")}. Add the exact host to pdfHosts (docs/deploy.md#lassos-pdf-host) if it is Lasso's.`,
  );
}

export function renderBatch(view: BatchView, pdfHosts?: PdfHostsResult): string {
  const b = view.batch;
  return blocks(
    fields([
      ["lasso batch", b.lassoBatchId],
      ["name", b.name],
      ["schedule", b.schedule],
      ["report type", `${b.reportType}${b.isListener ? " (listener)" : ""}`],
      [
        "status",
        `${b.status}${b.open ? " (open)" : ` (closed ${b.closedAt ?? ""}${b.closeReason ? `: ${b.closeReason}` : ""})`}`,
      ],
      ["progress", bar(b.completionPercentage)],
      ["customers", b.customers],
      ["alerts", b.alerts.length === 0 ? undefined : b.alerts],
    ]),
    view.reports.length === 0 ? "No reports." : reportRows(view.reports, false),
    Object.entries(view.counts)
      .filter(([, count]) => count > 0)
      .map(([state, count]) => `${state} ${count}`)
      .join(", "),
    pdfHosts === undefined ? undefined : renderPdfHosts(pdfHosts),
  );
}

export function renderDeliveries(report: DeliveriesReport): string {
  const who =
    report.cvr === undefined
      ? `customer ${report.customerIds.join(", ")}`
      : `cvr ${report.cvr} (customer ${report.customerIds.join(", ")})`;
  return blocks(
    `Reports for ${who}, newest first:`,
    report.reports.length === 0 ? "None." : reportRows(report.reports, true),
  );
}

export function renderResend(outcome: ResendOutcome): string {
  const after = outcome.after;
  return blocks(
    `Re-send of ${outcome.identity} queued (resend key ${outcome.resendKey}).`,
    after === undefined
      ? "Not yet taken by the delivery: see `lasso-reports status --batch` in a moment."
      : after.state === "delivered" && after.source === "resend"
        ? `Delivered again to ${cell(after.recipients)} at ${after.deliveredAt ?? ""} (SES message id ${after.sesMessageId ?? ""}).`
        : `The delivery recorded it as ${after.state}${after.reason ? `: ${after.reason}` : ""}.`,
  );
}

export function renderRedrive(outcome: RedriveOutcome): string {
  return blocks(
    `Moved ${outcome.moved} message(s) from the dead-letter queue back to the report-ready queue (about ${outcome.before} were there).`,
    outcome.failed > 0
      ? `${outcome.failed} refused by the queue: still in the dead-letter queue.`
      : undefined,
    outcome.notDeleted > 0
      ? `${outcome.notDeleted} sent but not deleted from the dead-letter queue: they will show up there again (re-driving them again is safe).`
      : undefined,
  );
}

export function renderWebhookTest(report: WebhookTestReport): string {
  const lassoSays =
    typeof report.lasso.body === "string" ? report.lasso.body : JSON.stringify(report.lasso.body ?? "");
  return blocks(
    fields([
      ["webhook", report.webhookUrl],
      ["dummy batch", report.batchId],
      ["dummy cvr", report.cvr],
      ["Lasso answered", `${report.lasso.status} ${lassoSays}`],
    ]),
    report.arrived
      ? `ARRIVED: the webhook accepted the dummy report and the delivery recorded it (${report.record?.state ?? "?"}${
          report.record?.reason ? `: ${report.record.reason}` : ""
        }) after ${Math.round(report.waitedMs / 100) / 10} s. Nobody was mailed.`
      : `NOT ARRIVED within ${Math.round(report.waitedMs / 1000)} s: check the receive-webhook function's logs (401: the secret; nothing: the URL) and Lasso's answer above.`,
  );
}
