/**
 * A retry the other side timed: the PDF host answers 429 with a retry-after longer than
 * the delivery's patience, so the delivery defers the message by that much (SQS
 * ChangeMessageVisibility on the real queue emulator) instead of leaving it for the
 * queue's visibility timeout; it then comes back and is delivered once.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { type FetchedPdf, fetchPdf, PdfFetchError } from "#shared/pdf/fetch.ts";
import { type DeliveryRig, startDeliveryRig, startPoller } from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({ sim: { reportDelayMs: 3, webhooksEnabled: false } });
let rig: DeliveryRig;
const fetchedAt: number[] = [];

beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current, {
    wiring: {
      // The first download is throttled for 2 s; the rest are real.
      fetchPdf: async (url): Promise<FetchedPdf> => {
        fetchedAt.push(Date.now());
        if (fetchedAt.length === 1) {
          throw new PdfFetchError("http-status", "pdf host answered 429", {
            retryable: true,
            status: 429,
            retryAfterMs: 2000,
          });
        }
        return fetchPdf(url, { ...rig.deliver.settings.pdf });
      },
    },
  });
});
afterAll(async () => {
  await rig?.close();
});

test("a throttled report comes back after retry-after, not after the visibility timeout", async () => {
  const p = pipeline.current;
  // The report-ready queue's visibility timeout is 30 s here: far longer than the 2 s asked.
  const customers = [{ customerId: 1000, cvr: testCvr(0) }];
  await p.putCustomers([customerItem(0)]);
  const { batch } = await rig.submitBatch({ customers, webhook: false });
  await p.sim.settle();
  const poller = startPoller(p);
  const source = await rig.startDelivery();
  for (let i = 0; i < 300 && (await rig.sentMails()).length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await poller.stop();
  await source.stop();

  expect(await rig.sentMails()).toHaveLength(1);
  expect(fetchedAt).toHaveLength(2);
  const waited = (fetchedAt[1] ?? 0) - (fetchedAt[0] ?? 0);
  expect(waited).toBeGreaterThanOrEqual(2000);
  expect(waited).toBeLessThan(15_000);
  expect(rig.deliver.counter.total("DeliveryRetried")).toBe(1);
  expect((await rig.report(batch.id, customers[0]?.cvr ?? ""))?.deliveryStatus).toBe("delivered");
});
