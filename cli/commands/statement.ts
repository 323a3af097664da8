/**
 * `statement`: a delivery statement for an auditor, as PDF or CSV (docs/evidence.md):
 * one customer over a period (`--customer ID --from DATE --to DATE`, or `--month`), or
 * every customer over a month (`--all --month YYYY-MM`).
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { UsageError } from "../errors.ts";
import { fields, ok } from "../output.ts";
import { addPeriodOptions, periodOf } from "../period.ts";
import { readStatement, type StatementRequest } from "../statement.ts";
import { statementCsv } from "../statement-csv.ts";
import { statementPdf } from "../statement-pdf.ts";
import { type CommandContext, positiveInt } from "./context.ts";

/** Where the firm's name comes from when `--firm` is not given. */
export const FIRM_ENV = "LASSO_REPORTS_FIRM";

interface StatementOptions {
  customer?: number;
  all?: boolean;
  from?: string;
  to?: string;
  month?: string;
  format: "pdf" | "csv";
  out?: string;
  firm?: string;
}

function requestOf(options: StatementOptions): StatementRequest {
  if (options.all === true) {
    if (options.customer !== undefined) throw new UsageError("give --customer ID or --all, not both");
    if (options.month === undefined) throw new UsageError("--all needs --month YYYY-MM");
    return { scope: "all", month: options.month, period: periodOf({ month: options.month }) };
  }
  if (options.customer === undefined) throw new UsageError("give --customer ID (or --all --month YYYY-MM)");
  const period = periodOf(options);
  if (period.from === undefined || period.to === undefined) {
    throw new UsageError("give the period: --from DATE --to DATE, or --month YYYY-MM");
  }
  return { scope: "customer", customerId: options.customer, period };
}

/** `--firm`, else $LASSO_REPORTS_FIRM, else the target's firm (the deploy config's firm.name). */
function firmOf(options: StatementOptions, targetFirm: string | undefined, env = process.env): string {
  const firm = (options.firm ?? env[FIRM_ENV] ?? targetFirm ?? "").trim();
  if (firm === "") {
    throw new UsageError(
      `give the firm's name for the statement: --firm NAME, or set ${FIRM_ENV} (the target names no firm)`,
    );
  }
  return firm;
}

/** `statement-1002-2026-12-01_2026-12-31.pdf`, `statement-all-2026-12.csv`. */
function defaultFile(options: StatementOptions, request: StatementRequest): string {
  const who = request.scope === "all" ? "all" : String(request.customerId);
  const when = options.month ?? `${options.from ?? ""}_${options.to ?? ""}`;
  return `statement-${who}-${when}.${options.format}`;
}

export function addStatementCommand(program: Command, context: CommandContext): void {
  const statementCommand = program
    .command("statement")
    .description(
      "a delivery statement for an auditor (PDF or CSV): each send with recipients, times, SES message id, PDF SHA-256",
    )
    .addOption(new Option("--customer <id>", "one customer").argParser(positiveInt("--customer")))
    .option("--all", "every customer (with --month)")
    .addOption(new Option("--format <format>", "pdf or csv").choices(["pdf", "csv"]).default("pdf"))
    .option(
      "--out <file>",
      "where to write it (default statement-<customer|all>-<period>.<format>; - for stdout, csv only)",
    )
    .option(
      "--firm <name>",
      `the firm named on the statement (default: $${FIRM_ENV}, else the deploy config's firm.name)`,
    );
  addPeriodOptions(statementCommand, "sends")
    .hook("preAction", (command) => {
      const options = command.opts<StatementOptions>();
      requestOf(options);
      if (options.out === "-" && options.format === "pdf") {
        throw new UsageError("a PDF goes to a file: give --out FILE (stdout takes --format csv)");
      }
    })
    .action(
      context.withTarget(async (target, _globals, _progress, options: StatementOptions) => {
        const request = requestOf(options);
        const statement = await readStatement(
          target.state,
          { doc: target.customersDoc, tableName: target.customersTable },
          request,
          firmOf(options, target.firmName),
          new Date(),
        );
        const content = options.format === "csv" ? statementCsv(statement) : await statementPdf(statement);
        const summary = {
          firm: statement.firm,
          scope: statement.scope,
          period: statement.periodLabel,
          customers: statement.customers.length,
          deliveries: statement.deliveryCount,
          format: options.format,
        };
        if (options.out === "-") return { ...ok(summary, ""), raw: content as string };
        const file = options.out ?? defaultFile(options, request);
        await writeFile(file, content);
        const sha256 = createHash("sha256").update(content).digest("hex");
        return ok(
          { ...summary, file, sha256 },
          fields([
            ["Statement", file],
            ["firm", statement.firm],
            ["period", statement.periodLabel],
            ["customers", statement.customers.length],
            ["deliveries", statement.deliveryCount],
            ["SHA-256", sha256],
          ]),
        );
      }),
    );
}
