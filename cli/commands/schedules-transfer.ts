/**
 * `schedules import FILE` / `schedules import --from-config` / `schedules export`: the
 * schedules table in bulk, as `customers import/export` does it for customers. A file is
 * JSON (a list of items, flat as the table stores them or nested as the deploy config
 * writes them, or a deploy config with `schedules`) or CSV (a header row of attribute
 * names). Every entry is checked first; one invalid entry and nothing is written. Stored
 * items are compared: created, updated or unchanged (not written); attributes the file
 * does not name (notes) are kept.
 */
import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { parse } from "csv-parse/sync";
import { loadDeployConfig } from "#lib/config/load.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import {
  attributeValue,
  itemFromSchedule,
  SCHEDULE_ATTRIBUTES,
  type ScheduleItem,
  scheduleFromItem,
} from "#shared/schedule-item.ts";
import { CliFailure } from "../errors.ts";
import { blocks, failed, ok, table } from "../output.ts";
import { readScheduleItems, syncText, waitForSync, writeScheduleItem } from "../schedule-store.ts";
import type { CommandContext } from "./context.ts";
import { storeOf } from "./schedule-target.ts";

interface Entry {
  /** Where it is in the file: "entry 3" or "line 4". */
  where: string;
  item: ScheduleItem;
}

/** A nested entry (deploy-config shape) becomes the flat item; a flat one stays as it is. */
function flatItem(entry: Record<string, unknown>): ScheduleItem {
  if (typeof entry.listener !== "object" || entry.listener === null) return entry;
  const parsed = scheduleSchema.safeParse(entry);
  return parsed.success ? itemFromSchedule(parsed.data) : entry;
}

