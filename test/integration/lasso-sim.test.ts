/**
 * The Lasso simulator driven over real HTTP with plain fetch, as a client would.
 */

import { PDFDocument } from "pdf-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchJson, ItemJson, LassoSimulator, LassoSimulatorOptions } from "#local/lasso-sim/index.ts";
import { startLassoSimulator } from "#local/lasso-sim/index.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";
import { zipEntries } from "#test/support/zip.ts";

const KNOWN = ["34580820", "12345674"];
function validCvrs(start: number, count: number): string[] {
  const out: string[] = [];
  for (let n = start; out.length < count; n++) if (hasValidCvrChecksum(String(n))) out.push(String(n));
  return out;
}
const MANY = validCvrs(30_000_000, 10);
const WARNING_CVR = MANY[9] ?? "";

interface Client {
  sim: LassoSimulator;
  call(path: string, init?: RequestInit): Promise<Response>;
  create(body: unknown): Promise<BatchJson>;
  batch(id: string): Promise<BatchJson>;
  items(id: string, query?: string): Promise<{ items: ItemJson[]; continuationToken: string | null }>;
  allItems(id: string, query?: string): Promise<ItemJson[]>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<BatchJson>;
}

function clientFor(sim: LassoSimulator): Client {
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${sim.baseUrl}${path}`, {
      ...init,
      headers: { "lasso-api-key": sim.apiKey, "content-type": "application/json", ...(init.headers ?? {}) },
    });
  const client: Client = {
    sim,
    call,
    async create(body) {
      const res = await call("/apps/reporting/batches", { method: "POST", body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as BatchJson;
    },
    async batch(id) {
      const res = await call(`/apps/reporting/batches/${id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as BatchJson;
    },
    async items(id, query = "") {
      const res = await call(`/apps/reporting/batches/${id}/items${query}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as { items: ItemJson[]; continuationToken: string | null };
    },
    async allItems(id, query = "") {
      const all: ItemJson[] = [];
      let token: string | null = null;
      do {
        const sep = query === "" ? "?" : "&";
        const page = await client.items(
          id,
          token === null ? query : `${query}${sep}cToken=${encodeURIComponent(token)}`,
        );
        all.push(...page.items);
        token = page.continuationToken;
      } while (token !== null);
      return all;
    },
    async waitForStatus(id, statuses, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const batch = await client.batch(id);
        if (statuses.includes(batch.status)) return batch;
        if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
  return client;
}

const base = { batchName: "Test batch", type: "Revision", format: "{cvr}-{name}-{type}" };

async function withSim<T>(options: LassoSimulatorOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const sim = await startLassoSimulator(options);
  try {
    return await fn(clientFor(sim));
  } finally {
    await sim.close();
  }
}

describe("Lasso simulator over HTTP", () => {
  let sim: LassoSimulator;
  let c: Client;

  beforeAll(async () => {
    sim = await startLassoSimulator({
      reportDelayMs: 10,
      itemsPageSize: 3,
      faults: { forceItemStatus: { [WARNING_CVR]: "Warning" } },
    });
    c = clientFor(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it("answers 401 with a JSON error without the right API key", async () => {
    const none = await fetch(`${sim.baseUrl}/apps/reporting/batches`);
    expect(none.status).toBe(401);
    const body = (await none.json()) as { errorCode: unknown; message: unknown };
    expect(typeof body.errorCode).toBe("number");
    expect(body.message).toMatch(/API key/);
    const wrong = await fetch(`${sim.baseUrl}/apps/reporting/batches`, {
      headers: { "lasso-api-key": "nope" },
    });
    expect(wrong.status).toBe(401);
    const post = await fetch(`${sim.baseUrl}/apps/reporting/batches`, {
      method: "POST",
      body: JSON.stringify({ ...base, items: [{ cvr: 34580820 }] }),
    });
    expect(post.status).toBe(401);
    expect(sim.batches()).toHaveLength(0);
    // The provider also accepts the key as accessKey= in the query.
    const query = await fetch(`${sim.baseUrl}/apps/reporting/batches?accessKey=${sim.apiKey}`);
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual([]);
  });

  it.each([
    ["invalid JSON", "{", /not valid JSON/],
    ["a JSON array", [], /must be a JSON object/],
    [
      "missing batchName",
      { type: "Revision", format: "x", items: [{ cvr: 34580820 }] },
      /batchName is required/,
    ],
    ["missing type", { batchName: "b", format: "x", items: [{ cvr: 34580820 }] }, /type is required/],
    ["missing format", { batchName: "b", type: 0, items: [{ cvr: 34580820 }] }, /format is required/],
    ["missing items", { ...base }, /items is required/],
    ["empty items", { ...base, items: [] }, /at least one item/],
    ["unknown type", { ...base, type: "Audit", items: [{ cvr: 34580820 }] }, /type must be one of/],
    ["type number out of range", { ...base, type: 7, items: [{ cvr: 34580820 }] }, /type must be one of/],
    ["cvr with 7 digits", { ...base, items: [{ cvr: 3458082 }] }, /items\[0\]\.cvr must be an 8-digit/],
    ["cvr not number-like", { ...base, items: [{ cvr: "3458O820" }] }, /items\[0\]\.cvr must be an 8-digit/],
    ["cvr missing", { ...base, items: [{ internalCustomerId: 1 }] }, /items\[0\]\.cvr is required/],
    [
      "non-integer internalCustomerId",
      { ...base, items: [{ cvr: 34580820, internalCustomerId: 12.5 }] },
      /internalCustomerId must be an integer/,
    ],
    [
      "IsListener on Revision",
      { ...base, items: [{ cvr: 34580820 }], IsListener: true },
      /IsListener is only allowed/,
    ],
    [
      "isListener on Finans",
      { ...base, type: 1, items: [{ cvr: 34580820 }], isListener: true },
      /not Finans/,
    ],
    [
      "malformed scheduledTime",
      { ...base, items: [{ cvr: 34580820 }], scheduledTime: "01/01/2030" },
      /scheduledTime/,
    ],
    [
      "authConfig with unknown Method",
      { ...base, items: [{ cvr: 34580820 }], authConfig: { Method: "Token", Key: "k", Value: "v" } },
      /authConfig\.Method must be one of Header, BasicAuth, Kerberos/,
    ],
    [
      "authConfig without Key",
      { ...base, items: [{ cvr: 34580820 }], authConfig: { Method: "Header", Value: "v" } },
      /authConfig\.Key/,
    ],
    [
      "malformed notificationWebhookUrl",
      { ...base, items: [{ cvr: 34580820 }], notificationWebhookUrl: "not a url" },
      /notificationWebhookUrl must be an absolute http or https URL/,
    ],
  ])("rejects %s with 400 and a readable message", async (_name, body, message) => {
    const before = sim.batches().length;
    const res = await c.call("/apps/reporting/batches", {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { errorCode: number; message: string };
    expect(Number.isInteger(error.errorCode)).toBe(true);
    expect(error.message).toMatch(message);
    expect(sim.batches()).toHaveLength(before);
  });

  it("runs a batch through Initializing and Executing to Finished", async () => {
    const created = await c.create({
      ...base,
      notificationEmail: "mail@mail.com",
      items: MANY.slice(0, 4).map((cvr) => ({ cvr: Number(cvr) })),
    });
    expect(created).toMatchObject({
      name: "Test batch",
      batchName: "Test batch",
      type: 0,
      format: "{cvr}-{name}-{type}",
      status: "Initializing",
      batchSize: 4,
      completionPercentage: 0,
      notificationEmail: "mail@mail.com",
      notificationWebHookUrl: null,
      errorAppend: null,
      isListener: false,
      archived: false,
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.lassoOrgId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.lassoUserId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(created.timestamp))).toBe(false);

    const seen: string[] = [created.status];
    const percentages: number[] = [];
    let sawPartialItems = false;
    for (;;) {
      const batch = await c.batch(created.id);
      if (seen.at(-1) !== batch.status) seen.push(batch.status);
      percentages.push(batch.completionPercentage);
      if (batch.status === "Executing" && !sawPartialItems) {
        const page = await c.allItems(created.id);
        // Only finished reports are listed, never pending ones.
        expect(page.length).toBeLessThan(4);
        sawPartialItems = true;
      }
      if (batch.status === "Finished") break;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(seen).toEqual(["Initializing", "Executing", "Finished"]);
    expect(percentages).toEqual([...percentages].sort((a, b) => a - b));
    expect(percentages.at(-1)).toBe(1);
    expect(percentages.some((p) => p > 0 && p < 1)).toBe(true);
    const items = await c.allItems(created.id);
    expect(items.map((i) => String(i.cvr))).toEqual(MANY.slice(0, 4));
    expect(items.every((i) => i.status === "Completed")).toBe(true);
  });

  it("ends FinishedWithErrors for an unknown company, FinishedWithWarning for a warning", async () => {
    const failing = await c.create({
      ...base,
      errorAppend: "#error",
      items: [{ cvr: 34580820 }, { cvr: 34580821, internalCustomerId: 4321 }, { cvr: WARNING_CVR }],
    });
    const warning = await c.create({ ...base, items: [{ cvr: 34580820 }, { cvr: WARNING_CVR }] });
    expect((await c.waitForStatus(failing.id, ["FinishedWithErrors"])).completionPercentage).toBe(1);
    await c.waitForStatus(warning.id, ["FinishedWithWarning"]);
    const items = await c.allItems(failing.id);
    const failed = items.find((i) => i.cvr === 34580821);
    expect(failed).toMatchObject({
      status: "Failed",
      name: null,
      internalCustomerId: 4321,
      errorMessage: "Company not found",
      fileName: "4321_34580821--Revision#error.pdf",
    });
    const ok = items.find((i) => i.cvr === 34580820);
    expect(ok?.fileName).not.toContain("#error");
    expect(ok?.errorMessage).toBeNull();
    expect(items.find((i) => String(i.cvr) === WARNING_CVR)?.status).toBe("Warning");
  });

  it("keeps a batch with a future scheduledTime Scheduled", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString().replace("T", " ").slice(0, 19);
    const created = await c.create({ ...base, scheduledTime: later, items: [{ cvr: 34580820 }] });
    expect(created.status).toBe("Scheduled");
    expect(created.scheduledTime.slice(0, 19)).toBe(later.replace(" ", "T"));
    await new Promise((r) => setTimeout(r, 100));
    const batch = await c.batch(created.id);
    expect(batch.status).toBe("Scheduled");
    expect(batch.completionPercentage).toBe(0);
    expect((await c.items(created.id)).items).toEqual([]);
  });

  it("pages items with opaque continuation tokens and filters by status", async () => {
    const cvrs = [...MANY.slice(0, 5), "34580821", "11111111", WARNING_CVR];
    expect(hasValidCvrChecksum("11111111")).toBe(false);
    const created = await c.create({
      ...base,
      type: "RevisionUdvidet",
      items: cvrs.map((cvr, i) => ({ cvr, internalCustomerId: 100 + i })),
    });
    await c.waitForStatus(created.id, ["FinishedWithErrors"]);

    const first = await c.items(created.id);
    expect(first.items).toHaveLength(3);
    expect(first.continuationToken).toEqual(expect.any(String));
    expect(first.continuationToken).not.toMatch(/^\d+$/);
    const all = await c.allItems(created.id);
    expect(all).toHaveLength(8);
    expect(new Set(all.map((i) => i.id)).size).toBe(8);
    expect(all.map((i) => String(i.cvr))).toEqual(cvrs);
    for (const [i, item] of all.entries()) {
      expect(item).toMatchObject({
        batchId: created.id,
        lassoId: `CVR-1-${cvrs[i]}`,
        cvr: Number(cvrs[i]),
        internalCustomerId: 100 + i,
        printType: 3,
      });
      expect(item.fileName).toMatch(new RegExp(`^${100 + i}_${cvrs[i]}-.*-RevisionUdvidet\\.pdf$`));
      expect(item.pdfurl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
      expect(Number.isNaN(Date.parse(item.timestamp))).toBe(false);
    }

    const failed = await c.allItems(created.id, "?status=Failed");
    expect(failed.map((i) => String(i.cvr))).toEqual(["34580821", "11111111"]);
    expect(failed.every((i) => i.status === "Failed" && i.errorMessage === "Company not found")).toBe(true);
    expect((await c.allItems(created.id, "?status=2")).map((i) => i.id)).toEqual(failed.map((i) => i.id));
    expect((await c.allItems(created.id, "?status=Warning")).map((i) => String(i.cvr))).toEqual([
      WARNING_CVR,
    ]);
    const completedFirst = await c.items(created.id, "?status=completed");
    expect(completedFirst.items).toHaveLength(3);
    const completed = await c.allItems(created.id, "?status=Completed");
    expect(completed.map((i) => String(i.cvr))).toEqual(MANY.slice(0, 5));

    const bad = await c.call(`/apps/reporting/batches/${created.id}/items?cToken=garbage!`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/continuation token/);
    const mismatched = await c.call(
      `/apps/reporting/batches/${created.id}/items?status=Failed&cToken=${first.continuationToken ?? ""}`,
    );
    expect(mismatched.status).toBe(400);
    expect((await c.call(`/apps/reporting/batches/${created.id}/items?status=Pending`)).status).toBe(400);
  });

  it("answers 404 JSON for unknown batches", async () => {
    for (const path of [
      "/apps/reporting/batches/5f0c3a52-1c8e-4a55-9e0e-8c4c1f7d2a11",
      "/apps/reporting/batches/not-a-guid/items",
      "/apps/reporting/batches/5f0c3a52-1c8e-4a55-9e0e-8c4c1f7d2a11/download",
    ]) {
      const res = await c.call(path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { errorCode: number }).errorCode).toEqual(expect.any(Number));
    }
  });

  it("lists all batches", async () => {
    const res = await c.call("/apps/reporting/batches");
    const list = (await res.json()) as BatchJson[];
    expect(list.map((b) => b.id)).toEqual(sim.batches().map((b) => b.id));
    expect(list.length).toBeGreaterThanOrEqual(4);
  });

  it("serves real PDFs at pdfurl without the API key, and only with the right token", async () => {
    const created = await c.create({ ...base, items: [{ cvr: 34580820 }] });
    await c.waitForStatus(created.id, ["Finished"]);
    const [item] = (await c.items(created.id)).items;
    if (item?.pdfurl == null) throw new Error("expected a pdfurl");
    const res = await fetch(item.pdfurl);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Buffer.from(bytes.subarray(0, 5)).toString("latin1")).toBe("%PDF-");
    const doc = await PDFDocument.load(bytes);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toContain(item.name ?? "?");
    expect(Buffer.from(bytes).equals(Buffer.from((await sim.pdfBytes(item.id)) ?? []))).toBe(true);

    const tampered = item.pdfurl.replace(/\/[^/]+\.pdf$/, "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.pdf");
    expect((await fetch(tampered)).status).toBe(404);
  });

  it("downloads a zip holding every finished report's PDF under its file name", async () => {
    const created = await c.create({
      ...base,
      errorAppend: "_fejl",
      items: [
        { cvr: 34580820, internalCustomerId: 1 },
        { cvr: 12345674, format: "{name} {balanceday}" },
        { cvr: 34580821 },
      ],
    });
    await c.waitForStatus(created.id, ["FinishedWithErrors"]);
    const res = await c.call(`/apps/reporting/batches/${created.id}/download`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const files = await zipEntries(Buffer.from(await res.arrayBuffer()));
    const items = await c.allItems(created.id);
    expect([...files.keys()].sort()).toEqual(items.map((i) => i.fileName).sort());
    expect(items.map((i) => i.fileName)).toContain("34580821--Revision_fejl.pdf");
    for (const bytes of files.values()) {
      expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
      expect((await PDFDocument.load(bytes)).getPageCount()).toBe(1);
    }
  });

  it("runs a listener batch: TriggerNow, triggerChange, stop", async () => {
    const created = await c.create({
      ...base,
      type: "ReelleEjere",
      IsListener: true,
      TriggerNow: true,
      items: [{ cvr: 34580820 }, { cvr: 12345674 }],
    });
    expect(created).toMatchObject({ type: 2, isListener: true, status: "Initializing" });
    await c.waitForStatus(created.id, ["Listening"]);
    await sim.settle();
    expect((await c.batch(created.id)).status).toBe("Listening");
    const initial = await c.allItems(created.id);
    expect(initial.map((i) => i.cvr)).toEqual([34580820, 12345674]);
    expect(initial.every((i) => i.printType === 2)).toBe(true);

    const reportId = sim.triggerChange(created.id, "12345674");
    await sim.settle();
    const afterChange = await c.allItems(created.id);
    expect(afterChange).toHaveLength(3);
    expect(afterChange[2]).toMatchObject({ id: reportId, cvr: 12345674, status: "Completed" });

    // The same hooks over HTTP, as another process would use them.
    const change = await fetch(`${sim.baseUrl}/_sim/batches/${created.id}/change?cvr=34580820`, {
      method: "POST",
    });
    expect(change.status).toBe(200);
    const { reportId: httpReportId } = (await change.json()) as { reportId: string };
    await fetch(`${sim.baseUrl}/_sim/settle`, { method: "POST" });
    expect((await c.allItems(created.id)).at(-1)).toMatchObject({ id: httpReportId, cvr: 34580820 });

    const unknownCvr = await fetch(`${sim.baseUrl}/_sim/batches/${created.id}/change?cvr=11111111`, {
      method: "POST",
    });
    expect(unknownCvr.status).toBe(404);

    const stop = await fetch(`${sim.baseUrl}/_sim/batches/${created.id}/stop`, { method: "POST" });
    expect(stop.status).toBe(200);
    expect((await c.batch(created.id)).status).toBe("ListeningStopped");
    const late = await fetch(`${sim.baseUrl}/_sim/batches/${created.id}/change?cvr=34580820`, {
      method: "POST",
    });
    expect(late.status).toBe(409);
    expect(() => sim.triggerChange(created.id, "34580820")).toThrow(/ListeningStopped/);
  });

  it("keeps a listener batch without TriggerNow Listening with no reports", async () => {
    const created = await c.create({ ...base, type: 2, isListener: true, items: [{ cvr: 34580820 }] });
    await c.waitForStatus(created.id, ["Listening"]);
    await sim.settle();
    expect((await c.items(created.id)).items).toEqual([]);
    expect((await c.batch(created.id)).completionPercentage).toBe(0);
  });

  it("fails the next calls of a route on injectFault, including the ambiguous POST", async () => {
    const before = sim.batches().length;
    sim.injectFault({ route: "createBatch", status: 500, times: 1, mode: "afterAccept" });
    const ambiguous = await c.call("/apps/reporting/batches", {
      method: "POST",
      body: JSON.stringify({ ...base, batchName: "ambiguous-7f3a", items: [{ cvr: 34580820 }] }),
    });
    expect(ambiguous.status).toBe(500);
    expect(sim.batches().filter((b) => b.batchName === "ambiguous-7f3a")).toHaveLength(1);

    sim.injectFault({ route: "createBatch", status: 503, times: 1 });
    const refused = await c.call("/apps/reporting/batches", {
      method: "POST",
      body: JSON.stringify({ ...base, batchName: "refused", items: [{ cvr: 34580820 }] }),
    });
    expect(refused.status).toBe(503);
    expect(sim.batches()).toHaveLength(before + 1);

    // Over HTTP: two 429s on listBatches, then normal service.
    const rule = await fetch(`${sim.baseUrl}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ route: "listBatches", status: 429, times: 2 }),
    });
    expect(rule.status).toBe(204);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await c.call("/apps/reporting/batches")).status);
    expect(statuses).toEqual([429, 429, 200]);

    sim.injectFault({ route: "createBatch", kind: "timeout", delayMs: 500, times: 1 });
    await expect(
      c.call("/apps/reporting/batches", {
        method: "POST",
        body: JSON.stringify({ ...base, batchName: "timed-out", items: [{ cvr: 34580820 }] }),
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
    // The batch was accepted although the client never saw the answer.
    expect(sim.batches().filter((b) => b.batchName === "timed-out")).toHaveLength(1);

    // Mode "before": the server waits first and drops the work when the client has gone.
    sim.injectFault({ route: "createBatch", kind: "timeout", delayMs: 200, times: 1, mode: "before" });
    await expect(
      c.call("/apps/reporting/batches", {
        method: "POST",
        body: JSON.stringify({ ...base, batchName: "abandoned", items: [{ cvr: 34580820 }] }),
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.batches().filter((b) => b.batchName === "abandoned")).toHaveLength(0);
  });
});

describe("Lasso simulator rate limit", () => {
  it("answers 429 with errorCode 26 and retry-after once the key's budget is used", async () => {
    await withSim({ rateLimitPerMinute: 3, rateLimitWindowMs: 60_000 }, async (c) => {
      for (let i = 0; i < 3; i++) expect((await c.call("/apps/reporting/batches")).status).toBe(200);
      const limited = await c.call("/apps/reporting/batches");
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { errorCode: number }).errorCode).toBe(26);
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    });
  });

  it("lets requests through again once the window has passed", async () => {
    await withSim({ rateLimitPerMinute: 2, rateLimitWindowMs: 300 }, async (c) => {
      expect((await c.call("/apps/reporting/batches")).status).toBe(200);
      expect((await c.call("/apps/reporting/batches")).status).toBe(200);
      const limited = await c.call("/apps/reporting/batches");
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("1");
      await new Promise((r) => setTimeout(r, 350));
      expect((await c.call("/apps/reporting/batches")).status).toBe(200);
    });
  });
});

