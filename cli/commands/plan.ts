/** `plan SCHEDULE`: a schedule's dry run: which customers go into which batches, which are skipped and why. */
import type { Command } from "commander";
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import { blocks, fields, ids, ok, table } from "../output.ts";
import { planRun, resolveScheduledTime } from "../runs.ts";
import { findSchedule } from "../target.ts";
import type { CommandContext } from "./context.ts";

export function addPlanCommand(program: Command, context: CommandContext): void {
  program
    .command("plan")
    .description("dry run of a schedule: which customers go into which batches, which are skipped and why")
    .argument("<schedule>", "the schedule's name (deploy config; locally the runner's schedules)")
    .option("--scheduled-time <iso>", "plan the firing at this time (default: now)")
    .addHelpText(
      "after",
      "\nReads the customer table (and listener coverage); writes nothing, calls no Lasso.",
    )
    .action(
      context.withTarget(
        async (target, _globals, _progress, name: string, options: { scheduledTime?: string }) => {
          const schedule = findSchedule(target, name);
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
