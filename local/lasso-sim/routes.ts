/**
 * The simulator's routing and its per-call rules, apart from the server that wires them:
 * which Reporting API route a request names, the API-key comparison, and how a matched
 * route runs through the deterministic fault rules and the random faults.
 */
import { timingSafeEqual } from "node:crypto";
import type { ReportingApi } from "./api.ts";
import { ApiError, ERROR_CODES, notFound, statusError } from "./errors.ts";
import type { FaultEngine } from "./faults.ts";
import type { Reply } from "./http.ts";
import type { FaultRule, RouteName } from "./types.ts";

export interface RouteMatch {
  route: RouteName;
  run: (body: unknown) => Reply | Promise<Reply>;
  needsBody: boolean;
}

export const methodNotAllowed = (): ApiError =>
  new ApiError(405, ERROR_CODES.methodNotAllowed, "Method not allowed on this route");

/** Constant-time: the key check must not leak how much of a guess was right. */
export function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The route under /apps/reporting (`segments` after those two); ids keep their case. */
export function matchReporting(
  api: ReportingApi,
  method: string,
  segments: readonly string[],
  query: URLSearchParams,
): RouteMatch {
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

/**
 * Runs a matched route through the deterministic rules and the random faults. Undefined
 * means no reply: the client went away during a "before" timeout.
 */
export async function runWithFaults(
  faults: FaultEngine,
  sleep: (ms: number) => Promise<void>,
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
