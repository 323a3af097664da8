/**
 * The use case of sync-schedules: make EventBridge Scheduler run what the schedules table
 * says about one schedule. It reads the item as it is now (not the stream record's image),
 * so a replayed or reordered record is harmless: the same item gives the same schedule.
 * - no item: the schedule is deleted (no schedule, no error);
 * - an item the schema refuses, or one Scheduler refuses: nothing changes in Scheduler,
 *   the reason goes into the sync record (`lasso-reports schedules show`), the log and the
 *   ScheduleRefused metric (alarmed);
 * - a valid item: created, or updated when it differs (pause/resume is `enabled`).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Counter } from "#shared/runtime/metrics.ts";
import { type ScheduleItem, scheduleFromItem } from "#shared/schedule-item.ts";
import {
  createSchedule,
  deleteSchedule,
  desiredSchedule,
  getRunningSchedule,
  type RunningSchedule,
  type SchedulerPort,
  type ScheduleTarget,
  sameSchedule,
  updateSchedule,
} from "#shared/scheduler-schedules.ts";
import {
  putScheduleSync,
  type RunningScheduleSummary,
  type ScheduleSyncOutcome,
} from "#shared/state/schedule-sync.ts";
import type { StateTable } from "#shared/state/state-table.ts";

export interface SyncScheduleDeps {
  /** The item as stored now (strongly consistent), undefined when deleted. */
  readItem(name: string): Promise<ScheduleItem | undefined>;
  scheduler: SchedulerPort;
  target: ScheduleTarget;
  state: StateTable;
  metrics: Counter;
  logger: Pick<Logger, "info" | "warn">;
  clock: () => Date;
}

export interface SyncScheduleResult {
  name: string;
  outcome: ScheduleSyncOutcome;
  reason?: string;
}

/** Scheduler's refusals of a schedule itself (not of the call): the item's fault, not a retry. */
const REFUSED_BY_SCHEDULER = new Set(["ValidationException"]);

const summaryOf = (running: RunningSchedule | undefined): RunningScheduleSummary | undefined =>
  running === undefined
    ? undefined
    : {
        expression: running.ScheduleExpression ?? "",
        timeZone: running.ScheduleExpressionTimezone ?? "UTC",
        state: running.State ?? "",
      };

export async function syncSchedule(name: string, deps: SyncScheduleDeps): Promise<SyncScheduleResult> {
  const { scheduler, target } = deps;
  const record = async (
    outcome: ScheduleSyncOutcome,
    running: RunningScheduleSummary | undefined,
    reason?: string,
  ): Promise<SyncScheduleResult> => {
    await putScheduleSync(deps.state, {
      name,
      outcome,
      ...(reason === undefined ? {} : { reason }),
      ...(running === undefined ? {} : { running }),
      syncedAt: deps.clock().toISOString(),
    });
    if (outcome === "refused") {
      deps.metrics.count("ScheduleRefused");
      deps.logger.warn("schedule item refused; the running schedule is unchanged", { name, reason, running });
    } else {
      deps.metrics.count("ScheduleSynced", { outcome });
      deps.logger.info("schedule synced", { name, outcome });
    }
    return { name, outcome, ...(reason === undefined ? {} : { reason }) };
  };

  const item = await deps.readItem(name);
  if (item === undefined) {
    const deleted = await deleteSchedule(scheduler, target.groupName, name);
    return record(deleted ? "deleted" : "unchanged", undefined);
  }
  const running = await getRunningSchedule(scheduler, target.groupName, name);
  const decoded = scheduleFromItem(item);
  if (!decoded.ok) return record("refused", summaryOf(running), decoded.reason);
  if (decoded.schedule.name !== name) {
    return record(
      "refused",
      summaryOf(running),
      `name: ${decoded.schedule.name} is not the item's key ${name}`,
    );
  }
  const desired = desiredSchedule(decoded.schedule, target);
  const applied = summaryOf({
    ScheduleExpression: desired.ScheduleExpression,
    ScheduleExpressionTimezone: desired.ScheduleExpressionTimezone,
    State: desired.State,
    $metadata: {},
  });
  if (running !== undefined && sameSchedule(running, desired)) return record("unchanged", applied);
  try {
    if (running === undefined) await createSchedule(scheduler, desired);
    else await updateSchedule(scheduler, desired);
  } catch (error) {
    if (error instanceof Error && REFUSED_BY_SCHEDULER.has(error.name)) {
      return record("refused", summaryOf(running), `EventBridge Scheduler: ${error.message}`);
    }
    throw error;
  }
  return record(running === undefined ? "created" : "updated", applied);
}
