/**
 * Contract tests: the production LassoClient against the Lasso simulator over real HTTP,
 * for every endpoint of the contract and every batch and item status it lists.
 */
import { Buffer } from "node:buffer";
import { PDFDocument } from "pdf-lib";
import { afterEach, describe, expect, test } from "vitest";
import type { LassoSimulator, LassoSimulatorOptions } from "#local/lasso-sim/index.ts";
import { startLassoSimulator } from "#local/lasso-sim/index.ts";
import { LassoClient, type LassoClientOptions } from "#shared/lasso/client.ts";
import type { BatchStatus, ItemStatus } from "#shared/lasso/enums.ts";
import { LassoApiError, LassoNetworkError } from "#shared/lasso/errors.ts";
import type { CreateBatchRequest, LassoBatch, LassoItem } from "#shared/lasso/schemas.ts";
import { startWebhookReceiver } from "#test/support/webhook-receiver.ts";
import { zipEntries } from "#test/support/zip.ts";

// Valid under the modulus-11 check; 12345679 is not (an unknown company: its report fails).
const KNOWN_CVRS = ["34580820", "12345674", "10000009", "10000017", "10000025"] as const;
const UNKNOWN_CVR = "12345679";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulator(options: LassoSimulatorOptions = {}): Promise<LassoSimulator> {
  const sim = await startLassoSimulator({ reportDelayMs: 2, ...options });
  cleanups.push(() => sim.close());
  return sim;
}

function clientFor(sim: LassoSimulator, options: Partial<LassoClientOptions> = {}): LassoClient {
  return new LassoClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.apiKey,
    timeoutMs: 2000,
    retry: { retries: 4, minDelayMs: 5, maxDelayMs: 50, maxTotalMs: 10_000 },
    ...options,
  });
}

let tokenCounter = 0;
function batchRequest(overrides: Partial<CreateBatchRequest> = {}): {
  request: CreateBatchRequest;
  token: string;
} {
  tokenCounter += 1;
  const token = `tok-${process.pid}-${tokenCounter}-${Date.now()}`;
  return {
    token,
    request: {
      batchName: `contract [${token}]`,
      type: "Revision",
      format: "{cvr}-{name}-{type}",
      items: KNOWN_CVRS.slice(0, 2).map((cvr, index) => ({ cvr, internalCustomerId: 100 + index })),
      ...overrides,
    },
  };
}

