/**
 * Schedules as data in local mode, on the same path as a deployment: the schedules are
 * items of the local schedules table (seeded with the runner's schedules where no item of
 * that name exists, as the stack seeds the deploy config's); the emulated stream hands
 * every change to the production sync-schedules handler, which applies it to the
 * emulated EventBridge Scheduler; and the local scheduler fires what that Scheduler holds.
 * So `lasso-reports --local schedules set …` takes effect on the next firing, no restart.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { ENV } from "#shared/env-names.ts";
import { itemFromSchedule } from "#shared/schedule-item.ts";
import { listRunningSchedules } from "#shared/scheduler-schedules.ts";
import type { LocalStack } from "../aws/local-stack.ts";
import { type ScheduleStream, startScheduleStream } from "./schedule-stream.ts";

export interface LocalScheduleSync {
  /** What the emulated Scheduler runs, paused ones with `enabled: false`: the local scheduler's source. */
  running(): Promise<ScheduleConfig[]>;
  stream: ScheduleStream;
  stop(): Promise<void>;
}

/** Writes each schedule whose name has no item yet; an operator's item is left as it is. */
export async function seedSchedules(stack: LocalStack, schedules: readonly ScheduleConfig[]): Promise<void> {
  const doc = DynamoDBDocumentClient.from(stack.dynamo);
  for (const schedule of schedules) {
    try {
      await doc.send(
        new PutCommand({
          TableName: stack.resources.names.schedulesTable,
          Item: itemFromSchedule(schedule),
          ConditionExpression: "attribute_not_exists(#name)",
          ExpressionAttributeNames: { "#name": "name" },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

export async function startLocalScheduleSync(
  stack: LocalStack,
  seed: readonly ScheduleConfig[],
  options: { intervalMs?: number; log?: (line: string) => void } = {},
): Promise<LocalScheduleSync> {
  await seedSchedules(stack, seed);
  const { handler } = await import("#lambdas/sync-schedules/handler.ts");
  const stream = startScheduleStream({
    dynamo: stack.dynamo,
    tableName: stack.resources.names.schedulesTable,
    handler,
    intervalMs: options.intervalMs ?? 500,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  // The seeded schedules are in Scheduler before anything reads it.
  await stream.tick();
  const group = stack.functionEnv[ENV.scheduleGroup] ?? "";
  return {
    running: async () =>
      (await listRunningSchedules(stack.scheduler, group)).map(({ schedule, state }) => ({
        ...schedule,
        enabled: state === "ENABLED",
      })),
    stream,
    stop: () => stream.stop(),
  };
}
