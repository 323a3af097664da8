/**
 * When a schedule fires, the same everywhere: what EventBridge Scheduler runs
 * (`schedulerExpression`), whether one of its firings is a real firing of the rule
 * (`isFiring`: submit-batches' guard), and the next firings as Scheduler fires them
 * (`nextFirings`: the local scheduler, `plan --next`, the CLI's periods).
 *
 * Scheduler cannot express holidays, so a business-day rule runs on a candidate cron (the
 * days that can hold it) and submit-batches drops the candidates that are not the rule's day.
 *
 * Daylight saving time, as Scheduler documents it: a local time that does not exist (the
 * spring change) is skipped, not moved; a local time that happens twice (the autumn change)
 * fires once, at its first occurrence. Croner alone fires a missing time at the next hour,
 * so croner only finds the wall-clock matches here (evaluated as if the zone were UTC) and
 * this module maps each to its instant in the zone. docs/schedules.md.
 */
import { Cron } from "croner";
import {
  isBusinessDay,
  type LocalDate,
  lastBusinessDay,
  localDate,
  nonBusinessReason,
  nthBusinessDay,
} from "./business-days.ts";
import type { BusinessDay, ScheduleConfig } from "./schedule.ts";

/** What the timing functions read of a schedule. */
export type ScheduleTiming = Pick<ScheduleConfig, "name" | "cron" | "businessDay" | "at" | "timeZone">;

/** Candidate days of month for "the last business day": never earlier than the 26th (docs/schedules.md). */
const LAST_BUSINESS_DAY_CANDIDATES = { from: 24, to: 31 } as const;

/**
 * The latest day of month the Nth business day can fall on: N plus the weekends and
 * holidays before it, with a margin (test/unit/business-days.test.ts checks a century).
 */
export const latestDayOfNth = (n: number): number => Math.min(31, n + 7 + 2 * Math.ceil(n / 5));

/** The expression EventBridge Scheduler runs: the cron as is, or a business-day rule's candidate cron. */
export function schedulerExpression(schedule: ScheduleTiming): string {
  if (schedule.cron !== undefined) return schedule.cron;
  const rule = ruleOf(schedule);
  const [hours, minutes] = rule.at.split(":").map(Number) as [number, number];
  const time = `${minutes} ${hours}`;
  if (rule.businessDay === "every") return `cron(${time} ? * MON-FRI *)`;
  if (rule.businessDay === "last") {
    return `cron(${time} ${LAST_BUSINESS_DAY_CANDIDATES.from}-${LAST_BUSINESS_DAY_CANDIDATES.to} * ? *)`;
  }
  return `cron(${time} ${rule.businessDay}-${latestDayOfNth(rule.businessDay)} * ? *)`;
}

/**
 * Whether a Scheduler firing at `scheduledTime` is a real firing of the schedule: always
 * for a cron; for a business-day rule, when the date in the schedule's zone is the rule's day.
 */
export function isFiring(schedule: ScheduleTiming, scheduledTime: Date): boolean {
  if (schedule.businessDay === undefined) return true;
  return isRuleDay(schedule.businessDay, zonedDate(scheduledTime, schedule.timeZone));
}

/** Why a candidate firing is not a firing of the rule (a weekend, a holiday's name, not the Nth), or undefined. */
export function skipReason(schedule: ScheduleTiming, scheduledTime: Date): string | undefined {
  if (isFiring(schedule, scheduledTime)) return undefined;
  const date = zonedDate(scheduledTime, schedule.timeZone);
  const reason = nonBusinessReason(date);
  if (reason !== undefined) return reason;
  return schedule.businessDay === "last"
    ? "not the last business day"
    : `not business day ${schedule.businessDay}`;
}

/** Scheduler's firings of the schedule's expression after `after` (candidates included), in order. */
export function* schedulerFirings(schedule: ScheduleTiming, after: Date): Generator<Date> {
  const job = new Cron(cronerPattern(schedule), {
    timezone: "Etc/UTC",
    alternativeWeekdays: true,
    // Scheduler's `0/30` (from 0, every 30) is croner's non-standard stepping.
    sloppyRanges: true,
    paused: true,
  });
  try {
    // Wall-clock time as if it were UTC; started early so a repeated hour's first occurrence is seen.
    let cursor: Date | null = new Date(wallClock(after, schedule.timeZone) - 3 * HOUR);
    for (;;) {
      cursor = job.nextRun(cursor);
      if (cursor === null) return;
      const instant = firstInstant(cursor.getTime(), schedule.timeZone);
      // A wall-clock time that does not exist in the zone: Scheduler skips it.
      if (instant === undefined || instant <= after.getTime()) continue;
      yield new Date(instant);
    }
  } finally {
    job.stop();
  }
}

