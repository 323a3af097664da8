/**
 * `status`: recent runs and open batches with progress; `status --batch ID`: where each
 * report of one batch is, and the hosts Lasso's PDF links point to.
 */
import { type Command, Option } from "commander";
import { bar, blocks, fields, localTime, ok, outputTimeZone, table } from "../output.ts";
import { type PdfHostsResult, tryReadPdfHosts } from "../pdf-hosts.ts";
import { type BatchView, readBatchView } from "../state-views.ts";
import { type ReportCounts, readStatus, type StatusReport } from "../status-view.ts";
import { type CommandContext, positiveInt } from "./context.ts";
import { reportRows } from "./report-rows.ts";

export function addStatusCommand(program: Command, context: CommandContext): void {
  program
    .command("status")
    .description("recent runs and open batches with progress; with --batch, where each report of a batch is")
    .option(
      "--batch <id>",
      "one batch (Lasso's batch id): each report waiting, delivered, failed or unroutable, and the hosts Lasso's PDF links point to",
    )
    .addOption(
      new Option("--limit <n>", "how many recent runs").argParser(positiveInt("--limit")).default(10),
    )
    .action(
      context.withTarget(async (target, _globals, progress, options: { batch?: string; limit: number }) => {
        if (options.batch !== undefined) {
          const view = await readBatchView(target.state, options.batch.trim(), progress, new Date());
          // Lasso's item list: where its PDF links point (host names only), for pdfHosts.
          const pdfHosts = await tryReadPdfHosts(target.lasso, view.batch.lassoBatchId, target.pdfHosts);
          return ok({ ...view, pdfHosts }, renderBatch(view, pdfHosts));
        }
        const status = await readStatus(target.state, options.limit);
        return ok(status, renderStatus(status));
      }),
    );
}

/** `6 delivered`, `1 failed`, `2 waiting`, one a line (unroutable and bounced only when there are some). */
export function countsText(counts: ReportCounts | undefined): string {
  if (counts === undefined) return "listener batch: see status --batch";
  return [
    `${counts.delivered} delivered`,
    `${counts.failed} failed`,
    counts.unroutable > 0 ? `${counts.unroutable} unroutable` : undefined,
    counts.bounced > 0 ? `${counts.bounced} bounced` : undefined,
    `${counts.waiting} waiting`,
  ]
    .filter((part) => part !== undefined)
    .join("\n");
}

function runsTable(runs: StatusReport["runs"]): string {
  return table(
    ["schedule", "scheduled", "run", "reports"],
    runs.map((run) => [
      run.schedule,
      localTime(run.scheduledTime),
      [
        run.status,
        run.customerIds === undefined ? undefined : `only customers ${run.customerIds.join(", ")}`,
        run.selected === undefined ? undefined : `${run.selected} selected, ${run.skipped ?? 0} skipped`,
        `batches ${run.batchesSubmitted}/${run.chunkCount ?? "?"}${run.batchesRejected > 0 ? ` (${run.batchesRejected} rejected)` : ""}`,
        run.lastError === undefined ? undefined : `error: ${run.lastError}`,
      ]
        .filter((line) => line !== undefined)
        .join("\n"),
      countsText(run.reports),
    ]),
  );
}

function batchesTable(batches: StatusReport["batches"]): string {
  return table(
    ["lasso batch", "schedule", "at Lasso", "reports"],
    batches.map((batch) => [
      batch.lassoBatchId,
      `${batch.schedule ?? "?"} (${batch.reportType}${batch.isListener ? ", listener" : ""})`,
      [
        `${batch.status}${batch.open ? " (open)" : ""}`,
        bar(batch.completionPercentage) || undefined,
        batch.open && batch.lastPolledAt !== undefined
          ? `polled ${localTime(batch.lastPolledAt)}`
          : undefined,
        batch.alerts.length > 0 ? `alerts: ${batch.alerts.join(", ")}` : undefined,
      ]
        .filter((line) => line !== undefined)
        .join("\n"),
      countsText(batch.reports),
    ]),
    { keep: [0] },
  );
}

export function renderStatus(status: StatusReport): string {
  return blocks(
    status.runs.length === 0 ? "No runs yet." : `Recent runs:\n${runsTable(status.runs)}`,
    status.batches.length === 0
      ? "No batches."
      : `Batches of these runs, and every open batch (details: status --batch ID):\n${batchesTable(status.batches)}`,
    `Times in ${outputTimeZone()}.`,
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
      ["status", `${b.status}${b.open ? " (open)" : ""}`],
      [
        "closed",
        b.open
          ? undefined
          : `${localTime(b.closedAt) ?? "?"}${b.closeReason !== undefined && b.closeReason !== b.status ? ` (${b.closeReason})` : ""}`,
      ],
      ["progress", bar(b.completionPercentage)],
      ["customers", b.customers],
      ["last poll", localTime(b.lastPolledAt)],
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
