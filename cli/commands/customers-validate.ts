/** `customers validate`: every row checked as a run would; the rows a run would skip, why, and by which schedules. */
import type { Command } from "commander";
import { readCustomerItems, type ValidationReport, validateCustomers } from "../customer-views.ts";
import { blocks, failed, ok, table } from "../output.ts";
import { selectForSchedule } from "../runs.ts";
import type { CommandContext } from "./context.ts";

export function addCustomersValidate(customers: Command, context: CommandContext): void {
  customers
    .command("validate")
    .description(
      "check every row as a run would; list the rows a run would skip, why, and which schedules skip them (exit 1 if any)",
    )
    .action(
      context.withTarget(async (target, _globals, progress) => {
        const items = await readCustomerItems(
          { doc: target.customersDoc, tableName: target.customersTable },
          progress,
        );
        const selections = [];
        for (const schedule of target.schedules.filter((s) => s.enabled)) {
          selections.push({ schedule: schedule.name, selection: await selectForSchedule(target, schedule) });
        }
        const report = validateCustomers(items, target.schedules, selections, {
          defaultLanguage: target.defaultLanguage,
        });
        const text = renderValidation(report);
        return report.skipped.length === 0 ? ok(report, text) : failed(report, text);
      }),
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
