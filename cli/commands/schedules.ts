/**
 * `schedules`: the report schedules as data (docs/schedules.md, "Schedules as data"):
 * list, show, add, set, pause, resume, delete, import, export. Every write is validated
 * first with the deploy config's schema (nothing is written when it is refused); then the
 * command waits for sync-schedules to apply it to EventBridge Scheduler and shows what
 * the sync did (or, when it refused the change, why, and what still runs).
 */
import { type Command, InvalidArgumentError } from "commander";
import {
  attributeValue,
  SCHEDULE_ATTRIBUTES,
  type ScheduleItem,
  scheduleFromItem,
} from "#shared/schedule-item.ts";
import { nextFirings } from "#shared/schedule-rules.ts";
import type { ScheduleSyncRecord } from "#shared/state/schedule-sync.ts";
import { CliFailure } from "../errors.ts";
import { blocks, type CommandResult, failed, fields, localTime, ok, table } from "../output.ts";
import {
  deleteScheduleItem,
  getScheduleItem,
  scheduleView,
  scheduleViews,
  syncText,
  type WriteCondition,
  waitForSync,
  whenText,
  writeScheduleItem,
} from "../schedule-store.ts";
import type { Target } from "../target.ts";
import { askYes, type CommandContext } from "./context.ts";
import { storeOf } from "./schedule-target.ts";
import { addSchedulesExport, addSchedulesImport } from "./schedules-transfer.ts";

const DEFAULT_WAIT_SECONDS = 20;

/** `field=value` pairs, typed as the item stores them (`field=` or `field=-` removes it). */
export function assignment(value: string, previous: [string, unknown][] = []): [string, unknown][] {
  const at = value.indexOf("=");
  if (at < 1) throw new InvalidArgumentError(`"${value}" is not field=value`);
  const field = value.slice(0, at).trim();
  if (field === "name")
    throw new InvalidArgumentError("the name is the item's key: add a new schedule instead");
  if (!SCHEDULE_ATTRIBUTES.includes(field)) {
    throw new InvalidArgumentError(`unknown field ${field} (known: ${SCHEDULE_ATTRIBUTES.join(", ")})`);
  }
  return [...previous, [field, attributeValue(field, value.slice(at + 1).trim())]];
}

const waitOption = (value: string): number => {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new InvalidArgumentError("must be whole seconds, 0 or more");
  return seconds;
};

/** The item with the assignments applied (undefined removes the attribute). */
function applied(item: ScheduleItem, changes: readonly [string, unknown][]): ScheduleItem {
  const next: ScheduleItem = { ...item };
  for (const [field, value] of changes) {
    if (value === undefined) delete next[field];
    else next[field] = value;
  }
  return next;
}

/** After a write: what the sync did, in words; refused is a failure (exit 1). */
async function written(
  target: Target,
  name: string,
  since: Date,
  waitSeconds: number,
  done: string,
): Promise<CommandResult> {
  const sync =
    waitSeconds === 0 ? undefined : await waitForSync(target.state, name, since, waitSeconds * 1000);
  const data = { name, written: true, sync: sync ?? null };
  if (sync === undefined) {
    return ok(
      data,
      `${done} EventBridge Scheduler has not applied it yet${waitSeconds === 0 ? "" : ` (waited ${waitSeconds} s)`}: \`lasso-reports schedules show ${name}\` shows the sync's outcome.`,
    );
  }
  const text = `${done} Sync: ${syncText(sync)}.`;
  return sync.outcome === "refused" ? failed(data, text) : ok(data, text);
}

async function writeAndWait(
  target: Target,
  item: ScheduleItem,
  condition: WriteCondition,
  waitSeconds: number,
  done: string,
): Promise<CommandResult> {
  const since = new Date();
  const decoded = await writeScheduleItem(storeOf(target), item, condition);
  return written(target, decoded.schedule.name, since, waitSeconds, done);
}

async function changeSchedule(
  target: Target,
  name: string,
  changes: readonly [string, unknown][],
  waitSeconds: number,
  done: string,
): Promise<CommandResult> {
  const item = await getScheduleItem(storeOf(target), name);
  if (item === undefined) throw new CliFailure(`no schedule ${name} in ${target.label}`);
  return writeAndWait(target, applied(item, changes), "present", waitSeconds, done);
}

