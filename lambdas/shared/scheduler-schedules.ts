/**
 * The report schedules in EventBridge Scheduler, through the SDK's SchedulerClient: what
 * a schedule item becomes there (the same target, input, retry policy, dead-letter queue
 * and flexible window the CDK-declared schedules had), and the few calls sync-schedules
 * and local mode make. One group per stack holds them, so the sync's grants name it.
 */
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  paginateListSchedules,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import { type ScheduleConfig, scheduleSchema } from "./schedule.ts";
import { schedulerExpression } from "./schedule-rules.ts";

/** Scheduler's context attribute: the firing's scheduled time, the same on every retry. */
export const SCHEDULED_TIME_ATTRIBUTE = "<aws.scheduler.scheduled-time>";

/** submit-batches' event (lib/constructs/schedules.ts SubmitScheduleEvent), as Scheduler sends it. */
export interface ScheduleTargetInput {
  schedule: ScheduleConfig;
  scheduledTime: string;
}

/** Where a schedule's firings go: the same for every schedule of the stack. */
export interface ScheduleTarget {
  groupName: string;
  submitFunctionArn: string;
  roleArn: string;
  deadLetterQueueArn: string;
}

/** A submission that fails is retried for half a day, then kept in the dead-letter queue. */
export const RUN_RETRY_POLICY = { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 12 * 60 * 60 } as const;

/**
 * The expression Scheduler gets for a schedule: its cron, or a business-day rule's
 * candidate cron (submit-batches drops the candidates that are not the rule's day).
 */
export const expressionOf = (schedule: ScheduleConfig): string => schedulerExpression(schedule);

export type DesiredSchedule = Omit<CreateScheduleCommandInput, "ClientToken">;

export function desiredSchedule(schedule: ScheduleConfig, target: ScheduleTarget): DesiredSchedule {
  const input: ScheduleTargetInput = { schedule, scheduledTime: SCHEDULED_TIME_ATTRIBUTE };
  return {
    Name: schedule.name,
    GroupName: target.groupName,
    Description: `${schedule.reportType} reports for group ${schedule.group} (${schedule.name})`,
    ScheduleExpression: expressionOf(schedule),
    ScheduleExpressionTimezone: schedule.timeZone,
    State: schedule.enabled ? "ENABLED" : "DISABLED",
    // Safe for submissions: the run is keyed on the scheduled time, not the firing time.
    FlexibleTimeWindow:
      schedule.flexibleWindowMinutes > 0
        ? { Mode: "FLEXIBLE", MaximumWindowInMinutes: schedule.flexibleWindowMinutes }
        : { Mode: "OFF" },
    Target: {
      Arn: target.submitFunctionArn,
      RoleArn: target.roleArn,
      Input: JSON.stringify(input),
      DeadLetterConfig: { Arn: target.deadLetterQueueArn },
      RetryPolicy: { ...RUN_RETRY_POLICY },
    },
  };
}

/** The parts of a schedule the sync owns, to tell whether an update is needed. */
function comparable(schedule: Pick<GetScheduleCommandOutput, keyof DesiredSchedule>): string {
  return JSON.stringify([
    schedule.ScheduleExpression,
    schedule.ScheduleExpressionTimezone,
    schedule.State,
    schedule.Description,
    schedule.FlexibleTimeWindow?.Mode,
    schedule.FlexibleTimeWindow?.MaximumWindowInMinutes,
    schedule.Target?.Arn,
    schedule.Target?.RoleArn,
    schedule.Target?.Input,
    schedule.Target?.DeadLetterConfig?.Arn,
    schedule.Target?.RetryPolicy?.MaximumRetryAttempts,
    schedule.Target?.RetryPolicy?.MaximumEventAgeInSeconds,
  ]);
}

export const sameSchedule = (running: GetScheduleCommandOutput, desired: DesiredSchedule): boolean =>
  comparable(running) === comparable(desired);

/** The port the sync's use case takes: a SchedulerClient, or a stand-in in a unit test. */
export type SchedulerPort = Pick<SchedulerClient, "send">;
/** A schedule as Scheduler answers GetSchedule. */
export type RunningSchedule = GetScheduleCommandOutput;

type Send = SchedulerPort;

/** The schedule as Scheduler has it; undefined when there is none. */
export async function getRunningSchedule(
  scheduler: Send,
  groupName: string,
  name: string,
): Promise<GetScheduleCommandOutput | undefined> {
  try {
    return await scheduler.send(new GetScheduleCommand({ GroupName: groupName, Name: name }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

export async function createSchedule(scheduler: Send, desired: DesiredSchedule): Promise<void> {
  await scheduler.send(new CreateScheduleCommand(desired));
}

/** UpdateSchedule replaces the whole schedule: every field is given. */
export async function updateSchedule(scheduler: Send, desired: DesiredSchedule): Promise<void> {
  await scheduler.send(new UpdateScheduleCommand(desired));
}

/** True when a schedule was deleted, false when there was none (a replayed delete). */
export async function deleteSchedule(scheduler: Send, groupName: string, name: string): Promise<boolean> {
  try {
    await scheduler.send(new DeleteScheduleCommand({ GroupName: groupName, Name: name }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/** A running schedule's report schedule, read back from its target input. */
export function scheduleOfTarget(
  running: Pick<GetScheduleCommandOutput, "Target">,
): ScheduleConfig | undefined {
  try {
    const input = JSON.parse(running.Target?.Input ?? "") as { schedule?: unknown };
    const parsed = scheduleSchema.safeParse(input.schedule);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every schedule of the group with its state: what the local scheduler fires from. */
export async function listRunningSchedules(
  scheduler: SchedulerClient,
  groupName: string,
): Promise<{ schedule: ScheduleConfig; state: string }[]> {
  const names: string[] = [];
  for await (const page of paginateListSchedules({ client: scheduler }, { GroupName: groupName })) {
    for (const summary of page.Schedules ?? []) if (summary.Name) names.push(summary.Name);
  }
  const running: { schedule: ScheduleConfig; state: string }[] = [];
  for (const name of names.sort()) {
    const found = await getRunningSchedule(scheduler, groupName, name);
    const schedule = found === undefined ? undefined : scheduleOfTarget(found);
    if (found !== undefined && schedule !== undefined) running.push({ schedule, state: found.State ?? "" });
  }
  return running;
}
