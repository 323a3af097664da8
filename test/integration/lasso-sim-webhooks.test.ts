/**
 * Webhook delivery of the Lasso simulator, received by a real node:http server.
 */

import { afterEach, describe, expect, it } from "vitest";
import type {
  BatchJson,
  LassoSimulator,
  LassoSimulatorOptions,
  WebhookPayload,
} from "#local/lasso-sim/index.ts";
import { startLassoSimulator } from "#local/lasso-sim/index.ts";
import { startWebhookReceiver, type WebhookReceiver } from "#test/support/webhook-receiver.ts";

type Receiver = WebhookReceiver<WebhookPayload>;
const startReceiver = (answer?: (n: number) => number): Promise<Receiver> =>
  startWebhookReceiver<WebhookPayload>(answer);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sim(options: LassoSimulatorOptions = {}): Promise<LassoSimulator> {
  const s = await startLassoSimulator({ reportDelayMs: 2, ...options });
  cleanups.push(() => s.close());
  return s;
}
async function receiver(answer?: (n: number) => number): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanups.push(() => r.close());
  return r;
}

async function createBatch(s: LassoSimulator, body: Record<string, unknown>): Promise<BatchJson> {
  const res = await fetch(`${s.baseUrl}/apps/reporting/batches`, {
    method: "POST",
    headers: { "lasso-api-key": s.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ batchName: "Webhooks", type: "Revision", format: "{cvr}-{name}", ...body }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as BatchJson;
}

describe("Lasso simulator webhooks", () => {
  it("posts one delivery per finished report with Header auth and the documented payload", async () => {
    const s = await sim();
    const r = await receiver();
    const batch = await createBatch(s, {
      notificationWebhookUrl: r.url,
      authConfig: { Method: "Header", Key: "X-API-KEY", Value: "dm12d82mdlakd2" },
      errorAppend: "#error",
      items: [{ cvr: 34580820, internalCustomerId: 1234 }, { cvr: 34580821 }],
    });
    expect(batch.notificationWebHookUrl).toBe(r.url);
    await s.settle();
    expect(r.received).toHaveLength(2);
    const items = s.batches().find((b) => b.id === batch.id)?.items ?? [];
    for (const [i, delivery] of r.received.entries()) {
      expect(delivery.headers["x-api-key"]).toBe("dm12d82mdlakd2");
      expect(delivery.headers.authorization).toBeUndefined();
      expect(delivery.headers["content-type"]).toMatch(/^application\/json/);
      const item = items[i];
      expect(delivery.body).toEqual({
        batchId: batch.id,
        batchName: "Webhooks",
        lassoId: `CVR-1-${item?.cvr}`,
        cvr: item?.cvr,
        companyName: item?.name,
        reportType: "Revision",
        printType: 0,
        status: item?.status,
        pdfUrl: item?.pdfurl,
        fileName: item?.fileName,
        internalCustomerId: item?.internalCustomerId,
        reportId: item?.id,
        timestamp: item?.timestamp,
        errorMessage: item?.errorMessage,
      });
    }
    expect(r.received.map((d) => d.body.status)).toEqual(["Completed", "Failed"]);
    expect(r.received[1]?.body.fileName).toBe("34580821-#error.pdf");
    // The pdfUrl in a delivery fetches the report without any key.
    const pdf = await fetch(r.received[0]?.body.pdfUrl ?? "");
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString("latin1"),
    ).toBe("%PDF-");
    const log = s.webhookDeliveries();
    expect(log.map((e) => [e.outcome, e.status, e.attempt])).toEqual([
      ["delivered", 200, 1],
      ["delivered", 200, 1],
    ]);
    expect(log[0]?.headers["X-API-KEY"]).toBe("dm12d82mdlakd2");
  });

  it("applies BasicAuth as an Authorization: Basic header", async () => {
    const s = await sim();
    const r = await receiver();
    await createBatch(s, {
      notificationWebhookUrl: r.url,
      authConfig: { method: "BasicAuth", key: "lasso", value: "s3cret:æ" },
      items: [{ cvr: 34580820 }],
    });
    await s.settle();
    expect(r.received).toHaveLength(1);
    const auth = r.received[0]?.headers.authorization ?? "";
    expect(auth.startsWith("Basic ")).toBe(true);
    expect(Buffer.from(auth.slice(6), "base64").toString("utf8")).toBe("lasso:s3cret:æ");
  });

  it("retries a delivery answered 500 on the scaled schedule", async () => {
    const s = await sim({ webhookRetryScale: 0.0001 }); // first retry after 5 min × 0.0001 = 30 ms
    const r = await receiver((n) => (n === 0 ? 500 : 200));
    const started = Date.now();
    await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 34580820 }] });
    await s.settle();
    expect(r.received).toHaveLength(2);
    expect(r.received[1]?.body).toEqual(r.received[0]?.body);
    const log = s.webhookDeliveries();
    expect(log.map((e) => [e.attempt, e.status, e.outcome])).toEqual([
      [1, 500, "failed"],
      [2, 200, "delivered"],
    ]);
    expect(log[0]?.deliveryId).toBe(log[1]?.deliveryId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });

  it("gives up after 5 retries, then disables a URL failing for the scaled 24 h", async () => {
    // The 5 retries of one delivery take about 740 ms (schedule × 0.00001); the disable
    // window is set well apart from that so that a loaded machine cannot blur the two.
    const s = await sim({ webhookRetryScale: 0.00001, webhookDisableAfterMs: 2500 });
    const r = await receiver(() => 500);
    await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 34580820 }] });
    await s.settle();
    expect(r.received).toHaveLength(6);
    expect(s.webhookDeliveries().map((e) => e.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.disabledWebhookUrls()).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 2600));
    await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 34580820 }] });
    await s.settle();
    expect(r.received).toHaveLength(7);
    expect(s.disabledWebhookUrls()).toEqual([r.url]);

    await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 12345674 }] });
    await s.settle();
    expect(r.received).toHaveLength(7);
    expect(s.webhookDeliveries().at(-1)?.outcome).toBe("disabled");
  });

  it("sends nothing while webhooks are switched off", async () => {
    const s = await sim({ webhooksEnabled: false });
    const r = await receiver();
    const batch = await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 34580820 }] });
    await s.settle();
    expect(r.received).toEqual([]);
    expect(s.batches().find((b) => b.id === batch.id)?.items).toHaveLength(1);
    const toggle = await fetch(`${s.baseUrl}/_sim/webhooks?enabled=true`, { method: "POST" });
    expect(await toggle.json()).toEqual({ enabled: true });
    await createBatch(s, { notificationWebhookUrl: r.url, items: [{ cvr: 34580820 }] });
    await s.settle();
    expect(r.received).toHaveLength(1);
    const log = (await (await fetch(`${s.baseUrl}/_sim/webhooks`)).json()) as { deliveries: unknown[] };
    expect(log.deliveries).toHaveLength(1);
  });

  it("duplicates and drops deliveries as the seeded faults say", async () => {
    const dup = await sim({ faults: { seed: 3, webhookDuplicateRate: 1, webhookDuplicateCount: 2 } });
    const r1 = await receiver();
    await createBatch(dup, { notificationWebhookUrl: r1.url, items: [{ cvr: 34580820 }, { cvr: 12345674 }] });
    await dup.settle();
    expect(r1.received).toHaveLength(6);
    const perReport = new Map<string, number>();
    for (const d of r1.received) perReport.set(d.body.reportId, (perReport.get(d.body.reportId) ?? 0) + 1);
    expect([...perReport.values()]).toEqual([3, 3]);
    expect(dup.webhookDeliveries().filter((e) => e.duplicate)).toHaveLength(4);

    const drop = await sim({ faults: { seed: 3, webhookDropRate: 1 } });
    const r2 = await receiver();
    await createBatch(drop, { notificationWebhookUrl: r2.url, items: [{ cvr: 34580820 }] });
    await drop.settle();
    expect(r2.received).toEqual([]);
    expect(drop.webhookDeliveries().map((e) => e.outcome)).toEqual(["dropped"]);
  });

  it("delivers out of order with webhookReorder, the same way for the same seed", async () => {
    // Seed 3 draws extra delays of about 230, 358, 136, 277, 110 and 25 ms (at least ~25 ms apart).
    const order = async (): Promise<number[]> => {
      const s = await sim({
        reportDelayMs: 1,
        faults: { seed: 3, webhookReorder: true, webhookReorderMaxDelayMs: 400 },
      });
      const r = await receiver();
      const cvrs = [34580820, 12345674, 30000003, 30000011, 30000038, 30000046];
      await createBatch(s, { notificationWebhookUrl: r.url, items: cvrs.map((cvr) => ({ cvr })) });
      await s.settle();
      const produced = s.batches()[0]?.items.map((i) => i.id) ?? [];
      expect(new Set(r.received.map((d) => d.body.reportId))).toEqual(new Set(produced));
      return r.received.map((d) => produced.indexOf(d.body.reportId));
    };
    expect(await order()).toEqual([5, 4, 2, 0, 3, 1]);
    expect(await order()).toEqual([5, 4, 2, 0, 3, 1]);
  });
});

