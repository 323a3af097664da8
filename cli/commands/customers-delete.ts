/** `customers delete ID...`: removes customers by id (asks first). */
import type { Command } from "commander";
import { type DeleteReport, deleteCustomers } from "../customer-delete.ts";
import { blocks, failed, ids, ok, table } from "../output.ts";
import { askYes, type CommandContext, listForPrompt, positiveInt } from "./context.ts";

export function addCustomersDelete(customers: Command, context: CommandContext): void {
  customers
    .command("delete")
    .description("delete customers by id (asks first; --yes for scripts)")
    .argument("<customerId...>", "the customers' ids", (value: string, previous: number[] = []) => [
      ...previous,
      positiveInt("customerId")(value),
    ])
    .option("--yes", "delete without asking")
    .addHelpText(
      "after",
      "\nLists the customers first (id, cvr, name). Ids that have no customer are named; the exit code is then 1.",
    )
    .action(
      context.withTarget(
        async (target, _globals, _progress, customerIds: number[], options: { yes?: boolean }) => {
          const report = await deleteCustomers(
            { doc: target.customersDoc, tableName: target.customersTable },
            customerIds,
            async (found) =>
              options.yes === true ||
              askYes(context.io, `Delete these ${found.length} customer(s)?\n${listForPrompt(found)}\n`),
          );
          const text = renderDelete(report);
          return report.refused === undefined && report.notFound.length === 0
            ? ok(report, text)
            : failed(report, text);
        },
      ),
    );
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
