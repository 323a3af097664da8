/**
 * The README's walkthrough ("The operator CLI on the local pipeline"), read from README.md
 * and run in its order: the first line, `npm start -- --serve`, is played by the local
 * runner in-process on its defaults (25 demo customers, both demo schedules fired once, the
 * poller on its rate: what `--serve` keeps up), on ephemeral ports instead of the fixed
 * ones so it can run next to anything; every `npx lasso-reports --local …` line then runs as
 * written, as a subprocess, with `--local` pointed at this pipeline's endpoints file. Checked
 * from the customer and state tables (read with the SDK) and the SES emulator's store (what
 * was really sent): the sample's customers are imported, planned and mailed.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import {
  DEMO_GROUP,
  DEMO_REPORT_TYPES,
  LOCAL_SCHEDULES,
  LOCAL_SETTINGS,
} from "#local/pipeline/local-config.ts";
import { type LocalPipeline, runLocalPipeline } from "#local/pipeline/runner.ts";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { type CliHarness, type CliRun, cliHarness, runBin, waitFor } from "#test/support/cli-harness.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HEADING = "### The operator CLI on the local pipeline";

/** The sample's customers a Revision run mails (enabled, wanting Revision), with their addresses. */
const MAILED = new Map<number, string[]>([
  [5001, ["bogholderi@aeroe-baadevaerft.example.dk"]],
  [5002, ["jens@oestergaard.example.dk", "ole@oestergaard.example.dk"]],
  [5003, ["finance@aabenraa-moebler.example.dk"]],
]);
const NOT_MAILED = [5004, 5005, 5006];

/** The walkthrough's command lines, comments dropped. */
async function walkthrough(): Promise<string[]> {
  const readme = await readFile(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(HEADING));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!readme.includes(HEADING) || block === undefined)
    throw new Error(`README.md has no "${HEADING}" block`);
  return block
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
}

/** `npx lasso-reports --local ARGS` as the CLI's arguments for this pipeline. */
function cliArgs(line: string, endpointsFile: string): string[] {
  const words = line.split(/\s+/);
  expect(words.slice(0, 3), line).toEqual(["npx", "lasso-reports", "--local"]);
  return ["--endpoints", endpointsFile, ...words.slice(3)];
}

const recipients = (to: readonly string[]): string[] =>
  to
    .flatMap((entry) => entry.split(","))
    .map((address) => address.trim())
    .sort();

let pipeline: LocalPipeline;
let harness: CliHarness;
let stopPolling: (() => Promise<void>) | undefined;
let lines: string[];
const ran: { line: string; run: CliRun }[] = [];

async function reportsOf(customerId: number): Promise<ReportRecord[]> {
  const answer = await pipeline.stack.dynamo.send(
    new QueryCommand({
      TableName: pipeline.stack.resources.names.stateTable,
      IndexName: "reportsByCustomer",
      KeyConditionExpression: "customerId = :id",
      ExpressionAttributeValues: { ":id": customerId },
    }),
  );
  return (answer.Items ?? []).filter((item) => item.recordType === "report") as ReportRecord[];
}

/** After `run`: what someone reading the output waits for before looking (the mails go out in seconds). */
async function waitForImportedReports(): Promise<void> {
  await waitFor(
    "the imported customers' reports settled",
    async () => {
      for (const customerId of MAILED.keys()) {
        const reports = await reportsOf(customerId);
        if (reports.length === 0 || reports.some((report) => report.deliveryStatus !== "delivered")) {
          return undefined;
        }
      }
      return true;
    },
    90_000,
  );
}