function jsonEntries(text: string): Entry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`not JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(json) ? json : (json as { schedules?: unknown } | null)?.schedules;
  if (!Array.isArray(list))
    throw new CliFailure("a JSON file must be a list of schedules, or have `schedules`");
  return list.map((entry: unknown, index) => ({
    where: `entry ${index + 1}`,
    item: flatItem(typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : {}),
  }));
}

function csvEntries(text: string): Entry[] {
  const rows = parse(text, {
    columns: true,
    bom: true,
    delimiter: [";", ","],
    skip_empty_lines: true,
    trim: true,
  }) as Record<string, string>[];
  return rows.map((row, index) => {
    const item: ScheduleItem = {};
    for (const [column, cellText] of Object.entries(row)) {
      // export's protection against spreadsheet formulas, taken off again
      const value = attributeValue(column, cellText.replace(/^'(?=[=+\-@])/, ""));
      if (value !== undefined) item[column] = value;
    }
    return { where: `line ${index + 2}`, item };
  });
}

async function fileEntries(file: string): Promise<Entry[]> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new CliFailure(`cannot read ${file}: ${(error as Error).message}`);
  });
  return /\.json$/i.test(file) || /^\s*[[{]/.test(text) ? jsonEntries(text) : csvEntries(text);
}

function configEntries(): Entry[] {
  try {
    return loadDeployConfig().schedules.map((schedule, index) => ({
      where: `deploy config schedules[${index}]`,
      item: itemFromSchedule(schedule),
    }));
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
}

const same = (a: ScheduleItem, b: ScheduleItem): boolean =>
  Object.keys(a).every((name) => JSON.stringify(a[name]) === JSON.stringify(b[name]));

export function addSchedulesImport(schedules: Command, context: CommandContext): void {
  schedules
    .command("import")
    .description("import schedules from a JSON or CSV file, or the deploy config's (--from-config)")
    .argument("[file]", "a .json (items, or a deploy config) or .csv file")
    .option(
      "--from-config",
      "the deploy config's schedules (LASSO_REPORTS_CONFIG or lib/config/deploy-config.ts)",
    )
    .option("--dry-run", "check and compare only: write nothing")
    .option("--wait <seconds>", "wait this long for the sync's outcomes (0: do not wait)", Number, 20)
    .action(
      context.withTarget(
        async (
          target,
          _globals,
          _progress,
          file: string | undefined,
          options: { fromConfig?: boolean; dryRun?: boolean; wait: number },
        ) => {
          if ((file === undefined) === (options.fromConfig !== true)) {
            throw new CliFailure("give a FILE or --from-config (one of them)");
          }
          const entries = file === undefined ? configEntries() : await fileEntries(file);
          const invalid = entries.flatMap((entry) => {
            const decoded = scheduleFromItem(entry.item);
            return decoded.ok
              ? []
              : [{ where: entry.where, name: decoded.name ?? "", reason: decoded.reason }];
          });
          if (invalid.length > 0) {
            return failed(
              { invalid, written: 0 },
              blocks(
                table(
                  ["where", "name", "reason"],
                  invalid.map((row) => [row.where, row.name, row.reason]),
                ),
                `Nothing written: ${invalid.length} invalid schedule(s).`,
              ),
            );
          }
          const store = storeOf(target);
          const stored = new Map((await readScheduleItems(store)).map((item) => [String(item.name), item]));
          const plan = entries.map(({ item }) => {
            const before = stored.get(String(item.name));
            const outcome = before === undefined ? "created" : same(item, before) ? "unchanged" : "updated";
            return { name: String(item.name), outcome, item: { ...before, ...item } };
          });
          const since = new Date();
          if (options.dryRun !== true) {
            for (const step of plan)
              if (step.outcome !== "unchanged") await writeScheduleItem(store, step.item, "any");
          }
          const rows = await Promise.all(
            plan.map(async (step) => {
              const sync =
                options.dryRun === true || step.outcome === "unchanged" || options.wait === 0
                  ? undefined
                  : await waitForSync(target.state, step.name, since, options.wait * 1000);
              return {
                name: step.name,
                outcome: step.outcome,
                sync: sync === undefined ? "" : syncText(sync),
              };
            }),
          );
          const text = blocks(
            table(
              ["name", options.dryRun === true ? "would be" : "outcome", "sync"],
              rows.map((r) => [r.name, r.outcome, r.sync]),
            ),
            options.dryRun === true ? "Dry run: nothing written." : undefined,
          );
          return rows.some((row) => row.sync.startsWith("refused")) ? failed(rows, text) : ok(rows, text);
        },
      ),
    );
}

/** The items as CSV: the known attributes as columns, any other attribute left out. */
function schedulesToCsv(items: readonly ScheduleItem[], delimiter: ";" | ","): string {
  const quote = (raw: string): string => {
    const field = /^[=+\-@]/.test(raw) ? `'${raw}` : raw;
    return field.includes(delimiter) || /["\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
  };
  const lines = [SCHEDULE_ATTRIBUTES.join(delimiter)];
  for (const item of items) {
    lines.push(
      SCHEDULE_ATTRIBUTES.map((name) => quote(item[name] === undefined ? "" : String(item[name]))).join(
        delimiter,
      ),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function addSchedulesExport(schedules: Command, context: CommandContext): void {
  schedules
    .command("export")
    .description("export every schedule item as JSON or CSV that `schedules import` reads back")
    .addOption(new Option("--format <format>", "json or csv").choices(["json", "csv"]).default("json"))
    .addOption(new Option("--delimiter <char>", "CSV separator").choices([";", ","]).default(";"))
    .option("--out <file>", "write to this file instead of stdout")
    .action(
      context.withTarget(
        async (
          target,
          globals,
          _progress,
          options: { format: "json" | "csv"; delimiter: ";" | ","; out?: string },
        ) => {
          const items = await readScheduleItems(storeOf(target));
          const asJson = options.format === "json" || (globals.json === true && options.out === undefined);
          const content = asJson
            ? `${JSON.stringify(items, null, 2)}\n`
            : schedulesToCsv(items, options.delimiter);
          if (options.out === undefined) return { ...ok({ schedules: items.length }, ""), raw: content };
          await writeFile(options.out, options.format === "csv" ? `\uFEFF${content}` : content);
          return ok(
            { schedules: items.length, file: options.out, format: options.format },
            `Wrote ${items.length} schedules to ${options.out}.`,
          );
        },
      ),
    );
}