describe("Lasso simulator webhook test endpoint", () => {
  const test = (s: LassoSimulator, query: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${s.baseUrl}/apps/reporting/webhooktest?${query}`, {
      ...init,
      headers: { "lasso-api-key": s.apiKey, "content-type": "application/json" },
    });

  it("GET sends one unauthenticated dummy delivery and reports the answer", async () => {
    const s = await sim();
    const r = await receiver();
    const batchId = "d2e61fbf-7562-4ffb-ba33-52396c0ba12d";
    const res = await test(
      s,
      `url=${encodeURIComponent(r.url)}&lassoId=cvr-1-34580820&batchId=${batchId}&reportType=ReelleEjere`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, statusCode: 200 });
    expect(r.received).toHaveLength(1);
    const delivery = r.received[0];
    expect(delivery?.headers.authorization).toBeUndefined();
    expect(delivery?.body).toMatchObject({
      batchId,
      lassoId: "CVR-1-34580820",
      cvr: 34580820,
      reportType: "ReelleEjere",
      printType: 2,
      status: "Completed",
    });
    const pdf = await fetch(delivery?.body.pdfUrl ?? "");
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(s.webhookDeliveries().map((e) => e.kind)).toEqual(["test"]);
  });

  it("POST applies the auth configuration from the body, in any key casing", async () => {
    const s = await sim();
    const r = await receiver(() => 503);
    const res = await test(s, `url=${encodeURIComponent(r.url)}&reportType=Revision`, {
      method: "POST",
      body: JSON.stringify({ Method: "Header", Key: "X-API-KEY", Value: "dm12d82mdlakd2" }),
    });
    expect(await res.json()).toMatchObject({ success: false, statusCode: 503 });
    expect(r.received[0]?.headers["x-api-key"]).toBe("dm12d82mdlakd2");
    expect(r.received).toHaveLength(1);
  });

  it("answers 400 for a missing or invalid url and a malformed auth body", async () => {
    const s = await sim();
    expect((await test(s, "lassoId=CVR-1-34580820")).status).toBe(400);
    expect((await test(s, "url=ftp%3A%2F%2Fexample.com")).status).toBe(400);
    expect((await test(s, "url=not-a-url")).status).toBe(400);
    const bad = await test(s, `url=${encodeURIComponent("http://127.0.0.1:9/x")}`, {
      method: "POST",
      body: JSON.stringify({ Method: "Digest", Key: "k", Value: "v" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/Method must be one of/);
  });

  it("reports an unreachable target without failing the call", async () => {
    const s = await sim();
    const r = await receiver();
    const deadUrl = r.url;
    await r.close();
    const res = await test(s, `url=${encodeURIComponent(deadUrl)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: false, statusCode: null });
  });
});
