/** `customers export`: every customer row as a spreadsheet (CSV) or JSON that `customers import` reads back. */
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { customersToCsv, customersToJson, readCustomerItems } from "../customer-views.ts";
import { ok } from "../output.ts";
import type { CommandContext } from "./context.ts";

interface ExportOptions {
  format: "csv" | "json";
  delimiter: ";" | ",";
  out?: string;
}

export function addCustomersExport(customers: Command, context: CommandContext): void {
  customers
    .command("export")
    .description(
      "export every customer row as a spreadsheet (CSV) or JSON that `customers import` reads back",
    )
    .addOption(new Option("--format <format>", "csv or json").choices(["csv", "json"]).default("csv"))
    .addOption(new Option("--delimiter <char>", "CSV separator").choices([";", ","]).default(";"))
    .option("--out <file>", "write to this file (CSV with a UTF-8 BOM, for Excel) instead of stdout")
    .action(
      context.withTarget(async (target, globals, progress, options: ExportOptions) => {
        const items = await readCustomerItems(
          { doc: target.customersDoc, tableName: target.customersTable },
          progress,
        );
        // --json: stdout is JSON only, so the rows are exported as JSON (what import reads back).
        const asJson = options.format === "json" || (globals.json === true && options.out === undefined);
        const content = asJson ? customersToJson(items) : customersToCsv(items, options.delimiter);
        if (options.out === undefined) return { ...ok({ customers: items.length }, ""), raw: content };
        await writeFile(options.out, options.format === "csv" ? `\uFEFF${content}` : content);
        return ok(
          { customers: items.length, file: options.out, format: options.format },
          `Wrote ${items.length} customers to ${options.out}.`,
        );
      }),
    );
}
