/** `customers import FILE`: a spreadsheet or JSON file into the customer table. */
import type { Command } from "commander";
import { CustomerFileError, checkCustomerRows, readCustomerFile } from "#shared/customer-file.ts";
import { type ImportReport, importCustomers } from "../customer-import.ts";
import { CliFailure, messageOf } from "../errors.ts";
import { blocks, type CommandResult, failed, ok, table } from "../output.ts";
import type { ProgressFactory } from "../progress.ts";
import type { Target } from "../target.ts";
import { askYes, type CliIo, type CommandContext, listForPrompt } from "./context.ts";

interface ImportOptions {
  dryRun?: boolean;
  skipInvalid?: boolean;
  allowCvrChange?: boolean;
  prune?: boolean;
  yes?: boolean;
}

const HELP = `
Every row is checked first; an invalid row is printed with its line number and reason and,
without --skip-invalid, nothing is written. Valid rows are compared with the stored ones:
created, updated or unchanged (unchanged rows are not written, so a re-import is a no-op).
Other attributes of a stored row (notes kept there) are left as they are.
A row that gives a stored customerId another cvr is another company: the import writes
nothing (exit 1) unless --allow-cvr-change. With --prune, the stored customers the file
does not name are deleted; --dry-run lists them first. An invalid row still names its
customerId: that stored customer is kept.
Headers (any case; Danish welcome): customerId|kundenr, cvr, name|navn, emails|email|modtagere,
reportTypes|rapporttyper, group|gruppe, enabled|aktiv, format, language|sprog.
Example: docs/sample-customers.csv`;

export function addCustomersImport(customers: Command, context: CommandContext): void {
  customers
    .command("import")
    .description(
      "import customers from a CSV (comma or semicolon; UTF-8, UTF-8 with BOM or Windows-1252) or JSON file",
    )
    .argument("<file>", "the spreadsheet (.csv) or .json file; header row with the table's attribute names")
    .option("--dry-run", "check and compare only: write nothing")
    .option("--skip-invalid", "write the valid rows even when some rows are invalid")
    .option("--allow-cvr-change", "let a row give a stored customerId another cvr (another company)")
    .option("--prune", "also delete stored customers the file does not name (asks first)")
    .option("--yes", "with --prune: delete without asking (scripts)")
    .addHelpText("after", HELP)
    .action(
      context.withTarget((target, _globals, progress, file: string, options: ImportOptions) =>
        runImport(context.io, target, progress, file, options),
      ),
    );
}

async function runImport(
  io: CliIo,
  target: Target,
  progress: ProgressFactory,
  file: string,
  options: ImportOptions,
): Promise<CommandResult> {
  let rows: Awaited<ReturnType<typeof readCustomerFile>>;
  try {
    rows = await readCustomerFile(file);
  } catch (error) {
    if (error instanceof CustomerFileError || (error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CliFailure(`${file}: ${messageOf(error)}`);
    }
    throw error;
  }
  const report = await importCustomers(
    { doc: target.customersDoc, tableName: target.customersTable },
    file,
    checkCustomerRows(rows, { defaultLanguage: target.defaultLanguage }),
    {
      dryRun: options.dryRun === true,
      skipInvalid: options.skipInvalid === true,
      allowCvrChange: options.allowCvrChange === true,
      prune: options.prune === true,
      confirmPrune: async (pruned) =>
        options.yes === true ||
        askYes(
          io,
          `Delete these ${pruned.length} customer(s), which ${file} does not name?\n${listForPrompt(pruned)}\n`,
        ),
      progress,
    },
  );
  return report.refused === undefined
    ? ok(report, renderImport(report))
    : failed(report, renderImport(report));
}

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
    return blocks(head, invalid, warnings, cvrChanges, pruned, `${report.refused}.`);
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
