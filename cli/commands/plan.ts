/**
 * `plan SCHEDULE`: a schedule's dry run: which customers go into which batches, which are
 * skipped and why. `plan SCHEDULE --next N`: its next N firings in local time, exactly as
 * EventBridge Scheduler fires them (docs/schedules.md).
 */
import type { Command } from "commander";
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import { blocks, fields, ids, localTime, ok, table } from "../output.ts";
import { planRun, resolveScheduledTime } from "../runs.ts";
import { type UpcomingFirings, upcomingFirings } from "../schedule-period.ts";
import { findSchedule } from "../target.ts";
import { type CommandContext, positiveInt } from "./context.ts";

/** The most firings `--next` lists. */
const MAX_NEXT = 100;

export function addPlanCommand(program: Command, context: CommandContext): void {
  program
    .command("plan")
    .description("dry run of a schedule: which customers go into which batches, which are skipped and why")
    .argument("<schedule>", "the schedule's name (the target's schedules table: `schedules list`)")
    .option("--scheduled-time <iso>", "plan the firing at this time (default: now)")
    .option(
      "--next <count>",
      `list the next firings (at most ${MAX_NEXT}) in local time instead of the dry run`,
      nextCount,
    )
    .addHelpText(
      "after",
      "\nReads the customer table (and listener coverage); writes nothing, calls no\n" +
        "Lasso. --next reads only the schedule: its firings as EventBridge Scheduler\n" +
        "fires them, holidays and DST included.",
    )
    .action(
      context.withTarget(
        async (
          target,
          _globals,
          _progress,
          name: string,
          options: { scheduledTime?: string; next?: number },
        ) => {
          const schedule = findSchedule(target, name);
          if (options.next !== undefined) {
            const after =
              options.scheduledTime === undefined
                ? new Date()
                : new Date(resolveScheduledTime(options.scheduledTime, new Date()));
            const upcoming = upcomingFirings(schedule, after, options.next);
            return ok(upcoming, renderUpcoming(upcoming, target.timeZone));
          }
          const plan = await planRun(
            target,
            schedule,
            resolveScheduledTime(options.scheduledTime, new Date()),
          );
          return ok(plan, renderPlan(plan));
        },
      ),
    );
}

function nextCount(value: string): number {
  return Math.min(positiveInt("--next")(value), MAX_NEXT);
}

/** The firings in the schedule's zone, and in the operator's when that differs. */
export function renderUpcoming(upcoming: UpcomingFirings, operatorZone: string): string {
  const both = operatorZone !== upcoming.timeZone;
  const headings = ["#", `local time (${upcoming.timeZone})`, ...(both ? [operatorZone] : [])];
  const row = (at: string) => [
    localTime(at, upcoming.timeZone),
    ...(both ? [localTime(at, operatorZone)] : []),
  ];
  return blocks(
    fields([
      ["schedule", upcoming.schedule],
      ["Scheduler runs", `${upcoming.expression} in ${upcoming.timeZone}`],
    ]),
    upcoming.firings.length === 0
      ? "No firing found."
      : `Next ${upcoming.firings.length} firing(s):\n${table(
          headings,
          upcoming.firings.map((at, index) => [index + 1, ...row(at)]),
        )}`,
    upcoming.skippedForHolidays.length === 0
      ? undefined
      : `Candidate firings skipped for a public holiday:\n${table(
          ["holiday", ...headings.slice(1)],
          upcoming.skippedForHolidays.map((skip) => [skip.holiday, ...row(skip.scheduledTime)]),
        )}`,
  );
}

export function renderPlan(plan: SchedulePlan): string {
  const c = plan.counts;
  return blocks(
    fields([
      ["schedule", plan.schedule],
      ["scheduled time", plan.scheduledTime],
      ["run", plan.runPk],
      ["report type", `${plan.reportType}${plan.isListener ? " (listener)" : ""}`],
      ["group", plan.group],
      [
        "customers",
        `${c.customersRead} read: ${c.selected} selected, ${c.skipped} skipped, ${c.disabled} switched off, ${c.notWanted} without this report type${plan.isListener ? `, ${c.alreadyCovered} already covered` : ""}`,
      ],
    ]),
    plan.chunks.length === 0
      ? "No batch would be submitted."
      : `Batches (${plan.chunks.length}):\n${table(
          ["#", "batch name", "customers", "customer ids"],
          plan.chunks.map((chunk) => [
            chunk.chunkIndex,
            chunk.batchName,
            chunk.manifest.length,
            ids(chunk.manifest.map((entry) => entry.customerId)),
          ]),
        )}`,
    plan.skipped.length === 0
      ? undefined
      : `Skipped:\n${table(
          ["customerId", "cvr", "reason"],
          plan.skipped.map((row) => [row.customerId, row.cvr, row.reason]),
        )}`,
    plan.warnings.length === 0
      ? undefined
      : `Warnings:\n${table(
          ["customerId", "warning"],
          plan.warnings.map((row) => [row.customerId, row.warning]),
        )}`,
    plan.alreadyCovered.length === 0
      ? undefined
      : `Already covered by a listener batch:\n${table(
          ["customerId", "cvr", "run", "chunk"],
          plan.alreadyCovered.map((row) => [row.customerId, row.cvr, row.runPk, row.chunkIndex]),
        )}`,
    "Dry run: nothing written, Lasso not called.",
  );
}
