/**
 * sync-schedules' use case on the paths an emulator cannot produce: EventBridge Scheduler
 * refusing an expression the schema lets through (moto does not check cron fields), and
 * Scheduler being unavailable. A stand-in Scheduler client records the calls.
 */
import { ValidationException } from "@aws-sdk/client-scheduler";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { type SyncScheduleDeps, syncSchedule } from "#lambdas/sync-schedules/sync-schedule.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";

const ITEM = {
  name: "monthly",
  cron: "cron(0 25 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
};
const RUNNING = {
  ScheduleExpression: "cron(0 6 1 * ? *)",
  ScheduleExpressionTimezone: "Europe/Copenhagen",
  State: "ENABLED",
  $metadata: {},
};

function deps(failUpdateWith: Error): {
  deps: SyncScheduleDeps;
  calls: string[];
  records: unknown[];
  counter: RecordingCounter;
} {
  const calls: string[] = [];
  const records: unknown[] = [];
  const counter = new RecordingCounter();
  const scheduler = {
    send: async (command: { constructor: { name: string } }) => {
      calls.push(command.constructor.name);
      if (command.constructor.name === "GetScheduleCommand") return RUNNING;
      throw failUpdateWith;
    },
  } as unknown as SyncScheduleDeps["scheduler"];
  const doc = {
    send: async (command: { input: { Item: unknown } }) => {
      records.push(command.input.Item);
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  const logger = { info: () => undefined, warn: () => undefined } as unknown as SyncScheduleDeps["logger"];
  return {
    calls,
    records,
    counter,
    deps: {
      readItem: async () => ITEM,
      scheduler,
      target: { groupName: "g", submitFunctionArn: "arn:f", roleArn: "arn:r", deadLetterQueueArn: "arn:q" },
      state: { doc, tableName: "state", retentionDays: 400 },
      metrics: counter,
      logger,
      clock: () => new Date("2026-12-01T12:00:00Z"),
    },
  };
}

describe("syncSchedule", () => {
  it("Scheduler's ValidationException is a refusal: recorded with its words, the running schedule named", async () => {
    const world = deps(
      new ValidationException({
        message: "Invalid Schedule Expression cron(0 25 1 * ? *).",
        Message: "Invalid Schedule Expression cron(0 25 1 * ? *).",
        $metadata: {},
      }),
    );
    const result = await syncSchedule("monthly", world.deps);
    expect(result).toEqual({
      name: "monthly",
      outcome: "refused",
      reason: "EventBridge Scheduler: Invalid Schedule Expression cron(0 25 1 * ? *).",
    });
    expect(world.calls).toEqual(["GetScheduleCommand", "UpdateScheduleCommand"]);
    expect(world.records).toEqual([
      expect.objectContaining({
        outcome: "refused",
        running: { expression: "cron(0 6 1 * ? *)", timeZone: "Europe/Copenhagen", state: "ENABLED" },
        syncedAt: "2026-12-01T12:00:00.000Z",
      }),
    ]);
    expect(world.counter.total("ScheduleRefused")).toBe(1);
  });

  it("any other failure is thrown (the stream retries it) and nothing is recorded as done", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    const world = deps(throttled);
    await expect(syncSchedule("monthly", world.deps)).rejects.toThrow("Rate exceeded");
    expect(world.records).toEqual([]);
    expect(world.counter.total("ScheduleRefused")).toBe(0);
  });
});
