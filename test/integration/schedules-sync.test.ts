/**
 * Schedules as data, through the table: items written as an operator does (document
 * client, as the console or the AWS CLI would), the stream played by the local stream
 * (local/pipeline/schedule-stream.ts), the production sync-schedules handler, and the
 * emulated EventBridge Scheduler (ours on node, moto's with LOCAL_AWS_BACKEND=moto) read
 * back through the real SchedulerClient: add, change, pause, resume, delete; an invalid
 * item leaves the running schedule as it was and records its reason; replays change nothing.
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { type ScheduleStream, startScheduleStream } from "#local/pipeline/schedule-stream.ts";
import { ENV } from "#shared/env-names.ts";
import { getRunningSchedule, SCHEDULED_TIME_ATTRIBUTE } from "#shared/scheduler-schedules.ts";
import { getScheduleSync } from "#shared/state/schedule-sync.ts";

let stack: LocalStack;
let doc: DynamoDBDocumentClient;
let scheduler: SchedulerClient;
let stream: ScheduleStream;
let group: string;
let schedulesTable: string;

const state = () => ({ doc, tableName: stack.resources.names.stateTable, retentionDays: 400 });

const ITEM = {
  name: "first-bank-day",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "nord",
  flexibleWindowMinutes: 0,
};

beforeAll(async () => {
  stack = await startLocalStack({ prefix: "sync" });
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  scheduler = new SchedulerClient({});
  group = stack.functionEnv[ENV.scheduleGroup] ?? "";
  schedulesTable = stack.resources.names.schedulesTable;
  const { handler } = await import("#lambdas/sync-schedules/handler.ts");
  // A long interval: each test hands the changes on itself (tick) and then looks.
  stream = startScheduleStream({
    dynamo: stack.dynamo,
    tableName: schedulesTable,
    handler,
    intervalMs: 3_600_000,
  });
}, 60_000);

afterAll(async () => {
  await stream?.stop();
  scheduler?.destroy();
  await stack?.stop();
});

const running = (name: string) => getRunningSchedule(scheduler, group, name);

describe("a schedule item reaches EventBridge Scheduler", () => {
  it("creates the schedule with the target, input, retry policy and window of the stack", async () => {
    await doc.send(new PutCommand({ TableName: schedulesTable, Item: ITEM }));
    const tick = await stream.tick();
    expect(tick.synced).toEqual([{ name: ITEM.name, outcome: "created" }]);

    const schedule = await scheduler.send(new GetScheduleCommand({ GroupName: group, Name: ITEM.name }));
    expect(schedule.ScheduleExpression).toBe("cron(0 6 1 * ? *)");
    expect(schedule.ScheduleExpressionTimezone).toBe("Europe/Copenhagen");
    expect(schedule.State).toBe("ENABLED");
    expect(schedule.FlexibleTimeWindow).toEqual({ Mode: "OFF" });
    expect(schedule.Target?.Arn).toBe(stack.functionEnv[ENV.submitFunctionArn]);
    expect(schedule.Target?.RoleArn).toBe(stack.functionEnv[ENV.schedulerRoleArn]);
    expect(schedule.Target?.DeadLetterConfig?.Arn).toBe(stack.functionEnv[ENV.scheduledRunsDlqArn]);
    expect(schedule.Target?.RetryPolicy).toEqual({
      MaximumRetryAttempts: 10,
      MaximumEventAgeInSeconds: 43200,
    });
    const input = JSON.parse(schedule.Target?.Input ?? "{}");
    expect(input.scheduledTime).toBe(SCHEDULED_TIME_ATTRIBUTE);
    // The schedule as submit-batches validates it: defaults filled in.
    expect(input.schedule).toMatchObject({ ...ITEM, enabled: true, webhookAuth: "Header" });
    expect(await getScheduleSync(state(), ITEM.name)).toMatchObject({
      outcome: "created",
      running: { expression: "cron(0 6 1 * ? *)", timeZone: "Europe/Copenhagen", state: "ENABLED" },
    });
  });

  it("a replay of the same record changes nothing", async () => {
    const before = await running(ITEM.name);
    const { handler } = await import("#lambdas/sync-schedules/handler.ts");
    const { lambdaContext } = await import("#local/pipeline/function-url-server.ts");
    const answer = await handler(
      {
        Records: [
          { eventName: "INSERT", dynamodb: { Keys: { name: { S: ITEM.name } }, SequenceNumber: "1" } },
        ],
      },
      lambdaContext({ functionName: "sync-schedules", timeoutMs: 60_000 }),
    );
    expect(answer.synced).toEqual([{ name: ITEM.name, outcome: "unchanged" }]);
    expect((await running(ITEM.name))?.LastModificationDate).toEqual(before?.LastModificationDate);
  });

  it("a change of time and window updates it", async () => {
    await doc.send(
      new UpdateCommand({
        TableName: schedulesTable,
        Key: { name: ITEM.name },
        UpdateExpression: "SET cron = :cron, flexibleWindowMinutes = :window",
        ExpressionAttributeValues: { ":cron": "cron(30 7 2 * ? *)", ":window": 20 },
      }),
    );
    expect((await stream.tick()).synced).toEqual([{ name: ITEM.name, outcome: "updated" }]);
    const schedule = await running(ITEM.name);
    expect(schedule?.ScheduleExpression).toBe("cron(30 7 2 * ? *)");
    expect(schedule?.FlexibleTimeWindow).toEqual({ Mode: "FLEXIBLE", MaximumWindowInMinutes: 20 });
    expect(JSON.parse(schedule?.Target?.Input ?? "{}").schedule.cron).toBe("cron(30 7 2 * ? *)");
  });

  it("enabled = false pauses it, true resumes it", async () => {
    const setEnabled = (enabled: boolean) =>
      doc.send(
        new UpdateCommand({
          TableName: schedulesTable,
          Key: { name: ITEM.name },
          UpdateExpression: "SET enabled = :enabled",
          ExpressionAttributeValues: { ":enabled": enabled },
        }),
      );
    await setEnabled(false);
    await stream.tick();
    expect((await running(ITEM.name))?.State).toBe("DISABLED");
    await setEnabled(true);
    await stream.tick();
    expect((await running(ITEM.name))?.State).toBe("ENABLED");
  });

  it("an invalid item leaves the running schedule exactly as it was and records why", async () => {
    const before = await running(ITEM.name);
    await doc.send(
      new PutCommand({
        TableName: schedulesTable,
        Item: { ...ITEM, cron: "every monday", reportType: "Revison" },
      }),
    );
    const tick = await stream.tick();
    expect(tick.synced[0]?.outcome).toBe("refused");
    const after = await running(ITEM.name);
    expect(after?.ScheduleExpression).toBe(before?.ScheduleExpression);
    expect(after?.Target?.Input).toBe(before?.Target?.Input);
    expect(after?.LastModificationDate).toEqual(before?.LastModificationDate);
    const sync = await getScheduleSync(state(), ITEM.name);
    expect(sync?.outcome).toBe("refused");
    expect(sync?.reason).toMatch(/cron: must be an EventBridge Scheduler cron expression/);
    expect(sync?.reason).toMatch(/reportType/);
    expect(sync?.running).toEqual({
      expression: "cron(30 7 2 * ? *)",
      timeZone: "Europe/Copenhagen",
      state: "ENABLED",
    });
  });

  it("a number beyond JavaScript's range is refused with its field, not a failed sync", async () => {
    await stack.dynamo.send(
      new PutItemCommand({
        TableName: schedulesTable,
        Item: {
          name: { S: "huge" },
          businessDay: { N: "123456789012345678901234567890" },
          at: { S: "07:00" },
          timeZone: { S: "Europe/Copenhagen" },
          reportType: { S: "Revision" },
          group: { S: "nord" },
        },
      }),
    );
    const tick = await stream.tick();
    expect(tick.synced).toEqual([expect.objectContaining({ name: "huge", outcome: "refused" })]);
    expect(tick.synced[0]?.reason).toMatch(/^businessDay: /);
    expect(await running("huge")).toBeUndefined();
    await doc.send(new DeleteCommand({ TableName: schedulesTable, Key: { name: "huge" } }));
    await stream.tick();
  });

  it("a deleted item deletes the schedule", async () => {
    await doc.send(new PutCommand({ TableName: schedulesTable, Item: ITEM }));
    await stream.tick();
    await doc.send(new DeleteCommand({ TableName: schedulesTable, Key: { name: ITEM.name } }));
    expect((await stream.tick()).synced).toEqual([{ name: ITEM.name, outcome: "deleted" }]);
    expect(await running(ITEM.name)).toBeUndefined();
    expect((await getScheduleSync(state(), ITEM.name))?.outcome).toBe("deleted");
  });
});
