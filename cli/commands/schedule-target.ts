/** The schedules table of the target the `schedules` commands work on. */
import { CliFailure } from "../errors.ts";
import type { ScheduleStore } from "../schedule-store.ts";
import type { Target } from "../target.ts";

/** The target's schedules table; a stack from before schedules were data has none. */
export function storeOf(target: Target): ScheduleStore {
  if (target.scheduleStore === undefined) {
    throw new CliFailure(
      `${target.label} has no schedules table (deployed before schedules were data): deploy this version first`,
    );
  }
  return target.scheduleStore;
}
