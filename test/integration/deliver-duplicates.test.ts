/**
 * Exactly one mail per report when the same report arrives many times: the simulator
 * sends every webhook three times, in shuffled order, while the poller hands the same
 * reports on too. Mails are counted in aws-ses-v2-local's store.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { type DeliveryRig, type StoredMail, startDeliveryRig, startPoller } from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({
  sim: {
    reportDelayMs: 3,
    webhooksEnabled: true,
    faults: { seed: 7, webhookDuplicateRate: 1, webhookDuplicateCount: 2, webhookReorder: true },
  },
});
let rig: DeliveryRig;
beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current, { eventSource: { maxConcurrency: 3 } });
});
afterAll(async () => {
  await rig?.close();
});

test("webhooks three times each, reordered, and the poller running: one mail per report", async () => {
  const p = pipeline.current;
  const customers = Array.from({ length: 30 }, (_, n) => ({ customerId: 1000 + n, cvr: testCvr(n) }));
  await p.putCustomers(customers.map((c) => customerItem(c.customerId - 1000)));

  const source = await rig.startDelivery();
  const poller = startPoller(p);
  const { batch } = await rig.submitBatch({ customers });
  await p.sim.settle();
  // Until every report was delivered (by its ring, in place, or from the poller's message)
  // and the queue ran dry.
  const delivered = async () => {
    let n = 0;
    for (const c of customers) if ((await rig.report(batch.id, c.cvr))?.deliveryStatus === "delivered") n++;
    return n;
  };
  for (let i = 0; i < 300 && (await delivered()) < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await poller.stop();
  await source.idle(30_000);
  await source.stop();

  const deliveries = p.sim
    .webhookDeliveries()
    .filter((d) => d.kind === "report" && d.outcome === "delivered");
  expect(deliveries).toHaveLength(90);
  expect(deliveries.filter((d) => d.duplicate)).toHaveLength(60);
  // No report went on the queue twice: the rings and the poller share the hand-off markers
  // and the batch's read lease; most were delivered by their own ring, without a message.
  const handedOn = poller.handedOn + rig.deliver.counter.total("DoorbellHandedOn");
  const inPlace = rig.deliver.counter.total("DoorbellDeliversInPlace");
  expect(handedOn).toBeLessThanOrEqual(30);
  expect(inPlace).toBeGreaterThan(0);

  const mails = await rig.sentMails();
  expect(mails).toHaveLength(30);
  const recipients = mails.flatMap((mail: StoredMail) => mail.destination.to).sort();
  expect(recipients).toEqual(customers.map((c) => `kunde${c.customerId - 1000}@example.dk`).sort());
  for (const customer of customers) {
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({ deliveryStatus: "delivered" });
  }
  // 90 webhook rings and 30 reports: 30 delivered, no report on the queue twice, and every
  // ring settled without a mail of its own (a second ring delivering the same report at the
  // same moment loses the report's claim: a skipped duplicate, never a second mail). On a loaded machine the simulator may give up on
  // a slow answer and ring again (its retry), so we may accept a ring more than 90 times,
  // but never more often than the simulator rang.
  const attempts = p.sim.webhookDeliveries().filter((d) => d.kind === "report").length;
  expect(rig.webhook.counter.total("WebhookAccepted")).toBeGreaterThanOrEqual(90);
  expect(rig.webhook.counter.total("WebhookAccepted")).toBeLessThanOrEqual(attempts);
  expect(rig.deliver.counter.total("ReportDelivered")).toBe(30);
  expect(rig.deliver.counter.total("WebhookUnverified")).toBe(0);
  for (const customer of customers) expect((await rig.report(batch.id, customer.cvr))?.source).toBe("poll");
});