describe("Lasso simulator scheduled start with an injected clock", () => {
  it("starts a Scheduled batch once the clock reaches scheduledTime", async () => {
    let now = new Date("2030-01-01T08:00:00Z");
    await withSim({ reportDelayMs: 2, now: () => now }, async (c) => {
      const created = await c.create({
        ...base,
        scheduledTime: "2030-01-01 09:00:00",
        items: [{ cvr: 34580820 }],
      });
      expect(created.status).toBe("Scheduled");
      now = new Date("2030-01-01T09:00:01Z");
      const done = await c.waitForStatus(created.id, ["Finished"], 5000);
      expect(done.scheduledTime).toBe("2030-01-01T09:00:00.000Z");
      const [item] = (await c.items(created.id)).items;
      expect(item?.timestamp).toBe("2030-01-01T09:00:01.000Z");
    });
  });
});

describe("Lasso simulator fault injection determinism", () => {
  const faults = { seed: 4242, apiErrorRate: 0.3, itemWarningRate: 0.25, itemFailedRate: 0.15 };

  async function run(seed: number): Promise<{ calls: number[]; outcomes: string[] }> {
    return withSim({ reportDelayMs: 1, itemsPageSize: 100, faults: { ...faults, seed } }, async (c) => {
      const calls: number[] = [];
      let created: BatchJson | undefined;
      while (created === undefined) {
        const res = await c.call("/apps/reporting/batches", {
          method: "POST",
          body: JSON.stringify({ ...base, items: validCvrs(40_000_000, 30).map((cvr) => ({ cvr })) }),
        });
        calls.push(res.status);
        if (res.status === 200) created = (await res.json()) as BatchJson;
      }
      await c.sim.settle();
      let outcomes: string[] | undefined;
      while (outcomes === undefined) {
        const res = await c.call(`/apps/reporting/batches/${created.id}/items`);
        calls.push(res.status);
        if (res.status === 200) {
          outcomes = ((await res.json()) as { items: ItemJson[] }).items.map((i) => `${i.cvr}:${i.status}`);
        }
      }
      for (let i = 0; i < 20; i++) calls.push((await c.call("/apps/reporting/batches")).status);
      return { calls, outcomes };
    });
  }

  it("gives the same API errors and report outcomes for the same seed", async () => {
    const a = await run(4242);
    const b = await run(4242);
    expect(a).toEqual(b);
    expect(a.outcomes).toHaveLength(30);
    expect(a.calls.some((s) => s === 500 || s === 503)).toBe(true);
    expect(a.calls.every((s) => [200, 500, 503].includes(s))).toBe(true);
    expect(a.outcomes.some((o) => o.endsWith(":Warning"))).toBe(true);
    expect(a.outcomes.some((o) => o.endsWith(":Failed"))).toBe(true);
    const other = await run(7);
    expect(other).not.toEqual(a);
  });
});

describe("Lasso simulator known values", () => {
  it("names the contract's example company the same way every time", async () => {
    const names = await Promise.all(
      [1, 2].map(() =>
        withSim({ reportDelayMs: 1 }, async (c) => {
          const created = await c.create({ ...base, items: KNOWN.map((cvr) => ({ cvr })) });
          await c.sim.settle();
          return (await c.items(created.id)).items.map((i) => i.name);
        }),
      ),
    );
    expect(names[0]).toEqual(names[1]);
    expect(names[0]?.every((n) => typeof n === "string" && n.length > 0)).toBe(true);
  });
});
