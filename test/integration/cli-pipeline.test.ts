/**
 * `lasso-reports plan / run / status / deliveries / resend / webhook test` as a subprocess
 * against a local pipeline (emulators, the Lasso simulator, the real handlers fed by the
 * local runner). What recipients got is read from the SES emulator's store, never from
 * our own records, and compared with what the CLI says.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveriesReport } from "#cli/deliveries-view.ts";
import type { FailuresReport } from "#cli/failures-view.ts";
import type { PdfHostsResult } from "#cli/pdf-hosts.ts";
import { progressFactory } from "#cli/progress.ts";
import type { ResendOutcome } from "#cli/queue-ops.ts";
import { fireRun, type RunReport } from "#cli/runs.ts";
import type { BatchView, ReportView } from "#cli/state-views.ts";
import type { StatusReport } from "#cli/status-view.ts";
import { openTarget } from "#cli/target.ts";
import type { WebhookTestReport } from "#cli/webhook-test.ts";
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { settledReports } from "#local/pipeline/pipeline-status.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { type CliHarness, cliHarness, runScript, waitFor } from "#test/support/cli-harness.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";

const SCHEDULE = scheduleSchema.parse({
  name: "cli-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});
const SCHEDULED_TIME = "2025-05-01T04:00:00.000Z";
const FAILED_CVR = testCvr(6);
const VALID = [0, 1, 2, 3, 4, 5, 6];

let pipeline: LocalPipeline;
let harness: CliHarness;
let stopPolling: (() => Promise<void>) | undefined;

const recipients = (to: readonly string[]): string[] =>
  to
    .flatMap((entry) => entry.split(","))
    .map((address) => address.trim())
    .sort();

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: [
      ...VALID.map((n) => customerItem(n)),
      customerItem(7, { cvr: "12345678" }),
      customerItem(8, { enabled: false }),
    ],
    sim: { reportDelayMs: 5, faults: { forceItemStatus: { [FAILED_CVR]: "Failed" } } },
  });
  harness = await cliHarness(pipeline.stack, {
    webhookUrl: pipeline.webhook.url,
    schedules: [SCHEDULE],
    chunkSize: 3,
  });
});

afterAll(async () => {
  await stopPolling?.();
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("plan and run", () => {
  let plan: SchedulePlan;

  it("plan shows the batches, the skipped row and why, and writes nothing", async () => {
    const result = await harness.json<SchedulePlan>([
      "plan",
      SCHEDULE.name,
      "--scheduled-time",
      SCHEDULED_TIME,
    ]);
    expect(result.code).toBe(0);
    plan = result.data;
    expect(plan.chunks.map((chunk) => chunk.manifest.map((entry) => entry.customerId))).toEqual([
      [1000, 1001, 1002],
      [1003, 1004, 1005],
      [1006],
    ]);
    expect(plan.skipped).toEqual([
      { customerId: 1007, reason: expect.stringMatching(/cvr 12345678 fails the modulus-11 check/) },
    ]);
    expect(plan.counts).toMatchObject({ selected: 7, skipped: 1, disabled: 1 });
    expect(pipeline.stack.sim.batches()).toHaveLength(0);
    expect((await harness.json<StatusReport>(["status"])).data.runs).toEqual([]);
  });

  it("run submits exactly what plan showed, under the printed scheduled time", async () => {
    const text = await harness.cli(["run", SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(SCHEDULED_TIME);
    // One line says what came of it (not the use case's outcome and the record's status, twice).
    expect(text.stdout).toMatch(/^result: +submitted$/m);
    expect(text.stdout).not.toMatch(/^(outcome|status):/m);

    // A second run of the same scheduled time is the same run: nothing new is sent.
    const again = await harness.json<RunReport>(["run", SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME]);
    expect(again.code).toBe(0);
    expect(again.data.outcome).toBe("already-submitted");
    const run = again.data.run;
    expect(run?.status).toBe("submitted");
    expect(run?.chunks.map((chunk) => [chunk.chunkIndex, chunk.batchName, chunk.customerIds])).toEqual(
      plan.chunks.map((chunk) => [
        chunk.chunkIndex,
        chunk.batchName,
        chunk.manifest.map((entry) => entry.customerId),
      ]),
    );

    const lassoBatches = pipeline.stack.sim.batches();
    expect(lassoBatches).toHaveLength(plan.chunks.length);
    for (const chunk of plan.chunks) {
      const submitted = lassoBatches.find((batch) => batch.name === chunk.batchName);
      expect(submitted, chunk.batchName).toBeDefined();
      expect(submitted?.requestedItems.map((item) => [item.internalCustomerId, item.cvr])).toEqual(
        chunk.manifest.map((entry) => [entry.customerId, entry.cvr]),
      );
    }
  });

  it("npm run fire is `run` on the local pipeline: the same run, the same output", async () => {
    // fire.ts reads .local/endpoints.json of its working directory, as `npm run fire` does.
    const cwd = await mkdtemp(join(tmpdir(), "lasso-fire-"));
    try {
      await mkdir(join(cwd, ".local"));
      await copyFile(harness.endpointsFile, join(cwd, ".local", "endpoints.json"));
      const args = [SCHEDULE.name, "--scheduled-time", SCHEDULED_TIME];
      const fired = await runScript("local/pipeline/fire.ts", args, cwd);
      const run = await harness.cli(["run", ...args]);
      expect(fired.code).toBe(0);
      expect(fired.stdout).toMatch(/^result: +already submitted \(submitted\): nothing sent again$/m);
      expect(fired.stdout).toBe(run.stdout);
      expect(pipeline.stack.sim.batches()).toHaveLength(plan.chunks.length);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it("answers an unknown schedule with exit 2", async () => {
    const run = await harness.cli(["plan", "no-such-schedule"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no schedule "no-such-schedule".*cli-revision/);
  });
});

describe("after the run: status, deliveries, resend, webhook test", () => {
  let views: BatchView[];

  beforeAll(async () => {
    stopPolling = pipeline.startPolling(300);
    await waitFor(
      "every report settled",
      async () => {
        const status = await pipeline.status();
        return status.expectedReports === VALID.length &&
          settledReports(status) === VALID.length &&
          status.queueDepth === 0 &&
          status.inFlight === 0
          ? status
          : undefined;
      },
      40_000,
    );
  }, 60_000);

  it("status lists the run and status --batch agrees with the SES store", async () => {
    const status = await harness.json<StatusReport>(["status"]);
    expect(status.code).toBe(0);
    expect(status.data.runs).toEqual([
      expect.objectContaining({
        schedule: SCHEDULE.name,
        scheduledTime: SCHEDULED_TIME,
        status: "submitted",
      }),
    ]);

    const batchIds = pipeline.stack.sim.batches().map((batch) => batch.id);
    views = [];
    for (const id of batchIds) {
      const view = await harness.json<BatchView>(["status", "--batch", id]);
      expect(view.code).toBe(0);
      views.push(view.data);
    }
    const reports = views.flatMap((view) => view.reports);
    expect(reports.map((report) => report.customerId).sort()).toEqual(VALID.map((n) => 1000 + n));

    // Report mails only: the failed customer's failure notice goes to the operators (it is
    // sent after its report is recorded failed, so wait for it).
    const withNotice = await waitFor("the failure notice", async () => {
      const current = await pipeline.status();
      return current.noticeMessageIds.length > 0 ? current : undefined;
    });
    const notices = new Set(withNotice.noticeMessageIds);
    const mails = (await pipeline.mails()).filter((mail) => !notices.has(mail.messageId));
    const delivered = reports.filter((report) => report.state === "delivered");
    expect(delivered).toHaveLength(VALID.length - 1);
    expect(mails).toHaveLength(delivered.length);
    for (const report of delivered) {
      const mail = mails.find((candidate) => candidate.messageId === report.sesMessageId);
      expect(mail, `mail ${report.sesMessageId}`).toBeDefined();
      expect(recipients(mail?.destination.to ?? [])).toEqual([...(report.recipients ?? [])].sort());
      expect(report.recipients).toEqual([`kunde${(report.customerId ?? 0) - 1000}@example.dk`]);
    }
    const failed = reports.find((report) => report.cvr === FAILED_CVR) as ReportView;
    expect(failed).toMatchObject({ state: "failed", customerId: 1006 });
    expect(failed.reason).toMatch(/Lasso could not produce the report/);
    expect(failed.sesMessageId).toBeUndefined();

    const text = await harness.cli(["status", "--batch", batchIds[0] as string]);
    expect(text.stdout).toContain("delivered 3");
  });

  it("status --batch prints the hosts of Lasso's PDF links, from Lasso's item list, never a link", async () => {
    const simHost = new URL(pipeline.stack.sim.baseUrl).host;
    for (const batch of pipeline.stack.sim.batches()) {
      const view = await harness.json<BatchView & { pdfHosts: PdfHostsResult }>([
        "status",
        "--batch",
        batch.id,
      ]);
      expect(view.code).toBe(0);
      const result = view.data.pdfHosts;
      if (!result.ok) throw new Error(`pdf hosts not read: ${result.error}`);
      // The simulator links to its own origin, which the local stack's pdfHosts allows.
      expect(result.view.hosts).toEqual([
        { host: simHost, scheme: "http", items: expect.any(Number), allowed: true },
      ]);
      const finished = view.data.reports.length;
      expect((result.view.hosts[0]?.items ?? 0) + result.view.withoutLink).toBe(finished);
      expect(JSON.stringify(view.data.pdfHosts)).not.toContain("/files/");

      const text = (await harness.cli(["status", "--batch", batch.id])).stdout;
      expect(text).toContain("PDF hosts in Lasso's item list");
      expect(text).toMatch(new RegExp(`${simHost.replace(/\./g, "\\.")}\\s.*allowed`));
      // No link, no path, no token: links are capabilities.
      expect(text).not.toContain("/files/");
      expect(text).not.toContain(`${simHost}/`);
    }
  });

  it("deliveries by customer and by cvr name the mail the customer got", async () => {
    const mail = (await pipeline.mails()).find((candidate) =>
      recipients(candidate.destination.to).includes("kunde2@example.dk"),
    );
    expect(mail).toBeDefined();
    const byCustomer = await harness.json<DeliveriesReport>(["deliveries", "--customer", "1002"]);
    expect(byCustomer.code).toBe(0);
    expect(byCustomer.data.reports).toEqual([
      expect.objectContaining({
        state: "delivered",
        sesMessageId: mail?.messageId,
        recipients: ["kunde2@example.dk"],
        reportType: "Revision",
        lassoBatchId: views[0]?.batch.lassoBatchId,
      }),
    ]);
    const byCvr = await harness.json<DeliveriesReport>(["deliveries", "--cvr", testCvr(2)]);
    expect(byCvr.data.customerIds).toEqual([1002]);
    expect(byCvr.data.reports).toEqual(byCustomer.data.reports);

    expect((await harness.cli(["deliveries"])).code).toBe(2);
  });

  it("resend mails a delivered report once more, recorded as a resend", async () => {
    const batchId = views[0]?.batch.lassoBatchId as string;
    const before = await pipeline.mails();
    const result = await harness.json<ResendOutcome>(["resend", "--batch", batchId, "--customer", "1001"]);
    expect(result.code).toBe(0);
    expect(result.data.settled).toBe(true);
    expect(result.data.after).toMatchObject({
      state: "delivered",
      source: "resend",
      recipients: ["kunde1@example.dk"],
    });
    expect(result.data.after?.sesMessageId).not.toBe(result.data.before.sesMessageId);

    const after = await pipeline.mails();
    expect(after).toHaveLength(before.length + 1);
    const resent = after.find((mail) => mail.messageId === result.data.after?.sesMessageId);
    expect(recipients(resent?.destination.to ?? [])).toEqual(["kunde1@example.dk"]);

    // Lasso failed customer 1006's report: there is nothing to mail.
    const refused = await harness.cli([
      "resend",
      "--batch",
      views[2]?.batch.lassoBatchId as string,
      "--customer",
      "1006",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Lasso failed this report/);
  });

  it("webhook test: Lasso's dummy delivery reaches the webhook and is recorded, mailing nobody", async () => {
    const before = (await pipeline.mails()).length;
    const result = await harness.json<WebhookTestReport>(["webhook", "test", "--timeout", "20"]);
    expect(result.code).toBe(0);
    expect(result.data.arrived).toBe(true);
    expect(result.data.record).toMatchObject({
      state: "unverified",
      cvr: "12345678",
      lassoBatchId: result.data.batchId,
      reason: "Lasso does not know this batch",
      hints: 1,
    });
    const test = pipeline.stack.sim.webhookDeliveries().filter((delivery) => delivery.kind === "test");
    expect(
      test.map((delivery) => [delivery.status, delivery.headers[pipeline.stack.webhookHeaderName]]),
    ).toEqual([[200, pipeline.stack.webhookSecret]]);
    expect(await pipeline.mails()).toHaveLength(before);

    // failures lists it as unverified, mailed to nobody, with what to do.
    const failures = await harness.json<FailuresReport>(["failures"]);
    expect(failures.data.failures).toContainEqual(
      expect.objectContaining({
        kind: "unverified",
        lassoBatchId: result.data.batchId,
        cvr: "12345678",
        action: expect.stringContaining("webhook test"),
      }),
    );

    // A CVR that a customer has would get the dummy mailed to them: refused.
    const refused = await harness.cli(["webhook", "test", "--cvr", testCvr(1)]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/belongs to customer\(s\) 1001/);
  });
});

describe("run on a deployed stack", () => {
  it("deployed: invokes submit-batches asynchronously with the scheduler's event and watches the run", async () => {
    // Lambda's asynchronous invoke, played by the real handler run after the answer 202.
    const events: unknown[] = [];
    const lambda = {
      send: async (command: InvokeCommand) => {
        const event = JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array));
        events.push({ functionName: command.input.FunctionName, type: command.input.InvocationType, event });
        setTimeout(
          () => void pipeline.fire(event.schedule, new Date(event.scheduledTime), event.firedBy),
          100,
        );
        return { StatusCode: 202 };
      },
    } as unknown as LambdaClient;
    const local = await openTarget({ endpoints: harness.endpointsFile });
    const target = {
      ...local,
      submitter: { kind: "lambda" as const, lambda, functionName: "submit-batches" },
    };
    try {
      const scheduledTime = "2025-04-01T04:00:00.000Z";
      const report = await fireRun(target, SCHEDULE, scheduledTime, {
        wait: true,
        timeoutMs: 20_000,
        pollMs: 100,
        progress: progressFactory({ enabled: false }),
      });
      expect(events).toEqual([
        // The scheduler's event, marked as an operator's run (a business-day rule's guard lets it through).
        {
          functionName: "submit-batches",
          type: "Event",
          event: { schedule: SCHEDULE, scheduledTime, firedBy: "operator" },
        },
      ]);
      expect(report).toMatchObject({
        via: "lambda",
        outcome: "submitted",
        runPk: `RUN#${SCHEDULE.name}#${scheduledTime}`,
      });
      expect(report.run?.chunks.flatMap((chunk) => chunk.customerIds)).toEqual(VALID.map((n) => 1000 + n));

      // The same scheduled time again: already submitted, nothing invoked.
      const again = await fireRun(target, SCHEDULE, scheduledTime, {
        wait: true,
        timeoutMs: 5_000,
        progress: progressFactory({ enabled: false }),
      });
      expect(again.outcome).toBe("already-submitted");
      expect(events).toHaveLength(1);
    } finally {
      target.destroy();
    }
  });
});
