/**
 * The Lasso X Reporting API simulator: HTTP server, routing, API-key check, rate limit and
 * fault injection, wired to the state, webhook and PDF modules. See README.md.
 *
 * Routes (paths are matched case-insensitively, trailing slash allowed):
 *   POST /apps/reporting/batches                 createBatch
 *   GET  /apps/reporting/batches                 listBatches
 *   GET  /apps/reporting/batches/{id}            getBatch
 *   GET  /apps/reporting/batches/{id}/items      listItems   (?status=, ?cToken=)
 *   GET  /apps/reporting/batches/{id}/download   download    (application/zip)
 *   GET|POST /apps/reporting/webhooktest         webhookTest (?url=&lassoId=&batchId=&reportType=)
 *   GET  /files/{itemId}/{token}.pdf             pdf         (capability URL: no API key)
 *   /_sim/...                                    test hooks  (hooks.ts)
 *
 * Every /apps/reporting call needs `lasso-api-key` (or `accessKey=` in the query, which the
 * provider also accepts): 401 otherwise. Calls with the key, and PDF downloads, count against
 * the key's rate limit (the budget covers PDF downloads too, as the provider says).
 */

import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ReportingApi } from "./api.ts";
import { ApiError, ERROR_CODES, notFound, statusError } from "./errors.ts";
import { FaultEngine } from "./faults.ts";
import { handleSimHook } from "./hooks.ts";
import { errorReply, parseJsonBody, type Reply, readBody, writeReply } from "./http.ts";
import { derivedUuid } from "./prng.ts";
import { RateLimiter } from "./ratelimit.ts";
import { SimState } from "./state.ts";
import type { FaultRule, LassoSimulator, LassoSimulatorOptions, RouteName } from "./types.ts";
import { WebhookDispatcher } from "./webhooks.ts";
import { WorkTracker } from "./work.ts";

export const DEFAULT_API_KEY = "sim-api-key";

interface RouteMatch {
  route: RouteName;
  run: (body: unknown) => Reply | Promise<Reply>;
  needsBody: boolean;
}

