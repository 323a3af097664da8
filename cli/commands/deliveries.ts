/**
 * `deliveries`: what a customer received. Every send from the delivery history (kind,
 * state, recipients with SES's latest outcome each, SES message id, archive key), then
 * the reports the history has no send of (waiting, failed, unroutable, or delivered before
 * the history was kept), from the report records as before.
 */
import { type Command, Option } from "commander";
import type { ReportType } from "#shared/lasso/enums.ts";
import { type DeliveriesReport, type DeliveryView, readDeliveries } from "../deliveries-view.ts";
import { UsageError } from "../errors.ts";
import { blocks, ok, table } from "../output.ts";
import { addPeriodOptions, describePeriod, periodOf } from "../period.ts";
import { type CommandContext, positiveInt, reportTypeOption } from "./context.ts";
import { reportRows } from "./report-rows.ts";

interface DeliveriesOptions {
  customer?: number;
  cvr?: string;
  from?: string;
  to?: string;
  month?: string;
  type?: ReportType;
  limit: number;
}

export function addDeliveriesCommand(program: Command, context: CommandContext): void {
  const deliveriesCommand = program
    .command("deliveries")
    .description(
      "what a customer received: every send (first, resend, test) with each recipient's outcome, SES message id and archive key",
    )
    .addOption(new Option("--customer <id>", "the customer's id").argParser(positiveInt("--customer")))
    .option("--cvr <cvr>", "the company: alone, every customer with this CVR; with --customer, a filter")
    .option("--type <type>", "one report type", reportTypeOption)
    .addOption(
      new Option("--limit <n>", "at most this many sends and reports")
        .argParser(positiveInt("--limit"))
        .default(50),
    );
  addPeriodOptions(deliveriesCommand, "sends")
    .hook("preAction", (command) => {
      const options = command.opts<DeliveriesOptions>();
      if (options.customer === undefined && options.cvr === undefined) {
        throw new UsageError("give --customer ID or --cvr CVR");
      }
      periodOf(options);
    })
    .action(
      context.withTarget(async (target, _globals, _progress, options: DeliveriesOptions) => {
        const report = await readDeliveries(
          target.state,
          { doc: target.customersDoc, tableName: target.customersTable },
          {
            ...(options.customer === undefined ? {} : { customerId: options.customer }),
            ...(options.cvr === undefined ? {} : { cvr: options.cvr }),
          },
          { period: periodOf(options), ...(options.type === undefined ? {} : { reportType: options.type }) },
          options.limit,
          new Date(),
        );
        return ok(report, renderDeliveries(report));
      }),
    );
}

/** `a@b.dk: Delivery 2026-12-01T10:45:15.000Z`, one line per recipient. */
export const recipientLines = (delivery: Pick<DeliveryView, "recipients">): string =>
  delivery.recipients
    .map(
      (r) => `${r.address}: ${r.outcome === undefined ? "no SES event yet" : `${r.outcome} ${r.at ?? ""}`}`,
    )
    .join("\n");

function historyTable(deliveries: readonly DeliveryView[]): string {
  return table(
    [
      "sent (UTC)",
      "kind",
      "state",
      "type",
      "company",
      "recipients: latest outcome",
      "SES message id",
      "archive key",
    ],
    deliveries.map((d) => [
      d.sentAt ?? `archived ${d.archivedAt}`,
      d.kind,
      d.rejectedReason === undefined ? d.state : `${d.state}: ${d.rejectedReason}`,
      d.reportType,
      `${d.companyName}\n${d.cvr}`,
      recipientLines(d),
      d.sesMessageId,
      d.archive.messageKey,
    ]),
  );
}

export function renderDeliveries(report: DeliveriesReport): string {
  const who =
    report.cvr === undefined
      ? `customer ${report.customerIds.join(", ")}`
      : `cvr ${report.cvr} (customer ${report.customerIds.join(", ")})`;
  const period = describePeriod({
    ...(report.from === undefined ? {} : { from: new Date(report.from) }),
    ...(report.to === undefined ? {} : { to: new Date(report.to) }),
  });
  const scope = [period, report.reportType].filter(Boolean).join(", ");
  const shown =
    report.deliveriesTotal > report.deliveries.length
      ? ` (${report.deliveries.length} of ${report.deliveriesTotal} shown: --limit)`
      : "";
  const unsent = report.reports.filter((r) => !r.inHistory);
  return blocks(
    `Sends to ${who}, ${scope}, newest first${shown}:`,
    report.deliveries.length === 0 ? "None in the delivery history." : historyTable(report.deliveries),
    unsent.length > 0 &&
      `Reports with no send in the history (not mailed yet, failed, unroutable, or mailed before the history was kept):\n${reportRows(unsent, true)}`,
  );
}
