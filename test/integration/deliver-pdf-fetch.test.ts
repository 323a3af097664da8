/**
 * The PDF fetch against real HTTP servers on loopback (local mode: http allowed): the
 * allow-list checked on every redirect, status handling, the byte cap (declared and
 * streamed), the `%PDF-` check and the time limit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fetchPdf, fetchPdfPatiently, PdfFetchError, type PdfFetchOptions } from "#shared/pdf/fetch.ts";

const PDF = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(10_000, 0x41), Buffer.from("\n%%EOF\n")]);

type Route = (req: IncomingMessage, res: ServerResponse) => void;

async function start(
  routes: Record<string, Route>,
): Promise<{ server: Server; origin: string; host: string }> {
  const server = createServer((req, res) => {
    const route = routes[req.url ?? ""];
    if (route) route(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` };
}

let allowed: Awaited<ReturnType<typeof start>>;
let outside: Awaited<ReturnType<typeof start>>;
const requests: string[] = [];
let throttledOnceCalls = 0;
let throttledLongCalls = 0;
let goneCalls = 0;

beforeAll(async () => {
  outside = await start({
    "/report.pdf": (_req, res) => {
      requests.push("outside");
      res.writeHead(200, { "content-type": "application/pdf" }).end(PDF);
    },
  });
  allowed = await start({
    "/report.pdf": (req, res) => {
      requests.push(`allowed ${req.headers.accept}`);
      res.writeHead(200, { "content-type": "application/pdf" }).end(PDF);
    },
    "/hop1": (_req, res) => res.writeHead(302, { location: "/hop2" }).end(),
    "/hop2": (_req, res) => res.writeHead(307, { location: "/report.pdf" }).end(),
    "/loop": (_req, res) => res.writeHead(301, { location: "/loop" }).end(),
    "/to-outside": (_req, res) => res.writeHead(302, { location: `${outside.origin}/report.pdf` }).end(),
    "/no-location": (_req, res) => res.writeHead(302).end(),
    "/html": (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>login</html>"),
    "/tiny": (_req, res) => res.writeHead(200).end("%PD"),
    "/declared-big": (_req, res) => {
      res.writeHead(200, { "content-length": String(1024 * 1024) });
      res.write(PDF.subarray(0, 100));
      // Never finishes: the declared length alone is enough to refuse.
    },
    "/streamed-big": (_req, res) => {
      res.writeHead(200, { "content-type": "application/pdf" });
      res.write("%PDF-1.7\n");
      const chunk = Buffer.alloc(16 * 1024, 0x42);
      let sent = 0;
      const pump = () => {
        while (sent < 2 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    },
    "/gone": (_req, res) => res.writeHead(410).end(),
    "/busy": (_req, res) => res.writeHead(503).end(),
    "/throttled": (_req, res) => res.writeHead(429).end(),
    "/throttled-once": (_req, res) => {
      throttledOnceCalls += 1;
      if (throttledOnceCalls === 1) res.writeHead(429, { "retry-after": "1" }).end();
      else res.writeHead(200, { "content-type": "application/pdf" }).end(PDF);
    },
    "/throttled-long": (_req, res) => {
      throttledLongCalls += 1;
      res.writeHead(429, { "retry-after": "120" }).end();
    },
    "/gone-counted": (_req, res) => {
      goneCalls += 1;
      res.writeHead(410).end();
    },
    "/stall": (_req, res) => {
      res.writeHead(200);
      res.write("%PDF-1.7\n");
    },
  });
});

afterAll(async () => {
  for (const { server } of [allowed, outside]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const local = (overrides: Partial<PdfFetchOptions> = {}): PdfFetchOptions => ({
  allowedHosts: [allowed.host],
  allowHttp: true,
  maxBytes: 64 * 1024,
  totalTimeoutMs: 5000,
  ...overrides,
});

async function refusal(path: string, options = local()): Promise<PdfFetchError> {
  const error = await fetchPdf(`${allowed.origin}${path}`, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PdfFetchError);
  return error as PdfFetchError;
}

describe("fetchPdf over HTTP", () => {
  test("downloads a PDF from an allowed host, byte for byte", async () => {
    const pdf = await fetchPdf(`${allowed.origin}/report.pdf`, local());
    expect(pdf.bytes.equals(PDF)).toBe(true);
    expect(pdf.redirects).toBe(0);
    expect(requests).toContain("allowed application/pdf");
  });

  test("follows redirects within the allow-list, checking each hop", async () => {
    const pdf = await fetchPdf(`${allowed.origin}/hop1`, local());
    expect(pdf.bytes.equals(PDF)).toBe(true);
    expect(pdf.redirects).toBe(2);
    expect(pdf.finalUrl).toBe(`${allowed.origin}/report.pdf`);
  });

  test("refuses a link to a host outside the allow-list, and a redirect to one, without fetching there", async () => {
    const before = requests.filter((r) => r === "outside").length;
    const direct = await fetchPdf(`${outside.origin}/report.pdf`, local()).catch((e: unknown) => e);
    expect(direct).toMatchObject({ reason: "host-not-allowed", retryable: false });
    expect(await refusal("/to-outside")).toMatchObject({ reason: "host-not-allowed", retryable: false });
    expect(requests.filter((r) => r === "outside").length).toBe(before);
  });

  test("refuses endless redirects and a redirect without a Location", async () => {
    expect(await refusal("/loop")).toMatchObject({ reason: "too-many-redirects", retryable: false });
    expect(await refusal("/no-location")).toMatchObject({ reason: "http-status", status: 302 });
  });

  test("refuses a body that is not a PDF", async () => {
    expect(await refusal("/html")).toMatchObject({ reason: "not-pdf", retryable: false });
    expect(await refusal("/tiny")).toMatchObject({ reason: "not-pdf", retryable: false });
  });

  test("refuses a body over the cap, whether declared or streamed", async () => {
    expect(await refusal("/declared-big")).toMatchObject({ reason: "too-large", retryable: false });
    expect(await refusal("/streamed-big")).toMatchObject({ reason: "too-large", retryable: false });
  });

  test("a 4xx is permanent; 429 and 5xx are retryable", async () => {
    expect(await refusal("/gone")).toMatchObject({ reason: "http-status", status: 410, retryable: false });
    expect(await refusal("/busy")).toMatchObject({ reason: "http-status", status: 503, retryable: true });
    expect(await refusal("/throttled")).toMatchObject({
      reason: "http-status",
      status: 429,
      retryable: true,
    });
  });

  test("a download that stalls past the total time limit is a retryable timeout", async () => {
    const started = Date.now();
    expect(await refusal("/stall", local({ totalTimeoutMs: 300 }))).toMatchObject({
      reason: "timeout",
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("a refused connection is a retryable network error", async () => {
    const closed = await start({});
    const host = closed.host;
    closed.server.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await fetchPdf(`http://${host}/report.pdf`, local({ allowedHosts: [host] })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ reason: "network", retryable: true });
  });

  test("production mode refuses loopback even when it is on the allow-list", async () => {
    // https is required in production; a loopback address never gets as far as a connection.
    const error = await fetchPdf(`https://${allowed.host}/report.pdf`, local({ allowHttp: false })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ reason: "private-address", retryable: false });
  });
});

describe("fetchPdfPatiently: a few seconds of patience inside the invocation", () => {
  test("waits out a short retry-after and then downloads", async () => {
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    const pdf = await fetchPdfPatiently(`${allowed.origin}/throttled-once`, local(), {
      retries: 3,
      maxWaitMs: 10_000,
      budgetMs: 20_000,
      sleep,
    });
    expect(pdf.bytes.equals(PDF)).toBe(true);
    expect(throttledOnceCalls).toBe(2);
    expect(waits).toEqual([1000]);
  });

  test("leaves a long retry-after to the queue: one request, the 429 thrown at once", async () => {
    const error = await fetchPdfPatiently(`${allowed.origin}/throttled-long`, local(), {
      retries: 3,
      maxWaitMs: 10_000,
      budgetMs: 20_000,
      sleep: () => Promise.resolve(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdfFetchError);
    expect((error as PdfFetchError).retryable).toBe(true);
    expect((error as PdfFetchError).retryAfterMs).toBe(120_000);
    expect(throttledLongCalls).toBe(1);
  });

  test("never runs into the invocation's deadline: a stalled download gives up in time, retryably", async () => {
    const started = Date.now();
    const error = await fetchPdfPatiently(`${allowed.origin}/stall`, local({ totalTimeoutMs: 60_000 }), {
      retries: 3,
      maxWaitMs: 10_000,
      budgetMs: 20_000,
      deadline: new Date(Date.now() + 1500 + 500),
      reserveMs: 500,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdfFetchError);
    expect((error as PdfFetchError).reason).toBe("timeout");
    expect((error as PdfFetchError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("starts no download when the invocation has no time left for it", async () => {
    const before = requests.length;
    const error = await fetchPdfPatiently(`${allowed.origin}/report.pdf`, local(), {
      retries: 3,
      maxWaitMs: 10_000,
      budgetMs: 20_000,
      deadline: new Date(Date.now() + 5000),
      reserveMs: 15_000,
    }).catch((e: unknown) => e);
    expect((error as PdfFetchError).reason).toBe("timeout");
    expect(requests.length).toBe(before);
  });

  test("does not retry a permanent refusal", async () => {
    const error = await fetchPdfPatiently(`${allowed.origin}/gone-counted`, local()).catch((e: unknown) => e);
    expect((error as PdfFetchError).status).toBe(410);
    expect(goneCalls).toBe(1);
  });
});
