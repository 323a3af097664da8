/**
 * The delivery path end to end on the emulators: the Lasso simulator sends its webhooks
 * to receive-webhook (a Function URL over HTTP), deliver-report runs on the report-ready
 * queue through the local event source, and what recipients get is read from
 * aws-ses-v2-local's store, not from our own records.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { safePdfFileName } from "#shared/mail/compose.ts";
import { type ReportReadyMessage, serialiseReportReadyMessage } from "#shared/report-ready.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import { recordSuppression } from "#shared/state/suppression.ts";
import {
  type DeliveryRig,
  FROM_HEADER,
  pdfOf,
  REPLY_TO,
  type StoredMail,
  startDeliveryRig,
  takeMessages,
} from "#test/support/delivery.ts";
import { customerItem, type Pipeline, testCvr, usePipeline } from "#test/support/pipeline.ts";

// Customers 40..49 get a forced outcome from the simulator.
const WARNING_CVR = testCvr(40);
const FAILED_CVR = testCvr(41);

const pipeline = usePipeline({
  sim: {
    reportDelayMs: 3,
    webhooksEnabled: true,
    faults: { forceItemStatus: { [WARNING_CVR]: "Warning", [FAILED_CVR]: "Failed" } },
  },
});
let rig: DeliveryRig;

beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current);
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await rig.clearMails();
  rig.deliver.counter.counts.length = 0;
});

interface TestCustomer {
  customerId: number;
  cvr: string;
  emails: string[];
  language: "da" | "en";
}

async function putCustomers(
  p: Pipeline,
  numbers: readonly number[],
  overrides: Record<string, unknown> = {},
) {
  const customers: TestCustomer[] = numbers.map((n) => ({
    customerId: 1000 + n,
    cvr: testCvr(n),
    emails: n % 3 === 0 ? [`kunde${n}@example.dk`, `ejer${n}@example.dk`] : [`kunde${n}@example.dk`],
    language: n % 2 === 0 ? "da" : "en",
  }));
  await p.putCustomers(
    customers.map((c) =>
      customerItem(c.customerId - 1000, {
        emails: new Set(c.emails),
        language: c.language,
        reportTypes: new Set(["Revision", "Finans", "ReelleEjere"]),
        ...overrides,
      }),
    ),
  );
  return customers;
}

const recipientsOf = (mail: StoredMail): string[] =>
  mail.destination.to
    .flatMap((to) => to.split(","))
    .map((address) => address.trim())
    .sort();

/** Runs deliver-report on the report-ready queue until it is empty. */
async function deliverAll(): Promise<void> {
  const source = await rig.startDelivery();
  try {
    await source.idle(30_000);
  } finally {
    await source.stop();
  }
}

