/**
 * The trust boundary (docs/guarantees.md, "Trust"): a webhook is a doorbell. Webhooks are
 * sent by the test itself, with the real secret, to receive-webhook served as a Function
 * URL over HTTP; the delivery runs on the emulators and reads the simulator over HTTP.
 * Whatever a webhook says, what is mailed, to whom, and whether it failed come from our
 * batch records and from Lasso's API.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { fetchWithFreshLink } from "#lambdas/deliver-report/lasso-lookups.ts";
import { fetchPdf } from "#shared/pdf/fetch.ts";
import { handOffEntryForItem, manifestCustomers } from "#shared/reconcile/items.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import { silentLog } from "#shared/runtime/log.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import { batchManifestKey } from "#shared/state/keys.ts";
import { getUnverifiedRecord } from "#shared/state/unverified.ts";
import { parseWebhookPayload } from "#shared/webhook-payload.ts";
import {
  type DeliveryRig,
  pdfOf,
  type StoredMail,
  startDeliveryRig,
  startPoller,
} from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

/** Every request the simulator answered, as "GET /path -> 200 (3 ms)". */
const simRequests: string[] = [];
const pipeline = usePipeline({
  sim: { reportDelayMs: 3, webhooksEnabled: false, log: (line) => simRequests.push(line) },
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

interface Customer {
  customerId: number;
  cvr: string;
  email: string;
}

async function putCustomers(...numbers: number[]): Promise<Customer[]> {
  await pipeline.current.putCustomers(
    numbers.map((n) => customerItem(n, { reportTypes: new Set(["Revision", "Finans", "ReelleEjere"]) })),
  );
  return numbers.map((n) => ({ customerId: 1000 + n, cvr: testCvr(n), email: `kunde${n}@example.dk` }));
}

/** Posts a webhook as Lasso would, with the real secret; the HTTP status. */
async function ring(body: unknown): Promise<number> {
  const p = pipeline.current;
  const response = await fetch(rig.webhook.url, {
    method: "POST",
    headers: { "content-type": "application/json", [p.webhookHeaderName]: p.webhookSecret },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Runs deliver-report on the report-ready queue until it is empty. */
async function deliverAll(): Promise<void> {
  const source = await rig.startDelivery();
  try {
    await source.idle(30_000);
  } finally {
    await source.stop();
  }
}

/** The simulator's item for a cvr in a batch (what Lasso's item list says). */
function itemOf(batchId: string, cvr: string) {
  const item = pipeline.current.sim
    .batches()
    .find((b) => b.id === batchId)
    ?.items.find((i) => String(i.cvr) === cvr);
  if (item === undefined) throw new Error(`no item for ${cvr} in ${batchId}`);
  return item;
}

const recipientsOf = (mail: StoredMail): string[] => mail.destination.to.flatMap((to) => to.split(","));
const getBatchCalls = (batchId: string): number =>
  simRequests.filter((line) => line.startsWith(`GET /apps/reporting/batches/${batchId} `)).length;

function webhookFor(batchId: string, cvr: string, overrides: Record<string, unknown> = {}) {
  return {
    batchId,
    lassoId: `CVR-1-${cvr}`,
    cvr: Number(cvr),
    reportType: "Revision",
    status: "Completed",
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}

describe("a webhook never decides what a report is or whose it is", () => {
  test("an unknown batch with a real customer's cvr and another company's PDF: no mail, an unverified record, one look-up", async () => {
    const p = pipeline.current;
    const [victim, other] = await putCustomers(80, 81);
    // Another company's report, in a batch made elsewhere (not ours to poll).
    const { batch } = await rig.submitBatch({
      customers: [other as Customer],
      webhook: false,
      record: false,
    });
    await p.sim.settle();
    const otherPdf = itemOf(batch.id, (other as Customer).cvr).pdfurl;
    const forged = "0badc0de-1111-4222-8333-444455556666";
    const body = webhookFor(forged, (victim as Customer).cvr, {
      pdfUrl: otherPdf,
      internalCustomerId: (victim as Customer).customerId,
      companyName: "Forged Subject Line",
    });

    expect(await ring(body)).toBe(200);
    await deliverAll();
    expect(await ring(body)).toBe(200);
    await deliverAll();

    expect(await rig.sentMails()).toHaveLength(0);
    const record = await getUnverifiedRecord(p.state, forged, {
      cvr: (victim as Customer).cvr,
      reportType: "Revision",
    });
    expect(record).toMatchObject({ reason: "Lasso does not know this batch", hints: 2 });
    expect(record?.pdfHost).toBe(new URL(p.sim.baseUrl).host);
    expect(rig.deliver.counter.total("WebhookUnverified")).toBe(2);
    // Lasso's 404 is believed for a while: the second webhook cost no call.
    expect(getBatchCalls(forged)).toBe(1);
    expect(await getBatchRecord(p.state, forged)).toBeUndefined();
    expect(await rig.messagesIn(p.resources.reportReadyDlqUrl)).toBe(0);
  });

  test("every spelling of a real batch id is the same report: no second mail; a non-GUID is a 400", async () => {
    const p = pipeline.current;
    const [customer] = (await putCustomers(82)) as [Customer];
    const { batch } = await rig.submitBatch({ customers: [customer], webhook: false });
    await p.sim.settle();
    expect(await ring(webhookFor(batch.id, customer.cvr))).toBe(200);
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(1);

    for (const spelling of [batch.id.toUpperCase(), `{${batch.id}}`, `  ${batch.id} `]) {
      expect(await ring(webhookFor(spelling, customer.cvr))).toBe(200);
    }
    const before = await rig.messagesIn(p.resources.reportReadyQueueUrl);
    for (const spelling of [`${batch.id}\u200b`, `\u2066${batch.id}`, batch.id.replaceAll("-", "")]) {
      expect(await ring(webhookFor(spelling, customer.cvr))).toBe(400);
    }
    expect(await rig.messagesIn(p.resources.reportReadyQueueUrl)).toBe(before);
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(1);
    expect(rig.deliver.counter.total("DoorbellAlreadyHandedOn")).toBe(3);
    expect(rig.deliver.counter.total("ReportDelivered")).toBe(1);
  });

  test("a company not in the batch, another type, another customer's id: no mail; the genuine ring then mails once", async () => {
    const p = pipeline.current;
    const [member, outsider] = (await putCustomers(83, 84)) as [Customer, Customer];
    const { batch } = await rig.submitBatch({ customers: [member], webhook: false });
    await p.sim.settle();

    expect(
      await ring(webhookFor(batch.id, outsider.cvr, { pdfUrl: itemOf(batch.id, member.cvr).pdfurl })),
    ).toBe(200);
    expect(await ring(webhookFor(batch.id, member.cvr, { reportType: "Finans", printType: 1 }))).toBe(200);
    expect(await ring(webhookFor(batch.id, member.cvr, { internalCustomerId: outsider.customerId }))).toBe(
      200,
    );
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(0);
    expect(rig.deliver.counter.total("WebhookUnverified")).toBe(3);
    expect(
      await getUnverifiedRecord(p.state, batch.id, { cvr: outsider.cvr, reportType: "Revision" }),
    ).toMatchObject({ reason: `cvr ${outsider.cvr} is not in the batch we submitted` });
    expect(
      (await getUnverifiedRecord(p.state, batch.id, { cvr: member.cvr, reportType: "Finans" }))?.reason,
    ).toMatch(/the webhook says Finans, the batch is Revision/);
    expect(
      (await getUnverifiedRecord(p.state, batch.id, { cvr: member.cvr, reportType: "Revision" }))?.reason,
    ).toMatch(new RegExp(`names customer ${outsider.customerId}`));

    expect(await ring(webhookFor(batch.id, member.cvr))).toBe(200);
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    expect(recipientsOf(mails[0] as StoredMail)).toEqual([member.email]);
  });

  test("a Failed webhook first, and one with a dead link: the real report is mailed once, with Lasso's PDF", async () => {
    const p = pipeline.current;
    const [first, second] = (await putCustomers(85, 86)) as [Customer, Customer];
    const { batch } = await rig.submitBatch({ customers: [first, second], webhook: false });
    await p.sim.settle();

    expect(
      await ring(webhookFor(batch.id, first.cvr, { status: "Failed", errorMessage: "no such company" })),
    ).toBe(200);
    expect(
      await ring(webhookFor(batch.id, second.cvr, { pdfUrl: `${p.sim.baseUrl}/files/nothing/here.pdf` })),
    ).toBe(200);
    await deliverAll();
    // The copies that come later (the poller, Lasso's retries) change nothing.
    expect(await ring(webhookFor(batch.id, first.cvr))).toBe(200);
    await deliverAll();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(2);
    for (const customer of [first, second]) {
      const mine = mails.filter((mail) => recipientsOf(mail).includes(customer.email));
      expect(mine).toHaveLength(1);
      const expected = Buffer.from((await p.sim.pdfBytes(itemOf(batch.id, customer.cvr).id)) ?? []);
      expect(Buffer.from(pdfOf(mine[0])?.content ?? "", "base64").equals(expected)).toBe(true);
      expect(await rig.report(batch.id, customer.cvr)).toMatchObject({ deliveryStatus: "delivered" });
    }
    expect(rig.deliver.counter.total("DeliveryFailed")).toBe(0);
  });
});

describe("what Lasso's API says is what counts", () => {
  test("an expired pdf link: the delivery asks Lasso's item list for the fresh one and mails it", async () => {
    const p = pipeline.current;
    const [customer] = (await putCustomers(87)) as [Customer];
    const { batch } = await rig.submitBatch({ customers: [customer], webhook: false });
    await p.sim.settle();
    const stale = itemOf(batch.id, customer.cvr).pdfurl;
    const poller = startPoller(p);
    for (let i = 0; i < 200 && poller.handedOn < 1; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    await poller.stop();
    expect(poller.handedOn).toBe(1);
    // The link in the queued message expires before the delivery gets to it.
    expect(p.sim.expirePdfLinks(batch.id)).toBe(1);
    const fresh = itemOf(batch.id, customer.cvr).pdfurl;
    expect(fresh).not.toBe(stale);
    expect((await fetch(stale ?? "")).status).toBe(404);

    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    const expected = Buffer.from((await p.sim.pdfBytes(itemOf(batch.id, customer.cvr).id)) ?? []);
    expect(Buffer.from(pdfOf(mails[0])?.content ?? "", "base64").equals(expected)).toBe(true);
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({
      deliveryStatus: "delivered",
      source: "poll",
    });
  });

  test("an expired pdf link: the link the delivery goes on with is the fresh one Lasso lists (a link-mode mail carries it)", async () => {
    const p = pipeline.current;
    const [customer] = (await putCustomers(90)) as [Customer];
    const { batch } = await rig.submitBatch({ customers: [customer], webhook: false });
    await p.sim.settle();
    const stale = itemOf(batch.id, customer.cvr).pdfurl ?? "";
    expect(p.sim.expirePdfLinks(batch.id)).toBe(1);
    const fresh = itemOf(batch.id, customer.cvr).pdfurl;
    const message: ReportReadyMessage = {
      version: 1,
      batchId: batch.id,
      cvr: customer.cvr,
      reportType: "Revision",
      itemStatus: "Completed",
      pdfUrl: stale,
      source: "poll",
      seenAt: new Date().toISOString(),
    };
    const fetched = await fetchWithFreshLink(
      stale,
      message,
      {
        fetchPdf: (url, deadline) =>
          fetchPdf(url, {
            allowedHosts: [new URL(p.sim.baseUrl).host],
            allowHttp: true,
            maxBytes: 1024 * 1024,
            totalTimeoutMs: Math.max(1, deadline.getTime() - Date.now()),
          }),
        lasso: async () => p.lassoClient(),
        logger: silentLog,
      },
      new Date(Date.now() + 10_000),
    );
    expect(fetched.pdfUrl).toBe(fresh);
    expect(fetched.pdfUrl).not.toBe(stale);
    const expected = Buffer.from((await p.sim.pdfBytes(itemOf(batch.id, customer.cvr).id)) ?? []);
    expect(fetched.pdf.bytes.equals(expected)).toBe(true);
  });

  test("a portal batch is delivered to the right customer after one confirmation call, and not before", async () => {
    const p = pipeline.current;
    const [customer, stranger] = (await putCustomers(88, 89)) as [Customer, Customer];
    // Someone in the portal made a batch with this webhook as its notification URL.
    const portal = (name: string, token: string, items: { cvr: string }[], webhook: string) =>
      p.lassoClient().createBatch(
        {
          batchName: `${name} ${token}`,
          type: "Revision",
          format: "{cvr}-{type}",
          items,
          notificationWebhookUrl: webhook,
          authConfig: { Method: "Header", Key: p.webhookHeaderName, Value: p.webhookSecret },
        },
        { uniqueToken: token },
      );
    const batch = await portal("Portal batch", "prtl0001", [{ cvr: customer.cvr }], rig.webhook.url);
    // And one that notifies another system: a ring for it (forged) adopts nothing.
    const elsewhere = await portal(
      "Other tool",
      "prtl0002",
      [{ cvr: customer.cvr }],
      "https://other.example.com/hook",
    );
    await p.sim.settle();
    simRequests.length = 0;
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(0);
    expect(getBatchCalls(batch.id)).toBe(0);

    // Any ring for the batch has it confirmed by Lasso (once) and read: what Lasso lists is
    // seen, for its own ring to deliver; the company the webhook named gets nothing.
    expect(await ring(webhookFor(batch.id, stranger.cvr))).toBe(200);
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(0);
    expect(getBatchCalls(batch.id)).toBe(1);
    const adopted = await getBatchRecord(p.state, batch.id);
    expect(adopted).toMatchObject({ customerCount: 0, reportType: "Revision" });
    // Made elsewhere: no manifest item, so its report is routed by Lasso's item and the customer table.
    const { Item: manifestItem } = await p.doc.send(
      new GetCommand({ TableName: p.state.tableName, Key: batchManifestKey(batch.id), ConsistentRead: true }),
    );
    expect(manifestItem).toBeUndefined();
    expect(adopted?.adoptedAt).toBeDefined();
    // Open while the report Lasso listed waits for its ring (or, later, the poller's send).
    expect(adopted?.closedAt).toBeUndefined();
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({
      ready: { batchId: batch.id, cvr: customer.cvr },
    });
    expect(await rig.report(batch.id, stranger.cvr)).toBeUndefined();

    // The report's own ring delivers it, to the customer of that company.
    expect(await ring(webhookFor(batch.id, customer.cvr))).toBe(200);
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    expect(recipientsOf(mails[0] as StoredMail)).toEqual([customer.email]);

    expect(await ring(webhookFor(elsewhere.id, customer.cvr))).toBe(200);
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(1);
    expect(await getBatchRecord(p.state, elsewhere.id)).toBeUndefined();
    expect((await getUnverifiedRecord(p.state, elsewhere.id, "BATCH"))?.reason).toBe(
      "Lasso notifies other.example.com for this batch, not ours: not adopted",
    );
    // The batch was confirmed once; the rest is its item list.
    expect(getBatchCalls(batch.id)).toBe(1);
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({
      deliveryStatus: "delivered",
      customerId: customer.customerId,
    });
  });

  test("a batch named with one of our run tokens that we have no record of is never delivered", async () => {
    const p = pipeline.current;
    const [customer] = (await putCustomers(90)) as [Customer];
    // What an ambiguous POST can leave behind: Lasso made the batch, our record names another.
    const { batch } = await rig.submitBatch({ customers: [customer], webhook: false, record: false });
    const twin = await p.lassoClient().createBatch(
      {
        batchName: "Månedlig 2026-12-01 (1/1) [lr-0123456789abcdef]",
        type: "Revision",
        format: "{cvr}-{type}",
        items: [{ cvr: customer.cvr, internalCustomerId: customer.customerId }],
      },
      { uniqueToken: "lr-0123456789abcdef" },
    );
    await rig.recordBatch(batch, [customer]);
    await p.sim.settle();

    expect(await ring(webhookFor(twin.id, customer.cvr))).toBe(200);
    expect(await ring(webhookFor(batch.id, customer.cvr))).toBe(200);
    await deliverAll();
    const mails = await rig.sentMails();
    expect(mails).toHaveLength(1);
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({ deliveryStatus: "delivered" });
    expect(await rig.report(twin.id, customer.cvr)).toBeUndefined();
    expect(
      (await getUnverifiedRecord(p.state, twin.id, { cvr: customer.cvr, reportType: "Revision" }))?.reason,
    ).toMatch(/one of our run tokens/);
    expect(await getBatchRecord(p.state, twin.id)).toBeUndefined();
  });

  test("the webhook path and the polling path compute the same identity for the same report", async () => {
    const p = pipeline.current;
    const customers = await putCustomers(91, 92, 93);
    p.sim.setWebhooksEnabled(true);
    const { batch, record } = await rig.submitBatch({ customers, webhook: true });
    await p.sim.settle();
    p.sim.setWebhooksEnabled(false);
    if (record === undefined) throw new Error("the batch was not recorded");

    const fromWebhooks = p.sim
      .webhookDeliveries()
      .filter((d) => d.kind === "report" && d.body.includes(batch.id))
      .map((d) => {
        const parsed = parseWebhookPayload(JSON.parse(d.body), new Date());
        if (!parsed.ok) throw new Error(parsed.reason);
        const [message] = parsed.messages;
        if (message === undefined) throw new Error("no message");
        return reportIdentity(
          { batchId: message.batchId, cvr: message.cvr, reportType: message.reportType ?? record.reportType },
          record,
        );
      });
    const page = await p.lassoClient().listItems(batch.id);
    const fromItems = page.items.map((item) => {
      const made = handOffEntryForItem(record, false, manifestCustomers(record.manifest), item, new Date());
      if (!made.ok) throw new Error(made.reason);
      return made.entry.identity;
    });
    expect(fromWebhooks).toHaveLength(3);
    expect(new Set(fromWebhooks)).toEqual(new Set(fromItems));
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(3);
  });
});
