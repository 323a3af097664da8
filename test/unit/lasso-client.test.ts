import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  LassoClient,
  type LassoClientOptions,
  nameContainsToken,
  parseRetryAfter,
} from "#shared/lasso/client.ts";
import {
  isNotFound,
  LassoApiError,
  LassoNetworkError,
  LassoRequestError,
  LassoResponseError,
} from "#shared/lasso/errors.ts";
import type { CreateBatchRequest } from "#shared/lasso/schemas.ts";

// ---------------------------------------------------------------------------------------
// A tiny fake of the API: records every request and answers through a handler.
// ---------------------------------------------------------------------------------------

const API_KEY = "k3y-5ecret-0123456789abcdef";
const BASE = "https://api.lassox.test";

interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: string | undefined;
  redirect: RequestInit["redirect"];
}

type Handler = (call: Call, calls: readonly Call[]) => Response | Promise<Response>;

function fakeApi(handler: Handler) {
  const calls: Call[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const call: Call = {
      method: init?.method ?? "GET",
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : undefined,
      redirect: init?.redirect,
    };
    calls.push(call);
    return handler(call, calls);
  };
  return { fetch: fetchFn, calls };
}

function makeClient(handler: Handler, options: Partial<LassoClientOptions> = {}) {
  const api = fakeApi(handler);
  const sleeps: number[] = [];
  const client = new LassoClient({
    baseUrl: `${BASE}/`,
    apiKey: API_KEY,
    fetch: api.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, calls: api.calls, sleeps };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Answers with the given responses in order (the last one repeats). */
function sequence(...responses: (() => Response | Promise<Response>)[]): Handler {
  return (_call, calls) => {
    const make = responses[Math.min(calls.length, responses.length) - 1];
    if (make === undefined) throw new Error("sequence() needs at least one response");
    return make();
  };
}

const networkFailure = (): never => {
  throw new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:443"), { code: "ECONNREFUSED" }),
  });
};

/** A fetch that never answers, but honours its abort signal (as real fetch does). */
const hanging = (call: Call, signal: AbortSignal | null | undefined): Promise<Response> =>
  new Promise((_resolve, reject) => {
    void call;
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

function apiBatch(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
    name: "Revision 2024-05 [tok-8f3a9c01e2]",
    type: 0,
    status: "Scheduled",
    batchSize: 2,
    completionPercentage: 0,
    IsListener: false,
    notificationWebHookUrl: "https://hooks.example/lasso",
    ...overrides,
  };
}

const item = (cvr: number, status: number | string = 0) => ({
  cvr,
  status,
  pdfurl: `https://reports.example/${cvr}.pdf`,
  printType: 0,
});

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

describe("LassoClient requests", () => {
  it("sends the lasso-api-key header and accept: application/json, never the key in the URL", async () => {
    const { client, calls } = makeClient(() => json(apiBatch()));
    const batch = await client.getBatch("d2e61fbf-7562-4ffb-ba33-52396c0ba12d");
    expect(batch.id).toBe("d2e61fbf-7562-4ffb-ba33-52396c0ba12d");
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.method).toBe("GET");
    expect(call?.headers.get("lasso-api-key")).toBe(API_KEY);
    expect(call?.headers.get("accept")).toBe("application/json");
    expect(call?.url.href).toBe(`${BASE}/apps/reporting/batches/d2e61fbf-7562-4ffb-ba33-52396c0ba12d`);
    expect(call?.url.href).not.toContain(API_KEY);
    expect(call?.url.searchParams.has("accessKey")).toBe(false);
  });

  it("keeps a base path, trims trailing slashes and percent-encodes path segments", async () => {
    const { client, calls } = makeClient(() => json(apiBatch()), {
      baseUrl: "http://127.0.0.1:4010/prefix//",
    });
    await client.getBatch("a b/c?d#e");
    expect(calls[0]?.url.pathname).toBe("/prefix/apps/reporting/batches/a%20b%2Fc%3Fd%23e");
    expect(calls[0]?.url.search).toBe("");
  });

  it("refuses ids that a URL parser would resolve as dot segments, without sending anything", async () => {
    const { client, calls } = makeClient(() => json(apiBatch()));
    for (const id of ["", "..", ".", "%2e%2E"]) {
      expect(await caught(client.getBatch(id))).toBeInstanceOf(LassoRequestError);
    }
    expect(calls).toHaveLength(0);
  });

  it("rejects bad construction options without echoing the key", () => {
    expect(() => new LassoClient({ baseUrl: BASE, apiKey: "  " })).toThrow(TypeError);
    expect(() => new LassoClient({ baseUrl: "ftp://x", apiKey: API_KEY })).toThrow(/plain http/);
    expect(() => new LassoClient({ baseUrl: BASE, apiKey: `${API_KEY}\n` })).not.toThrow();
    try {
      new LassoClient({ baseUrl: BASE, apiKey: `bad\u0000${API_KEY}` });
    } catch (err) {
      expect(String(err)).not.toContain(API_KEY);
    }
    expect(() => new LassoClient({ baseUrl: BASE, apiKey: API_KEY, retry: { retries: 1.5 } })).toThrow(
      RangeError,
    );
  });

  it("lists batches given as an array or under `batches`, with tolerant casing", async () => {
    const { client } = makeClient(
      sequence(
        () => json([apiBatch(), apiBatch({ id: "b2", status: undefined, Status: "finishedWithErrors" })]),
        () => json({ Batches: [apiBatch({ BatchName: "From portal", name: undefined })] }),
      ),
    );
    const first = await client.listBatches();
    expect(first.map((b) => [b.id, b.status])).toEqual([
      ["d2e61fbf-7562-4ffb-ba33-52396c0ba12d", "Scheduled"],
      ["b2", "FinishedWithErrors"],
    ]);
    expect(first[0]?.notificationWebhookUrl).toBe("https://hooks.example/lasso");
    expect(first[0]?.type).toBe("Revision");
    const second = await client.listBatches();
    expect(second[0]?.name).toBe("From portal");
  });

  it("fails listBatches on an invalid entry, naming its index and field", async () => {
    const { client } = makeClient(() => json([apiBatch(), apiBatch({ status: 42 })]));
    const err = await caught(client.listBatches());
    expect(err).toBeInstanceOf(LassoResponseError);
    expect((err as LassoResponseError).issues.map((issue) => issue.path)).toEqual(["[1].status"]);
    expect((err as LassoResponseError).message).toMatch(
      /^Lasso listBatches \(GET \/apps\/reporting\/batches\)/,
    );
  });
});

