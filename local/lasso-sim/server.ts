/**
 * The Lasso X Reporting API simulator: HTTP server, API-key check and rate limit, wired to
 * the routes (routes.ts: routing, fault injection), state, webhook and PDF modules. See README.md.
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

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ReportingApi } from "./api.ts";
import { ApiError, ERROR_CODES, notFound, statusError } from "./errors.ts";
import { FaultEngine } from "./faults.ts";
import { handleSimHook } from "./hooks.ts";
import { errorReply, parseJsonBody, type Reply, readBody, writeReply } from "./http.ts";
import { derivedUuid } from "./prng.ts";
import { RateLimiter } from "./ratelimit.ts";
import { matchReporting, methodNotAllowed, type RouteMatch, runWithFaults, sameKey } from "./routes.ts";
import { SimState } from "./state.ts";
import type { LassoSimulator, LassoSimulatorOptions } from "./types.ts";
import { WebhookDispatcher } from "./webhooks.ts";
import { WorkTracker } from "./work.ts";

export const DEFAULT_API_KEY = "sim-api-key";

/** The simulator's parts, wired once per simulator. */
interface SimParts {
  apiKey: string;
  tracker: WorkTracker;
  faults: FaultEngine;
  limiter: RateLimiter;
  webhooks: WebhookDispatcher;
  state: SimState;
  api: ReportingApi;
  /** Mutable: the base URL is known once the server listens; a test hook switches webhooks. */
  live: { baseUrl: string; webhooksEnabled: boolean };
}

function wireParts(options: LassoSimulatorOptions): SimParts {
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const now = options.now ?? (() => new Date());
  const reportDelayMs = Math.max(0, options.reportDelayMs ?? 20);
  const live = { baseUrl: "", webhooksEnabled: options.webhooksEnabled ?? true };
  const fileBaseUrl = (): string => (options.publicBaseUrl ?? live.baseUrl).replace(/\/+$/, "");

  const tracker = new WorkTracker();
  const faults = new FaultEngine(options.faults, 4 * reportDelayMs + 50);
  const limiter = new RateLimiter(options.rateLimitPerMinute ?? 500, options.rateLimitWindowMs ?? 60_000);
  const webhooks = new WebhookDispatcher({
    retryScale: options.webhookRetryScale ?? 0.001,
    timeoutMs: options.webhookTimeoutMs ?? 5000,
    ...(options.webhookDisableAfterMs !== undefined ? { disableAfterMs: options.webhookDisableAfterMs } : {}),
    tracker,
    now,
    isEnabled: () => live.webhooksEnabled,
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
  return { apiKey, tracker, faults, limiter, webhooks, state, api, live };
}

type Dispatch = (req: IncomingMessage, res: ServerResponse) => Promise<Reply | undefined>;

/** Request to reply: test hooks, PDF capability URLs, and the key-checked Reporting API. */
function createDispatch(parts: SimParts, simulator: () => LassoSimulator): Dispatch {
  const { api, apiKey, faults, limiter, tracker } = parts;
  /** Waits `ms` unless the simulator closes first (then never resolves: the socket is gone). */
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => tracker.setTimer(resolve, ms));
  const checkRate = (): void => {
    const decision = limiter.take(apiKey);
    if (!decision.allowed) throw statusError(429, decision.retryAfterSeconds);
  };

  return async (req, res) => {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    const segments = pathSegments(url);
    let gone = false;
    res.on("close", () => {
      if (!res.writableFinished) gone = true;
    });
    const clientGone = (): boolean => gone;
    const head = segments[0]?.toLowerCase();

    if (head === "_sim") {
      const body = method === "POST" ? parseJsonBody(await readBody(req)) : undefined;
      return handleSimHook(simulator(), method, segments.slice(1), url.searchParams, body);
    }
    if (head === "files") {
      const [, itemId, file, ...rest] = segments;
      if (itemId === undefined || file === undefined || rest.length > 0)
        throw notFound("The file was not found");
      if (method !== "GET") throw methodNotAllowed();
      checkRate();
      const match: RouteMatch = { route: "pdf", needsBody: false, run: () => api.pdf(itemId, file) };
      return runWithFaults(faults, sleep, match, undefined, clientGone);
    }
    if (head === "apps" && segments[1]?.toLowerCase() === "reporting") {
      checkApiKey(req, url, apiKey);
      checkRate();
      const match = matchReporting(api, method, segments.slice(2), url.searchParams);
      const body = match.needsBody ? parseJsonBody(await readBody(req)) : undefined;
      return runWithFaults(faults, sleep, match, body, clientGone);
    }
    throw notFound("No such route");
  };
}

/** The decoded path segments; a malformed escape is an unknown route. */
function pathSegments(url: URL): string[] {
  try {
    return url.pathname
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
  } catch {
    throw notFound("No such route");
  }
}

/** `lasso-api-key`, or `accessKey=` in the query (the provider accepts both). */
function checkApiKey(req: IncomingMessage, url: URL, apiKey: string): void {
  const given = req.headers["lasso-api-key"] ?? url.searchParams.get("accessKey") ?? undefined;
  const key = Array.isArray(given) ? given[0] : given;
  if (key === undefined || !sameKey(key, apiKey)) {
    throw new ApiError(401, ERROR_CODES.unauthorized, "Missing or invalid API key (header lasso-api-key)");
  }
}

/** Listens and answers; undefined from dispatch drops the connection (a simulated timeout). */
async function listen(dispatch: Dispatch, options: LassoSimulatorOptions, host: string): Promise<Server> {
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
  return server;
}

/** The URL clients use: a wildcard bind is reached on loopback, an IPv6 host in brackets. */
function shownBaseUrl(server: Server, host: string): string {
  const address = server.address() as AddressInfo;
  const shownHost =
    host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${shownHost}:${address.port}`;
}

export async function startLassoSimulator(options: LassoSimulatorOptions = {}): Promise<LassoSimulator> {
  const host = options.host ?? "127.0.0.1";
  const parts = wireParts(options);
  const { tracker, webhooks, faults, state, live } = parts;
  const server = await listen(
    createDispatch(parts, () => simulator),
    options,
    host,
  );
  live.baseUrl = shownBaseUrl(server, host);

  let closing: Promise<void> | undefined;
  const simulator: LassoSimulator = {
    baseUrl: live.baseUrl,
    apiKey: parts.apiKey,
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
    expireContinuationTokens: () => parts.api.expireContinuationTokens(),
    stopListening: (batchId) => state.stopListening(batchId),
    runNow: (batchId) => state.runNow(batchId),
    setWebhooksEnabled: (enabled) => {
      live.webhooksEnabled = enabled;
    },
    disabledWebhookUrls: () => webhooks.disabledUrls(),
    pdfBytes: async (itemId) => state.pdf(itemId),
    settle: () => tracker.idle(),
    rateStats: () => parts.limiter.stats(),
  };
  return simulator;
}
