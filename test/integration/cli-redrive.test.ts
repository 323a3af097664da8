/**
 * `lasso-reports redrive` as a subprocess: a dead letter (a finished report's message that
 * delivery gave up on) goes back to the report-ready queue and is delivered; the DLQ is
 * empty afterwards. Webhooks are off and nothing polls, so the re-driven message is the
 * only way the report can reach its customer.
 */

import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RedriveOutcome } from "#cli/queue-ops.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { serialiseReportReadyMessage } from "#shared/report-ready.ts";
import { type CliHarness, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem } from "#test/support/pipeline.ts";

const SCHEDULE = scheduleSchema.parse({
  name: "redrive-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});

let pipeline: LocalPipeline;
let harness: CliHarness;

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: [customerItem(0), customerItem(1)],
    sim: { reportDelayMs: 5, webhooksEnabled: false },
  });
  harness = await cliHarness(pipeline.stack, { webhookUrl: pipeline.webhook.url, schedules: [SCHEDULE] });
});

afterAll(async () => {
  await harness?.cleanup();
  await pipeline?.stop();
});

it("moves a dead letter back to the queue, where it is delivered", async () => {
  await pipeline.fire(SCHEDULE, new Date("2025-06-01T04:00:00Z"));
  const batch = await waitFor("the batch to finish", async () => {
    const found = pipeline.stack.sim.batches()[0];
    return found?.items.length === 2 ? found : undefined;
  });
  const item = batch.items.find((candidate) => candidate.internalCustomerId === 1001);
  expect(item?.status).toBe("Completed");

  // The message a delivery gave up on, as the queue's redrive policy leaves it in the DLQ.
  await pipeline.stack.sqs.send(
    new SendMessageCommand({
      QueueUrl: pipeline.stack.resources.reportReadyDlqUrl,
      MessageBody: serialiseReportReadyMessage({
        version: 1,
        batchId: batch.id,
        cvr: String(item?.cvr),
        reportType: "Revision",
        itemStatus: "Completed",
        internalCustomerId: 1001,
        reportId: item?.id,
        pdfUrl: item?.pdfurl ?? undefined,
        fileName: item?.fileName,
        source: "poll",
        seenAt: new Date().toISOString(),
      }),
    }),
  );
  expect(await pipeline.mails()).toHaveLength(0);
  expect((await pipeline.status()).deadLetters).toBe(1);

  const result = await harness.json<RedriveOutcome>(["redrive"]);
  expect(result.code).toBe(0);
  expect(result.data).toMatchObject({ moved: 1, failed: 0, notDeleted: 0 });

  const mails = await waitFor("the re-driven report's mail", async () => {
    const sent = await pipeline.mails();
    return sent.length > 0 ? sent : undefined;
  });
  expect(mails).toHaveLength(1);
  expect(mails[0]?.destination.to).toEqual(["kunde1@example.dk"]);
  // The PDF under Lasso's name (the message names no company, so "P_S" stays), and the firm's logo.
  expect(mails[0]?.attachments.map((attachment) => attachment.filename).sort()).toEqual([
    item?.fileName,
    "logo.png",
  ]);
  expect((await pipeline.status()).deadLetters).toBe(0);

  // Nothing left: a second redrive moves nothing.
  const again = await harness.cli(["redrive"]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("Moved 0 messages from the dead-letter queue");
});
