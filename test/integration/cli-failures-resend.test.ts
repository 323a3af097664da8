/**
 * `lasso-reports failures` and `resend --batch ID --failed | --all` (issue 19) against a
 * local pipeline: a report Lasso failed, a report left unroutable (its customer row broke
 * before the delivery), a row the run skipped; then the row is fixed and the batch's failed
 * reports are re-sent in bulk, after a confirmation. Checked from the state table (read with
 * the SDK) and the SES emulator's store.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchResendOutcome } from "#cli/bulk-resend.ts";
import type { FailuresReport } from "#cli/failures-view.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import { reportKey } from "#shared/state/keys.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { type CliHarness, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";

const SCHEDULE = scheduleSchema.parse({
  name: "failures-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});
const SCHEDULED_TIME = "2025-05-01T04:00:00.000Z";
const LASSO_FAILED = 4;
const UNROUTABLE = 2;
const GOOD = [0, 1, 3];

let pipeline: LocalPipeline;
let harness: CliHarness;
let stopPolling: (() => Promise<void>) | undefined;
let batchId: string;

const doc = (): DynamoDBDocumentClient => DynamoDBDocumentClient.from(pipeline.stack.dynamo);

async function report(n: number): Promise<ReportRecord | undefined> {
  const { Item } = await doc().send(
    new GetCommand({
      TableName: pipeline.stack.resources.names.stateTable,
      Key: reportKey(`${batchId}#${testCvr(n)}#Revision`),
      ConsistentRead: true,
    }),
  );
  return Item as ReportRecord | undefined;
}

const putCustomer = (item: Record<string, unknown>) =>
  DynamoDBDocumentClient.from(pipeline.stack.dynamo, CUSTOMERS_TRANSLATE_CONFIG).send(
    new PutCommand({ TableName: pipeline.stack.resources.names.customersTable, Item: item }),
  );

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: [
      ...[0, 1, 2, 3, 4].map((n) => customerItem(n)),
      customerItem(5, { cvr: "12345678" }), // fails the modulus-11 check: skipped by the run
    ],
    sim: {
      reportDelayMs: 5,
      webhooksEnabled: false,
      faults: { forceItemStatus: { [testCvr(LASSO_FAILED)]: "Failed" } },
    },
  });
  harness = await cliHarness(pipeline.stack, { webhookUrl: pipeline.webhook.url, schedules: [SCHEDULE] });
  const run = await harness.cli(["run", SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME]);
  expect(run.code, run.stderr).toBe(0);
  batchId = pipeline.stack.sim.batches()[0]?.id as string;
  // Customer 1002's row breaks before its report is delivered: no valid address left.
  await putCustomer(customerItem(UNROUTABLE, { emails: new Set(["ingen"]) }));
  stopPolling = pipeline.startPolling(300);
  await waitFor(
    "every report settled",
    async () => {
      const all = await Promise.all([0, 1, 2, 3, 4].map(report));
      return all.every(
        (record) => record?.deliveryStatus !== undefined && record.deliveryStatus !== "claimed",
      )
        ? all
        : undefined;
    },
    40_000,
  );
});

afterAll(async () => {
  await stopPolling?.();
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("failures", () => {
  it("lists the Lasso-failed, the unroutable and the skipped, with company, reason and what to do", async () => {
    expect((await report(LASSO_FAILED))?.deliveryStatus).toBe("failed");
    expect((await report(UNROUTABLE))?.deliveryStatus).toBe("unroutable");

    const { code, data } = await harness.json<FailuresReport>(["failures"]);
    expect(code).toBe(0);
    expect(data.counts).toEqual({ failed: 1, unroutable: 1, unverified: 0, skipped: 1 });
    const byKind = Object.fromEntries(data.failures.map((row) => [row.kind, row]));
    expect(byKind.failed).toMatchObject({
      customerId: 1004,
      cvr: testCvr(LASSO_FAILED),
      company: "Kunde 4 ApS",
      lassoBatchId: batchId,
      schedule: SCHEDULE.name,
      reason: expect.stringMatching(/Lasso could not produce the report/),
      action: expect.stringContaining(`run ${SCHEDULE.name} --customer 1004`),
    });
    expect(byKind.unroutable).toMatchObject({
      customerId: 1002,
      lassoBatchId: batchId,
      action: expect.stringContaining(`resend --batch ${batchId} --customer 1002`),
    });
    expect(byKind.skipped).toMatchObject({
      customerId: 1005,
      schedule: SCHEDULE.name,
      reason: expect.stringMatching(/modulus-11/),
      action: expect.stringContaining("--customer 1005"),
    });

    const text = await harness.cli(["failures"]);
    expect(text.stdout).toContain("Failures since");
    expect(text.stdout).toContain(`resend --batch ${batchId} --customer 1002`);
  });

  it("--since after them and --schedule filter; an unknown schedule is a usage error", async () => {
    const later = await harness.json<FailuresReport>(["failures", "--since", "2999-01-01"]);
    expect(later.data.failures).toEqual([]);
    const ofSchedule = await harness.json<FailuresReport>(["failures", "--schedule", SCHEDULE.name]);
    expect(ofSchedule.data.failures).toHaveLength(3);
    expect((await harness.cli(["failures", "--schedule", "nope"])).code).toBe(2);
    expect((await harness.cli(["failures", "--since", "last tuesday"])).code).toBe(2);
  });
});

describe("resend --batch ID --failed | --all", () => {
  it("needs --customer, --failed or --all", async () => {
    expect((await harness.cli(["resend", "--batch", batchId])).code).toBe(2);
    expect((await harness.cli(["resend", "--batch", batchId, "--failed", "--all"])).code).toBe(2);
  });

  it("asks first: without a yes nothing is re-sent", async () => {
    await putCustomer(customerItem(UNROUTABLE)); // the row fixed
    const before = await report(UNROUTABLE);
    const run = await harness.cli(["resend", "--batch", batchId, "--failed"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Re-send this report of batch ${batchId}? [y/N]`);
    expect(run.stdout).toContain("nothing re-sent");
    expect(await report(UNROUTABLE)).toEqual(before);
  });

  it("--failed re-sends the unroutable report once its row is fixed; the Lasso-failed one is named, not sent", async () => {
    const mailsBefore = await pipeline.mails();
    const run = await harness.cli(["--json", "resend", "--batch", batchId, "--failed"], "y\n");
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as BatchResendOutcome;
    expect(outcome.reports.map((r) => [r.customerId, r.before.state, r.after?.state])).toEqual([
      [1002, "unroutable", "delivered"],
    ]);
    expect(outcome.refused.map((r) => [r.view.customerId, r.reason])).toEqual([
      [1004, expect.stringMatching(/Lasso failed this report/)],
    ]);
    const record = await report(UNROUTABLE);
    expect(record).toMatchObject({ deliveryStatus: "delivered", source: "resend" });
    const mails = await pipeline.mails();
    expect(mails).toHaveLength(mailsBefore.length + 1);
    const sent = mails.find((mail) => mail.messageId === record?.sesMessageId);
    expect(sent?.destination.to).toEqual(["kunde2@example.dk"]);
    expect(await report(LASSO_FAILED)).toMatchObject({ deliveryStatus: "failed" });
  });

  it("--all --yes re-sends every report that can be, each once more", async () => {
    const mailsBefore = (await pipeline.mails()).length;
    const resendable = [...GOOD, UNROUTABLE];
    const { code, data } = await harness.json<BatchResendOutcome>([
      "resend",
      "--batch",
      batchId,
      "--all",
      "--yes",
    ]);
    expect(code).toBe(0);
    expect(data.settled).toBe(true);
    expect(data.reports.map((r) => r.customerId).sort()).toEqual(resendable.map((n) => 1000 + n).sort());
    expect(await pipeline.mails()).toHaveLength(mailsBefore + resendable.length);
    for (const n of resendable) {
      expect(await report(n), `customer ${1000 + n}`).toMatchObject({
        deliveryStatus: "delivered",
        source: "resend",
        resendKey: data.resendKey,
      });
    }
  });
});