async function waitForStatus(
  client: LassoClient,
  id: string,
  statuses: readonly BatchStatus[],
  seen: BatchStatus[] = [],
): Promise<LassoBatch> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const batch = await client.getBatch(id);
    if (seen.at(-1) !== batch.status) seen.push(batch.status);
    if (statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline)
      throw new Error(`batch ${id} still ${batch.status}, wanted ${statuses.join("/")}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function allItems(client: LassoClient, id: string, status?: ItemStatus): Promise<LassoItem[]> {
  const items: LassoItem[] = [];
  for await (const item of client.iterateItems(id, status ? { status } : {})) items.push(item);
  return items;
}

describe("batch lifecycle", () => {
  test("a batch goes Initializing → Executing → Finished and reports its size and completion", async () => {
    const sim = await simulator({ reportDelayMs: 60, initializingMs: 60 });
    const client = clientFor(sim);
    const { request, token } = batchRequest({ items: KNOWN_CVRS.map((cvr) => ({ cvr })) });
    const created = await client.createBatch(request, { uniqueToken: token });
    expect(created.name).toContain(token);
    expect(created.type).toBe("Revision");
    expect(created.batchSize).toBe(KNOWN_CVRS.length);

    const seen: BatchStatus[] = [created.status];
    const finished = await waitForStatus(client, created.id, ["Finished"], seen);
    expect(seen).toEqual(expect.arrayContaining(["Initializing", "Executing", "Finished"]));
    expect(seen.indexOf("Executing")).toBeGreaterThan(seen.indexOf("Initializing"));
    expect(finished.completionPercentage).toBe(1);
    expect(finished.batchSize).toBe(KNOWN_CVRS.length);

    const listed = await client.listBatches();
    expect(listed.map((batch) => batch.id)).toContain(created.id);
  });

  test("a Warning item gives FinishedWithWarning and a Failed one FinishedWithErrors", async () => {
    const sim = await simulator({ faults: { forceItemStatus: { [KNOWN_CVRS[1]]: "Warning" } } });
    const client = clientFor(sim);
    const warning = batchRequest();
    const withWarning = await client.createBatch(warning.request, { uniqueToken: warning.token });
    expect((await waitForStatus(client, withWarning.id, ["FinishedWithWarning", "Finished"])).status).toBe(
      "FinishedWithWarning",
    );

    const failing = batchRequest({
      items: [{ cvr: KNOWN_CVRS[0] }, { cvr: UNKNOWN_CVR }],
      errorAppend: "#fejl",
    });
    const withErrors = await client.createBatch(failing.request, { uniqueToken: failing.token });
    expect((await waitForStatus(client, withErrors.id, ["FinishedWithErrors", "Finished"])).status).toBe(
      "FinishedWithErrors",
    );
    const failed = await allItems(client, withErrors.id, "Failed");
    expect(failed.map((item) => item.cvr)).toEqual([UNKNOWN_CVR]);
    expect(failed[0]?.fileName).toMatch(/#fejl\.pdf$/);
  });

  test("a batch scheduled in the future stays Scheduled with no finished items", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const later = new Date(Date.now() + 60 * 60 * 1000).toISOString().slice(0, 19).replace("T", " ");
    const { request, token } = batchRequest({ scheduledTime: later });
    const created = await client.createBatch(request, { uniqueToken: token });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const batch = await client.getBatch(created.id);
    expect(batch.status).toBe("Scheduled");
    expect(batch.completionPercentage).toBe(0);
    expect(await allItems(client, created.id)).toEqual([]);
  });

  test("a listener batch listens, reports on a change, and stops", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const { request, token } = batchRequest({ type: "ReelleEjere", isListener: true, triggerNow: true });
    const created = await client.createBatch(request, { uniqueToken: token });
    expect(created.isListener).toBe(true);
    await waitForStatus(client, created.id, ["Listening"]);
    await sim.settle();
    const initial = await allItems(client, created.id);
    expect(initial.map((item) => item.cvr).sort()).toEqual([...KNOWN_CVRS.slice(0, 2)].sort());

    const changedReportId = sim.triggerChange(created.id, KNOWN_CVRS[0]);
    await sim.settle();
    const afterChange = await allItems(client, created.id);
    expect(afterChange).toHaveLength(initial.length + 1);
    const newReport = afterChange.find((item) => item.id === changedReportId);
    expect(newReport?.cvr).toBe(KNOWN_CVRS[0]);
    expect(newReport?.printType).toBe("ReelleEjere");

    sim.stopListening(created.id);
    expect((await waitForStatus(client, created.id, ["ListeningStopped"])).isListener).toBe(true);
  });

  test("a listener batch of a type that cannot listen is refused with the server's reason", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const { request, token } = batchRequest({ type: "Revision", isListener: true });
    const error = await client.createBatch(request, { uniqueToken: token }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoApiError);
    expect((error as LassoApiError).status).toBe(400);
    expect((error as LassoApiError).message).toMatch(/listen/i);
    expect(sim.batches()).toHaveLength(0);
  });
});

describe("finished items, PDFs and the zip", () => {
  test("items come in several pages, filtered by each status, with PDFs that open", async () => {
    const sim = await simulator({
      itemsPageSize: 4,
      faults: { forceItemStatus: { [KNOWN_CVRS[2]]: "Warning" } },
    });
    const client = clientFor(sim);
    const cvrs = [...KNOWN_CVRS, UNKNOWN_CVR];
    const { request, token } = batchRequest({
      items: cvrs.map((cvr, index) => ({ cvr, internalCustomerId: 500 + index })),
      errorAppend: "-error",
    });
    const created = await client.createBatch(request, { uniqueToken: token });
    await waitForStatus(client, created.id, ["FinishedWithErrors"]);

    const firstPage = await client.listItems(created.id);
    expect(firstPage.items).toHaveLength(4);
    expect(firstPage.continuationToken).toBeTruthy();

    const all = await allItems(client, created.id);
    expect(all.map((item) => item.cvr).sort()).toEqual([...cvrs].sort());
    expect(new Set(all.map((item) => item.id)).size).toBe(cvrs.length);
    expect((await allItems(client, created.id, "Completed")).map((item) => item.cvr).sort()).toEqual(
      [KNOWN_CVRS[0], KNOWN_CVRS[1], KNOWN_CVRS[3], KNOWN_CVRS[4]].sort(),
    );
    expect((await allItems(client, created.id, "Warning")).map((item) => item.cvr)).toEqual([KNOWN_CVRS[2]]);
    expect((await allItems(client, created.id, "Failed")).map((item) => item.cvr)).toEqual([UNKNOWN_CVR]);

    const completed = all.find((item) => item.status === "Completed");
    expect(completed?.internalCustomerId).toBeGreaterThanOrEqual(500);
    expect(completed?.fileName).toMatch(new RegExp(`^${completed?.internalCustomerId}_${completed?.cvr}-`));
    const pdf = new Uint8Array(await (await fetch(String(completed?.pdfUrl))).arrayBuffer());
    expect(Buffer.from(pdf.subarray(0, 5)).toString("latin1")).toBe("%PDF-");
    expect((await PDFDocument.load(pdf)).getPageCount()).toBeGreaterThan(0);

    const zip = await zipEntries(await client.downloadBatchZip(created.id));
    expect([...zip.keys()].sort()).toEqual(all.map((item) => item.fileName).sort());
    for (const [name, bytes] of zip) {
      expect(bytes.subarray(0, 5).toString("latin1"), name).toBe("%PDF-");
      await PDFDocument.load(bytes);
    }
    const zipped = zip.get(String(completed?.fileName));
    expect(zipped && Buffer.compare(zipped, Buffer.from(pdf))).toBe(0);
  });
});

describe("webhooks", () => {
  test("each finished report is posted with the Header auth configured on the batch", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const receiver = await startWebhookReceiver<Record<string, unknown>>();
    cleanups.push(() => receiver.close());
    const { request, token } = batchRequest({
      notificationWebhookUrl: receiver.url,
      authConfig: { Method: "Header", Key: "X-Webhook-Secret", Value: "s3cret-value" },
    });
    const created = await client.createBatch(request, { uniqueToken: token });
    await waitForStatus(client, created.id, ["Finished"]);
    await sim.settle();
    expect(receiver.received).toHaveLength(2);
    for (const delivery of receiver.received) {
      expect(delivery.method).toBe("POST");
      expect(delivery.headers["x-webhook-secret"]).toBe("s3cret-value");
      expect(delivery.body.batchId).toBe(created.id);
    }
    expect(receiver.received.map((delivery) => String(delivery.body.cvr)).sort()).toEqual(
      [...KNOWN_CVRS.slice(0, 2)].sort(),
    );
  });

  test("BasicAuth sends Key and Value as user and password", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const { request, token } = batchRequest({
      items: [{ cvr: KNOWN_CVRS[0] }],
      notificationWebhookUrl: receiver.url,
      authConfig: { Method: "BasicAuth", Key: "lasso", Value: "pa:ss" },
    });
    await client.createBatch(request, { uniqueToken: token });
    await sim.settle();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from("lasso:pa:ss").toString("base64")}`,
    );
  });

  test("the webhook test endpoint sends one dummy delivery, without and with auth", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const receiver = await startWebhookReceiver<Record<string, unknown>>();
    cleanups.push(() => receiver.close());
    const common = {
      url: receiver.url,
      lassoId: "CVR-1-34580820",
      batchId: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
    };

    await client.testWebhook({ ...common, reportType: "Revision" });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.headers["x-api-key"]).toBeUndefined();
    expect(receiver.received[0]?.body.lassoId).toBe("CVR-1-34580820");

    await client.testWebhook({
      ...common,
      reportType: "ReelleEjere",
      authConfig: { Method: "Header", Key: "X-API-KEY", Value: "dm12d82mdlakd2" },
    });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.headers["x-api-key"]).toBe("dm12d82mdlakd2");
    expect(receiver.received[1]?.body.batchId).toBe(common.batchId);
  });
});

