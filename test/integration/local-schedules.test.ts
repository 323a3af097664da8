/**
 * Local mode's schedules on the deployed path: seeded into the local schedules table
 * (never over an operator's item), synced by the production sync-schedules handler into
 * the emulated Scheduler, and fired by the local scheduler from what that Scheduler holds.
 * A change made in the table while it runs (pause, resume, a new time) takes effect on the
 * next firing without a restart. The scheduler's clock is shifted to just before a firing,
 * so the test waits seconds, not hours.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { type LocalScheduler, startLocalScheduler } from "#local/pipeline/local-scheduler.ts";
import {
  type LocalScheduleSync,
  seedSchedules,
  startLocalScheduleSync,
} from "#local/pipeline/local-schedules.ts";
import { getScheduleSync } from "#shared/state/schedule-sync.ts";

let stack: LocalStack;
let doc: DynamoDBDocumentClient;
let sync: LocalScheduleSync;
let scheduler: LocalScheduler | undefined;

const DEMO = scheduleSchema.parse({
  name: "demo-monthly",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "UTC",
  reportType: "Revision",
  group: "demo",
});

beforeAll(async () => {
  stack = await startLocalStack({ prefix: "local-sched" });
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  sync = await startLocalScheduleSync(stack, [DEMO], { intervalMs: 100 });
}, 60_000);

afterAll(async () => {
  scheduler?.stop();
  await sync?.stop();
  await stack?.stop();
});

const table = () => stack.resources.names.schedulesTable;
const update = (expression: string, values: Record<string, unknown>) =>
  doc.send(
    new UpdateCommand({
      TableName: table(),
      Key: { name: DEMO.name },
      UpdateExpression: expression,
      ExpressionAttributeValues: values,
    }),
  );
const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 8000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("local schedules", () => {
  it("seeds the table and the emulated Scheduler; a second seed leaves an operator's item alone", async () => {
    expect(await sync.running()).toEqual([DEMO]);
    await update("SET errorAppend = :mark", { ":mark": "#fejl" });
    await seedSchedules(stack, [DEMO]);
    const { Item } = await doc.send(new GetCommand({ TableName: table(), Key: { name: DEMO.name } }));
    expect(Item?.errorAppend).toBe("#fejl");
  });

  it("fires what Scheduler holds; pause, resume and a new time take effect on the next firing", async () => {
    let offset = 0;
    const clock = () => new Date(Date.now() + offset);
    const aim = (iso: string, aheadMs: number) => {
      offset = Date.parse(iso) - aheadMs - Date.now();
    };
    const fired: { name: string; at: string; errorAppend?: string }[] = [];
    aim("2027-03-01T06:00:00Z", 1500);
    scheduler = await startLocalScheduler({
      schedules: sync.running,
      onFire: (schedule, at) => {
        fired.push({
          name: schedule.name,
          at: at.toISOString(),
          ...(schedule.errorAppend ? { errorAppend: schedule.errorAppend } : {}),
        });
      },
      refreshMs: 100,
      clock,
    });
    // The edit of the first test reached Scheduler, and so the firing.
    await until("the March firing", () => fired.length === 1);
    expect(fired[0]).toEqual({ name: DEMO.name, at: "2027-03-01T06:00:00.000Z", errorAppend: "#fejl" });

    // Paused in the table: the April firing does not happen.
    await update("SET enabled = :off", { ":off": false });
    await until("the pause in Scheduler", async () => (await sync.running())[0]?.enabled === false);
    aim("2027-04-01T06:00:00Z", 800);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(fired).toHaveLength(1);

    // Resumed, and moved to 07:30, while the clock is between the April and May firings:
    // the scheduler may read the change at any moment from here on, and the next firing from
    // then is May's, at the new time. (Resumed at 06:00 on 1 April, it would rightly be 07:30
    // that day.)
    aim("2027-04-15T00:00:00Z", 0);
    await update("SET enabled = :on, cron = :cron", { ":on": true, ":cron": "cron(30 7 1 * ? *)" });
    await until(
      "the change in Scheduler",
      async () => (await sync.running())[0]?.cron === "cron(30 7 1 * ? *)",
    );
    aim("2027-05-01T07:30:00Z", 1200);
    await until("the May firing", () => fired.length === 2);
    expect(fired[1]).toMatchObject({ at: "2027-05-01T07:30:00.000Z" });

    // An invalid item added meanwhile is refused by the sync and never fires.
    await doc.send(new PutCommand({ TableName: table(), Item: { name: "other", cron: "bad" } }));
    const state = { doc, tableName: stack.resources.names.stateTable, retentionDays: 400 };
    await until("the refusal", async () => (await getScheduleSync(state, "other"))?.outcome === "refused");
    expect((await sync.running()).map((schedule) => schedule.name)).toEqual([DEMO.name]);
  });
});
