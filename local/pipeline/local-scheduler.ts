/**
 * The local stand-in for EventBridge Scheduler: fires each enabled schedule at its next
 * firing as Scheduler would (#shared/schedule-rules.ts: business-day rules and daylight
 * saving time included), with that firing's scheduled time.
 *
 * The schedules come from a function read again before every timer is armed and at least
 * every `refreshMs`, so a schedule added, changed, paused or deleted in the source takes
 * effect on its next firing without a restart. A changed schedule fires on its new times
 * from the moment the change is read; firings already made are not repeated.
 */
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { nextFirings } from "#shared/schedule-rules.ts";

export type ScheduleSource = () => readonly ScheduleConfig[] | Promise<readonly ScheduleConfig[]>;

export interface LocalSchedulerOptions {
  schedules: ScheduleSource;
  /** One firing; an error is given to `onError`, the scheduler goes on. */
  onFire: (schedule: ScheduleConfig, scheduledTime: Date) => unknown;
  onError?: (error: unknown) => void;
  /** The longest wait before the schedules are read again (default one minute). */
  refreshMs?: number;
  clock?: () => Date;
}

export interface LocalScheduler {
  /** Each enabled schedule's next firing, as of the last reading. */
  upcoming(): { schedule: string; at: Date }[];
  stop(): void;
}

/** Starts the scheduler; the first reading is done before it returns. */
export async function startLocalScheduler(options: LocalSchedulerOptions): Promise<LocalScheduler> {
  const clock = options.clock ?? (() => new Date());
  const refreshMs = options.refreshMs ?? 60_000;
  const onError = options.onError ?? (() => {});
  /**
   * Per schedule name: its timing as last read, and the instant up to which its firings are
   * done (or were before it was first seen or last changed: those are not made up).
   */
  const seen = new Map<string, { timing: string; firedUpTo: Date; next?: Date | null }>();
  let upcoming: { schedule: ScheduleConfig; at: Date }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const readUpcoming = async (): Promise<void> => {
    const schedules = await options.schedules();
    upcoming = schedules.flatMap((schedule) => {
      const timing = timingOf(schedule);
      let state = seen.get(schedule.name);
      if (state === undefined || state.timing !== timing) {
        state = { timing, firedUpTo: clock() };
        seen.set(schedule.name, state);
      }
      if (!schedule.enabled) return [];
      // Computed once per firing (and change), not on every reading.
      state.next ??= nextFirings(schedule, state.firedUpTo, 1)[0] ?? null;
      return state.next === null ? [] : [{ schedule, at: state.next }];
    });
  };

  const fireDue = async (): Promise<void> => {
    const now = clock();
    for (const { schedule, at } of upcoming) {
      if (at.getTime() > now.getTime()) continue;
      const state = seen.get(schedule.name);
      if (state !== undefined) {
        state.firedUpTo = at;
        delete state.next;
      }
      try {
        await options.onFire(schedule, at);
      } catch (error) {
        onError(error);
      }
    }
  };

  const arm = async (): Promise<void> => {
    if (stopped) return;
    try {
      await readUpcoming();
      await fireDue();
      // Read again after firing: a fired schedule's next firing, and any change made meanwhile.
      await readUpcoming();
    } catch (error) {
      onError(error);
    }
    if (stopped) return;
    const now = clock().getTime();
    const nextAt = Math.min(...upcoming.map((entry) => entry.at.getTime()), now + refreshMs);
    timer = setTimeout(() => void arm(), Math.max(0, nextAt - now));
  };

  await arm();
  return {
    upcoming: () => upcoming.map(({ schedule, at }) => ({ schedule: schedule.name, at })),
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** What decides a schedule's times: a change (pause and resume included) restarts its firings from now, as on Scheduler. */
const timingOf = (schedule: ScheduleConfig): string =>
  JSON.stringify([schedule.cron, schedule.businessDay, schedule.at, schedule.timeZone, schedule.enabled]);
