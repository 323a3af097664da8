/**
 * The evidence of every delivery (docs/evidence.md), read back the way an auditor's tool
 * would: the archive with the S3 client, the history with the state store. Runs on both
 * local backends (moto's S3 holds the bucket's Object Lock settings).
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { resendMessage } from "#cli/queue-ops.ts";
import { type PutEvidence, s3EvidenceArchive, sha256Hex } from "#shared/archive/evidence-archive.ts";
import { MailSendError, type SendMail, sesMailer } from "#shared/mail/ses-mailer.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { type DeliveryRecord, listCustomerDeliveries } from "#shared/state/delivery-history.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { waitFor } from "#test/support/cli-harness.ts";
import {
  type DeliveryRig,
  type RunningPoller,
  startDeliveryRig,
  startPoller,
} from "#test/support/delivery.ts";
import { customerItem, type Pipeline, testCvr, usePipeline } from "#test/support/pipeline.ts";

// A short visibility timeout: a failed attempt comes back in seconds, as the tests need.
const pipeline = usePipeline({
  sim: { reportDelayMs: 2, webhooksEnabled: false },
  queue: { visibilityTimeoutSeconds: 2, maxReceiveCount: 10 },
});
let s3: S3Client;
let ses: SESv2Client;
let poller: RunningPoller;
/** Faults the tests switch on: an archive that refuses writes, a crash before SES. */
const faults = { archiveDown: 0, crashBeforeSes: 0, sesThrottles: 0 };
let rig: DeliveryRig;

beforeAll(async () => {
  s3 = new S3Client({});
  ses = new SESv2Client({});
  const p = pipeline.current;
  const realPut = s3EvidenceArchive(s3, p.functionEnv.ARCHIVE_BUCKET as string);
  const putEvidence: PutEvidence = async (object) => {
    if (faults.archiveDown > 0) {
      faults.archiveDown--;
      throw new Error("injected: the archive is unavailable");
    }
    return realPut(object);
  };
  // The real SES mailer; `crashBeforeSes` throws as a process dying right before the call.
  const realSend = sesMailer(ses);
  const sendMail: SendMail = async (mail) => {
    if (faults.crashBeforeSes > 0) {
      faults.crashBeforeSes--;
      throw new Error("injected: crash after archiving, before SES");
    }
    if (faults.sesThrottles > 0) {
      faults.sesThrottles--;
      // SES answered with a refusal: the mail did not go out.
      throw new MailSendError("TooManyRequestsException", "Maximum sending rate exceeded", true);
    }
    return realSend(mail);
  };
  rig = await startDeliveryRig(p, { wiring: { putEvidence, sendMail } });
  poller = startPoller(p);
});
afterAll(async () => {
  await poller?.stop();
  await rig?.close();
  s3?.destroy();
  ses?.destroy();
});
beforeEach(async () => {
  await rig.clearMails();
  faults.archiveDown = 0;
  faults.crashBeforeSes = 0;
  faults.sesThrottles = 0;
});

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
}

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? "").sort();
}

async function deliverOne(p: Pipeline, n: number) {
  await p.putCustomers([customerItem(n, { emails: new Set([`kunde${n}@example.dk`]) })]);
  const customer = { customerId: 1000 + n, cvr: testCvr(n) };
  const source = await rig.startDelivery(undefined, { functionTimeoutMs: 2_000 });
  const { batch } = await rig.submitBatch({ customers: [customer], webhook: false });
  await p.sim.settle();
  await deliveredOnce(batch.id, customer.cvr, (record) => record.deliveryStatus === "delivered");
  return { customer, batch, source };
}

/** Waits for the poller and the delivery: the report record meets `done`. */
async function deliveredOnce(batchId: string, cvr: string, done: (record: ReportRecord) => boolean) {
  await waitFor(`report ${cvr} of ${batchId}`, async () => {
    const record = await rig.report(batchId, cvr);
    return record !== undefined && done(record) ? record : undefined;
  });
}