// ---------------------------------------------------------------------------------------
// Errors and retries
// ---------------------------------------------------------------------------------------

describe("LassoClient errors and retries", () => {
  it("retries a 503 and returns the later success", async () => {
    const { client, calls, sleeps } = makeClient(
      sequence(
        () => json({ message: "busy" }, 503),
        () => json(apiBatch({ status: "Executing" })),
      ),
    );
    const batch = await client.getBatch("b1");
    expect(batch.status).toBe("Executing");
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(100);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
  });

  it("retries network errors and timeouts", async () => {
    let n = 0;
    const { client, calls } = makeClient(() => {
      n++;
      if (n === 1) return networkFailure();
      return json(apiBatch());
    });
    await expect(client.getBatch("b1")).resolves.toMatchObject({
      id: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
    });
    expect(calls).toHaveLength(2);
  });

  it("turns a per-request timeout into a LassoNetworkError that says so", async () => {
    let signal: AbortSignal | null | undefined;
    const calls: string[] = [];
    const sleeps: number[] = [];
    const client = new LassoClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      timeoutMs: 20,
      retry: { retries: 1 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      fetch: (input, init) => {
        calls.push(String(input));
        signal = init?.signal;
        return hanging({} as Call, signal);
      },
    });
    const err = await caught(client.getBatch("b1"));
    expect(err).toBeInstanceOf(LassoNetworkError);
    expect((err as LassoNetworkError).timedOut).toBe(true);
    expect((err as Error).message).toBe(
      "Lasso getBatch (GET /apps/reporting/batches/b1) failed: no answer within 20 ms",
    );
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it("backs off exponentially with jitter, capped, then gives up with a typed error naming the call", async () => {
    const { client, calls, sleeps } = makeClient(() => json({ errorCode: 99, message: "maintenance" }, 503), {
      retry: { retries: 4, minDelayMs: 1000, maxDelayMs: 3000, maxTotalMs: 60_000 },
    });
    const err = await caught(client.getBatch("b1"));
    expect(calls).toHaveLength(5);
    expect(sleeps).toHaveLength(4);
    const caps = [1000, 2000, 3000, 3000];
    sleeps.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual((caps[i] ?? 0) / 2);
      expect(delay).toBeLessThanOrEqual(caps[i] ?? 0);
    });
    expect(err).toBeInstanceOf(LassoApiError);
    const apiErr = err as LassoApiError;
    expect(apiErr.operation).toBe("getBatch");
    expect(apiErr.status).toBe(503);
    expect(apiErr.errorCode).toBe(99);
    expect(apiErr.message).toBe(
      "Lasso getBatch (GET /apps/reporting/batches/b1) failed with HTTP 503, errorCode 99: maintenance",
    );
  });

  it("honours retry-after on 429 (seconds)", async () => {
    const { client, calls, sleeps } = makeClient(
      sequence(
        () => json({ errorCode: 26, message: "Rate limit exceeded" }, 429, { "retry-after": "3" }),
        () => json({ items: [] }),
      ),
    );
    const page = await client.listItems("b1");
    expect(page.items).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000);
  });

  it("honours retry-after given as an HTTP-date", async () => {
    const { client, sleeps } = makeClient(
      sequence(
        () => json({ errorCode: 26 }, 429, { "retry-after": new Date(Date.now() + 8000).toUTCString() }),
        () => json([]),
      ),
    );
    await client.listBatches();
    // The HTTP-date has whole seconds, so up to 1 s of the 8 may already be gone.
    expect(sleeps[0]).toBeGreaterThanOrEqual(6500);
  });

  it("gives up at once when retry-after would exceed the total budget", async () => {
    const { client, calls, sleeps } = makeClient(
      () => json({ errorCode: 26, message: "Rate limit exceeded" }, 429, { "retry-after": "60" }),
      { retry: { maxTotalMs: 30_000 } },
    );
    const err = await caught(client.listBatches());
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(err).toBeInstanceOf(LassoApiError);
    expect((err as LassoApiError).retryAfterMs).toBe(60_000);
    expect((err as LassoApiError).errorCode).toBe(26);
    expect((err as Error).message).toContain("listBatches");
    expect((err as Error).message).toContain("retry after 60 s");
  });

  it("stops when the waits would exceed maxTotalMs, before the retry count is used up", async () => {
    const { client, calls, sleeps } = makeClient(() => json({}, 502), {
      retry: { retries: 10, minDelayMs: 200, maxDelayMs: 5000, maxTotalMs: 1000 },
    });
    const err = await caught(client.listBatches());
    expect(err).toBeInstanceOf(LassoApiError);
    expect((err as LassoApiError).status).toBe(502);
    expect(calls.length).toBeLessThan(11);
    expect(calls).toHaveLength(sleeps.length + 1);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1000);
    // Even the smallest possible waits (100, 200, 400, 800) pass 1000 ms after three.
    expect(sleeps.length).toBeLessThanOrEqual(3);
  });

  it("counts retry-after waits against the budget", async () => {
    const { client, calls, sleeps } = makeClient(
      () => json({ errorCode: 26 }, 429, { "retry-after": "20" }),
      {
        retry: { maxTotalMs: 30_000 },
      },
    );
    await caught(client.listBatches());
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(20_000);
  });

  it("does not retry a 404, and isNotFound recognises it", async () => {
    const { client, calls, sleeps } = makeClient(() => json({ message: "Batch not found" }, 404));
    const err = await caught(client.getBatch("missing"));
    expect(isNotFound(err)).toBe(true);
    expect(isNotFound(new Error("404"))).toBe(false);
    expect((err as LassoApiError).serverMessage).toBe("Batch not found");
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("does not retry other 4xx; a non-JSON error body becomes the message", async () => {
    const { client, calls } = makeClient(
      () => new Response("Unauthorized: bad key", { status: 401, headers: { "content-type": "text/plain" } }),
    );
    const err = await caught(client.listBatches());
    expect((err as LassoApiError).status).toBe(401);
    expect((err as Error).message).toContain("Unauthorized: bad key");
    expect(calls).toHaveLength(1);
  });

  it("rejects a 2xx answer that breaks the contract with the paths, not the body", async () => {
    const { client, calls } = makeClient(() =>
      json({ id: "b1", name: "n", status: "SENSITIVE-VALUE-xyz", completionPercentage: 3 }),
    );
    const err = await caught(client.getBatch("b1"));
    expect(err).toBeInstanceOf(LassoResponseError);
    const responseErr = err as LassoResponseError;
    expect(responseErr.operation).toBe("getBatch");
    expect(responseErr.issues.map((issue) => issue.path).sort()).toEqual([
      "batchSize",
      "completionPercentage",
      "status",
    ]);
    expect(responseErr.message).toMatch(
      /^Lasso getBatch \(GET \/apps\/reporting\/batches\/b1\) returned an unexpected/,
    );
    expect(JSON.stringify(responseErr)).not.toContain("SENSITIVE-VALUE-xyz");
    expect(responseErr.message).not.toContain("SENSITIVE-VALUE-xyz");
    expect(calls).toHaveLength(1);
  });

  it("rejects a 2xx answer that is not JSON", async () => {
    const { client } = makeClient(() => new Response("<html>gateway</html>", { status: 200 }));
    const err = await caught(client.listBatches());
    expect(err).toBeInstanceOf(LassoResponseError);
    expect((err as Error).message).toContain("body is not JSON");
  });

  it("sends the key only to the API's own origin when following a redirect", async () => {
    const { client, calls } = makeClient((call) => {
      if (call.url.pathname.endsWith("/download")) {
        return new Response(null, { status: 302, headers: { location: "/apps/reporting/files/zip1" } });
      }
      if (call.url.pathname.endsWith("/files/zip1")) {
        return new Response(null, {
          status: 307,
          headers: { location: "https://blob.example/zip1?sig=abc" },
        });
      }
      return new Response(new Uint8Array([0x50, 0x4b, 3, 4]), { status: 200 });
    });
    const zip = await client.downloadBatchZip("b1");
    expect(Array.from(zip)).toEqual([0x50, 0x4b, 3, 4]);
    expect(calls.map((call) => [call.url.host, call.headers.get("lasso-api-key")])).toEqual([
      ["api.lassox.test", API_KEY],
      ["api.lassox.test", API_KEY],
      ["blob.example", null],
    ]);
    expect(calls.every((call) => call.redirect === "manual")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

describe("the API key never leaks into errors", () => {
  function expectNoSecret(err: unknown, secret: string) {
    expect(err).toBeInstanceOf(Error);
    const error = err as Error;
    expect(error.message).not.toContain(secret);
    expect(String(error)).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(secret);
    let cause: unknown = error.cause;
    for (let depth = 0; cause !== undefined && depth < 10; depth++) {
      expect(inspect(cause, { depth: 20, showHidden: true })).not.toContain(secret);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }

  it("not from a network error whose message and cause chain contain it", async () => {
    const { client } = makeClient(
      () => {
        throw new TypeError(`fetch failed for key ${API_KEY}`, {
          cause: Object.assign(new Error(`socket hang up (${API_KEY})`), {
            code: "ECONNRESET",
            header: `lasso-api-key: ${API_KEY}`,
            cause: new Error(`deeper ${API_KEY}`),
          }),
        });
      },
      { retry: { retries: 0 } },
    );
    const err = await caught(client.listBatches());
    expect(err).toBeInstanceOf(LassoNetworkError);
    expect((err as Error).message).toContain("ECONNRESET");
    expect((err as Error).message).toContain("[redacted]");
    const cause = (err as Error).cause as Error;
    expect(cause.name).toBe("TypeError");
    expect((cause.cause as { code?: string }).code).toBe("ECONNRESET");
    expectNoSecret(err, API_KEY);
  });

  it("not from a server that echoes it in the error body or status text", async () => {
    const { client } = makeClient(
      () =>
        new Response(JSON.stringify({ errorCode: 1, message: `Invalid key ${API_KEY}` }), {
          status: 401,
          statusText: `Bad ${API_KEY}`,
        }),
    );
    const err = await caught(client.getBatch("b1"));
    expect((err as LassoApiError).serverMessage).toBe("Invalid key [redacted]");
    expectNoSecret(err, API_KEY);
  });

  it("not from a timeout, a response error, or the client object", async () => {
    const timeoutClient = new LassoClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      timeoutMs: 10,
      retry: { retries: 0 },
      fetch: (_input, init) => hanging({} as Call, init?.signal),
    });
    expectNoSecret(await caught(timeoutClient.listBatches()), API_KEY);
    const { client } = makeClient(() => json({ items: [{ cvr: API_KEY, status: 0 }] }));
    expectNoSecret(await caught(client.listItems("b1")), API_KEY);
    expect(inspect(client, { depth: 20, showHidden: true })).not.toContain(API_KEY);
    expect(JSON.stringify(client)).not.toContain(API_KEY);
  });
});

// ---------------------------------------------------------------------------------------
// Items and paging
// ---------------------------------------------------------------------------------------

describe("items and paging", () => {
  it("lists one page with the status filter and continuation token in the query", async () => {
    const { client, calls } = makeClient(() =>
      json({ Items: [item(34580820, 1)], ContinuationToken: "next" }),
    );
    const page = await client.listItems("b 1", { status: "Warning", cToken: "+RID:~a==#RT:1" });
    expect(page.continuationToken).toBe("next");
    expect(page.items[0]).toMatchObject({ cvr: "34580820", status: "Warning", printType: "Revision" });
    const url = calls[0]?.url;
    expect(url?.pathname).toBe("/apps/reporting/batches/b%201/items");
    expect(url?.searchParams.get("status")).toBe("Warning");
    expect(url?.searchParams.get("cToken")).toBe("+RID:~a==#RT:1");
  });

  it("iterates every item across three pages, following the tokens", async () => {
    const pages: Record<string, unknown> = {
      "": { items: [item(34580820), item(10000009)], continuationToken: "+RID:~p2==#RT:2" },
      "+RID:~p2==#RT:2": { Items: [item(20000005)], cToken: "p3" },
      p3: { items: [item(30000001)], continuationToken: null },
    };
    const { client, calls } = makeClient((call) => json(pages[call.url.searchParams.get("cToken") ?? ""]));
    const cvrs: string[] = [];
    for await (const found of client.iterateItems("b1", { status: "Completed" })) cvrs.push(found.cvr);
    expect(cvrs).toEqual(["34580820", "10000009", "20000005", "30000001"]);
    expect(calls.map((call) => call.url.searchParams.get("cToken"))).toEqual([null, "+RID:~p2==#RT:2", "p3"]);
    expect(calls.every((call) => call.url.searchParams.get("status") === "Completed")).toBe(true);
  });

  it("stops a provider that repeats a continuation token, after yielding what it got", async () => {
    const { client, calls } = makeClient(() => json({ items: [item(34580820)], continuationToken: "same" }));
    const cvrs: string[] = [];
    const err = await caught(
      (async () => {
        for await (const found of client.iterateItems("b1")) cvrs.push(found.cvr);
      })(),
    );
    expect(err).toBeInstanceOf(LassoResponseError);
    expect((err as Error).message).toContain("repeats a continuation token");
    expect((err as LassoResponseError).operation).toBe("iterateItems");
    expect(calls).toHaveLength(2);
    expect(cvrs).toHaveLength(2);
  });

  it("stops after maxPages of ever-new tokens", async () => {
    const { client, calls } = makeClient((_call, all) =>
      json({ items: [], continuationToken: `t${all.length}` }),
    );
    const err = await caught(
      (async () => {
        for await (const _ of client.iterateItems("b1", { maxPages: 3 })) {
          // nothing to do
        }
      })(),
    );
    expect((err as Error).message).toContain("more than 3 pages");
    expect(calls).toHaveLength(3);
  });

  it("retries a failed page without losing the position", async () => {
    let failed = false;
    const { client, calls } = makeClient((call) => {
      const token = call.url.searchParams.get("cToken");
      if (token === null) return json({ items: [item(34580820)], continuationToken: "t2" });
      if (!failed) {
        failed = true;
        return json({}, 500);
      }
      return json({ items: [item(10000009)] });
    });
    const cvrs: string[] = [];
    for await (const found of client.iterateItems("b1")) cvrs.push(found.cvr);
    expect(cvrs).toEqual(["34580820", "10000009"]);
    expect(calls.map((call) => call.url.searchParams.get("cToken"))).toEqual([null, "t2", "t2"]);
  });
});

// ---------------------------------------------------------------------------------------
// Download and webhook test
// ---------------------------------------------------------------------------------------

describe("download and webhook test", () => {
  it("downloads the zip as bytes and refuses a body that is not a zip", async () => {
    const { client, calls } = makeClient(
      sequence(
        () => new Response(new Uint8Array([0x50, 0x4b, 5, 6, 0, 0]), { status: 200 }),
        () => json({ message: "nothing finished" }),
      ),
    );
    expect(Array.from(await client.downloadBatchZip("b1"))).toEqual([0x50, 0x4b, 5, 6, 0, 0]);
    expect(calls[0]?.url.pathname).toBe("/apps/reporting/batches/b1/download");
    const err = await caught(client.downloadBatchZip("b1"));
    expect(err).toBeInstanceOf(LassoResponseError);
    expect((err as Error).message).toContain("not a zip file");
  });

  it("sends the webhook test as GET with the query when there is no auth config", async () => {
    const { client, calls } = makeClient(() => json({ delivered: true }));
    const result = await client.testWebhook({
      url: "https://hooks.example/lasso?x=1",
      lassoId: "CVR-1-34580820",
      batchId: "b1",
      reportType: "Revision",
    });
    expect(result).toEqual({ status: 200, body: { delivered: true } });
    const call = calls[0];
    expect(call?.method).toBe("GET");
    expect(call?.url.pathname).toBe("/apps/reporting/webhooktest");
    expect(Object.fromEntries(call?.url.searchParams ?? [])).toEqual({
      url: "https://hooks.example/lasso?x=1",
      lassoId: "CVR-1-34580820",
      batchId: "b1",
      reportType: "Revision",
    });
    expect(call?.body).toBeUndefined();
  });

  it("POSTs the auth config as {Method, Key, Value} and keeps its value out of errors", async () => {
    const secret = "webhook-shared-secret-42";
    const { client, calls } = makeClient(
      sequence(
        () => new Response("ok", { status: 200 }),
        () => json({ message: `Webhook answered 401 for header X-API-KEY=${secret}` }, 400),
      ),
    );
    const request = {
      url: "https://hooks.example/lasso",
      lassoId: "CVR-1-34580820",
      batchId: "b1",
      reportType: "ReelleEjere" as const,
      authConfig: { Method: "Header" as const, Key: "X-API-KEY", Value: secret },
    };
    expect(await client.testWebhook(request)).toEqual({ status: 200, body: "ok" });
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(calls[0]?.body ?? "null")).toEqual({
      Method: "Header",
      Key: "X-API-KEY",
      Value: secret,
    });
    expect(calls[0]?.url.searchParams.get("reportType")).toBe("ReelleEjere");
    const err = await caught(client.testWebhook(request));
    expect((err as Error).message).toContain("X-API-KEY=[redacted]");
    expect(JSON.stringify(err)).not.toContain(secret);
  });

  it("validates the webhook test request before sending", async () => {
    const { client, calls } = makeClient(() => json({}));
    const err = await caught(
      client.testWebhook({ url: "not a url", lassoId: "", batchId: "b1", reportType: "Revision" }),
    );
    expect(err).toBeInstanceOf(LassoRequestError);
    expect((err as LassoRequestError).issues.map((issue) => issue.path)).toEqual(["url", "lassoId"]);
    expect(calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
// createBatch: never blindly repeated
// ---------------------------------------------------------------------------------------

const TOKEN = "tok-8f3a9c01e2";

function createRequest(overrides: Partial<CreateBatchRequest> = {}): CreateBatchRequest {
  return {
    batchName: `Revision 2024-05 [${TOKEN}]`,
    type: "Revision",
    format: "{cvr}-{name}-{type}",
    notificationWebhookUrl: "https://hooks.example/lasso",
    authConfig: { Method: "Header", Key: "X-Webhook-Auth", Value: "hook-secret-value" },
    errorAppend: "#error",
    items: [
      { cvr: 34580820, internalCustomerId: 1234 },
      { cvr: "10000009", format: "4321-{cvr}-{name}", internalCustomerId: 4321 },
    ],
    ...overrides,
  };
}

/** A fake API with POST and GET /batches routed separately. */
function batchesApi(post: Handler, list: Handler, options: Partial<LassoClientOptions> = {}) {
  const made = makeClient(
    (call, all) => (call.method === "POST" ? post(call, all) : list(call, all)),
    options,
  );
  const posts = () => made.calls.filter((call) => call.method === "POST").length;
  const gets = () => made.calls.filter((call) => call.method === "GET").length;
  return { ...made, posts, gets };
}

describe("createBatch", () => {
  it("POSTs the serialised request and returns the created batch", async () => {
    const { client, calls } = batchesApi(
      () => json(apiBatch({ id: "new-1" }), 201),
      () => json([]),
    );
    const batch = await client.createBatch(createRequest({ isListener: false }), { uniqueToken: TOKEN });
    expect(batch).toMatchObject({ id: "new-1", status: "Scheduled", isListener: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url.pathname).toBe("/apps/reporting/batches");
    expect(calls[0]?.headers.get("content-type")).toBe("application/json");
    expect(calls[0]?.headers.get("lasso-api-key")).toBe(API_KEY);
    expect(JSON.parse(calls[0]?.body ?? "null")).toEqual({
      batchName: `Revision 2024-05 [${TOKEN}]`,
      format: "{cvr}-{name}-{type}",
      type: "Revision",
      notificationWebhookUrl: "https://hooks.example/lasso",
      authConfig: { Method: "Header", Key: "X-Webhook-Auth", Value: "hook-secret-value" },
      errorAppend: "#error",
      items: [
        { cvr: 34580820, internalCustomerId: 1234 },
        { cvr: 10000009, format: "4321-{cvr}-{name}", internalCustomerId: 4321 },
      ],
      IsListener: false,
    });
  });

  it("refuses a batch name without the token, a short token, or an invalid request, sending nothing", async () => {
    const { client, calls } = batchesApi(
      () => json(apiBatch()),
      () => json([]),
    );
    const noToken = await caught(
      client.createBatch(createRequest({ batchName: "Revision" }), { uniqueToken: TOKEN }),
    );
    expect(noToken).toBeInstanceOf(LassoRequestError);
    expect((noToken as Error).message).toContain("batchName must contain the uniqueToken");
    const glued = await caught(
      client.createBatch(createRequest({ batchName: `x${TOKEN}0` }), { uniqueToken: TOKEN }),
    );
    expect(glued).toBeInstanceOf(LassoRequestError);
    const short = await caught(
      client.createBatch(createRequest({ batchName: "B abc" }), { uniqueToken: "abc" }),
    );
    expect((short as Error).message).toContain("at least 8 characters");
    const badCvr = await caught(
      client.createBatch(createRequest({ items: [{ cvr: "123" }] }), { uniqueToken: TOKEN }),
    );
    expect((badCvr as LassoRequestError).issues.map((issue) => issue.path)).toEqual(["items[0].cvr"]);
    expect(calls).toHaveLength(0);
  });

  it("after a 500, finds the batch by its token and does not POST again", async () => {
    const { client, posts, gets } = batchesApi(
      () => json({ message: "Internal error" }, 500),
      () => json([apiBatch({ id: "other", name: "Someone else's batch" }), apiBatch({ id: "mine" })]),
    );
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.id).toBe("mine");
    expect(posts()).toBe(1);
    expect(gets()).toBe(1);
  });

  it("after a network error, POSTs exactly once more when the batch is not there", async () => {
    let postCount = 0;
    const { client, posts, gets, sleeps } = batchesApi(
      () => {
        postCount++;
        if (postCount === 1) return networkFailure();
        return json(apiBatch({ id: "second" }));
      },
      () => json([apiBatch({ id: "other", name: "tok-8f3a9c01e2x is not my token" })]),
    );
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.id).toBe("second");
    expect(posts()).toBe(2);
    // Believed absent only after three looks, 2.5 s and 5 s apart (after the POST's backoff).
    expect(gets()).toBe(3);
    expect(sleeps).toHaveLength(3);
    expect(sleeps.slice(1)).toEqual([2_500, 5_000]);
  });

  it("after an ambiguous POST, a batch Lasso lists only seconds later is found, not posted again", async () => {
    let getCount = 0;
    const { client, posts, gets, sleeps } = batchesApi(
      () => json({ message: "Bad gateway" }, 502),
      () => {
        getCount++;
        return json(
          getCount < 3 ? [apiBatch({ id: "other", name: "Someone else's" })] : [apiBatch({ id: "late" })],
        );
      },
    );
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.id).toBe("late");
    expect(posts()).toBe(1);
    expect(gets()).toBe(3);
    expect(sleeps.slice(1)).toEqual([2_500, 5_000]);
  });

  it("throws the POST's error rather than posting again when time runs out before the last look", async () => {
    const { client, posts, gets } = batchesApi(
      () => json({ message: "Service unavailable" }, 503),
      () => json([]),
      { retry: { maxTotalMs: 4_000 } },
    );
    const err = await caught(client.createBatch(createRequest(), { uniqueToken: TOKEN }));
    expect(err).toBeInstanceOf(LassoApiError);
    expect((err as LassoApiError).operation).toBe("createBatch");
    expect((err as LassoApiError).status).toBe(503);
    expect(posts()).toBe(1);
    expect(gets()).toBeGreaterThanOrEqual(2);
  });

  it("after a timeout, finds the batch the provider created anyway", async () => {
    const calls: string[] = [];
    const client = new LassoClient({
      baseUrl: BASE,
      apiKey: API_KEY,
      timeoutMs: 20,
      sleep: async () => undefined,
      fetch: (_input, init) => {
        calls.push(init?.method ?? "GET");
        return init?.method === "POST"
          ? hanging({} as Call, init.signal)
          : Promise.resolve(json([apiBatch()]));
      },
    });
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.name).toContain(TOKEN);
    expect(calls).toEqual(["POST", "GET"]);
  });

  it("throws a 400 at once with the server's message, without retry or lookup", async () => {
    const { client, calls, sleeps } = batchesApi(
      () => json({ ErrorCode: 3, Message: "Item 2: CVR 10000009 is not a valid company" }, 400),
      () => json([]),
    );
    const err = await caught(client.createBatch(createRequest(), { uniqueToken: TOKEN }));
    expect(err).toBeInstanceOf(LassoApiError);
    const apiErr = err as LassoApiError;
    expect(apiErr.status).toBe(400);
    expect(apiErr.errorCode).toBe(3);
    expect(apiErr.operation).toBe("createBatch");
    expect(apiErr.message).toBe(
      "Lasso createBatch (POST /apps/reporting/batches) failed with HTTP 400, errorCode 3: " +
        "Item 2: CVR 10000009 is not a valid company",
    );
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("retries the POST after a 429, honouring retry-after, without a lookup", async () => {
    let postCount = 0;
    const { client, posts, gets, sleeps } = batchesApi(
      () => {
        postCount++;
        return postCount === 1
          ? json({ errorCode: 26, message: "Too many requests" }, 429, { "retry-after": "2" })
          : json(apiBatch({ id: "after-429" }));
      },
      () => json([]),
    );
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.id).toBe("after-429");
    expect(posts()).toBe(2);
    expect(gets()).toBe(0);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000);
  });

  it("keeps looking up before every later POST once an attempt was ambiguous", async () => {
    let postCount = 0;
    let getCount = 0;
    const { client, posts, gets } = batchesApi(
      () => {
        postCount++;
        return postCount === 1 ? json({}, 502) : json({ errorCode: 26 }, 429, { "retry-after": "1" });
      },
      () => {
        getCount++;
        // The first POST turns up late, after the 429.
        return json(getCount === 1 ? [] : [apiBatch({ id: "late" })]);
      },
      // One look per attempt, so the second look comes only after the second POST.
      { settleLookup: { lookups: 1 } },
    );
    const batch = await client.createBatch(createRequest(), { uniqueToken: TOKEN });
    expect(batch.id).toBe("late");
    expect(posts()).toBe(2);
    expect(gets()).toBe(2);
  });

  it("gives up within the retry count when every POST fails and the batch never appears", async () => {
    const { client, posts, gets } = batchesApi(
      () => json({ message: "down" }, 503),
      () => json([]),
      { retry: { retries: 2 }, settleLookup: { lookups: 1 } },
    );
    const err = await caught(client.createBatch(createRequest(), { uniqueToken: TOKEN }));
    expect(err).toBeInstanceOf(LassoApiError);
    expect((err as LassoApiError).operation).toBe("createBatch");
    expect((err as LassoApiError).status).toBe(503);
    expect(posts()).toBe(3);
    expect(gets()).toBe(2);
  });

  it("does not POST again when the lookup itself fails", async () => {
    const { client, posts } = batchesApi(
      () => json({}, 500),
      () => json({ message: "forbidden" }, 403),
    );
    const err = await caught(client.createBatch(createRequest(), { uniqueToken: TOKEN }));
    expect((err as LassoApiError).operation).toBe("findBatchByToken");
    expect((err as LassoApiError).status).toBe(403);
    expect(posts()).toBe(1);
  });

  it("keeps the API key and the webhook secret out of its errors", async () => {
    const { client } = batchesApi(
      () => json({ message: `Rejected ${API_KEY} / hook-secret-value` }, 422),
      () => json([]),
    );
    const err = await caught(client.createBatch(createRequest(), { uniqueToken: TOKEN }));
    const text = `${(err as Error).message} ${JSON.stringify(err)} ${inspect(err, { depth: 20 })}`;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain("hook-secret-value");
  });
});

describe("findBatchByToken", () => {
  it("matches the token as a whole word and validates only the match", async () => {
    const { client } = makeClient(() =>
      json([
        { id: "portal-1", name: "Made in the portal", status: "SomethingNew" },
        apiBatch({ id: "prefix", name: `${TOKEN}0 other` }),
        apiBatch({ id: "mine", Name: `Chunk 1 ${TOKEN}` }),
      ]),
    );
    expect((await client.findBatchByToken(TOKEN))?.id).toBe("mine");
    expect(await client.findBatchByToken("tok-absent-123")).toBeUndefined();
  });

  it("patient: looks again, 2.5 s and then 5 s later, before saying a batch is not there", async () => {
    let getCount = 0;
    const { client, calls, sleeps } = makeClient(() => {
      getCount++;
      return json(getCount === 2 ? [apiBatch({ id: "mine" })] : []);
    });
    expect((await client.findBatchByToken(TOKEN, { patient: true }))?.id).toBe("mine");
    expect(sleeps).toEqual([2_500]);
    expect(await client.findBatchByToken("tok-absent-123", { patient: true })).toBeUndefined();
    expect(calls).toHaveLength(2 + 3);
    expect(sleeps).toEqual([2_500, 2_500, 5_000]);
  });

  it("patient: out of time before the last look is an error, never 'not there'", async () => {
    const { client, calls } = makeClient(() => json([]), { retry: { maxTotalMs: 3_000 } });
    const err = await caught(client.findBatchByToken(TOKEN, { patient: true }));
    expect(err).toBeInstanceOf(LassoNetworkError);
    expect((err as LassoNetworkError).operation).toBe("findBatchByToken");
    expect(calls).toHaveLength(2);
  });

  it("fails loudly when the matching batch is invalid", async () => {
    const { client } = makeClient(() =>
      json([apiBatch({ id: "x", name: "unrelated" }), apiBatch({ status: "Weird" })]),
    );
    const err = await caught(client.findBatchByToken(TOKEN));
    expect(err).toBeInstanceOf(LassoResponseError);
    expect((err as LassoResponseError).issues.map((issue) => issue.path)).toEqual(["[1].status"]);
  });
});

describe("helpers", () => {
  it("parses retry-after as seconds or an HTTP-date", () => {
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("1.5", now)).toBe(1500);
    expect(parseRetryAfter("Wed, 01 May 2024 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 01 May 2024 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("matches tokens only where letters and digits do not continue them", () => {
    expect(nameContainsToken("Run [run-1234567]", "run-1234567")).toBe(true);
    expect(nameContainsToken("run-12345678", "run-1234567")).toBe(false);
    expect(nameContainsToken("xrun-1234567", "run-1234567")).toBe(false);
    expect(nameContainsToken("run-1234567x run-1234567", "run-1234567")).toBe(true);
    expect(nameContainsToken("anything", "")).toBe(false);
  });
});