function addWriteCommands(schedules: Command, context: CommandContext): void {
  const wait = (command: Command) =>
    command.option(
      "--wait <seconds>",
      `wait this long for the sync's outcome (0: do not wait)`,
      waitOption,
      DEFAULT_WAIT_SECONDS,
    );
  wait(
    schedules
      .command("add")
      .description(
        "add a schedule: NAME and its fields (cron=… or businessDay=… at=…, timeZone, reportType, group, …)",
      )
      .argument("<name>", "the schedule's name (letters, digits, '-')")
      .argument("<field=value...>", "its fields, as the item stores them", assignment),
  ).action(
    context.withTarget(
      async (target, _g, _p, name: string, changes: [string, unknown][], options: { wait: number }) =>
        writeAndWait(target, applied({ name }, changes), "absent", options.wait, `Added ${name}.`),
    ),
  );
  wait(
    schedules
      .command("set")
      .description(
        "change fields of a schedule (field=value; field= removes one); checked before it is written",
      )
      .argument("<name>", "the schedule")
      .argument("<field=value...>", "the fields to change", assignment),
  ).action(
    context.withTarget(
      async (target, _g, _p, name: string, changes: [string, unknown][], options: { wait: number }) =>
        changeSchedule(target, name, changes, options.wait, `Changed ${name}.`),
    ),
  );
  for (const [verb, enabled, words] of [
    ["pause", false, "Paused"],
    ["resume", true, "Resumed"],
  ] as const) {
    wait(
      schedules
        .command(verb)
        .description(
          `${verb} a schedule (enabled=${enabled}): EventBridge Scheduler ${enabled ? "fires it again" : "stops firing it"}`,
        )
        .argument("<name>", "the schedule"),
    ).action(
      context.withTarget(async (target, _g, _p, name: string, options: { wait: number }) =>
        changeSchedule(target, name, [["enabled", enabled]], options.wait, `${words} ${name}.`),
      ),
    );
  }
  wait(
    schedules
      .command("delete")
      .description("delete a schedule: its item, and so its EventBridge Scheduler schedule (asks first)")
      .argument("<name>", "the schedule")
      .option("--yes", "delete without asking"),
  ).action(
    context.withTarget(async (target, _g, _p, name: string, options: { wait: number; yes?: boolean }) => {
      const store = storeOf(target);
      const item = await getScheduleItem(store, name);
      if (item === undefined) throw new CliFailure(`no schedule ${name} in ${target.label}`);
      const sure =
        options.yes === true ||
        (await askYes(
          context.io,
          `Delete schedule ${name} (${whenText(item)}, ${String(item.reportType)})?`,
        ));
      if (!sure) return failed({ name, written: false }, `Nothing deleted.`);
      const since = new Date();
      await deleteScheduleItem(store, name);
      return written(target, name, since, options.wait, `Deleted ${name}.`);
    }),
  );
}

function renderSync(sync: ScheduleSyncRecord | undefined): [string, unknown][] {
  if (sync === undefined) return [["sync", "not synced yet"]];
  return [
    ["sync", `${sync.outcome} at ${localTime(sync.syncedAt) ?? sync.syncedAt}`],
    ["refused because", sync.reason],
    [
      "Scheduler runs",
      sync.running === undefined
        ? "nothing"
        : `${sync.running.expression} in ${sync.running.timeZone}, ${sync.running.state}`,
    ],
  ];
}

function addReadCommands(schedules: Command, context: CommandContext): void {
  schedules
    .command("list")
    .description("the schedules: when, what, for whom, enabled, and what the sync last did")
    .action(
      context.withTarget(async (target) => {
        const views = await scheduleViews(storeOf(target), target.state);
        if (views.length === 0) return ok([], "No schedules.");
        const text = table(
          ["name", "when", "timeZone", "reportType", "group", "enabled", "problem / sync"],
          views.map((view) => [
            view.name,
            whenText(view.item),
            view.item.timeZone,
            view.item.reportType,
            view.item.group,
            view.item.enabled ?? true,
            view.problem === undefined
              ? syncText(view.sync)
              : `invalid: ${view.problem}; ${syncText(view.sync)}`,
          ]),
        );
        return ok(views, text);
      }),
    );
  schedules
    .command("show")
    .description("one schedule: its item, whether it is valid, its next firings, what the sync did and why")
    .argument("<name>", "the schedule")
    .option("--next <count>", "how many next firings to list", (value: string) => Number(value), 3)
    .action(
      context.withTarget(async (target, _g, _p, name: string, options: { next: number }) => {
        const item = await getScheduleItem(storeOf(target), name);
        if (item === undefined) throw new CliFailure(`no schedule ${name} in ${target.label}`);
        const view = await scheduleView(item, target.state);
        const decoded = scheduleFromItem(item);
        const next =
          decoded.ok && decoded.schedule.enabled
            ? nextFirings(decoded.schedule, new Date(), options.next)
            : [];
        const text = blocks(
          fields(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))),
          fields([
            ["valid", view.problem === undefined ? "yes" : `no: ${view.problem}`],
            ["next firings", next.map((at) => localTime(at.toISOString())).join(", ")],
            ...renderSync(view.sync),
          ]),
        );
        return ok({ ...view, nextFirings: next.map((at) => at.toISOString()) }, text);
      }),
    );
}

export function addSchedulesCommands(program: Command, context: CommandContext): void {
  const schedules = program
    .command("schedules")
    .description(
      "the report schedules (a table operators edit; applied to EventBridge Scheduler without a deploy)",
    );
  addReadCommands(schedules, context);
  addWriteCommands(schedules, context);
  addSchedulesImport(schedules, context);
  addSchedulesExport(schedules, context);
}