beforeAll(async () => {
  lines = await walkthrough();
  expect(lines[0]).toBe("npm start -- --serve");
  const outcome = await runLocalPipeline({
    customers: demoCustomers(25, DEMO_GROUP, DEMO_REPORT_TYPES).map((item) => ({ ...item })),
    schedules: LOCAL_SCHEDULES,
  });
  pipeline = outcome.pipeline;
  expect(outcome.problems).toEqual([]);
  stopPolling = pipeline.startPolling(LOCAL_SETTINGS.pollIntervalMs);
  harness = await cliHarness(pipeline.stack, {
    webhookUrl: pipeline.webhook.url,
    schedules: LOCAL_SCHEDULES,
    chunkSize: LOCAL_SETTINGS.chunkSize,
  });
  // Tables as wide as their content (a COLUMNS exported by the shell running the tests would
  // wrap the SES message ids this test looks for; the fitting has a test of its own).
  const columns = process.env.COLUMNS;
  delete process.env.COLUMNS;
  try {
    await runWalkthrough();
  } finally {
    if (columns !== undefined) process.env.COLUMNS = columns;
  }
}, 200_000);

async function runWalkthrough(): Promise<void> {
  for (const line of lines.slice(1)) {
    const run = await runBin(cliArgs(line, harness.endpointsFile));
    ran.push({ line, run });
    if (/ run /.test(` ${line} `)) await waitForImportedReports();
  }
}

afterAll(async () => {
  await stopPolling?.();
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("the README walkthrough, as written", () => {
  test("every command of it succeeds", () => {
    expect(ran.map(({ line }) => line)).toEqual(lines.slice(1));
    for (const { line, run } of ran) expect(run.code, `${line}\n${run.stdout}\n${run.stderr}`).toBe(0);
  });

  test("the import wrote the sample's six customers into the demo group, next to the 25 demo customers", async () => {
    const doc = DynamoDBDocumentClient.from(pipeline.stack.dynamo, CUSTOMERS_TRANSLATE_CONFIG);
    const table = pipeline.stack.resources.names.customersTable;
    for (const customerId of [...MAILED.keys(), ...NOT_MAILED]) {
      const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { customerId } }));
      expect(Item?.group, `customer ${customerId}`).toBe(DEMO_GROUP);
    }
    const demo = await doc.send(new GetCommand({ TableName: table, Key: { customerId: 1001 } }));
    expect(demo.Item?.name).toBe(demoCustomers(1, DEMO_GROUP, DEMO_REPORT_TYPES)[0]?.name);
  });

  test("plan puts the imported Revision customers into the batch and says why the others are not", async () => {
    const planLine = lines.find((line) => line.includes(" plan "));
    expect(planLine).toBeDefined();
    const plan = await harness.json<SchedulePlan>(
      cliArgs(planLine as string, harness.endpointsFile).slice(2),
    );
    const planned = plan.data.chunks.flatMap((chunk) => chunk.manifest.map((entry) => entry.customerId));
    for (const customerId of MAILED.keys()) expect(planned).toContain(customerId);
    for (const customerId of NOT_MAILED) expect(planned).not.toContain(customerId);
    expect(plan.data.counts).toMatchObject({ disabled: 1, notWanted: 2 });
  });

  test("run mailed each imported Revision customer once, to exactly its addresses, and recorded it", async () => {
    const mails = await pipeline.mails();
    for (const [customerId, addresses] of MAILED) {
      const [report, ...more] = await reportsOf(customerId);
      expect(more, `customer ${customerId}: one report`).toEqual([]);
      expect(report?.deliveryStatus).toBe("delivered");
      const sent = mails.filter((mail) => recipients(mail.destination.to).join() === addresses.join());
      expect(sent.map((mail) => mail.messageId)).toEqual([report?.sesMessageId]);
    }
    for (const customerId of NOT_MAILED) expect(await reportsOf(customerId)).toEqual([]);
    // Only the newcomers: the demo customers got this month's Revision report once, from npm start.
    const demo = await reportsOf(1001);
    expect(demo.filter((report) => report.reportType === "Revision")).toHaveLength(1);
  });

  test("deliveries shows the SES message id of the mail the customer got", async () => {
    const deliveries = ran.find(({ line }) => line.includes(" deliveries "));
    const [report] = await reportsOf(5001);
    expect(report?.sesMessageId).toBeDefined();
    expect(deliveries?.run.stdout).toContain(report?.sesMessageId);
  });
});
