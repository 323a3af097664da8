/** `failures`: failed, unroutable, unverified and skipped reports across batches, with what to do. */
import { type Command, InvalidArgumentError } from "commander";
import { type FailuresReport, readFailures } from "../failures-view.ts";
import { blocks, fields, localTime, ok } from "../output.ts";
import { findSchedule } from "../target.ts";
import type { CommandContext } from "./context.ts";

/** How far back `failures` looks without --since. */
export const DEFAULT_FAILURE_DAYS = 30;

/** `--since`: a date (2025-06-01, midnight UTC) or a date-time, as ISO UTC. */
export function sinceOption(value: string): string {
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("must be a date (2025-06-01) or an ISO 8601 date-time");
  }
  return date.toISOString();
}

const HELP = `
Lists, newest first: reports the delivery recorded as failed (Lasso failed it,
its PDF was refused, SES rejected the mail) or unroutable (no customer to send
it to), webhooks nobody could confirm (unverified: mailed to nobody), and the
customer rows runs skipped, each with the company, the reason and what to do.
Reads the state table (a scan, with progress).`;

export function addFailuresCommand(program: Command, context: CommandContext): void {
  program
    .command("failures")
    .description("failed, unroutable, unverified and skipped reports across batches, with what to do")
    .option(
      "--since <date>",
      `recorded since this date or date-time (default: ${DEFAULT_FAILURE_DAYS} days ago)`,
      sinceOption,
    )
    .option("--schedule <name>", "of this schedule only")
    .addHelpText("after", HELP)
    .action(
      context.withTarget(
        async (target, _globals, progress, options: { since?: string; schedule?: string }) => {
          if (options.schedule !== undefined) findSchedule(target, options.schedule);
          const since =
            options.since ?? new Date(Date.now() - DEFAULT_FAILURE_DAYS * 24 * 3600 * 1000).toISOString();
          const report = await readFailures(
            {
              state: target.state,
              customers: { doc: target.customersDoc, tableName: target.customersTable },
            },
            { since, ...(options.schedule === undefined ? {} : { schedule: options.schedule }) },
            progress,
          );
          return ok(report, renderFailures(report));
        },
      ),
    );
}

/** One failure as a few `key: value` lines (they wrap under their value in a narrow terminal). */
function failureBlock(row: FailuresReport["failures"][number]): string {
  const who = [
    row.customerId === undefined ? undefined : `customer ${row.customerId}`,
    row.cvr === undefined ? undefined : `cvr ${row.cvr}`,
  ].filter((part) => part !== undefined);
  return fields([
    [
      "when",
      `${localTime(row.at)}  ${row.kind.toUpperCase()}${row.reportType === undefined ? "" : ` (${row.reportType})`}`,
    ],
    ["company", `${row.company ?? "?"}${who.length === 0 ? "" : ` (${who.join(", ")})`}`],
    [
      "where",
      [row.schedule, row.lassoBatchId === undefined ? undefined : `batch ${row.lassoBatchId}`, row.runPk]
        .filter((part) => part !== undefined)
        .join(", "),
    ],
    ["reason", row.reason],
    ["to do", row.action],
  ]);
}

export function renderFailures(report: FailuresReport): string {
  const scope = `since ${localTime(report.since)}${report.schedule === undefined ? "" : `, schedule ${report.schedule}`}`;
  if (report.failures.length === 0) return `No failures ${scope}.`;
  const c = report.counts;
  return blocks(
    `Failures ${scope}: ${c.failed} failed, ${c.unroutable} unroutable, ${c.unverified} unverified, ${c.skipped} skipped.`,
    ...report.failures.map(failureBlock),
  );
}
