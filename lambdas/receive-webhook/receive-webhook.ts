/**
 * The receive-webhook use case: one HTTP request from Lasso in, one short JSON answer out.
 *
 * Refuses what can never succeed (405 method, 401 auth, 413 size, 400 not JSON, nested too
 * deep, or naming no report: no GUID batch id, no company, no known status or type), each
 * counted, nothing enqueued. What it enqueues is a doorbell, not a report: the delivery
 * confirms it with our records and Lasso's API (deliver-report/doorbell.ts). Otherwise turns the payload into report-ready messages
 * and answers 2xx only after SQS accepted them; 503 when it could not (Lasso retries).
 * It never downloads a PDF or sends mail: Lasso waits for this answer.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { redactLinks } from "#shared/redact-links.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { EnqueueError } from "#shared/report-ready-queue.ts";
import type { Counter } from "#shared/runtime/metrics.ts";
import { jsonNestingExceeds, MAX_WEBHOOK_JSON_DEPTH, parseWebhookPayload } from "#shared/webhook-payload.ts";
import { SecretUnavailableError, type WebhookAuthenticator } from "./auth.ts";

export const WEBHOOK_METRICS = {
  /** Every request that reached the function. */
  received: "WebhookReceived",
  /** Reports put on the report-ready queue. */
  accepted: "WebhookAccepted",
  /** Requests refused; dimension `reason`. */
  refused: "WebhookRefused",
  /** Requests answered 5xx (secret or queue unavailable): Lasso retries them. */
  failed: "WebhookFailed",
} as const;

export type RefusalReason = "method" | "auth" | "too-large" | "bad-json" | "unroutable";

export interface WebhookRequest {
  method: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

export interface WebhookResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface ReceiveWebhookDeps {
  auth: WebhookAuthenticator;
  /** Resolves once SQS accepted every message (report-ready-queue.ts `sendReportReady`). */
  enqueue: (messages: readonly ReportReadyMessage[]) => Promise<unknown>;
  clock: () => Date;
  metrics: Counter;
  logger: Pick<Logger, "info" | "warn" | "error">;
  maxBodyBytes: number;
}

/** Default body cap: a report's payload is about 1 KB. */
export const DEFAULT_MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
/** How much of a refused body is logged, for operators to see what Lasso sent. */
const LOGGED_BODY_CHARS = 2000;

/**
 * A body as logged: shortened, and links cut to their origin (a pdf link is a capability:
 * whoever has it can download the customer's report).
 */
export function loggable(body: string): string {
  return redactLinks(body.slice(0, LOGGED_BODY_CHARS));
}

const reply = (statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => ({
  statusCode,
  headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  body: JSON.stringify(body),
});

type Refuse = (reason: RefusalReason, response: WebhookResponse, detail?: string) => WebhookResponse;

const UNAVAILABLE = (): WebhookResponse =>
  reply(503, { error: "temporarily unavailable" }, { "retry-after": "60" });

export async function receiveWebhook(
  request: WebhookRequest,
  deps: ReceiveWebhookDeps,
): Promise<WebhookResponse> {
  const { metrics, logger } = deps;
  metrics.count(WEBHOOK_METRICS.received);
  const refuse: Refuse = (reason, response, detail) => {
    metrics.count(WEBHOOK_METRICS.refused, { reason });
    logger.warn("webhook refused", {
      reason,
      ...(detail === undefined ? {} : { detail }),
      status: response.statusCode,
      bodyBytes: request.body.length,
    });
    return response;
  };

  const door = await atTheDoor(request, deps, refuse);
  if (door !== undefined) return door;
  const bodyText = request.body.toString("utf8");
  const read = readBody(bodyText, deps, refuse);
  if ("refused" in read) return read.refused;
  return enqueue(read.messages, read.notes, bodyText, deps, refuse);
}

/** Method, secret and size: a refusal, a 503 when the secret cannot be read, or undefined to go on. */
async function atTheDoor(
  request: WebhookRequest,
  deps: ReceiveWebhookDeps,
  refuse: Refuse,
): Promise<WebhookResponse | undefined> {
  if (request.method.toUpperCase() !== "POST") {
    return refuse("method", reply(405, { error: "method not allowed" }, { allow: "POST" }));
  }
  let auth: Awaited<ReturnType<WebhookAuthenticator["check"]>>;
  try {
    auth = await deps.auth.check(request.headers);
  } catch (error) {
    if (!(error instanceof SecretUnavailableError)) throw error;
    deps.metrics.count(WEBHOOK_METRICS.failed);
    deps.logger.error("webhook secret unavailable", { error });
    return UNAVAILABLE();
  }
  // The same answer for a missing and a wrong secret: nothing to learn from trying.
  if (auth !== "ok") return refuse("auth", reply(401, { error: "unauthorized" }), auth);
  if (request.body.length > deps.maxBodyBytes) {
    return refuse("too-large", reply(413, { error: "payload too large" }));
  }
  return undefined;
}

/** The body as report-ready messages, or the 400 that says why it names no report. */
function readBody(
  bodyText: string,
  deps: ReceiveWebhookDeps,
  refuse: Refuse,
): { messages: ReportReadyMessage[]; notes: string[] } | { refused: WebhookResponse } {
  if (jsonNestingExceeds(bodyText, MAX_WEBHOOK_JSON_DEPTH)) {
    return {
      refused: refuse(
        "bad-json",
        reply(400, { error: "body is nested too deeply" }),
        `nested deeper than ${MAX_WEBHOOK_JSON_DEPTH}`,
      ),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return { refused: refuse("bad-json", reply(400, { error: "body is not JSON" }), loggable(bodyText)) };
  }
  const parsed = parseWebhookPayload(json, deps.clock());
  if (parsed.ok) return { messages: parsed.messages, notes: parsed.notes };
  deps.logger.warn("webhook payload not routable", { payload: loggable(bodyText) });
  return {
    refused: refuse(
      "unroutable",
      reply(400, { error: "no routable report", detail: parsed.reason }),
      parsed.reason,
    ),
  };
}

/** 2xx only once SQS accepted every message; 503 (Lasso retries) when it did not. */
async function enqueue(
  messages: ReportReadyMessage[],
  notes: string[],
  bodyText: string,
  deps: ReceiveWebhookDeps,
  refuse: Refuse,
): Promise<WebhookResponse> {
  const reports = messages.map((m) => ({
    batchId: m.batchId,
    cvr: m.cvr,
    reportType: m.reportType,
    reportId: m.reportId,
    itemStatus: m.itemStatus,
    internalCustomerId: m.internalCustomerId,
  }));
  try {
    await deps.enqueue(messages);
  } catch (error) {
    // A message the queue's schema refuses will never be accepted: a retry cannot help.
    if (error instanceof EnqueueError && error.result.rejected.every((r) => r.kind === "invalid")) {
      const detail = error.result.rejected.map((r) => r.reason).join("; ");
      return refuse("unroutable", reply(400, { error: "no routable report", detail }), detail);
    }
    deps.metrics.count(WEBHOOK_METRICS.failed);
    deps.logger.error("webhook not enqueued: answering 503 so that Lasso retries", { error, reports });
    return UNAVAILABLE();
  }
  deps.metrics.count(WEBHOOK_METRICS.accepted, undefined, messages.length);
  // The raw payload is logged once, on acceptance: the provider's format is undocumented.
  deps.logger.info("webhook accepted", {
    reports,
    ...(notes.length > 0 ? { notes } : {}),
    payload: loggable(bodyText),
  });
  return reply(200, { status: "accepted", reports: messages.length });
}
