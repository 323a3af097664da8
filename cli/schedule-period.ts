/**
 * A schedule's periods. The period a moment is in begins at the schedule's latest firing at
 * or before it, exactly as EventBridge Scheduler fires it (business-day rules and daylight
 * saving time included: #shared/schedule-rules.ts); `run` refuses a second whole run in one
 * period unless told `--again`. The local scheduler fires on the same times, and
 * `plan SCHEDULE --next N` lists them.
 */
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { danishPublicHolidays } from "#shared/business-days.ts";
import {
  nextFirings,
  previousFiring,
  schedulerExpression,
  schedulerFirings,
  skipReason,
  zonedDate,
} from "#shared/schedule-rules.ts";

export { cronerPattern } from "#shared/schedule-rules.ts";

/** When the period `now` is in began: the schedule's latest firing at or before `now`. */
export function periodStart(schedule: ScheduleConfig, now: Date): Date | undefined {
  return previousFiring(schedule, now);
}

/** A schedule's coming firings as Scheduler fires them, and the candidate days a holiday took. */
export interface UpcomingFirings {
  schedule: string;
  timeZone: string;
  /** What EventBridge Scheduler runs (a business-day rule's candidate cron). */
  expression: string;
  firings: string[];
  /** Candidates on a public holiday that moved (or, for `every`, dropped) a firing. */
  skippedForHolidays: { scheduledTime: string; holiday: string }[];
}

export function upcomingFirings(schedule: ScheduleConfig, after: Date, count: number): UpcomingFirings {
  const firings = nextFirings(schedule, after, count);
  const skippedForHolidays: UpcomingFirings["skippedForHolidays"] = [];
  const last = firings.at(-1);
  if (schedule.businessDay !== undefined && last !== undefined) {
    for (const candidate of schedulerFirings(schedule, after)) {
      if (candidate.getTime() > last.getTime()) break;
      const holiday = holidayOf(schedule, candidate);
      if (holiday !== undefined && movedAFiring(schedule, candidate, firings)) {
        skippedForHolidays.push({ scheduledTime: candidate.toISOString(), holiday });
      }
    }
  }
  return {
    schedule: schedule.name,
    timeZone: schedule.timeZone,
    expression: schedulerExpression(schedule),
    firings: firings.map((firing) => firing.toISOString()),
    skippedForHolidays,
  };
}

/** The public holiday a candidate falls on (weekends are no news). */
function holidayOf(schedule: ScheduleConfig, candidate: Date): string | undefined {
  const reason = skipReason(schedule, candidate);
  const date = zonedDate(candidate, schedule.timeZone);
  return reason !== undefined && danishPublicHolidays(Number(date.slice(0, 4))).has(date)
    ? reason
    : undefined;
}

/**
 * Whether a holiday candidate changed the month's firing: every holiday for `every`; one
 * before the month's firing for the Nth; one after it for the last.
 */
function movedAFiring(schedule: ScheduleConfig, candidate: Date, firings: readonly Date[]): boolean {
  if (schedule.businessDay === "every") return true;
  const date = zonedDate(candidate, schedule.timeZone);
  const firing = firings
    .map((at) => zonedDate(at, schedule.timeZone))
    .find((day) => day.slice(0, 7) === date.slice(0, 7));
  if (firing === undefined) return false;
  return schedule.businessDay === "last" ? date > firing : date < firing;
}