describe("the evidence of a delivery", () => {
  test("the archived message is the mail SES got: same bytes, the simulator's PDF, hashes on record", async () => {
    const p = pipeline.current;
    const { customer, batch, source } = await deliverOne(p, 1);
    await source.idle(30_000);
    await source.stop();

    const [mail] = await rig.sentMails();
    const deliveries = await listCustomerDeliveries(p.state, customer.customerId);
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0] as DeliveryRecord;
    expect(delivery).toMatchObject({
      state: "sent",
      kind: "first",
      lassoBatchId: batch.id,
      cvr: customer.cvr,
      recipients: ["kunde1@example.dk"],
      sesMessageId: mail?.messageId,
    });
    const raw = await objectBytes(delivery.archive.bucket, delivery.archive.messageKey);
    expect(sha256Hex(raw)).toBe(delivery.messageSha256);
    expect(raw.length).toBe(delivery.messageBytes);
    const parsed = await simpleParser(raw);
    const item = p.sim.batches().find((b) => b.id === batch.id)?.items[0];
    const expectedPdf = Buffer.from((await p.sim.pdfBytes(item?.id ?? "")) ?? []);
    const archivedPdf = parsed.attachments.find((a) => a.contentType === "application/pdf");
    expect(archivedPdf?.content.equals(expectedPdf)).toBe(true);
    expect(parsed.subject).toBe(mail?.subject);
    const pdf = await objectBytes(delivery.archive.bucket, delivery.archive.pdfKey);
    expect(pdf.equals(expectedPdf)).toBe(true);
    expect(sha256Hex(pdf)).toBe(delivery.pdfSha256);
    const sent = JSON.parse(
      (await objectBytes(delivery.archive.bucket, `${delivery.archive.prefix}sent.json`)).toString(),
    );
    expect(sent).toMatchObject({ deliveryId: delivery.deliveryId, sesMessageId: mail?.messageId });
    const archivedRecord = JSON.parse(
      (await objectBytes(delivery.archive.bucket, delivery.archive.recordKey)).toString(),
    );
    expect(archivedRecord).toMatchObject({
      deliveryId: delivery.deliveryId,
      state: "archived",
      pdfSha256: delivery.pdfSha256,
    });
    expect(delivery.archive.prefix.startsWith(`customers/${customer.customerId}/`)).toBe(true);
    // The report record names the delivery that went out.
    const report = await rig.report(batch.id, customer.cvr);
    expect(report?.deliveryId).toBe(delivery.deliveryId);
    // Kept for the archive's retention (default 5 years), not the state's 400 days.
    expect(delivery.expiresAt - Math.floor(Date.parse(delivery.archivedAt) / 1000)).toBe(1827 * 86_400);
  });

  test("a resend adds a second history record and a second archived message; the first stays", async () => {
    const p = pipeline.current;
    const { customer, batch, source } = await deliverOne(p, 2);
    await source.idle(30_000);
    const report = await rig.report(batch.id, customer.cvr);
    if (report === undefined) throw new Error("no report record");
    const resend = resendMessage(report, customer.customerId, new Date());
    await sendReportReady({ sqs: p.sqs, queueUrl: p.resources.reportReadyQueueUrl }, [resend]);
    await deliveredOnce(batch.id, customer.cvr, (record) => record.resendKey === resend.seenAt);
    await source.idle(30_000);
    await source.stop();

    expect(await rig.sentMails()).toHaveLength(2);
    const deliveries = await listCustomerDeliveries(p.state, customer.customerId);
    expect(deliveries.map((d) => [d.kind, d.state])).toEqual([
      ["first", "sent"],
      ["resend", "sent"],
    ]);
    expect(new Set(deliveries.map((d) => d.sesMessageId)).size).toBe(2);
    const bucket = deliveries[0]?.archive.bucket as string;
    const messages = (await keysUnder(bucket, `customers/${customer.customerId}/`)).filter((key) =>
      key.endsWith("message.eml"),
    );
    expect(messages).toEqual(deliveries.map((d) => d.archive.messageKey).sort());
  });

  test("a crash between archive and SES leaves an archived, unsent record and exactly one mail after the retry", async () => {
    const p = pipeline.current;
    faults.crashBeforeSes = 1;
    const { customer, source } = await deliverOne(p, 3);
    await source.idle(30_000);
    await source.stop();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    const deliveries = await listCustomerDeliveries(p.state, customer.customerId);
    expect(deliveries.map((d) => d.state)).toEqual(["archived", "sent"]);
    const [crashed, sent] = deliveries as [DeliveryRecord, DeliveryRecord];
    expect(crashed.sesMessageId).toBeUndefined();
    expect(sent.sesMessageId).toBe(mails[0]?.messageId);
    // The crashed attempt's objects are there, without a sent.json: it never went out.
    const crashedKeys = await keysUnder(crashed.archive.bucket, crashed.archive.prefix);
    expect(crashedKeys.some((key) => key.endsWith("message.eml"))).toBe(true);
    expect(crashedKeys.some((key) => key.endsWith("sent.json"))).toBe(false);
  });

  test("an archive that refuses writes delays the mail, never sends it without evidence", async () => {
    const p = pipeline.current;
    faults.archiveDown = 3;
    const { customer, source } = await deliverOne(p, 4);
    await source.idle(30_000);
    await source.stop();

    expect(faults.archiveDown).toBe(0);
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    const deliveries = await listCustomerDeliveries(p.state, customer.customerId);
    expect(deliveries.filter((d) => d.state === "sent").map((d) => d.sesMessageId)).toEqual([
      mails[0]?.messageId,
    ]);
    for (const delivery of deliveries) {
      const raw = await objectBytes(delivery.archive.bucket, delivery.archive.messageKey);
      expect(sha256Hex(raw)).toBe(delivery.messageSha256);
    }
  });

  test("SES refusing for now is on record as not sent; the retry's mail is the one sent", async () => {
    const p = pipeline.current;
    faults.sesThrottles = 1;
    const { customer, source } = await deliverOne(p, 5);
    await source.idle(30_000);
    await source.stop();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    const deliveries = await listCustomerDeliveries(p.state, customer.customerId);
    expect(deliveries.map((d) => d.state)).toEqual(["rejected", "sent"]);
    expect(deliveries[0]?.rejectedReason).toMatch(/refused it for now/);
    expect(deliveries[1]?.sesMessageId).toBe(mails[0]?.messageId);
  });
});