describe("refusals, rate limit and faults", () => {
  test("a wrong API key is refused with 401, and the key is not in the error", async () => {
    const sim = await simulator();
    const client = clientFor(sim, { apiKey: "not-the-key-0123456789" });
    const error = await client.listBatches().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoApiError);
    expect((error as LassoApiError).status).toBe(401);
    expect(JSON.stringify(error)).not.toContain("not-the-key-0123456789");
    expect(String((error as Error).message)).not.toContain("not-the-key-0123456789");
  });

  test("429 with retry-after is waited out and the call then succeeds", async () => {
    const sim = await simulator({ rateLimitPerMinute: 3, rateLimitWindowMs: 1000 });
    const slept: number[] = [];
    const client = clientFor(sim, {
      sleep: (ms) => {
        slept.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    for (let call = 0; call < 3; call++) await client.listBatches();
    const started = Date.now();
    await expect(client.listBatches()).resolves.toEqual([]);
    expect(slept.some((ms) => ms >= 1000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test("injected 500 and 503 on reads are retried until they pass", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    const { request, token } = batchRequest();
    const created = await client.createBatch(request, { uniqueToken: token });
    sim.injectFault({ route: "getBatch", status: 503, times: 2 });
    sim.injectFault({ route: "listItems", status: 500, times: 2 });
    expect((await client.getBatch(created.id)).id).toBe(created.id);
    await sim.settle();
    expect(await allItems(client, created.id)).toHaveLength(2);
  });

  test("an ambiguous POST (accepted, then 500) is resolved without a second batch", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    sim.injectFault({ route: "createBatch", status: 500, times: 1, mode: "afterAccept" });
    const { request, token } = batchRequest();
    const created = await client.createBatch(request, { uniqueToken: token });
    expect(created.name).toContain(token);
    expect(sim.batches().map((batch) => batch.id)).toEqual([created.id]);
  });

  test("a POST that times out after acceptance is resolved without a second batch", async () => {
    const sim = await simulator();
    const client = clientFor(sim, { timeoutMs: 200 });
    sim.injectFault({ route: "createBatch", kind: "timeout", delayMs: 600, times: 1, mode: "afterAccept" });
    const { request, token } = batchRequest();
    const created = await client.createBatch(request, { uniqueToken: token });
    expect(sim.batches().map((batch) => batch.id)).toEqual([created.id]);
  });

  test("a POST refused before acceptance (503) is posted again, once", async () => {
    const sim = await simulator();
    const client = clientFor(sim);
    sim.injectFault({ route: "createBatch", status: 503, times: 1, mode: "before" });
    const { request, token } = batchRequest();
    const created = await client.createBatch(request, { uniqueToken: token });
    expect(sim.batches().map((batch) => batch.id)).toEqual([created.id]);
  });

  test("an unreachable API gives a network error naming the call", async () => {
    const sim = await simulator();
    const baseUrl = sim.baseUrl;
    await sim.close();
    cleanups.pop();
    const client = new LassoClient({
      baseUrl,
      apiKey: "k",
      timeoutMs: 300,
      retry: { retries: 1, minDelayMs: 1 },
    });
    const error = await client.getBatch("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoNetworkError);
    expect((error as Error).message).toMatch(/getBatch/);
  });
});
