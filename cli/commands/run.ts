/** `run SCHEDULE`: fires a schedule now, as the scheduler would, with a scheduled time of its own. */
import { type Command, Option } from "commander";
import { blocks, failed, fields, localTime, ok, table } from "../output.ts";
import { fireRun, type RunReport, resolveScheduledTime } from "../runs.ts";
import { findSchedule } from "../target.ts";
import { type CommandContext, seconds } from "./context.ts";

interface RunOptions {
  scheduledTime?: string;
  wait: boolean;
  timeout: number;
}

const HELP = `
Deployed: invokes the submit-batches function asynchronously with the scheduler's event
{ schedule, scheduledTime } and watches the run record. Local: runs the same use case in this
process against the local endpoints.`;

export function addRunCommand(program: Command, context: CommandContext): void {
  program
    .command("run")
    .description("fire a schedule now, as the scheduler would, with a scheduled time of its own (printed)")
    .argument("<schedule>", "the schedule's name")
    .option(
      "--scheduled-time <iso>",
      "the run's key: default now; give an earlier run's time to finish that run (only what is missing is submitted)",
    )
    .option("--no-wait", "deployed: return once Lambda accepted the invocation")
    .addOption(
      new Option("--timeout <seconds>", "deployed: how long to watch the run")
        .argParser(seconds)
        .default(600_000, "600"),
    )
    .addHelpText("after", HELP)
    .action(
      context.withTarget(async (target, _globals, progress, name: string, options: RunOptions) => {
        const schedule = findSchedule(target, name);
        const report = await fireRun(
          target,
          schedule,
          resolveScheduledTime(options.scheduledTime, new Date()),
          {
            wait: options.wait,
            timeoutMs: options.timeout,
            progress,
          },
        );
        const good = ["submitted", "already-submitted", "invoked"].includes(report.outcome);
        return good ? ok(report, renderRun(report)) : failed(report, renderRun(report));
      }),
    );
}

/** What came of the firing, in words: one line, not the use case's outcome next to the record's status. */
export function runResult(report: RunReport): string {
  const status = report.run?.status;
  switch (report.outcome) {
    case "already-submitted":
      return `already submitted${status === undefined ? "" : ` (${status})`}: nothing sent again`;
    case "invoked":
      return "invoked: submit-batches runs it now (follow it with `lasso-reports status`)";
    case "still-running":
      return `still being submitted${status === undefined ? "" : ` (${status})`}`;
    case "in-progress-elsewhere":
      return "another invocation holds the run: nothing sent by this one";
    default:
      return report.outcome === status || status === undefined
        ? report.outcome
        : `${report.outcome} (the run record says ${status})`;
  }
}

export function renderRun(report: RunReport): string {
  const run = report.run;
  return blocks(
    fields([
      ["schedule", report.schedule],
      [
        "scheduled time",
        `${report.scheduledTime} (${localTime(report.scheduledTime)}; the run's key: re-run with --scheduled-time to finish it)`,
      ],
      ["run", report.runPk],
      [
        "fired",
        report.via === "lambda" ? "submit-batches function (asynchronous invoke)" : "in this process",
      ],
      ["result", runResult(report)],
      ["selected", run?.selected],
      ["skipped", run?.skipped],
      [
        "batches",
        run === undefined ? undefined : `${run.batchesSubmitted} submitted of ${run.chunkCount ?? "?"}`,
      ],
      ["last error", run?.lastError],
    ]),
    run === undefined || run.chunks.length === 0
      ? undefined
      : table(
          ["#", "status", "lasso batch", "customers", "error"],
          run.chunks.map((chunk) => [
            chunk.chunkIndex,
            chunk.status,
            chunk.lassoBatchId,
            chunk.customerIds.length,
            chunk.error,
          ]),
        ),
    run === undefined || run.skippedRows.length === 0
      ? undefined
      : `Skipped rows:\n${table(
          ["customerId", "cvr", "reason"],
          run.skippedRows.map((row) => [row.customerId, row.cvr, row.reason]),
        )}`,
    report.outcome === "still-running"
      ? "The run is still being submitted: follow it with `lasso-reports status`."
      : undefined,
  );
}
