/** `deliveries`: what a customer received: when, from which batch, to whom, with SES message ids. */
import { type Command, Option } from "commander";
import { type DeliveriesReport, readDeliveries } from "../deliveries-view.ts";
import { UsageError } from "../errors.ts";
import { blocks, ok } from "../output.ts";
import { type CommandContext, positiveInt } from "./context.ts";
import { reportRows } from "./report-rows.ts";

export function addDeliveriesCommand(program: Command, context: CommandContext): void {
  program
    .command("deliveries")
    .description("what a customer received: when, from which batch, to whom, with SES message ids")
    .addOption(
      new Option("--customer <id>", "the customer's id")
        .argParser(positiveInt("--customer"))
        .conflicts("cvr"),
    )
    .option("--cvr <cvr>", "every customer with this CVR")
    .hook("preAction", (command) => {
      const options = command.opts<{ customer?: number; cvr?: string }>();
      if (options.customer === undefined && options.cvr === undefined) {
        throw new UsageError("give --customer ID or --cvr CVR");
      }
    })
    .addOption(
      new Option("--limit <n>", "at most this many reports").argParser(positiveInt("--limit")).default(50),
    )
    .action(
      context.withTarget(
        async (target, _globals, _progress, options: { customer?: number; cvr?: string; limit: number }) => {
          const report = await readDeliveries(
            target.state,
            { doc: target.customersDoc, tableName: target.customersTable },
            options.customer === undefined
              ? { cvr: options.cvr as string }
              : { customerId: options.customer },
            options.limit,
            new Date(),
          );
          return ok(report, renderDeliveries(report));
        },
      ),
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
