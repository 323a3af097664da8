/**
 * `lasso-reports status` for people (issue 19): each run with its batch ids and where its
 * reports are (delivered, failed, waiting), times in the operator's zone with the UTC offset,
 * and output that fits an 80-column terminal (`--wide` turns the fitting off). The counts
 * are compared with the state table read back with the SDK and with the SES emulator's store.
 */
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "#cli/status-view.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { type CliHarness, type CliRun, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";

const SCHEDULE = scheduleSchema.parse({
  name: "status-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});
/** 04:00 UTC on 1 May is 06:00 in Copenhagen (summer time, +02:00). */
const SCHEDULED_TIME = "2025-05-01T04:00:00.000Z";
const SHOWN_TIME = "2025-05-01 06:00:00 +02:00";
const FAILED_CVR = testCvr(3);
const CUSTOMERS = [0, 1, 2, 3, 4];

let pipeline: LocalPipeline;
let harness: CliHarness;
let stopPolling: (() => Promise<void>) | undefined;

/** Runs the CLI as if in an 80-column terminal (COLUMNS, as a shell exports it). */
async function in80Columns(args: readonly string[]): Promise<CliRun> {
  const before = process.env.COLUMNS;
  process.env.COLUMNS = "80";
  try {
    return await harness.cli(args);
  } finally {
    if (before === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = before;
  }
}

async function stateReports(): Promise<ReportRecord[]> {
  const out: ReportRecord[] = [];
  for await (const page of paginateScan(
    { client: DynamoDBDocumentClient.from(pipeline.stack.dynamo) },
    { TableName: pipeline.stack.resources.names.stateTable, ConsistentRead: true },
  )) {
    for (const item of page.Items ?? []) if (item.recordType === "report") out.push(item as ReportRecord);
  }
  return out;
}

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: CUSTOMERS.map((n) =>
      customerItem(n, {
        // Long names and addresses: cells that must wrap in 80 columns.
        name: `Kunde ${n} Revision og Regnskab med et meget langt firmanavn ApS`,
        emails: new Set([`bogholderi.afdeling+kunde${n}@et-langt-domaenenavn.example.dk`]),
      }),
    ),
    // Nothing rings and nothing polls until the test says so: the reports wait.
    sim: {
      reportDelayMs: 5,
      webhooksEnabled: false,
      faults: { forceItemStatus: { [FAILED_CVR]: "Failed" } },
    },
  });
  harness = await cliHarness(pipeline.stack, {
    webhookUrl: pipeline.webhook.url,
    schedules: [SCHEDULE],
    chunkSize: 2,
  });
  const run = await harness.cli(["run", SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME]);
  expect(run.code, run.stderr).toBe(0);
});

afterAll(async () => {
  await stopPolling?.();
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("status", () => {
  it("before any delivery: the run's batch ids, every report waiting", async () => {
    const { code, data } = await harness.json<StatusReport>(["status"]);
    expect(code).toBe(0);
    const lassoIds = pipeline.stack.sim
      .batches()
      .map((batch) => batch.id)
      .sort();
    expect(data.runs).toHaveLength(1);
    expect([...(data.runs[0]?.batchIds ?? [])].sort()).toEqual(lassoIds);
    expect(data.runs[0]?.reports, JSON.stringify(data, null, 1)).toEqual({
      delivered: 0,
      failed: 0,
      unroutable: 0,
      bounced: 0,
      waiting: CUSTOMERS.length,
    });
    expect(await stateReports()).toEqual([]);
    expect(data.batches.map((batch) => batch.lassoBatchId).sort()).toEqual(lassoIds);
  });

  it("once delivered: delivered and failed counts agree with the state table and the SES store", async () => {
    stopPolling = pipeline.startPolling(300);
    await waitFor(
      "every report settled",
      async () => {
        const reports = await stateReports();
        return reports.length === CUSTOMERS.length &&
          reports.every(
            (report) => report.deliveryStatus !== undefined && report.deliveryStatus !== "claimed",
          )
          ? reports
          : undefined;
      },
      40_000,
    );
    const { data } = await harness.json<StatusReport>(["status"]);
    const records = await stateReports();
    // Report mails only: the failed customer's failure notice (sent after its report is
    // recorded failed) goes to the operators.
    const withNotice = await waitFor("the failure notice", async () => {
      const current = await pipeline.status();
      return current.noticeMessageIds.length > 0 ? current : undefined;
    });
    const notices = new Set(withNotice.noticeMessageIds);
    const mails = (await pipeline.mails()).filter((mail) => !notices.has(mail.messageId));
    const delivered = records.filter((report) => report.deliveryStatus === "delivered").length;
    expect(delivered).toBe(CUSTOMERS.length - 1);
    expect(mails).toHaveLength(delivered);
    expect(data.runs[0]?.reports).toEqual({ delivered, failed: 1, unroutable: 0, bounced: 0, waiting: 0 });
    const perBatch = data.batches.map((batch) => [batch.lassoBatchId, batch.reports?.delivered]);
    for (const [id, count] of perBatch) {
      const inTable = records.filter(
        (report) => report.lassoBatchId === id && report.deliveryStatus === "delivered",
      ).length;
      expect(count, `batch ${id}`).toBe(inTable);
    }
  });

  it("shows times in Copenhagen time with the offset, or in the zone given", async () => {
    const text = await harness.cli(["status"]);
    expect(text.stdout).toContain(SHOWN_TIME);
    expect(text.stdout).toContain("Times in Europe/Copenhagen.");
    const utc = await harness.cli(["--time-zone", "UTC", "status"]);
    expect(utc.stdout).toContain("2025-05-01 04:00:00 +00:00");
    const bad = await harness.cli(["--time-zone", "Mars/Olympus", "status"]);
    expect(bad.code).toBe(2);
  });

  it("in 80 columns: no line is longer, and every batch id is shown whole (to copy into status --batch)", async () => {
    const run = await in80Columns(["status"]);
    expect(run.code).toBe(0);
    for (const line of run.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    for (const batch of pipeline.stack.sim.batches()) expect(run.stdout).toContain(batch.id);
  });
});

describe("every command's output fits COLUMNS=80", () => {
  it("plan, run, status, status --batch, deliveries, customers list and validate: no line over 80", async () => {
    const batchId = pipeline.stack.sim.batches()[0]?.id as string;
    const commands = [
      ["plan", SCHEDULE.name],
      ["run", SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME],
      ["status"],
      ["status", "--batch", batchId],
      ["deliveries", "--customer", "1000"],
      ["customers", "list"],
      ["customers", "validate"],
      ["failures"],
      ["dlq", "list"],
      ["suppressions", "list"],
      ["redrive"],
    ];
    for (const args of commands) {
      const run = await in80Columns(args);
      expect(run.stdout.length, `${args.join(" ")}: ${run.stderr}`).toBeGreaterThan(0);
      for (const line of run.stdout.split("\n")) {
        expect(line.length, `${args.join(" ")}: ${line}`).toBeLessThanOrEqual(80);
      }
    }
  });

  it("--wide leaves the tables as wide as their content", async () => {
    const batchId = pipeline.stack.sim.batches()[0]?.id as string;
    const wide = await in80Columns(["--wide", "status", "--batch", batchId]);
    expect(Math.max(...wide.stdout.split("\n").map((line) => line.length))).toBeGreaterThan(80);
    expect(wide.stdout).toContain("bogholderi.afdeling+kunde0@et-langt-domaenenavn.example.dk");
  });
});
