/**
 * `lasso-reports schedules …` as a subprocess against the local stack, with the schedules
 * table's stream played in the test process (local/pipeline/schedule-stream.ts) feeding
 * the production sync-schedules handler, and the emulated EventBridge Scheduler read back
 * through the real SchedulerClient: add, set, pause, resume, delete; a refused change
 * writes nothing; a hand edit the sync refuses shows its reason and leaves the schedule
 * running as it was; export → import round trip; the deploy config's schedules imported.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { parseDeployConfig } from "#lib/config/schema.ts";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { type ScheduleStream, startScheduleStream } from "#local/pipeline/schedule-stream.ts";
import { ENV } from "#shared/env-names.ts";
import { schedulerExpression } from "#shared/schedule-rules.ts";
import { getRunningSchedule } from "#shared/scheduler-schedules.ts";
import { type CliHarness, cliHarness } from "#test/support/cli-harness.ts";

let stack: LocalStack;
let harness: CliHarness;
let stream: ScheduleStream;
let scheduler: SchedulerClient;
let doc: DynamoDBDocumentClient;
let group: string;

beforeAll(async () => {
  stack = await startLocalStack({ prefix: "cli-sched" });
  scheduler = new SchedulerClient({});
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  group = stack.functionEnv[ENV.scheduleGroup] ?? "";
  const { handler } = await import("#lambdas/sync-schedules/handler.ts");
  stream = startScheduleStream({
    dynamo: stack.dynamo,
    tableName: stack.resources.names.schedulesTable,
    handler,
    intervalMs: 200,
  });
  harness = await cliHarness(stack, { webhookUrl: "http://127.0.0.1:9/unused", schedules: [] });
}, 60_000);

afterAll(async () => {
  await stream?.stop();
  scheduler?.destroy();
  await harness?.cleanup();
  await stack?.stop();
});

const running = (name: string) => getRunningSchedule(scheduler, group, name);
const storedItem = async (name: string) =>
  (
    await doc.send(
      new GetCommand({
        TableName: stack.resources.names.schedulesTable,
        Key: { name },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe("schedules add, set, pause, resume, delete", () => {
  it("add writes the item and waits for EventBridge Scheduler to run it", async () => {
    const run = await harness.cli([
      "schedules",
      "add",
      "nord-revision",
      "cron=cron(0 6 1 * ? *)",
      "timeZone=Europe/Copenhagen",
      "reportType=Revision",
      "group=nord",
      "flexibleWindowMinutes=0",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /Added nord-revision\. Sync: created \(runs cron\(0 6 1 \* \? \*\) Europe\/Copenhagen ENABLED\)/,
    );
    expect(await storedItem("nord-revision")).toMatchObject({
      flexibleWindowMinutes: 0,
      reportType: "Revision",
    });
    const schedule = await running("nord-revision");
    expect(schedule?.ScheduleExpression).toBe("cron(0 6 1 * ? *)");
    expect(schedule?.FlexibleTimeWindow).toEqual({ Mode: "OFF" });
  });

  it("add refuses a name that exists", async () => {
    const run = await harness.cli([
      "schedules",
      "add",
      "nord-revision",
      "cron=cron(0 9 1 * ? *)",
      "timeZone=Europe/Copenhagen",
      "reportType=Revision",
      "group=nord",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/exists already/);
    expect((await running("nord-revision"))?.ScheduleExpression).toBe("cron(0 6 1 * ? *)");
  });

  it("set moves it to a business-day rule; Scheduler gets the rule's expression", async () => {
    const run = await harness.cli([
      "schedules",
      "set",
      "nord-revision",
      "businessDay=1",
      "at=07:00",
      "cron=",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Sync: updated/);
    const item = await storedItem("nord-revision");
    expect(item?.cron).toBeUndefined();
    expect(item).toMatchObject({ businessDay: 1, at: "07:00" });
    const expected = schedulerExpression({
      name: "nord-revision",
      businessDay: 1,
      at: "07:00",
      timeZone: "Europe/Copenhagen",
    });
    expect((await running("nord-revision"))?.ScheduleExpression).toBe(expected);
  });

  it("pause and resume switch the schedule's state", async () => {
    const paused = await harness.cli(["schedules", "pause", "nord-revision"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect((await running("nord-revision"))?.State).toBe("DISABLED");
    expect((await storedItem("nord-revision"))?.enabled).toBe(false);
    const resumed = await harness.cli(["schedules", "resume", "nord-revision"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await running("nord-revision"))?.State).toBe("ENABLED");
  });

  it("set refuses an invalid change with its reason and writes nothing", async () => {
    const before = await storedItem("nord-revision");
    const run = await harness.cli(["schedules", "set", "nord-revision", "reportType=Revison", "at=7"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not written: .*reportType/);
    expect(run.stderr).toMatch(/at: must be a local time HH:MM/);
    expect(await storedItem("nord-revision")).toEqual(before);
    const unknown = await harness.cli(["schedules", "set", "nord-revision", "enabeld=false"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown field enabeld/);
  });

  it("a hand edit the sync refuses: show and list give the reason, Scheduler runs what it ran", async () => {
    const before = await running("nord-revision");
    const item = await storedItem("nord-revision");
    await doc.send(
      new PutCommand({
        TableName: stack.resources.names.schedulesTable,
        Item: { ...item, timeZone: "Europe/Kopenhagen" },
      }),
    );
    const shown = await harness.json<{
      problem?: string;
      sync?: { outcome: string; reason: string; running: unknown };
    }>(["schedules", "show", "nord-revision"]);
    expect(shown.data.problem).toMatch(/^timeZone: must be an IANA time zone/);
    // The sync may not have run yet when show reads: wait for its record.
    let sync = shown.data.sync;
    for (let tries = 0; sync?.outcome !== "refused" && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      sync = (await harness.json<{ sync?: typeof sync }>(["schedules", "show", "nord-revision"])).data.sync;
    }
    expect(sync?.outcome).toBe("refused");
    expect(sync?.reason).toMatch(/timeZone/);
    expect(sync?.running).toEqual({
      expression: before?.ScheduleExpression,
      timeZone: "Europe/Copenhagen",
      state: "ENABLED",
    });
    const after = await running("nord-revision");
    expect(after?.ScheduleExpressionTimezone).toBe("Europe/Copenhagen");
    expect(after?.LastModificationDate).toEqual(before?.LastModificationDate);
    const list = await harness.cli(["--wide", "schedules", "list"]);
    expect(list.stdout).toMatch(/invalid: timeZone: must be an IANA time zone/);
    expect(list.stdout).toMatch(/refused: /);
    // run refuses it with the reason rather than "no such schedule"
    const runIt = await harness.cli(["run", "nord-revision"]);
    expect(runIt.code).toBe(1);
    expect(runIt.stderr).toMatch(/is refused: timeZone/);
    // Fixed with the CLI, it is applied again.
    const fixed = await harness.cli(["schedules", "set", "nord-revision", "timeZone=Europe/Copenhagen"]);
    expect(fixed.code, fixed.stderr).toBe(0);
  });

  it("delete asks, then deletes the item and the Scheduler schedule", async () => {
    const declined = await harness.cli(["schedules", "delete", "nord-revision"], "n\n");
    expect(declined.code).toBe(1);
    expect(await running("nord-revision")).toBeDefined();
    const run = await harness.cli(["schedules", "delete", "nord-revision", "--yes"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Deleted nord-revision\. Sync: deleted \(nothing runs\)/);
    expect(await storedItem("nord-revision")).toBeUndefined();
    expect(await running("nord-revision")).toBeUndefined();
  });
});

describe("schedules import and export", () => {
  it("imports the deploy config's schedules; a second import changes nothing", async () => {
    const config = parseDeployConfig(deployConfig);
    const run = await harness.json<{ name: string; outcome: string; sync: string }[]>([
      "schedules",
      "import",
      "--from-config",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.data.map((row) => [row.name, row.outcome])).toEqual(
      config.schedules.map((schedule) => [schedule.name, "created"]),
    );
    for (const schedule of config.schedules) {
      expect((await running(schedule.name))?.ScheduleExpression).toBe(schedulerExpression(schedule));
    }
    const again = await harness.json<{ outcome: string }[]>(["schedules", "import", "--from-config"]);
    expect(again.data.map((row) => row.outcome)).toEqual(config.schedules.map(() => "unchanged"));
  });

  it("export → import round trip (JSON and CSV), and an invalid file writes nothing", async () => {
    const exported = await harness.cli(["schedules", "export"]);
    expect(exported.code, exported.stderr).toBe(0);
    const items = JSON.parse(exported.stdout) as Record<string, unknown>[];
    const config = parseDeployConfig(deployConfig);
    expect(items.map((item) => item.name)).toEqual(config.schedules.map((schedule) => schedule.name).sort());
    const byName = (name: string) => items.find((item) => item.name === name) as Record<string, unknown>;
    expect(byName("owners-watch")).toMatchObject({ listener: true, listenerTriggerNow: true });
    expect(byName("first-bankday-finans")).toMatchObject({ businessDay: 1, at: "07:00" });

    const csv = await harness.cli(["schedules", "export", "--format", "csv"]);
    const csvFile = join(harness.dir, "schedules.csv");
    await writeFile(csvFile, csv.stdout.replace("cron(30 2 * * ? *)", "cron(45 2 * * ? *)"));
    const imported = await harness.json<{ name: string; outcome: string }[]>([
      "schedules",
      "import",
      csvFile,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.data.map((row) => [row.name, row.outcome])).toEqual(
      items.map((item) => [item.name, item.name === "owners-watch" ? "updated" : "unchanged"]),
    );
    expect((await running("owners-watch"))?.ScheduleExpression).toBe("cron(45 2 * * ? *)");

    const bad = join(harness.dir, "bad.json");
    await writeFile(
      bad,
      JSON.stringify([
        { ...byName("monthly-revision"), cron: "cron(0 9 1 * ? *)" },
        { ...byName("owners-watch"), group: "" },
      ]),
    );
    const refused = await harness.cli(["schedules", "import", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/entry 2 .*owners-watch.*group/s);
    expect(refused.stdout).toMatch(/Nothing written: 1 invalid schedule/);
    expect((await running("monthly-revision"))?.ScheduleExpression).toBe("cron(0 6 1 * ? *)");
  });
});
