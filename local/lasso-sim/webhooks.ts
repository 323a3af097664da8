/**
 * Webhook delivery, as the provider documents it: one POST per finished report to the batch's
 * notificationWebhookUrl with the batch's authConfig. A delivery that gets no 2xx answer (or
 * a network error or timeout) is retried after 5 min, 30 min, 2 h, 6 h and 12 h, each multiplied
 * by `webhookRetryScale` (no jitter, to stay deterministic): at most 5 retries. A URL that has
 * answered nothing successfully for the scaled 24 h is disabled: later deliveries to it are not
 * attempted (logged as "disabled"). Redirects are not followed (a 3xx counts as a failure).
 *
 * Auth: Header → `<Key>: <Value>`; BasicAuth → `Authorization: Basic base64(Key:Value)`;
 * Kerberos cannot be simulated and is sent as `Authorization: Negotiate base64(Key:Value)`.
 */

import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import http from "node:http";
import https from "node:https";
import type { WebhookPlan } from "./faults.ts";
import type { AuthConfig, WebhookDeliveryRecord, WebhookPayload } from "./types.ts";
import type { WorkTracker } from "./work.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The provider's retry schedule: delay before retry 1..5. */
export const RETRY_SCHEDULE_MS = [5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR, 12 * HOUR] as const;
export const DISABLE_AFTER_MS = 24 * HOUR;

export interface DeliveryTarget {
  url: string;
  auth: AuthConfig | null;
}

export type SendResult = { status: number } | { error: string };

export function authHeaders(auth: AuthConfig | null): Record<string, string> {
  if (auth === null) return {};
  const basic = Buffer.from(`${auth.key}:${auth.value}`, "utf8").toString("base64");
  switch (auth.method) {
    case "Header":
      return { [auth.key]: auth.value };
    case "BasicAuth":
      return { authorization: `Basic ${basic}` };
    default:
      return { authorization: `Negotiate ${basic}` };
  }
}

/** One POST; resolves with the answered status or an error text (never rejects). */
export function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<SendResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ error: "invalid URL" });
      return;
    }
    const client = target.protocol === "https:" ? https : http;
    const req = client.request(
      target,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: false,
        timeout: timeoutMs,
        signal,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        res.on("error", (err) => resolve({ error: err.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

export interface WebhookDispatcherDeps {
  retryScale: number;
  timeoutMs: number;
  tracker: WorkTracker;
  now: () => Date;
  isEnabled: () => boolean;
  /** Overrides the disable window (default DISABLE_AFTER_MS × retryScale). */
  disableAfterMs?: number;
  /** Monotonic milliseconds for the disable window (injectable). */
  monotonic?: () => number;
}

export class WebhookDispatcher {
  private readonly records: WebhookDeliveryRecord[] = [];
  private readonly failingSince = new Map<string, number>();
  private readonly disabled = new Set<string>();
  private readonly abort = new AbortController();
  private readonly monotonic: () => number;

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.monotonic = deps.monotonic ?? (() => performance.now());
    // One signal aborts every delivery in flight on close: many listeners are expected.
    setMaxListeners(0, this.abort.signal);
  }

  log(): WebhookDeliveryRecord[] {
    return this.records.map((r) => ({ ...r, headers: { ...r.headers } }));
  }

  disabledUrls(): string[] {
    return [...this.disabled];
  }

  /** Schedules the delivery of one finished report (plus fault-injected copies). */
  deliverReport(target: DeliveryTarget, payload: WebhookPayload, plan: WebhookPlan): void {
    if (!this.deps.isEnabled() || this.deps.tracker.closed) return;
    const body = JSON.stringify(payload);
    const headers = this.headersFor(target.auth);
    if (plan.drop) {
      this.record({
        deliveryId: randomUUID(),
        kind: "report",
        attempt: 1,
        duplicate: false,
        url: target.url,
        headers,
        body,
        outcome: "dropped",
      });
      return;
    }
    for (let copy = 0; copy <= plan.duplicates; copy++) {
      const end = this.deps.tracker.begin();
      const deliveryId = randomUUID();
      const run = (attempt: number): void => {
        void this.attempt(target.url, headers, body, deliveryId, attempt, copy > 0).then((retryIn) => {
          if (retryIn === undefined || this.deps.tracker.closed) end();
          else this.deps.tracker.setTimer(() => run(attempt + 1), retryIn);
        });
      };
      this.deps.tracker.setTimer(() => run(1), plan.extraDelayMs + copy * 5);
    }
  }

  /** The webhook test endpoint: one attempt, no retries, no disabling. */
  async sendTest(target: DeliveryTarget, payload: WebhookPayload): Promise<SendResult> {
    const body = JSON.stringify(payload);
    const headers = this.headersFor(target.auth);
    const result = await postJson(target.url, headers, body, this.deps.timeoutMs, this.abort.signal);
    this.record({
      deliveryId: randomUUID(),
      kind: "test",
      attempt: 1,
      duplicate: false,
      url: target.url,
      headers,
      body,
      outcome: "status" in result && result.status >= 200 && result.status < 300 ? "delivered" : "failed",
      ...result,
    });
    return result;
  }

  close(): void {
    this.abort.abort();
  }

  private headersFor(auth: AuthConfig | null): Record<string, string> {
    return {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "LassoX-Webhooks/1.0 (lasso-sim)",
      ...authHeaders(auth),
    };
  }

  /** Makes one attempt; resolves with the delay before the next one, or undefined when done. */
  private async attempt(
    url: string,
    headers: Record<string, string>,
    body: string,
    deliveryId: string,
    attempt: number,
    duplicate: boolean,
  ): Promise<number | undefined> {
    if (!this.deps.isEnabled() || this.deps.tracker.closed) return undefined;
    const base = { deliveryId, kind: "report" as const, attempt, duplicate, url, headers, body };
    if (this.disabled.has(url)) {
      this.record({ ...base, outcome: "disabled" });
      return undefined;
    }
    const result = await postJson(url, headers, body, this.deps.timeoutMs, this.abort.signal);
    if (this.deps.tracker.closed) return undefined;
    const ok = "status" in result && result.status >= 200 && result.status < 300;
    this.record({ ...base, outcome: ok ? "delivered" : "failed", ...result });
    if (ok) {
      this.failingSince.delete(url);
      return undefined;
    }
    const now = this.monotonic();
    const since = this.failingSince.get(url) ?? now;
    this.failingSince.set(url, since);
    if (now - since >= (this.deps.disableAfterMs ?? DISABLE_AFTER_MS * this.deps.retryScale)) {
      this.disabled.add(url);
      return undefined;
    }
    const delay = RETRY_SCHEDULE_MS[attempt - 1];
    return delay === undefined ? undefined : delay * this.deps.retryScale;
  }

  private record(entry: Omit<WebhookDeliveryRecord, "seq" | "at">): void {
    this.records.push({ seq: this.records.length + 1, at: this.deps.now().toISOString(), ...entry });
  }
}
