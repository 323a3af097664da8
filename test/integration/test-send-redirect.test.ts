/**
 * Trying a mail before it reaches a client, on the emulators: `test-send` sends exactly the
 * customer's mail to one address, marked as a test, recorded as a test and never counted
 * as a delivery (`deliveries`, statements); `mail.redirectAllTo` sends every mail of the
 * deployment to one address, naming the real recipients.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { historyOfCustomer } from "#cli/deliveries-view.ts";
import { readStatement } from "#cli/statement.ts";
import { type TestSendPorts, testSend } from "#cli/test-send.ts";
import { demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { listCustomerDeliveries } from "#shared/state/delivery-history.ts";
import {
  type DeliveryRig,
  pdfOf,
  REPLY_TO,
  SENDER,
  type StoredMail,
  startDeliveryRig,
} from "#test/support/delivery.ts";
import { customerItem, type Pipeline, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({ sim: { reportDelayMs: 3, webhooksEnabled: true } });
let rig: DeliveryRig;

beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current);
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await rig.clearMails();
});

async function deliverAll(target: DeliveryRig = rig): Promise<void> {
  const source = await target.startDelivery();
  try {
    await source.idle(30_000);
  } finally {
    await source.stop();
  }
}

const portsOf = (p: Pipeline): TestSendPorts => ({
  state: p.state,
  customers: { doc: p.customersDoc, tableName: p.resources.names.customersTable },
  sqs: p.sqs,
  queueUrl: p.resources.reportReadyQueueUrl,
});

const textOf = (mail: StoredMail | undefined) => (mail?.body.text ?? "").replace(/\s+/g, " ");

describe("test-send", () => {
  test("the customer's mail with its latest report, to the test address only, marked and recorded as a test", async () => {
    const p = pipeline.current;
    await p.putCustomers([customerItem(80, { cc: new Set(["revisor80@firma.dk"]), language: "en" })]);
    const customer = { customerId: 1080, cvr: testCvr(80) };
    const { batch } = await rig.submitBatch({ customers: [customer] });
    await p.sim.settle();
    await deliverAll();
    const real = (await rig.sentMails())[0];
    expect(real?.destination.to).toEqual(["kunde80@example.dk"]);
    const before = await rig.report(batch.id, customer.cvr);
    await rig.clearMails();

    const source = await rig.startDelivery();
    const outcome = await testSend(
      { customerId: 1080, reportType: "Revision", to: "tester@firma.dk", timeoutMs: 20_000 },
      portsOf(p),
    );
    await source.idle(30_000);
    await source.stop();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    const mail = mails[0];
    expect(mail?.destination).toEqual({ to: ["tester@firma.dk"], cc: [], bcc: [] });
    expect(mail?.subject).toBe(`[TEST] ${real?.subject}`);
    expect(textOf(mail)).toContain("TEST: This is a trial send.");
    expect(textOf(mail)).toContain("would have gone to kunde80@example.dk, revisor80@firma.dk (cc)");
    // Exactly the customer's mail otherwise: the same firm, sender, reply-to and PDF.
    expect(mail?.from).toBe(real?.from);
    expect(mail?.replyTo).toEqual(real?.replyTo);
    expect(textOf(mail)).toContain(textOf(real).slice(0, 120));
    expect(pdfOf(mail)?.content).toBe(pdfOf(real)?.content);

    // Recorded as a test: in the history (kind test, sent), not as a delivery.
    expect(outcome.batchId).toBe(batch.id);
    expect(outcome.delivery).toMatchObject({ kind: "test", state: "sent", recipients: ["tester@firma.dk"] });
    const history = await listCustomerDeliveries(p.state, 1080);
    expect(history.map((record) => record.kind).sort()).toEqual(["first", "test"]);
    expect((await historyOfCustomer(p.state, 1080, { period: {} })).map((record) => record.kind)).toEqual([
      "first",
    ]);
    const statement = await readStatement(
      p.state,
      { doc: p.customersDoc, tableName: p.resources.names.customersTable },
      { scope: "customer", customerId: 1080, period: {} },
      "Demo Revision ApS",
      new Date(),
    );
    expect(statement.deliveryCount).toBe(1);
    // The report record still names the customer's own delivery.
    expect(await rig.report(batch.id, customer.cvr)).toEqual(before);
  });

  test("a customer without a report gets the sample PDF", async () => {
    const p = pipeline.current;
    await p.putCustomers([customerItem(81)]);
    const source = await rig.startDelivery();
    const outcome = await testSend(
      { customerId: 1081, reportType: "Revision", to: "tester@firma.dk", timeoutMs: 20_000 },
      portsOf(p),
    );
    await source.idle(30_000);
    await source.stop();
    expect(outcome).toMatchObject({ batchId: "sample", delivery: { kind: "test", state: "sent" } });
    const mail = (await rig.sentMails())[0];
    expect(mail?.subject).toMatch(/^\[TEST\] Virksomhedsrapport \(Lasso Revision\): Kunde 81 ApS/);
    expect(pdfOf(mail)?.filename).toBe("sample-report.pdf");
    expect(
      Buffer.from(pdfOf(mail)?.content ?? "", "base64")
        .subarray(0, 5)
        .toString("latin1"),
    ).toBe("%PDF-");
  });
});

describe("mail.redirectAllTo", () => {
  test("every mail goes to the one address; the body names who it would have gone to", async () => {
    const p = pipeline.current;
    const redirecting = await startDeliveryRig(p, {
      deliverEnv: {
        MAIL_PROFILE: demoMailProfileJson({
          sender: SENDER,
          replyTo: REPLY_TO,
          operatorsEmail: null,
          redirectAllTo: "proeve@firma.dk",
        }),
      },
    });
    try {
      await p.putCustomers([
        customerItem(82, {
          emails: new Set(["a82@kunde.dk", "b82@kunde.dk"]),
          bcc: new Set(["arkiv@firma.dk"]),
        }),
      ]);
      const { batch } = await redirecting.submitBatch({
        customers: [{ customerId: 1082, cvr: testCvr(82) }],
      });
      await p.sim.settle();
      await deliverAll(redirecting);
      const mails = await redirecting.sentMails();
      expect(mails).toHaveLength(1);
      expect(mails[0]?.destination).toEqual({ to: ["proeve@firma.dk"], cc: [], bcc: [] });
      expect(textOf(mails[0])).toContain(
        "Omdirigeret: denne e-mail ville være gået til a82@kunde.dk, b82@kunde.dk, arkiv@firma.dk (bcc)",
      );
      // What the record says went out is what SES was given.
      expect(await redirecting.report(batch.id, testCvr(82))).toMatchObject({
        deliveryStatus: "delivered",
        recipients: ["proeve@firma.dk"],
      });
    } finally {
      await redirecting.close();
    }
  });
});
