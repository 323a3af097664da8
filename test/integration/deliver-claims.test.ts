/**
 * The claim on the report record (state/report-delivery.ts) on dynalite, and how the
 * delivery uses it: skip what is delivered or in flight, take over a crashed attempt's
 * expired claim, give the claim back when SES throttles so the retry can send.
 */

import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { lambdaContext } from "#local/pipeline/function-url-server.ts";
import { sqsRecordOf } from "#local/pipeline/sqs-event-source.ts";
import { MailSendError } from "#shared/mail/ses-mailer.ts";
import { type ReportReadyMessage, serialiseReportReadyMessage } from "#shared/report-ready.ts";
import { reportKey } from "#shared/state/keys.ts";
import {
  type ClaimRequest,
  claimReport,
  getReportRecord,
  recordOutcome,
  releaseClaim,
} from "#shared/state/report-delivery.ts";
import { type DeliveryRig, startDeliveryRig } from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({ sim: { reportDelayMs: 2 } });
let rig: DeliveryRig;
beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current);
});
afterAll(async () => {
  await rig?.close();
});

const T0 = new Date("2030-01-01T10:00:00.000Z");
const later = (ms: number) => new Date(T0.getTime() + ms);

let identities = 0;
function claimRequest(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    identity: `batch-${identities++}#34580820#Revision`,
    lassoBatchId: "batch",
    cvr: "34580820",
    reportType: "Revision",
    itemStatus: "Completed",
    source: "webhook",
    claimToken: "holder-a",
    now: T0,
    claimUntil: later(60_000),
    ...overrides,
  };
}

describe("the report claim", () => {
  test("one claim at a time; an outcome is final", async () => {
    const state = pipeline.current.state;
    const request = claimRequest();
    expect(await claimReport(state, request)).toEqual({ claimed: true, attempt: 1 });
    const second = await claimReport(state, { ...request, claimToken: "holder-b", now: later(1000) });
    expect(second).toMatchObject({
      claimed: false,
      record: { deliveryStatus: "claimed", claimToken: "holder-a" },
    });

    expect(
      await recordOutcome(state, {
        identity: request.identity,
        claimToken: "holder-a",
        status: "delivered",
        now: later(2000),
        recipients: ["a@kunde.dk"],
        sesMessageId: "ses-1",
        customerId: 7,
      }),
    ).toBe("recorded");
    // Long after, nobody claims a delivered report again.
    const again = await claimReport(state, { ...request, claimToken: "holder-c", now: later(3_600_000) });
    expect(again).toMatchObject({
      claimed: false,
      record: { deliveryStatus: "delivered", sesMessageId: "ses-1" },
    });
    const record = await getReportRecord(state, request.identity);
    expect(record?.claimToken).toBeUndefined();
    expect(record).toMatchObject({
      customerId: 7,
      recipients: ["a@kunde.dk"],
      deliveredAt: later(2000).toISOString(),
    });
  });

  test("an expired claim (a crashed attempt) is taken over; the late holder's write does not undo the outcome", async () => {
    const state = pipeline.current.state;
    const request = claimRequest();
    await claimReport(state, request);
    const takeover = await claimReport(state, { ...request, claimToken: "holder-b", now: later(61_000) });
    expect(takeover).toEqual({ claimed: true, attempt: 2 });
    // The first attempt was not dead after all: it finishes and records (a sent mail must be on record).
    expect(
      await recordOutcome(state, {
        identity: request.identity,
        claimToken: "holder-a",
        status: "delivered",
        now: later(62_000),
        sesMessageId: "ses-a",
      }),
    ).toBe("recorded-after-takeover");
    expect(
      await recordOutcome(state, {
        identity: request.identity,
        claimToken: "holder-b",
        status: "delivered",
        now: later(63_000),
        sesMessageId: "ses-b",
      }),
    ).toBe("already-recorded");
    expect((await getReportRecord(state, request.identity))?.sesMessageId).toBe("ses-a");
  });

  test("a released claim can be taken again at once; only its holder can release it", async () => {
    const state = pipeline.current.state;
    const request = claimRequest();
    await claimReport(state, request);
    expect(await releaseClaim(state, request.identity, "someone-else", later(1), "nope")).toBe(false);
    expect(await releaseClaim(state, request.identity, "holder-a", later(2), "SES throttled")).toBe(true);
    const record = await getReportRecord(state, request.identity);
    expect(record?.deliveryStatus).toBeUndefined();
    expect(record?.lastError).toBe("SES throttled");
    expect(await claimReport(state, { ...request, claimToken: "holder-b", now: later(3) })).toEqual({
      claimed: true,
      attempt: 2,
    });
  });

  test("claiming keeps what the poller wrote on the record", async () => {
    const state = pipeline.current.state;
    const request = claimRequest();
    await state.doc.send(
      new UpdateCommand({
        TableName: state.tableName,
        Key: reportKey(request.identity),
        UpdateExpression: "SET recordType = :r, handedOnAt = :h, createdAt = :c",
        ExpressionAttributeValues: {
          ":r": "report",
          ":h": "2029-12-31T00:00:00.000Z",
          ":c": "2029-12-31T00:00:00.000Z",
        },
      }),
    );
    await claimReport(state, request);
    expect(await getReportRecord(state, request.identity)).toMatchObject({
      handedOnAt: "2029-12-31T00:00:00.000Z",
      createdAt: "2029-12-31T00:00:00.000Z",
      deliveryStatus: "claimed",
    });
  });
});

