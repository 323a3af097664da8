/**
 * A schedule's periods: EventBridge Scheduler's `cron(min hour day-of-month month
 * day-of-week year)` read with croner in the schedule's time zone. The period a moment is in
 * begins at the schedule's latest firing at or before it; `run` refuses a second whole run
 * in one period unless told `--again`. The local runner's cron jobs use the same pattern.
 */
import { Cron } from "croner";
import type { ScheduleConfig } from "#lib/config/schema.ts";

/**
 * The croner pattern of a schedule: the year field dropped (only `*` is supported), Quartz
 * weekday numbers (1 = Sunday) kept through croner's `alternativeWeekdays`.
 */
export function cronerPattern(schedule: ScheduleConfig): string {
  const fields = schedule.cron.replace(/^cron\(\s*|\s*\)$/g, "").split(/\s+/);
  if (fields.length !== 6) throw new Error(`schedule ${schedule.name}: expected 6 cron fields`);
  if (fields[5] !== "*") throw new Error(`schedule ${schedule.name}: a year other than * is not supported`);
  return fields.slice(0, 5).join(" ");
}

/** The schedule's cron job in its time zone (paused without `onFire`: for reading times only). */
export function scheduleJob(schedule: ScheduleConfig, onFire?: (job: Cron) => void): Cron {
  const options = { timezone: schedule.timeZone, alternativeWeekdays: true, protect: true };
  return onFire === undefined
    ? new Cron(cronerPattern(schedule), { ...options, paused: true })
    : new Cron(cronerPattern(schedule), options, onFire);
}

/** When the period `now` is in began: the schedule's latest firing at or before `now`. */
export function periodStart(schedule: ScheduleConfig, now: Date): Date | undefined {
  const job = scheduleJob(schedule);
  try {
    return job.previousRuns(1, new Date(now.getTime() + 1))[0];
  } finally {
    job.stop();
  }
}
