import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LassoBudgetExhausted, type LassoCallBudget } from "#shared/lasso/call-budget.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { isRateLimited, type LassoApiError } from "#shared/lasso/errors.ts";
import { fetchPdfPatiently, PdfFetchError } from "#shared/pdf/fetch.ts";

const BATCH = {
  id: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
  name: "Revision 2024-05 [tok-8f3a9c01e2]",
  type: 0,
  status: "Scheduled",
  batchSize: 2,
  completionPercentage: 0,
  IsListener: false,
};

/** A budget that counts its takes and refuses once `tokens` are spent. */
function countingBudget(tokens = Number.POSITIVE_INFINITY) {
  const seen = { takes: 0, maxWaits: [] as (number | undefined)[] };
  const budget: LassoCallBudget = {
    take: async (options) => {
      seen.takes++;
      seen.maxWaits.push(options?.maxWaitMs);
      if (seen.takes > tokens) throw new LassoBudgetExhausted(4_000);
    },
  };
  return { budget, seen };
}

function client(budget: LassoCallBudget, answers: (() => Response)[]) {
  const requests: string[] = [];
  const lasso = new LassoClient({
    baseUrl: "https://api.lassox.test",
    apiKey: "k3y-5ecret-0123456789abcdef",
    callBudget: budget,
    sleep: async () => undefined,
    fetch: async (input) => {
      requests.push(String(input));
      const answer = answers[Math.min(requests.length, answers.length) - 1];
      if (answer === undefined) throw new Error("no answer");
      return answer();
    },
  });
  return { lasso, requests };
}

const json =
  (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

describe("the Lasso client spends the shared budget", () => {
  it("takes one token per request, retries included", async () => {
    const { budget, seen } = countingBudget();
    const { lasso, requests } = client(budget, [
      json({ errorCode: 26 }, 429, { "retry-after": "0" }),
      json(BATCH),
    ]);
    await lasso.getBatch(BATCH.id);
    expect(requests).toHaveLength(2);
    expect(seen.takes).toBe(2);
  });

  it("sends nothing without a token, and fails as Lasso's 429 does, with the budget's wait as retry-after", async () => {
    const { budget } = countingBudget(0);
    const { lasso, requests } = client(budget, [json(BATCH)]);
    const error = await lasso.getBatch(BATCH.id).catch((e: unknown) => e);
    expect(requests).toHaveLength(0);
    expect(isRateLimited(error)).toBe(true);
    expect((error as LassoApiError).retryAfterMs).toBe(4_000);
    expect((error as LassoApiError).errorCode).toBe("budget");
  });

  it("passes a failure of the budget's store through unchanged (not a network error of Lasso's)", async () => {
    const storeDown = new Error("DynamoDB is unavailable");
    const budget: LassoCallBudget = {
      take: async () => {
        throw storeDown;
      },
    };
    const { lasso } = client(budget, [json(BATCH)]);
    await expect(lasso.getBatch(BATCH.id)).rejects.toBe(storeDown);
  });
});

describe("PDF downloads spend the shared budget (Lasso counts them)", () => {
  let server: Server;
  let base = "";
  let downloads = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      downloads++;
      res.writeHead(200, { "content-type": "application/pdf" });
      res.end("%PDF-1.4 test");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const options = () => ({
    allowedHosts: [new URL(base).host],
    allowHttp: true,
    maxBytes: 1_000_000,
  });

  it("takes a token before each download, waiting the policy's longest wait without a deadline, else until the reserve", async () => {
    const { budget, seen } = countingBudget();
    downloads = 0;
    const pdf = await fetchPdfPatiently(`${base}/r.pdf`, options(), {
      retries: 1,
      maxWaitMs: 7_000,
      budgetMs: 10_000,
      callBudget: budget,
    });
    expect(pdf.bytes.subarray(0, 5).toString()).toBe("%PDF-");
    expect(seen.takes).toBe(1);
    expect(seen.maxWaits).toEqual([7_000]);
    expect(downloads).toBe(1);
    const deadline = new Date(Date.now() + 60_000);
    await fetchPdfPatiently(`${base}/r.pdf`, options(), {
      retries: 1,
      maxWaitMs: 7_000,
      budgetMs: 10_000,
      callBudget: budget,
      deadline,
      reserveMs: 15_000,
    });
    // The 45 s before the reserve, less the 200 ms an attempt needs at least.
    expect(seen.maxWaits[1]).toBeGreaterThan(44_000);
    expect(seen.maxWaits[1]).toBeLessThanOrEqual(44_800);
  });

  it("without a token downloads nothing and fails retryable with the budget's wait, so the message is deferred", async () => {
    const { budget } = countingBudget(0);
    downloads = 0;
    const error = await fetchPdfPatiently(`${base}/r.pdf`, options(), {
      retries: 3,
      maxWaitMs: 7_000,
      budgetMs: 10_000,
      callBudget: budget,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdfFetchError);
    expect((error as PdfFetchError).reason).toBe("budget");
    expect((error as PdfFetchError).retryable).toBe(true);
    expect((error as PdfFetchError).retryAfterMs).toBe(4_000);
    expect(downloads).toBe(0);
  });
});
