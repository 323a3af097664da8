/**
 * A schedule as one flat, hand-editable item of the schedules table (docs/schedules.md,
 * "Schedules as data"): the deploy config's fields as top-level attributes, the nested
 * `listener: { triggerNow }` as `listener` (BOOL) and `listenerTriggerNow` (BOOL). Decoding
 * validates with the same `scheduleSchema` the deploy config uses, so a schedule is valid
 * in the table exactly when it would be valid in the config; a bad item is a reason, never
 * a crash.
 */
import type { TranslateConfig } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { CUSTOMERS_TRANSLATE_CONFIG } from "./customers.ts";
import { type ScheduleConfig, scheduleSchema } from "./schedule.ts";

/**
 * How a document client reads hand-edited schedule items, as customer items: a number
 * beyond JavaScript's safe range comes back as its text, which the schema then refuses
 * with the field's name, instead of an unreadable item.
 */
export const SCHEDULES_TRANSLATE_CONFIG: TranslateConfig = CUSTOMERS_TRANSLATE_CONFIG;

/** The schedule's own attributes; nested fields are flattened (see {@link itemFromSchedule}). */
const SCHEDULE_FIELDS = Object.keys(scheduleSchema.shape) as (keyof typeof scheduleSchema.shape)[];

/** Attributes people may keep on an item for themselves; the sync ignores them. */
export const NOTE_ATTRIBUTES = ["note", "notes", "comment", "description"] as const;

/** Every attribute the codec reads; anything else on an item is refused (a typo must not pass silently). */
export const SCHEDULE_ATTRIBUTES: readonly string[] = [
  ...SCHEDULE_FIELDS,
  "listenerTriggerNow",
  ...NOTE_ATTRIBUTES,
];

export type ScheduleItem = Record<string, unknown>;

export type DecodedSchedule =
  | { ok: true; schedule: ScheduleConfig }
  | { ok: false; name: string | undefined; reason: string };

/** The item that stores `schedule`: flat, defaults written out so the console shows them. */
export function itemFromSchedule(schedule: ScheduleConfig): ScheduleItem {
  const item: ScheduleItem = {};
  for (const [field, value] of Object.entries(schedule)) {
    if (value === undefined) continue;
    if (field === "listener") {
      const listener = value as NonNullable<ScheduleConfig["listener"]>;
      item.listener = true;
      item.listenerTriggerNow = listener.triggerNow;
      continue;
    }
    item[field] = value;
  }
  return item;
}

/** zod's issues as one line an operator can act on: `field: message; field: message`. */
export function issuesText(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      return path === "" ? issue.message : `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** The nested shape the schema reads, from a flat item; structural problems are reasons. */
function nestedInput(item: ScheduleItem): { input: Record<string, unknown> } | { reason: string } {
  const unknown = Object.keys(item).filter((name) => !SCHEDULE_ATTRIBUTES.includes(name));
  if (unknown.length > 0) {
    return {
      reason: `unknown attribute${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: ${SCHEDULE_ATTRIBUTES.join(", ")})`,
    };
  }
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if ((NOTE_ATTRIBUTES as readonly string[]).includes(name) || name === "listenerTriggerNow") continue;
    input[name] = value;
  }
  const { listener, listenerTriggerNow } = item;
  if (listener !== undefined && typeof listener !== "boolean") {
    return { reason: "listener: must be a boolean (true for a listener batch)" };
  }
  if (listenerTriggerNow !== undefined && listener !== true) {
    return { reason: "listenerTriggerNow: only with listener = true" };
  }
  if (listener === true) {
    input.listener = listenerTriggerNow === undefined ? {} : { triggerNow: listenerTriggerNow };
  } else {
    delete input.listener;
  }
  return { input };
}

/** Reads and validates one stored item. */
export function scheduleFromItem(item: ScheduleItem): DecodedSchedule {
  const name = typeof item.name === "string" ? item.name : undefined;
  const nested = nestedInput(item);
  if ("reason" in nested) return { ok: false, name, reason: nested.reason };
  const parsed = scheduleSchema.safeParse(nested.input);
  if (!parsed.success) return { ok: false, name, reason: issuesText(parsed.error) };
  return { ok: true, schedule: parsed.data };
}

/**
 * The value of `field=value` on the command line as the item stores it: numbers and
 * booleans typed, `-` or an empty value removes the attribute (undefined).
 */
export function attributeValue(field: string, text: string): unknown {
  if (text === "" || text === "-") return undefined;
  const shape = scheduleSchema.shape as Record<string, z.core.$ZodType>;
  const probe = shape[field];
  const wantsBoolean = field === "listenerTriggerNow" || field === "listener" || field === "enabled";
  if (wantsBoolean) {
    if (/^(true|yes|ja|1)$/i.test(text)) return true;
    if (/^(false|no|nej|0)$/i.test(text)) return false;
    return text;
  }
  if (probe !== undefined && /^-?\d+(\.\d+)?$/.test(text) && !z.safeParse(probe, text).success) {
    const asNumber = Number(text);
    if (z.safeParse(probe, asNumber).success) return asNumber;
  }
  return text;
}
