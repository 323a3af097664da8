/**
 * A schedule's periods. The period a moment is in begins at the schedule's latest firing at
 * or before it, exactly as EventBridge Scheduler fires it (business-day rules and daylight
 * saving time included: #shared/schedule-rules.ts); `run` refuses a second whole run in one
 * period unless told `--again`. The local scheduler fires on the same times.
 */
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { previousFiring } from "#shared/schedule-rules.ts";

export { cronerPattern } from "#shared/schedule-rules.ts";

/** When the period `now` is in began: the schedule's latest firing at or before `now`. */
export function periodStart(schedule: ScheduleConfig, now: Date): Date | undefined {
  return previousFiring(schedule, now);
}