/** The next `count` firings after `after`, exactly as Scheduler fires them, filtered by `isFiring`. */
export function nextFirings(schedule: ScheduleTiming, after: Date, count: number): Date[] {
  const firings: Date[] = [];
  if (count <= 0) return firings;
  // A business-day rule's candidates: at most a month of them per firing, and some to spare.
  let candidatesLeft = (count + 2) * 40;
  for (const firing of schedulerFirings(schedule, after)) {
    if (isFiring(schedule, firing)) firings.push(firing);
    if (firings.length >= count || --candidatesLeft <= 0) break;
  }
  return firings;
}

/**
 * The schedule's latest firing at or before `atOrBefore`, looked for in windows growing back
 * to `lookBackDays` (a frequent cron is found in the first, a monthly rule in a later one).
 */
export function previousFiring(
  schedule: ScheduleTiming,
  atOrBefore: Date,
  lookBackDays = 400,
): Date | undefined {
  for (const days of [1, 8, 40, lookBackDays]) {
    let latest: Date | undefined;
    for (const firing of schedulerFirings(schedule, new Date(atOrBefore.getTime() - days * DAY))) {
      if (firing.getTime() > atOrBefore.getTime()) break;
      if (isFiring(schedule, firing)) latest = firing;
    }
    if (latest !== undefined || days >= lookBackDays) return latest;
  }
  return undefined;
}

/**
 * The croner pattern of the schedule's expression: the year field dropped (only `*` is
 * supported), Quartz weekday numbers (1 = Sunday) kept through croner's `alternativeWeekdays`.
 */
export function cronerPattern(schedule: ScheduleTiming): string {
  const fields = schedulerExpression(schedule)
    .replace(/^cron\(\s*|\s*\)$/g, "")
    .split(/\s+/);
  if (fields.length !== 6) throw new Error(`schedule ${schedule.name}: expected 6 cron fields`);
  if (fields[5] !== "*") throw new Error(`schedule ${schedule.name}: a year other than * is not supported`);
  return fields.slice(0, 5).join(" ");
}

// ---------------------------------------------------------------------------------------
// dates and times in a zone
// ---------------------------------------------------------------------------------------

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function ruleOf(schedule: ScheduleTiming): { businessDay: BusinessDay; at: string } {
  if (schedule.businessDay === undefined || schedule.at === undefined) {
    throw new Error(`schedule ${schedule.name}: needs cron, or businessDay with at`);
  }
  return { businessDay: schedule.businessDay, at: schedule.at };
}

function isRuleDay(rule: BusinessDay, date: LocalDate): boolean {
  if (rule === "every") return isBusinessDay(date);
  const [year, month] = date.split("-").map(Number) as [number, number];
  return date === (rule === "last" ? lastBusinessDay(year, month) : nthBusinessDay(year, month, rule));
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(instant: number, zone: string): Record<string, number> {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return parts;
}

/** The wall-clock time of an instant in a zone, as the epoch milliseconds of that time in UTC. */
function wallClock(instant: Date | number, zone: string): number {
  const ms = typeof instant === "number" ? instant : instant.getTime();
  const p = partsIn(ms, zone);
  const wall = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return wall + (ms % 1000);
}

/** The date (`YYYY-MM-DD`) of an instant in a zone. */
export function zonedDate(instant: Date, zone: string): LocalDate {
  const p = partsIn(instant.getTime(), zone);
  return localDate(p.year ?? 0, p.month ?? 1, p.day ?? 1);
}

/** The `HH:MM` of an instant in a zone. */
export function zonedTime(instant: Date, zone: string): string {
  const p = partsIn(instant.getTime(), zone);
  return `${String(p.hour ?? 0).padStart(2, "0")}:${String(p.minute ?? 0).padStart(2, "0")}`;
}

/**
 * The first instant a wall-clock time (epoch ms as if UTC) happens in a zone, or undefined
 * when it does not happen at all (the hour skipped by the spring change).
 */
export function firstInstant(wall: number, zone: string): number | undefined {
  const offsets = new Set(
    [-DAY, -DAY / 2, 0, DAY / 2, DAY].map((shift) => wallClock(wall + shift, zone) - (wall + shift)),
  );
  const instants = [...offsets]
    .map((offset) => wall - offset)
    .filter((instant) => wallClock(instant, zone) === wall);
  return instants.length === 0 ? undefined : Math.min(...instants);
}
