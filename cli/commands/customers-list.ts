/** `customers list`: the customers, with the reason a run would skip an invalid row. */
import type { Command } from "commander";
import { REPORT_TYPES, reportTypeName } from "#shared/lasso/enums.ts";
import { type CustomerListRow, listCustomers, readCustomerItems } from "../customer-views.ts";
import { blocks, ok, table } from "../output.ts";
import { type CommandContext, reportTypeOption } from "./context.ts";

export function addCustomersList(customers: Command, context: CommandContext): void {
  customers
    .command("list")
    .description("list customers, with the reason a run would skip an invalid row")
    .option("--group <group>", "only this group (exact; the table's byGroup index)")
    .option(
      "--type <reportType>",
      `only usable customers that want this report type (${REPORT_TYPES.join(", ")})`,
      reportTypeOption,
    )
    .action(
      context.withTarget(async (target, _globals, progress, options: { group?: string; type?: string }) => {
        const items = await readCustomerItems(
          { doc: target.customersDoc, tableName: target.customersTable },
          progress,
          options.group,
        );
        const rows = listCustomers(
          items,
          options.type === undefined ? {} : { reportType: reportTypeName(options.type) },
          { defaultLanguage: target.defaultLanguage },
        );
        return ok(rows, renderCustomerList(rows));
      }),
    );
}

export function renderCustomerList(rows: readonly CustomerListRow[]): string {
  if (rows.length === 0) return "No customers.";
  return blocks(
    table(
      ["customerId", "cvr", "name", "group", "reportTypes", "emails", "enabled, language", "problem"],
      rows.map((row) => [
        row.customerId,
        row.cvr,
        row.name,
        row.group,
        row.reportTypes,
        row.emails,
        [row.enabled, row.language].filter((value) => value !== undefined).join(", "),
        row.ok ? (row.warnings ?? []).join("; ") : `INVALID: ${row.reason}`,
      ]),
    ),
    `${rows.length} customers, ${rows.filter((row) => !row.ok).length} invalid.`,
  );
}
