/** `run SCHEDULE`: fires a schedule now, as the scheduler would, with a scheduled time of its own. */
import { type Command, Option } from "commander";
import type { RunRecord } from "#shared/state/runs.ts";
import { CliFailure } from "../errors.ts";
import { blocks, failed, fields, localTime, ok, table } from "../output.ts";
import {
  assertEnabled,
  checkCustomersOfRun,
  earlierRunThisPeriod,
  fireRun,
  type RunReport,
  resolveScheduledTime,
} from "../runs.ts";
import { findSchedule } from "../target.ts";
import { type CommandContext, positiveInt, seconds } from "./context.ts";

interface RunOptions {
  scheduledTime?: string;
  again?: boolean;
  customer?: number[];
  wait: boolean;
  timeout: number;
}

const HELP = `
A schedule runs once a period (from one of its firings to the next): run
refuses a second whole run in the same period and names the earlier one;
--again runs it once more (every customer is mailed again). --customer ID…
runs those customers only, as a run of its own (recorded, shown by status,
keyed on them: repeating it in the period is refused too).

Deployed: invokes the submit-batches function asynchronously with the
scheduler's event { schedule, scheduledTime } (and customerIds) and watches
the run record. Local: runs the same use case in this process against the
local endpoints.`;

const customerIds = (value: string, previous: number[] = []): number[] => [
  ...previous,
  positiveInt("--customer")(value),
];

export function addRunCommand(program: Command, context: CommandContext): void {
  program
    .command("run")
    .description("fire a schedule now, as the scheduler would, with a scheduled time of its own (printed)")
    .argument("<schedule>", "the schedule's name")
    .option(
      "--scheduled-time <iso>",
      "the run's key: default now; give an earlier run's time to finish that run (only what is missing is submitted)",
    )
    .addOption(
      new Option("--again", "run even though the schedule already ran this period").conflicts(
        "scheduledTime",
      ),
    )
    .addOption(
      new Option("--customer <id...>", "only these customers (ids), as a run of their own").argParser(
        customerIds,
      ),
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
        assertEnabled(schedule);
        const now = new Date();
        if (options.customer !== undefined) await checkCustomersOfRun(target, schedule, options.customer);
        // A time given names a run to finish (idempotent on its key): only a new run can repeat one.
        if (options.scheduledTime === undefined && options.again !== true) {
          const earlier = await earlierRunThisPeriod(target, schedule, now, options.customer);
          if (earlier !== undefined)
            throw new CliFailure(repeatRefusal(schedule.name, earlier, options.customer));
        }
        const report = await fireRun(target, schedule, resolveScheduledTime(options.scheduledTime, now), {
          ...(options.customer === undefined ? {} : { customerIds: options.customer }),
          wait: options.wait,
          timeoutMs: options.timeout,
          progress,
        });
        const good = ["submitted", "already-submitted", "invoked"].includes(report.outcome);
        return good ? ok(report, renderRun(report)) : failed(report, renderRun(report));
      }),
    );
}

/** Why `run` does not run again this period, naming the earlier run and what to do. */
export function repeatRefusal(
  schedule: string,
  earlier: { periodStart: string; run: RunRecord },
  customerIds: readonly number[] | undefined,
): string {
  const { run } = earlier;
  const which =
    customerIds === undefined
      ? `${schedule} already ran this period (since ${localTime(earlier.periodStart)})`
      : `${schedule} already ran this period for customer(s) ${(run.customerIds ?? []).filter((id) => customerIds.includes(id)).join(", ")}`;
  return [
    `${which}: run ${run.pk}, ${run.status}, started ${localTime(run.createdAt)}.`,
    customerIds === undefined
      ? "Give --again to run it once more (every customer is mailed again), or --customer ID… to run some customers only."
      : "Give --again to run them once more (they are mailed again).",
    run.status === "submitted"
      ? undefined
      : `To finish that run instead: run ${schedule} --scheduled-time ${run.scheduledTime}${run.customerIds === undefined ? "" : ` --customer ${run.customerIds.join(" ")}`}`,
  ]
    .filter((line) => line !== undefined)
    .join("\n");
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
      ["customers", report.customerIds === undefined ? undefined : `only ${report.customerIds.join(", ")}`],
      [
        "scheduled time",
        `${report.scheduledTime} (${localTime(report.scheduledTime)}; the run's key: re-run with --scheduled-time${report.customerIds === undefined ? "" : " and the same --customer"} to finish it)`,
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
