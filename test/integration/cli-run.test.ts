/**
 * `lasso-reports run SCHEDULE` once a period (issue 19): a second whole run in the period
 * the schedule's cron is in is refused, naming the earlier run, unless `--again`;
 * `--customer ID…` runs only those customers as a run of its own (recorded, keyed on them,
 * refused when repeated in the period). Checked from the state table (read with the SDK),
 * the batches the Lasso simulator received and the mails the SES emulator holds.
 */
import { DynamoDBDocumentClient, GetCommand, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunReport } from "#cli/runs.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { reportKey } from "#shared/state/keys.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { RunRecord } from "#shared/state/runs.ts";
import { type CliHarness, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";

/** Monthly: the period of now began on the 1st of this month, 06:00 Copenhagen. */
const SCHEDULE = scheduleSchema.parse({
  name: "monthly-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});
const CUSTOMERS = [0, 1, 2, 3];

let pipeline: LocalPipeline;
let harness: CliHarness;

async function runRecords(): Promise<RunRecord[]> {
  const doc = DynamoDBDocumentClient.from(pipeline.stack.dynamo);
  const out: RunRecord[] = [];
  for await (const page of paginateQuery(
    { client: doc },
    {
      TableName: pipeline.stack.resources.names.stateTable,
      IndexName: "runsByTime",
      KeyConditionExpression: "runsPartition = :runs",
      ExpressionAttributeValues: { ":runs": "RUN" },
    },
  )) {
    out.push(...((page.Items ?? []) as RunRecord[]));
  }
  return out;
}

const requested = (): number[][] =>
  pipeline.stack.sim
    .batches()
    .map((batch) => batch.requestedItems.map((item) => item.internalCustomerId ?? 0));

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: [...CUSTOMERS.map((n) => customerItem(n)), customerItem(9, { enabled: false })],
    sim: { reportDelayMs: 5 },
  });
  harness = await cliHarness(pipeline.stack, { webhookUrl: pipeline.webhook.url, schedules: [SCHEDULE] });
});

afterAll(async () => {
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("run once a period", () => {
  let first: RunReport;

  it("the first run of the period submits every customer", async () => {
    const run = await harness.json<RunReport>(["run", SCHEDULE.name]);
    expect(run.code, run.stderr).toBe(0);
    first = run.data;
    expect(first.outcome).toBe("submitted");
    expect(requested()).toEqual([[1000, 1001, 1002, 1003]]);
  });

  it("a second whole run in the period is refused, naming the earlier run; nothing is written or sent", async () => {
    const before = await runRecords();
    const run = await harness.cli(["run", SCHEDULE.name]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`monthly-revision already ran this period`);
    expect(run.stderr).toContain(first.runPk);
    expect(run.stderr).toContain("--again");
    expect(await runRecords()).toHaveLength(before.length);
    expect(requested()).toHaveLength(1);
  });

  it("--again runs it once more: a new run record and a new batch", async () => {
    // A new run is keyed on its own second: wait for the next one.
    await waitFor("the next second", async () =>
      new Date().toISOString().slice(0, 19) > first.scheduledTime.slice(0, 19) ? true : undefined,
    );
    const run = await harness.json<RunReport>(["run", SCHEDULE.name, "--again"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.data.runPk).not.toBe(first.runPk);
    const runs = await runRecords();
    expect(runs.map((record) => record.pk).sort()).toEqual([first.runPk, run.data.runPk].sort());
    expect(requested()).toHaveLength(2);
    expect(
      (await harness.cli(["run", SCHEDULE.name, "--again", "--scheduled-time", first.scheduledTime])).code,
    ).toBe(2);
  });
});

describe("run --customer", () => {
  let targeted: RunReport;

  it("runs only those customers as a run of its own, recorded with them, and mails them", async () => {
    const run = await harness.json<RunReport>(["run", SCHEDULE.name, "--customer", "1003", "1001"]);
    expect(run.code, run.stderr).toBe(0);
    targeted = run.data;
    expect(targeted.outcome).toBe("submitted");
    expect(targeted.runPk).toBe(`RUN#${SCHEDULE.name}#${targeted.scheduledTime}#customers=1001,1003`);
    const record = (await runRecords()).find((candidate) => candidate.pk === targeted.runPk);
    expect(record).toMatchObject({ customerIds: [1001, 1003], status: "submitted", counts: { selected: 2 } });
    expect(requested().at(-1)).toEqual([1001, 1003]);

    // This run's reports, as the state table records them, and the mails SES holds for them
    // (file names say nothing: the earlier runs' reports of the same day are named alike).
    const batchId = targeted.run?.chunks[0]?.lassoBatchId as string;
    const doc = DynamoDBDocumentClient.from(pipeline.stack.dynamo);
    const reports = await waitFor(
      "the run's two reports delivered",
      async () => {
        const found = await Promise.all(
          [1, 3].map(async (n) => {
            const { Item } = await doc.send(
              new GetCommand({
                TableName: pipeline.stack.resources.names.stateTable,
                Key: reportKey(`${batchId}#${testCvr(n)}#Revision`),
              }),
            );
            return Item as ReportRecord | undefined;
          }),
        );
        return found.every((report) => report?.deliveryStatus === "delivered") ? found : undefined;
      },
      30_000,
    );
    const ids = new Set(reports.map((report) => report?.sesMessageId));
    const mails = (await pipeline.mails()).filter((mail) => ids.has(mail.messageId));
    expect(mails).toHaveLength(2);
    const to = mails.flatMap((mail) => mail.destination.to).sort();
    expect(to).toEqual(["kunde1@example.dk", "kunde3@example.dk"]);
  });

  it("the same customers again in the period are refused; other customers are not", async () => {
    const runsBefore = (await runRecords()).length;
    const again = await harness.cli(["run", SCHEDULE.name, "--customer", "1001"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already ran this period for customer(s) 1001");
    expect(again.stderr).toContain(targeted.runPk);
    expect(await runRecords()).toHaveLength(runsBefore);

    const other = await harness.json<RunReport>(["run", SCHEDULE.name, "--customer", "1002"]);
    expect(other.code, other.stderr).toBe(0);
    expect(requested().at(-1)).toEqual([1002]);
  });

  it("a customer the schedule does not mail is refused with the reason; nothing is run", async () => {
    const batches = requested().length;
    const runsBefore = (await runRecords()).length;
    const run = await harness.cli(["run", SCHEDULE.name, "--customer", "1009", "4711"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/customer 1009: not one monthly-revision mails/);
    expect(run.stderr).toMatch(/customer 4711: not one monthly-revision mails/);
    expect(requested()).toHaveLength(batches);
    expect(await runRecords()).toHaveLength(runsBefore);
    expect((await harness.cli(["run", SCHEDULE.name, "--customer", "x1"])).code).toBe(2);
  });

  it("status shows the targeted runs with their customers", async () => {
    const status = await harness.cli(["status"]);
    expect(status.stdout).toContain("only customers 1001, 1003");
  });
});