describe("webhook → queue → deliver-report → SES", () => {
  test("a batch of 30 customers: every recipient gets exactly one mail with the simulator's PDF", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(
      p,
      Array.from({ length: 30 }, (_, n) => n),
    );
    // The batch's routing facts (its manifest) are read once for the whole batch, not per report.
    let routingReads = 0;
    p.doc.middlewareStack.add(
      (next, context) => async (args) => {
        // One BatchGetItem of the batch's record and its manifest item (state/batches.ts).
        if (
          /^BatchGet(Item)?Command$/.test(context.commandName ?? "") &&
          JSON.stringify(args.input).includes('"sk":"MANIFEST"')
        )
          routingReads++;
        return next(args);
      },
      { step: "initialize", name: "countRoutingReads" },
    );
    const source = await rig.startDelivery();
    const { batch } = await rig.submitBatch({ customers });
    await p.sim.settle();
    await source.idle(30_000);
    await source.stop();
    p.doc.middlewareStack.remove("countRoutingReads");
    expect(routingReads).toBe(1);

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(30);
    const items = p.sim.batches().find((b) => b.id === batch.id)?.items ?? [];
    expect(items).toHaveLength(30);
    for (const customer of customers) {
      const mine = mails.filter((mail) => recipientsOf(mail).includes(customer.emails[0] as string));
      expect(mine, `mails to customer ${customer.customerId}`).toHaveLength(1);
      const mail = mine[0] as StoredMail;
      expect(recipientsOf(mail)).toEqual([...customer.emails].sort());
      expect(mail.from).toBe(FROM_HEADER);
      expect(mail.replyTo).toEqual([`"Demo Revision, kundeservice" <${REPLY_TO}>`]);
      const item = items.find((i) => String(i.cvr) === customer.cvr);
      const expected = await p.sim.pdfBytes(item?.id ?? "");
      // The PDF, and the firm's logo (inline in the HTML part).
      expect(mail.attachments.map((a) => a.contentType).sort()).toEqual(["application/pdf", "image/png"]);
      const attachment = pdfOf(mail);
      expect(attachment?.filename).toBe(safePdfFileName(item?.fileName, "", item?.name ?? undefined));
      const bytes = Buffer.from(attachment?.content ?? "", "base64");
      expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
      expect(bytes.equals(Buffer.from(expected ?? []))).toBe(true);
      const company = item?.name ?? "";
      expect(mail.subject).toBe(
        customer.language === "da"
          ? `Virksomhedsrapport (Lasso Revision): ${company} (CVR ${customer.cvr})`
          : `Company report (Lasso Revision data): ${company} (CVR ${customer.cvr})`,
      );
      expect(mail.body.text).toContain(
        customer.language === "da" ? "Vedhæftet er virksomhedsrapporten" : "Attached is the company report",
      );
      // Signed by the firm, in the customer's language.
      expect(mail.body.text).toContain(customer.language === "da" ? "Rapportafdelingen" : "Reports team");
      expect(mail.body.html).toContain("Demo Revision ApS");
      // Our record agrees with what SES got.
      const record = await rig.report(batch.id, customer.cvr);
      expect(record).toMatchObject({
        deliveryStatus: "delivered",
        customerId: customer.customerId,
        recipients: customer.emails,
        sesMessageId: mail.messageId,
        // The webhook rang; what was mailed came from Lasso's item list.
        source: "poll",
        pdfDelivery: "attachment",
      });
    }
    expect(rig.deliver.counter.total("ReportDelivered")).toBe(30);
    expect(rig.deliver.counter.total("DuplicateSkipped")).toBe(0);
  });

  test("Warning reports are mailed with the warning; Failed ones are recorded with Lasso's file name, not mailed", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [40, 41, 42]);
    const { batch } = await rig.submitBatch({ customers, errorAppend: "#fejl" });
    await p.sim.settle();
    await deliverAll();

    const mails = await rig.sentMails();
    const mailed = customers.filter((c) => c.cvr !== FAILED_CVR).flatMap((c) => c.emails);
    expect(mails.flatMap(recipientsOf).sort()).toEqual(mailed.sort());
    const warned = mails.find((mail) => recipientsOf(mail).includes("kunde40@example.dk"));
    expect(warned?.subject).toMatch(
      /^Virksomhedsrapport \(Lasso Revision\): .* \(CVR \d{8}\) – med advarsel$/,
    );
    expect(warned?.body.text).toContain("Lasso har markeret rapporten med en advarsel");

    const failedItem = p.sim
      .batches()
      .find((b) => b.id === batch.id)
      ?.items.find((i) => String(i.cvr) === FAILED_CVR);
    expect(failedItem?.fileName).toContain("#fejl");
    const failed = await rig.report(batch.id, FAILED_CVR);
    expect(failed).toMatchObject({
      deliveryStatus: "failed",
      customerId: 1041,
      fileName: failedItem?.fileName,
      itemStatus: "Failed",
    });
    expect(failed?.reason).toContain(failedItem?.errorMessage ?? "?");
    expect(failed?.sesMessageId).toBeUndefined();
    expect(rig.deliver.counter.total("DeliveryFailed", { reason: "lasso-failed" })).toBe(1);
    expect(rig.deliver.counter.total("ReportDelivered")).toBe(2);
  });

  test("a customer deleted between submission and delivery: an unroutable record and an alarm metric", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [50, 51]);
    const { batch } = await rig.submitBatch({ customers });
    await p.sim.settle();
    await p.doc.send(new DeleteCommand({ TableName: p.customersTable, Key: { customerId: 1050 } }));
    await deliverAll();

    const mails = await rig.sentMails();
    expect(mails.flatMap(recipientsOf)).toEqual([...(customers[1]?.emails ?? [])].sort());
    const record = await rig.report(batch.id, testCvr(50));
    expect(record).toMatchObject({ deliveryStatus: "unroutable", customerId: 1050 });
    expect(record?.reason).toMatch(/customer 1050 .* no longer exists/);
    expect(rig.deliver.counter.total("ReportUnroutable")).toBe(1);
    // Nothing left to retry, nothing dead-lettered: recorded, not dropped.
    expect(await rig.messagesIn(p.resources.reportReadyDlqUrl)).toBe(0);
  });

  test("a batch made in the Lasso portal (no record, no internalCustomerId) routes by cvr, type from Lasso", async () => {
    const p = pipeline.current;
    const [customer] = await putCustomers(p, [52]);
    const c = customer as TestCustomer;
    const batch = await p.lassoClient().createBatch(
      {
        batchName: "Portal batch pqrs1234",
        type: "ReelleEjere",
        format: "{cvr}-{type}",
        items: [{ cvr: c.cvr }],
        notificationWebhookUrl: rig.webhook.url,
        authConfig: { Method: "Header", Key: p.webhookHeaderName, Value: p.webhookSecret },
      },
      { uniqueToken: "pqrs1234" },
    );
    await p.sim.settle();
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    expect(recipientsOf(mails[0] as StoredMail)).toEqual(c.emails);
    expect(mails[0]?.subject).toMatch(/^Rapport om reelle ejere: /);
    expect(await rig.report(batch.id, c.cvr, "ReelleEjere")).toMatchObject({
      deliveryStatus: "delivered",
      customerId: c.customerId,
    });
  });

  test("a listener batch: every change of the company is a new report, mailed once each", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [57]);
    const c = customers[0] as TestCustomer;
    const batch = await p.lassoClient().createBatch(
      {
        batchName: "Listener lstn5678",
        type: "ReelleEjere",
        format: "{cvr}-{type}",
        items: [{ cvr: c.cvr, internalCustomerId: c.customerId }],
        isListener: true,
        triggerNow: true,
        notificationWebhookUrl: rig.webhook.url,
        authConfig: { Method: "Header", Key: p.webhookHeaderName, Value: p.webhookSecret },
      },
      { uniqueToken: "lstn5678" },
    );
    expect(batch.isListener).toBe(true);
    await rig.recordBatch(batch, customers);
    await p.sim.settle();
    const changed = p.sim.triggerChange(batch.id, c.cvr);
    await p.sim.settle();
    await deliverAll();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(2);
    for (const mail of mails) {
      expect(recipientsOf(mail)).toEqual([...c.emails].sort());
      // Customer 57 reads English.
      expect(mail.subject).toMatch(/^Beneficial owners report: /);
    }
    const reportIds = (p.sim.batches().find((b) => b.id === batch.id)?.items ?? []).map((i) => i.id);
    expect(reportIds).toHaveLength(2);
    expect(reportIds).toContain(changed);
    for (const reportId of reportIds) {
      const record = await getReportRecord(p.state, `${batch.id}#${c.cvr}#ReelleEjere#${reportId}`);
      expect(record).toMatchObject({ deliveryStatus: "delivered", reportId, customerId: c.customerId });
    }
  });

  test("a webhook without report type and pdf link rings: the type comes from the batch record, the rest from Lasso", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [53]);
    const { batch } = await rig.submitBatch({ customers, reportType: "Finans", webhook: false });
    await p.sim.settle();
    const item = p.sim.batches().find((b) => b.id === batch.id)?.items[0];
    const message: ReportReadyMessage = {
      version: 1,
      batchId: batch.id,
      cvr: testCvr(53),
      itemStatus: "Completed",
      fileName: item?.fileName ?? "x.pdf",
      source: "webhook",
      seenAt: new Date().toISOString(),
    };
    await sendReportReady({ sqs: p.sqs, queueUrl: p.resources.reportReadyQueueUrl }, [message]);
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    // Customer 53 reads English; the company's name is Lasso's (the item list's), not the webhook's.
    expect(mails[0]?.subject).toBe(`Financial report (Lasso Finans): ${item?.name} (CVR ${testCvr(53)})`);
    const expected = Buffer.from((await p.sim.pdfBytes(item?.id ?? "")) ?? []);
    expect(Buffer.from(pdfOf(mails[0])?.content ?? "", "base64").equals(expected)).toBe(true);
    expect(await rig.report(batch.id, testCvr(53), "Finans")).toMatchObject({ deliveryStatus: "delivered" });
  });

  test("suppressed recipients are skipped; a customer whose every address is suppressed is unroutable", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [54, 55]);
    const suppress = (email: string) =>
      recordSuppression(
        p.state,
        {
          email,
          reason: "bounce",
          detail: "Permanent/General",
          sesMessageId: "old",
          eventAt: new Date().toISOString(),
          feedbackId: `fb-${email}`,
        },
        new Date(),
      );
    await suppress("ejer54@example.dk");
    await suppress("kunde55@example.dk");
    const { batch } = await rig.submitBatch({ customers });
    await p.sim.settle();
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails.map(recipientsOf)).toEqual([["kunde54@example.dk"]]);
    expect(await rig.report(batch.id, testCvr(54))).toMatchObject({
      deliveryStatus: "delivered",
      recipients: ["kunde54@example.dk"],
    });
    expect(await rig.report(batch.id, testCvr(55))).toMatchObject({ deliveryStatus: "unroutable" });
    expect(rig.deliver.counter.total("RecipientSuppressed")).toBe(2);
  });

  test("one bad message never re-runs the others: it ends in the DLQ after a bounded number of receives", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(p, [56]);
    const { batch } = await rig.submitBatch({ customers, webhook: false });
    await p.sim.settle();
    const item = p.sim.batches().find((b) => b.id === batch.id)?.items[0];
    const { queueUrl, dlqUrl } = await rig.createQueueWithDlq("deliver-retry", {
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
    });
    const good: ReportReadyMessage = {
      version: 1,
      batchId: batch.id,
      cvr: testCvr(56),
      reportType: "Revision",
      itemStatus: "Completed",
      ...(item?.pdfurl ? { pdfUrl: item.pdfurl } : {}),
      fileName: item?.fileName ?? "x.pdf",
      source: "poll",
      seenAt: new Date().toISOString(),
    };
    await p.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "bad", MessageBody: '{"version":1,"not":"a report"}' },
          { Id: "good", MessageBody: serialiseReportReadyMessage(good) },
        ],
      }),
    );
    const source = await rig.startDelivery(queueUrl, { functionTimeoutMs: 1000, batchSize: 10 });
    try {
      await source.idle(20_000);
    } finally {
      await source.stop();
    }
    // The good report went out once; the bad message was retried, then dead-lettered alone.
    const mails = await rig.sentMails();
    expect(mails.map(recipientsOf)).toEqual([["kunde56@example.dk"]]);
    expect(await rig.report(batch.id, testCvr(56))).toMatchObject({
      deliveryStatus: "delivered",
      source: "poll",
    });
    const dead = await takeMessages(p, dlqUrl);
    expect(dead).toEqual(['{"version":1,"not":"a report"}']);
    expect(rig.deliver.counter.total("ReportUnidentifiable", { reason: "bad-message" })).toBe(2);
    expect(rig.deliver.counter.total("ReportDelivered")).toBe(1);
  });
});

