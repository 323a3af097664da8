/**
 * Webhooks lost for about a third of the reports (Lasso gave up, or disabled our URL):
 * the rings deliver their own reports in place, the poller's messages deliver the others
 * once their hold for a ring is over, and every report is mailed once, from one message.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { type DeliveryRig, startDeliveryRig, startPoller } from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({
  sim: { reportDelayMs: 3, webhooksEnabled: true, faults: { seed: 3, webhookDropRate: 1 / 3 } },
});
let rig: DeliveryRig;
beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current);
});
afterAll(async () => {
  await rig?.close();
});

test("reports whose webhook was dropped are delivered from the poller's messages, once each", async () => {
  const p = pipeline.current;
  const customers = Array.from({ length: 30 }, (_, n) => ({ customerId: 1000 + n, cvr: testCvr(n) }));
  await p.putCustomers(customers.map((c) => customerItem(c.customerId - 1000)));

  const source = await rig.startDelivery();
  const { batch } = await rig.submitBatch({ customers });
  await p.sim.settle();
  // Webhooks first: each one that arrived rang, its ring read Lasso's item list and
  // delivered its own report in place; the reports whose webhook was lost are only seen
  // (held for a ring that does not come). Then the poller sends those, once the hold is over.
  await source.idle(30_000);
  const dropped = p.sim.webhookDeliveries().filter((d) => d.kind === "report" && d.outcome === "dropped");
  expect(dropped.length).toBeGreaterThanOrEqual(5);
  expect(dropped.length).toBeLessThanOrEqual(15);
  const byRings = rig.deliver.counter.total("DoorbellDeliversInPlace");
  expect(byRings).toBe(30 - dropped.length);
  expect(rig.deliver.counter.total("DoorbellHandedOn")).toBe(0);
  expect(await rig.sentMails()).toHaveLength(byRings);

  const poller = startPoller(p, 50, 1_000);
  for (let i = 0; i < 400 && (await rig.sentMails()).length < 30; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await poller.stop();
  await source.idle(30_000);
  await source.stop();

  const mails = await rig.sentMails();
  expect(mails).toHaveLength(30);
  expect(mails.flatMap((mail) => mail.destination.to).sort()).toEqual(
    customers.map((c) => `kunde${c.customerId - 1000}@example.dk`).sort(),
  );
  for (const customer of customers) {
    const record = await rig.report(batch.id, customer.cvr);
    expect(record?.deliveryStatus).toBe("delivered");
    // Whoever rang, what was mailed came from Lasso's item list.
    expect(record?.source).toBe("poll");
  }
  // One queue message per report: its ring, or (the webhook lost) the poller's.
  expect(poller.handedOn).toBe(dropped.length);
  expect(rig.webhook.counter.total("WebhookAccepted") + poller.handedOn).toBe(30);
  expect(rig.deliver.counter.total("ReportDelivered")).toBe(30);
  expect(rig.deliver.counter.total("DuplicateSkipped")).toBe(0);
});