describe("deliver-report and the claim", () => {
  async function finishedReport(n: number): Promise<ReportReadyMessage> {
    const p = pipeline.current;
    await p.putCustomers([customerItem(n)]);
    const { batch } = await rig.submitBatch({
      customers: [{ customerId: 1000 + n, cvr: testCvr(n) }],
      webhook: false,
    });
    await p.sim.settle();
    const item = p.sim.batches().find((b) => b.id === batch.id)?.items[0];
    return {
      version: 1,
      batchId: batch.id,
      cvr: testCvr(n),
      reportType: "Revision",
      itemStatus: "Completed",
      reportId: item?.id ?? "",
      ...(item?.pdfurl ? { pdfUrl: item.pdfurl } : {}),
      fileName: item?.fileName ?? "",
      internalCustomerId: 1000 + n,
      source: "poll",
      seenAt: new Date().toISOString(),
    };
  }

  const invoke = (handler: DeliveryRig["deliver"]["handler"], messages: ReportReadyMessage[]) =>
    handler(
      {
        Records: messages.map((message, i) =>
          sqsRecordOf(
            { MessageId: `m-${i}`, ReceiptHandle: `r-${i}`, Body: serialiseReportReadyMessage(message) },
            "arn:aws:sqs:eu-central-1:000000000000:q",
            "eu-central-1",
          ),
        ),
      },
      lambdaContext({ functionName: "deliver-report", timeoutMs: 30_000 }),
    );

  /** A delivery whose SES answers "too many requests" until `stopThrottling()`. */
  async function throttledSesRig(): Promise<{ rig: DeliveryRig; stopThrottling: () => void }> {
    let throttle = true;
    const throttled = await startDeliveryRig(pipeline.current, {
      wiring: {
        sendMail: async (mail) => {
          if (throttle)
            throw new MailSendError("TooManyRequestsException", "Maximum sending rate exceeded", true);
          return rig.deliver.wiring.sendMail(mail);
        },
      },
    });
    return {
      rig: throttled,
      stopThrottling: () => {
        throttle = false;
      },
    };
  }

  test("SES throttling: the item fails, the claim is given back, and the retry sends once", async () => {
    const message = await finishedReport(70);
    const { rig: throttled, stopThrottling } = await throttledSesRig();
    try {
      await rig.clearMails();
      const first = await invoke(throttled.deliver.handler, [message]);
      expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: "m-0" }] });
      const record = await rig.report(message.batchId, message.cvr);
      expect(record?.deliveryStatus).toBeUndefined();
      expect(record?.lastError).toMatch(/Maximum sending rate/);
      expect(
        throttled.deliver.counter.total("DeliveryRetried", { reason: "ses-TooManyRequestsException" }),
      ).toBe(1);

      stopThrottling();
      expect(await invoke(throttled.deliver.handler, [message, message])).toEqual({ batchItemFailures: [] });
      expect(await rig.sentMails()).toHaveLength(1);
      expect(throttled.deliver.counter.total("ReportDelivered")).toBe(1);
      expect(throttled.deliver.counter.total("DuplicateSkipped")).toBe(1);
    } finally {
      await throttled.close();
    }
  });

  test("a report being delivered by another attempt (live claim) is acknowledged and skipped", async () => {
    const message = await finishedReport(71);
    const p = pipeline.current;
    const identity = `${message.batchId}#${message.cvr}#Revision`;
    await claimReport(p.state, {
      ...claimRequest({ identity, lassoBatchId: message.batchId, cvr: message.cvr }),
      now: new Date(),
      claimUntil: new Date(Date.now() + 60_000),
    });
    await rig.clearMails();
    rig.deliver.counter.counts.length = 0;
    expect(await invoke(rig.deliver.handler, [message])).toEqual({ batchItemFailures: [] });
    expect(await rig.sentMails()).toHaveLength(0);
    expect(rig.deliver.counter.total("DuplicateSkipped")).toBe(1);
  });

  test("a message that names no batch anywhere fails (and so goes to the DLQ), it is not dropped", async () => {
    // (A webhook naming such a batch is a doorbell: trust-boundary.test.ts.)
    const message: ReportReadyMessage = {
      version: 1,
      batchId: "11111111-2222-4333-8444-555555555555",
      cvr: testCvr(72),
      itemStatus: "Completed",
      source: "poll",
      seenAt: new Date().toISOString(),
    };
    rig.deliver.counter.counts.length = 0;
    expect(await invoke(rig.deliver.handler, [message])).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-0" }],
    });
    expect(rig.deliver.counter.total("ReportUnidentifiable", { reason: "unidentifiable" })).toBe(1);
  });

  test("an operator's re-send delivers a report recorded unroutable, once per resend message", async () => {
    const p = pipeline.current;
    const message = await finishedReport(74);
    await p.doc.send(new DeleteCommand({ TableName: p.customersTable, Key: { customerId: 1074 } }));
    await rig.clearMails();
    expect(await invoke(rig.deliver.handler, [message])).toEqual({ batchItemFailures: [] });
    expect(await rig.report(message.batchId, message.cvr)).toMatchObject({ deliveryStatus: "unroutable" });

    // The operator fixes the row and re-sends; the resend message arrives twice.
    await p.putCustomers([customerItem(74)]);
    const resend: ReportReadyMessage = { ...message, source: "resend", seenAt: new Date().toISOString() };
    expect(await invoke(rig.deliver.handler, [resend])).toEqual({ batchItemFailures: [] });
    expect(await invoke(rig.deliver.handler, [resend])).toEqual({ batchItemFailures: [] });
    // The automatic paths never re-deliver it.
    expect(await invoke(rig.deliver.handler, [message])).toEqual({ batchItemFailures: [] });
    expect((await rig.sentMails()).map((mail) => mail.destination.to)).toEqual([["kunde74@example.dk"]]);
    expect(await rig.report(message.batchId, message.cvr)).toMatchObject({
      deliveryStatus: "delivered",
      source: "resend",
      resendKey: resend.seenAt,
    });
  });

  test("a re-send whose first attempt is throttled is delivered when the message comes back", async () => {
    const message = await finishedReport(75);
    expect(await invoke(rig.deliver.handler, [message])).toEqual({ batchItemFailures: [] });
    const { rig: throttled, stopThrottling } = await throttledSesRig();
    try {
      await rig.clearMails();
      const resend: ReportReadyMessage = { ...message, source: "resend", seenAt: new Date().toISOString() };
      expect(await invoke(throttled.deliver.handler, [resend])).toEqual({
        batchItemFailures: [{ itemIdentifier: "m-0" }],
      });
      stopThrottling();
      // SQS brings the same resend message back: it must still claim, once.
      expect(await invoke(throttled.deliver.handler, [resend])).toEqual({ batchItemFailures: [] });
      expect(await invoke(throttled.deliver.handler, [resend])).toEqual({ batchItemFailures: [] });
      expect((await rig.sentMails()).map((mail) => mail.destination.to)).toEqual([["kunde75@example.dk"]]);
      expect(await rig.report(message.batchId, message.cvr)).toMatchObject({
        deliveryStatus: "delivered",
        source: "resend",
        resendKey: resend.seenAt,
      });
    } finally {
      await throttled.close();
    }
  });

  test("the deployed handler.ts builds itself from the environment and delivers", async () => {
    const p = pipeline.current;
    const message = await finishedReport(73);
    Object.assign(process.env, {
      MAIL_SENDER: "rapporter@revisor.example.dk",
      MAIL_PROFILE: demoMailProfileJson({ sender: "rapporter@revisor.example.dk" }),
      PDF_ALLOWED_HOSTS: new URL(p.sim.baseUrl).host,
      PDF_ALLOW_HTTP: "true",
    });
    const { handler } = await import("#lambdas/deliver-report/handler.ts");
    await rig.clearMails();
    expect(await invoke(handler, [message])).toEqual({ batchItemFailures: [] });
    const mails = await rig.sentMails();
    expect(mails.map((mail) => mail.destination.to)).toEqual([["kunde73@example.dk"]]);
    expect(await rig.report(message.batchId, message.cvr)).toMatchObject({
      deliveryStatus: "delivered",
      source: "poll",
    });
  });
});