const methodNotAllowed = (): ApiError =>
  new ApiError(405, ERROR_CODES.methodNotAllowed, "Method not allowed on this route");

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startLassoSimulator(options: LassoSimulatorOptions = {}): Promise<LassoSimulator> {
  const host = options.host ?? "127.0.0.1";
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const now = options.now ?? (() => new Date());
  const reportDelayMs = Math.max(0, options.reportDelayMs ?? 20);
  let webhooksEnabled = options.webhooksEnabled ?? true;
  let baseUrl = "";
  const fileBaseUrl = (): string => (options.publicBaseUrl ?? baseUrl).replace(/\/+$/, "");

  const tracker = new WorkTracker();
  const faults = new FaultEngine(options.faults, 4 * reportDelayMs + 50);
  const limiter = new RateLimiter(options.rateLimitPerMinute ?? 500, options.rateLimitWindowMs ?? 60_000);
  const webhooks = new WebhookDispatcher({
    retryScale: options.webhookRetryScale ?? 0.001,
    timeoutMs: options.webhookTimeoutMs ?? 5000,
    ...(options.webhookDisableAfterMs !== undefined ? { disableAfterMs: options.webhookDisableAfterMs } : {}),
    tracker,
    now,
    isEnabled: () => webhooksEnabled,
  });
  const state = new SimState({
    now,
    reportDelayMs,
    initializingMs: options.initializingMs ?? Math.max(1, Math.round(reportDelayMs / 2)),
    failedReportsHavePdf: options.failedReportsHavePdf ?? true,
    orgId: derivedUuid("lasso-org", apiKey),
    userId: derivedUuid("lasso-user", apiKey),
    faults,
    webhooks,
    tracker,
    fileBaseUrl,
  });
  const api = new ReportingApi({
    state,
    webhooks,
    itemsPageSize: Math.max(1, options.itemsPageSize ?? 50),
    now,
    fileBaseUrl,
  });

  /** Waits `ms` unless the simulator closes first (then never resolves: the socket is gone). */
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => tracker.setTimer(resolve, ms));

  function matchReporting(method: string, segments: readonly string[], query: URLSearchParams): RouteMatch {
    const [first, id, action, ...rest] = segments.map((s, i) => (i === 1 ? s : s.toLowerCase()));
    if (first === "batches" && rest.length === 0) {
      if (id === undefined) {
        if (method === "POST")
          return { route: "createBatch", needsBody: true, run: (body) => api.createBatch(body) };
        if (method === "GET") return { route: "listBatches", needsBody: false, run: () => api.listBatches() };
        throw methodNotAllowed();
      }
      if (method !== "GET") throw methodNotAllowed();
      if (action === undefined) return { route: "getBatch", needsBody: false, run: () => api.getBatch(id) };
      if (action === "items")
        return { route: "listItems", needsBody: false, run: () => api.listItems(id, query) };
      if (action === "download") return { route: "download", needsBody: false, run: () => api.download(id) };
    }
    if (first === "webhooktest" && id === undefined) {
      if (method !== "GET" && method !== "POST") throw methodNotAllowed();
      return {
        route: "webhookTest",
        needsBody: method === "POST",
        run: (body) => api.webhookTest(method, query, body),
      };
    }
    throw notFound("No such route");
  }

  function checkRate(): void {
    const decision = limiter.take(apiKey);
    if (!decision.allowed) throw statusError(429, decision.retryAfterSeconds);
  }

  /** Runs a matched route through the deterministic rules and the random faults. */
  async function runWithFaults(
    match: RouteMatch,
    body: unknown,
    clientGone: () => boolean,
  ): Promise<Reply | undefined> {
    const rule: FaultRule | undefined = faults.takeRule(match.route);
    if (rule !== undefined) {
      if (rule.kind === "timeout") {
        if (rule.mode === "before") {
          await sleep(rule.delayMs);
          if (clientGone()) return undefined;
          return await match.run(body);
        }
        const reply = await match.run(body);
        await sleep(rule.delayMs);
        return reply;
      }
      if (rule.mode === "afterAccept") await match.run(body);
      throw statusError(rule.status);
    }
    const random = faults.apiFault();
    if (random?.kind === "status") throw statusError(random.status);
    const reply = await match.run(body);
    if (random?.kind === "delay") await sleep(random.delayMs);
    return reply;
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<Reply | undefined> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    let segments: string[];
    try {
      segments = url.pathname
        .split("/")
        .filter((s) => s !== "")
        .map(decodeURIComponent);
    } catch {
      throw notFound("No such route");
    }
    let gone = false;
    res.on("close", () => {
      if (!res.writableFinished) gone = true;
    });
    const clientGone = (): boolean => gone;
    const head = segments[0]?.toLowerCase();

    if (head === "_sim") {
      const body = method === "POST" ? parseJsonBody(await readBody(req)) : undefined;
      return handleSimHook(simulator, method, segments.slice(1), url.searchParams, body);
    }
    if (head === "files") {
      const [, itemId, file, ...rest] = segments;
      if (itemId === undefined || file === undefined || rest.length > 0)
        throw notFound("The file was not found");
      if (method !== "GET") throw methodNotAllowed();
      checkRate();
      const match: RouteMatch = { route: "pdf", needsBody: false, run: () => api.pdf(itemId, file) };
      return runWithFaults(match, undefined, clientGone);
    }
    if (head === "apps" && segments[1]?.toLowerCase() === "reporting") {
      const given = req.headers["lasso-api-key"] ?? url.searchParams.get("accessKey") ?? undefined;
      const key = Array.isArray(given) ? given[0] : given;
      if (key === undefined || !sameKey(key, apiKey)) {
        throw new ApiError(
          401,
          ERROR_CODES.unauthorized,
          "Missing or invalid API key (header lasso-api-key)",
        );
      }
      checkRate();
      const match = matchReporting(method, segments.slice(2), url.searchParams);
      const body = match.needsBody ? parseJsonBody(await readBody(req)) : undefined;
      return runWithFaults(match, body, clientGone);
    }
    throw notFound("No such route");
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    void dispatch(req, res)
      .catch(errorReply)
      .then((reply) => {
        if (reply === undefined) {
          res.destroy();
          return;
        }
        writeReply(res, reply);
        options.log?.(
          `${req.method ?? "?"} ${req.url ?? "?"} -> ${reply.status} (${Math.round(performance.now() - started)} ms)`,
        );
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  baseUrl = `http://${shownHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  const simulator: LassoSimulator = {
    baseUrl,
    apiKey,
    close() {
      closing ??= new Promise<void>((resolve) => {
        tracker.close();
        webhooks.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    batches: () => state.all().map((b) => state.snapshot(b)),
    webhookDeliveries: () => webhooks.log(),
    injectFault: (rule) => faults.addRule(rule),
    clearFaults: () => faults.clearRules(),
    triggerChange: (batchId, cvr) => state.triggerChange(batchId, cvr),
    expirePdfLinks: (batchId) => state.expirePdfLinks(batchId),
    stopListening: (batchId) => state.stopListening(batchId),
    runNow: (batchId) => state.runNow(batchId),
    setWebhooksEnabled: (enabled) => {
      webhooksEnabled = enabled;
    },
    disabledWebhookUrls: () => webhooks.disabledUrls(),
    pdfBytes: async (itemId) => state.pdf(itemId),
    settle: () => tracker.idle(),
  };
  return simulator;
}