describe("PDF links that must be refused, and PDFs too large for SES", () => {
  let files: Server;
  let filesHost: string;
  let outsideHost: string;
  let outside: Server;
  let strictRig: DeliveryRig;
  const PDF_100K = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(100 * 1024, 0x41)]);
  const PDF_300K = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(300 * 1024, 0x41)]);

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    outside = createServer((_req, res) => res.writeHead(200).end(PDF_100K));
    outsideHost = await listen(outside);
    files = createServer((req, res) => {
      if (req.url === "/medium.pdf") res.writeHead(200, { "content-type": "application/pdf" }).end(PDF_100K);
      else if (req.url === "/huge.pdf")
        res.writeHead(200, { "content-type": "application/pdf" }).end(PDF_300K);
      else if (req.url === "/login")
        res.writeHead(200, { "content-type": "text/html" }).end("<html>log in</html>");
      else if (req.url === "/away")
        res.writeHead(302, { location: `http://${outsideHost}/medium.pdf` }).end();
      else res.writeHead(404).end();
    });
    filesHost = await listen(files);
    strictRig = await startDeliveryRig(pipeline.current, {
      deliverEnv: {
        PDF_ALLOWED_HOSTS: `${new URL(pipeline.current.sim.baseUrl).host},${filesHost}`,
        MAX_PDF_BYTES: String(200 * 1024),
        MAX_MAIL_BYTES: String(64 * 1024),
      },
    });
  });
  afterAll(async () => {
    await strictRig?.close();
    for (const server of [files, outside]) {
      server?.closeAllConnections();
      server?.close();
    }
  });

  async function deliverCrafted(n: number, pdfUrl: string) {
    const p = pipeline.current;
    const [customer] = await putCustomers(p, [n]);
    const c = customer as TestCustomer;
    const batch: LassoBatch = {
      id: `00000000-0000-4000-8000-0000000000${n}`,
      name: `crafted ${n}`,
      type: "Revision",
      status: "Finished",
      batchSize: 1,
      completionPercentage: 1,
      isListener: false,
    };
    await strictRig.recordBatch(batch, [c]);
    const message: ReportReadyMessage = {
      version: 1,
      batchId: batch.id,
      cvr: c.cvr,
      reportType: "Revision",
      itemStatus: "Completed",
      internalCustomerId: c.customerId,
      companyName: `Firma ${n} ApS`,
      pdfUrl,
      fileName: `${c.customerId}_${c.cvr}.pdf`,
      // As the poller hands on a Lasso item whose pdfurl points there (a webhook's link is never fetched).
      source: "poll",
      seenAt: new Date().toISOString(),
    };
    await sendReportReady({ sqs: p.sqs, queueUrl: p.resources.reportReadyQueueUrl }, [message]);
    const source = await strictRig.startDelivery();
    try {
      await source.idle(20_000);
    } finally {
      await source.stop();
    }
    return { customer: c, record: await strictRig.report(batch.id, c.cvr) };
  }

  beforeEach(() => {
    strictRig.deliver.counter.counts.length = 0;
  });

  test.each([
    ["a host outside the allow-list", 60, "outside", "host-not-allowed"],
    ["a redirect to a host outside the allow-list", 61, "away", "host-not-allowed"],
    ["a body that is not a PDF", 62, "login", "not-pdf"],
    ["a body over the size cap", 63, "huge", "too-large"],
  ] as const)("%s is refused with a recorded reason and no mail", async (_name, n, path, reason) => {
    const link =
      path === "outside"
        ? `http://${outsideHost}/medium.pdf`
        : `http://${filesHost}/${path === "huge" ? "huge.pdf" : path}`;
    const { record } = await deliverCrafted(n, link);
    expect(record).toMatchObject({ deliveryStatus: "failed" });
    expect(record?.reason).toContain(`pdf refused (${reason})`);
    expect(await rig.sentMails()).toHaveLength(0);
    expect(strictRig.deliver.counter.total("PdfRefused", { reason })).toBe(1);
    expect(strictRig.deliver.counter.total("DeliveryFailed", { reason: "pdf-refused" })).toBe(1);
  });

  test("a PDF too large for SES is sent as a link, and the record says so", async () => {
    const link = `http://${filesHost}/medium.pdf`;
    const { customer, record } = await deliverCrafted(65, link);
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    expect(recipientsOf(mails[0] as StoredMail)).toEqual(customer.emails);
    expect(pdfOf(mails[0])).toBeUndefined();
    expect(mails[0]?.body.text).toContain(link);
    expect(record).toMatchObject({ deliveryStatus: "delivered", pdfDelivery: "link" });
    expect(record?.reason).toMatch(/too large for SES/);
    expect(strictRig.deliver.counter.total("ReportSentAsLink")).toBe(1);
  });
});

test("the report-ready queue is empty at the end: nothing was left behind", async () => {
  expect(await takeMessages(pipeline.current, pipeline.current.resources.reportReadyQueueUrl)).toEqual([]);
});
