/**
 * `lasso-reports dlq list | show | delete | redrive` and `suppressions list | lift` (issue
 * 19) against the local emulators. What is left in the dead-letter queue is read back with
 * the SDK (received, never counted: the emulator's approximate counts are not what SQS
 * says), the re-driven report's mail from the SES emulator's store, suppressions from the
 * state table.
 */
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetter, DlqActionOutcome } from "#cli/dlq.ts";
import type { LiftOutcome, SuppressionRow } from "#cli/suppressions.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { serialiseReportReadyMessage } from "#shared/report-ready.ts";
import { suppressionKey } from "#shared/state/keys.ts";
import { recordSuppression } from "#shared/state/suppression.ts";
import { type CliHarness, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem } from "#test/support/pipeline.ts";

const SCHEDULE = scheduleSchema.parse({
  name: "dlq-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
});

let pipeline: LocalPipeline;
let harness: CliHarness;
/** Message ids of the dead letters: customer 1000's, customer 1001's, and one that is no report. */
const ids: { first: string; second: string; garbage: string } = { first: "", second: "", garbage: "" };

/** The message ids in the DLQ now, each received and made visible again at once. */
async function dlqIds(): Promise<string[]> {
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const { Messages = [] } = await pipeline.stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.stack.resources.reportReadyDlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
      }),
    );
    for (const message of Messages) seen.add(message.MessageId ?? "");
  }
  return [...seen].sort();
}

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    customers: [customerItem(0), customerItem(1)],
    sim: { reportDelayMs: 5, webhooksEnabled: false },
  });
  harness = await cliHarness(pipeline.stack, { webhookUrl: pipeline.webhook.url, schedules: [SCHEDULE] });
  await pipeline.fire(SCHEDULE, new Date("2025-06-01T04:00:00Z"));
  const batch = await waitFor("the batch to finish", async () => {
    const found = pipeline.stack.sim.batches()[0];
    return found?.items.length === 2 ? found : undefined;
  });
  const send = async (body: string): Promise<string> =>
    (
      await pipeline.stack.sqs.send(
        new SendMessageCommand({ QueueUrl: pipeline.stack.resources.reportReadyDlqUrl, MessageBody: body }),
      )
    ).MessageId ?? "";
  const letterOf = (customerId: number) => {
    const item = batch.items.find((candidate) => candidate.internalCustomerId === customerId);
    return serialiseReportReadyMessage({
      version: 1,
      batchId: batch.id,
      cvr: String(item?.cvr),
      reportType: "Revision",
      itemStatus: "Completed",
      internalCustomerId: customerId,
      reportId: item?.id,
      pdfUrl: item?.pdfurl ?? undefined,
      fileName: item?.fileName,
      source: "poll",
      seenAt: new Date().toISOString(),
    });
  };
  ids.first = await send(letterOf(1000));
  ids.second = await send(letterOf(1001));
  ids.garbage = await send("not a report-ready message");
});

