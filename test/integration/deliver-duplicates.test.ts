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
  // Until every report was handed on (by the poller or by a webhook's ring), and the queue ran dry.
  const handedOn = () => poller.handedOn + rig.deliver.counter.total("DoorbellHandedOn");
  for (let i = 0; i < 200; i++) {
    const status = p.sim.batches().find((b) => b.id === batch.id)?.status;
    if (status?.startsWith("Finished") && handedOn() >= 30) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await poller.stop();
  await source.idle(30_000);
  await source.stop();

  const deliveries = p.sim
    .webhookDeliveries()
    .filter((d) => d.kind === "report" && d.outcome === "delivered");
  expect(deliveries).toHaveLength(90);
  expect(deliveries.filter((d) => d.duplicate)).toHaveLength(60);
  // Each report went on the queue once, from Lasso's item list: the rings and the poller share
  // the hand-off markers and the batch's read lease.
  expect(handedOn()).toBe(30);

  const mails = await rig.sentMails();
  expect(mails).toHaveLength(30);
  const recipients = mails.flatMap((mail: StoredMail) => mail.destination.to).sort();
  expect(recipients).toEqual(customers.map((c) => `kunde${c.customerId - 1000}@example.dk`).sort());
  for (const customer of customers) {
    expect(await rig.report(batch.id, customer.cvr)).toMatchObject({ deliveryStatus: "delivered" });
  }
  // 90 webhook rings and 30 reports: 30 delivered, no report on the queue twice, and every
  // ring settled without a mail of its own. On a loaded machine the simulator may give up on
  // a slow answer and ring again (its retry), so we may accept a ring more than 90 times,
  // but never more often than the simulator rang.
  const attempts = p.sim.webhookDeliveries().filter((d) => d.kind === "report").length;
  expect(rig.webhook.counter.total("WebhookAccepted")).toBeGreaterThanOrEqual(90);
  expect(rig.webhook.counter.total("WebhookAccepted")).toBeLessThanOrEqual(attempts);
  expect(rig.deliver.counter.total("ReportDelivered")).toBe(30);
  expect(rig.deliver.counter.total("DuplicateSkipped")).toBe(0);
  expect(rig.deliver.counter.total("WebhookUnverified")).toBe(0);
  for (const customer of customers) expect((await rig.report(batch.id, customer.cvr))?.source).toBe("poll");
});