afterAll(async () => {
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("dlq", () => {
  it("list shows every dead letter, which report it names, never a PDF link; they stay in the queue", async () => {
    const { code, data } = await harness.json<{ deadLetters: DeadLetter[] }>(["dlq", "list"]);
    expect(code).toBe(0);
    expect(data.deadLetters.map((letter) => letter.messageId).sort()).toEqual(Object.values(ids).sort());
    const first = data.deadLetters.find((letter) => letter.messageId === ids.first);
    expect(first).toMatchObject({ customerId: 1000, reportType: "Revision", source: "poll" });
    expect(first?.pdfHost).toBe(new URL(pipeline.stack.sim.baseUrl).host);
    expect(data.deadLetters.find((letter) => letter.messageId === ids.garbage)?.unreadable).toBeDefined();
    expect(JSON.stringify(data)).not.toContain("/files/");
    expect(await dlqIds()).toEqual(Object.values(ids).sort());

    const text = await harness.cli(["dlq", "list"]);
    expect(text.stdout).toContain("3 messages in the dead-letter queue");
    for (const id of Object.values(ids)) expect(text.stdout).toContain(id);
  });

  it("show prints one, with its pdf host and not its link; an unknown id fails", async () => {
    const show = await harness.cli(["dlq", "show", ids.second]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/report: +Revision for cvr \d{8} \(customer 1001\)/);
    expect(show.stdout).toContain("(the link itself is not shown)");
    expect(show.stdout).not.toContain("/files/");
    expect((await harness.cli(["dlq", "show", "no-such-id"])).code).toBe(1);
  });

  it("delete asks first; with --yes it deletes exactly the one named", async () => {
    const refused = await harness.cli(["dlq", "delete", ids.garbage]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("Delete this dead letter for good");
    expect(await dlqIds()).toHaveLength(3);

    const { code, data } = await harness.json<DlqActionOutcome>(["dlq", "delete", ids.garbage, "--yes"]);
    expect(code).toBe(0);
    expect(data.done).toEqual([ids.garbage]);
    expect(await dlqIds()).toEqual([ids.first, ids.second].sort());
  });

  it("redrive ID moves only that one back; it is delivered; an unknown id is named and fails", async () => {
    const { code, data } = await harness.json<DlqActionOutcome>(["dlq", "redrive", ids.second]);
    expect(code).toBe(0);
    expect(data.done).toEqual([ids.second]);
    expect(await dlqIds()).toEqual([ids.first]);
    const mails = await waitFor("the re-driven report's mail", async () => {
      const sent = await pipeline.mails();
      return sent.length > 0 ? sent : undefined;
    });
    expect(mails.map((mail) => mail.destination.to)).toEqual([["kunde1@example.dk"]]);

    const unknown = await harness.json<DlqActionOutcome>(["dlq", "redrive", "no-such-id"]);
    expect(unknown.code).toBe(1);
    expect(unknown.data.notFound).toEqual(["no-such-id"]);
    expect(await dlqIds()).toEqual([ids.first]);
  });
});

describe("suppressions", () => {
  const address = "kunde0@example.dk";

  beforeAll(async () => {
    // What record-ses-event writes for a permanent bounce.
    await recordSuppression(
      {
        doc: DynamoDBDocumentClient.from(pipeline.stack.dynamo),
        tableName: pipeline.stack.resources.names.stateTable,
        retentionDays: 400,
      },
      {
        email: address,
        reason: "bounce",
        detail: "Permanent/General: 550 5.1.1 user unknown",
        sesMessageId: "0102018f-bounced",
        mailTags: { customer: "1000", batch: "b-1", reportType: "Revision" },
        eventAt: "2025-06-01T04:12:00.000Z",
        feedbackId: "feedback-1",
      },
      new Date(),
    );
  });

  it("list shows the suppressed address, why, when and the mail's customer", async () => {
    const { code, data } = await harness.json<{ suppressions: SuppressionRow[] }>(["suppressions", "list"]);
    expect(code).toBe(0);
    expect(data.suppressions).toEqual([
      expect.objectContaining({
        email: address,
        reason: "bounce",
        detail: expect.stringContaining("user unknown"),
        customerId: "1000",
        lassoBatchId: "b-1",
      }),
    ]);
    expect((await harness.cli(["suppressions", "list"])).stdout).toContain("2025-06-01 06:12:00 +02:00");
  });

  it("lift removes it (any letter case); the state table no longer holds it", async () => {
    const { code, data } = await harness.json<LiftOutcome>(["suppressions", "lift", "Kunde0@Example.dk"]);
    expect(code).toBe(0);
    expect(data).toMatchObject({ email: address, lifted: { reason: "bounce" }, ses: "no-list" });
    const { Item } = await DynamoDBDocumentClient.from(pipeline.stack.dynamo).send(
      new GetCommand({ TableName: pipeline.stack.resources.names.stateTable, Key: suppressionKey(address) }),
    );
    expect(Item).toBeUndefined();
    const again = await harness.cli(["suppressions", "lift", address]);
    expect(again.stdout).toContain("was not suppressed");
    expect(
      (await harness.json<{ suppressions: SuppressionRow[] }>(["suppressions", "list"])).data.suppressions,
    ).toEqual([]);
  });
});
