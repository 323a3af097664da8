/**
 * The transport under the Lasso client (client.ts, the endpoints): one HTTP exchange with
 * the API key in its header and redirects kept on the API's origin; retries with
 * exponential backoff and jitter, honouring `retry-after`, bounded by a count and a time
 * budget (p-retry counts, the waits go through the injectable `sleep`); answers read and
 * validated at the boundary; errors typed (errors.ts) and never carrying a secret.
 */
import pRetry, { AbortError } from "p-retry";
import type { ZodMiniType } from "zod/mini";
import { LassoBudgetExhausted, type LassoCallBudget } from "./call-budget.ts";
import {
  LassoApiError,
  LassoError,
  LassoNetworkError,
  type LassoOperation,
  LassoResponseError,
  type ResponseIssue,
  redactSecrets,
  sanitiseCause,
} from "./errors.ts";
import { pickField } from "./normalise.ts";
import { issuesOf, parseErrorBody } from "./schemas.ts";

export interface LassoRetryOptions {
  /** Retries after the first attempt (default 4, so at most 5 attempts). */
  retries?: number;
  /** Base of the exponential backoff (default 200 ms). */
  minDelayMs?: number;
  /** Cap of one backoff delay (default 5000 ms); a longer `retry-after` is still honoured. */
  maxDelayMs?: number;
  /**
   * Budget of one call, retries and waits included (default 30000 ms): a retry whose wait
   * would end past it is not made and the last error is thrown. An attempt already started
   * may still run for up to `timeoutMs`.
   */
  maxTotalMs?: number;
}
export type Method = "GET" | "POST";

export interface RequestSpec {
  operation: LassoOperation;
  method: Method;
  /** Path segments under /apps/reporting/, unencoded. */
  segments: readonly string[];
  query?: Readonly<Record<string, string | undefined>>;
  body?: unknown;
  timeoutMs?: number;
  /** Secrets besides the API key to keep out of errors (e.g. a webhook auth value). */
  secrets?: readonly string[];
}

/** Time used by one call: real time, except that injected sleeps count as what they were asked. */
export class Budget {
  readonly limitMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #start = performance.now();
  #realSleep = 0;
  #nominalSleep = 0;

  constructor(limitMs: number, sleep: (ms: number) => Promise<void>) {
    this.limitMs = limitMs;
    this.#sleep = sleep;
  }

  usedMs(): number {
    return performance.now() - this.#start - this.#realSleep + this.#nominalSleep;
  }

  async sleep(ms: number): Promise<void> {
    const before = performance.now();
    try {
      await this.#sleep(ms);
    } finally {
      this.#realSleep += performance.now() - before;
      this.#nominalSleep += ms;
    }
  }
}
/**
 * Parses a `retry-after` header: delta seconds (also fractional) or an HTTP-date.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isTimeout(err: unknown, signal: AbortSignal): boolean {
  if (err instanceof Error && err.name === "TimeoutError") return true;
  return signal.aborted && signal.reason instanceof Error && signal.reason.name === "TimeoutError";
}

/** Errors worth another attempt of the same request. */
function isRetryable(err: unknown): boolean {
  return err instanceof LassoNetworkError || (err instanceof LassoApiError && err.retryable);
}

/** Errors after which a POST may or may not have been carried out by the provider. */
export function isAmbiguous(err: unknown): boolean {
  return isRetryable(err) && !(err instanceof LassoApiError && err.status === 429);
}

const MAX_REDIRECTS = 5;

/** Carries a failure of the budget's store through the exchange's catch unchanged. */
class BudgetUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super("the Lasso call budget could not be read");
  }
}

export interface TransportOptions {
  apiKey: string;
  /** The API's root, ".../apps/reporting". */
  root: string;
  /** The API's origin: the key is sent there only. */
  origin: string;
  timeoutMs: number;
  retry: Required<LassoRetryOptions>;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  /** Every request to the API's origin takes one token first (call-budget.ts). */
  callBudget: LassoCallBudget;
}

export class LassoTransport {
  readonly #apiKey: string;
  readonly #root: string;
  readonly #origin: string;
  readonly #timeoutMs: number;
  readonly #retry: Required<LassoRetryOptions>;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #callBudget: LassoCallBudget;

  constructor(options: TransportOptions) {
    this.#apiKey = options.apiKey;
    this.#root = options.root;
    this.#origin = options.origin;
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
    this.#fetch = options.fetch;
    this.#sleep = options.sleep;
    this.#callBudget = options.callBudget;
  }

  /** A fresh time budget for one call, retries and waits included. */
  budget(): Budget {
    return new Budget(this.#retry.maxTotalMs, this.#sleep);
  }

  async getJson<T>(spec: RequestSpec, schema: ZodMiniType<T>, budget: Budget): Promise<T> {
    return this.retrying(spec.operation, budget, async () => {
      const response = await this.send(spec);
      return this.validate(spec, response.status, schema, await this.readJson(spec, response));
    });
  }

  /**
   * Runs `attempt` until it succeeds, it throws an error that is not retryable, or the
   * budget (count or time) is spent; then throws the last error. Only errors of the
   * attempt's own operation are retried here: an inner call (the token lookup of
   * createBatch) has already used its own retries.
   */
  async retrying<T>(operation: LassoOperation, budget: Budget, attempt: () => Promise<T>): Promise<T> {
    return pRetry(
      async () => {
        try {
          return await attempt();
        } catch (err) {
          if (err instanceof LassoError && err.operation === operation && isRetryable(err)) throw err;
          throw new AbortError(err instanceof Error ? err : new Error(String(err)));
        }
      },
      {
        retries: this.#retry.retries,
        // p-retry only counts; the waits happen in onFailedAttempt, through the injected sleep.
        factor: 1,
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        onFailedAttempt: async (err) => {
          if (err.retriesLeft <= 0) throw err;
          const delay = this.#delayFor(err.attemptNumber, err);
          if (budget.usedMs() + delay > budget.limitMs) throw err;
          await budget.sleep(delay);
        },
      },
    );
  }

  /** Exponential backoff with "equal jitter"; at least `retry-after` (plus jitter) when given. */
  #delayFor(attemptNumber: number, err: Error): number {
    const { minDelayMs, maxDelayMs } = this.#retry;
    const exp = Math.min(maxDelayMs, minDelayMs * 2 ** (attemptNumber - 1));
    const backoff = exp / 2 + (Math.random() * exp) / 2;
    const retryAfter = err instanceof LassoApiError ? err.retryAfterMs : undefined;
    const delay =
      retryAfter === undefined ? backoff : Math.max(backoff, retryAfter + Math.random() * minDelayMs);
    return Math.round(delay);
  }

  /** One HTTP exchange; resolves with a 2xx response, throws LassoApiError / LassoNetworkError. */
  async send(spec: RequestSpec): Promise<Response> {
    const timeoutMs = this.timeoutOf(spec);
    const signal = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { "lasso-api-key": this.#apiKey, accept: "application/json" };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.body);
    }
    let url = this.#url(spec);
    let response: Response;
    try {
      for (let hop = 0; ; hop++) {
        if (new URL(url).origin === this.#origin) await this.#takeToken(spec);
        response = await this.#fetch(url, { method: spec.method, headers, body, signal, redirect: "manual" });
        const location = response.headers.get("location");
        if (spec.method !== "GET" || response.status < 300 || response.status > 399 || !location) break;
        if (hop >= MAX_REDIRECTS) break;
        const next = new URL(location, url);
        if (next.protocol !== "https:" && next.protocol !== "http:") break;
        // The key goes to the API's own origin only; once dropped it stays dropped.
        if (next.origin !== this.#origin) delete headers["lasso-api-key"];
        await response.body?.cancel().catch(() => undefined);
        url = next.href;
      }
    } catch (err) {
      if (err instanceof LassoApiError) throw err;
      // The budget's own store failed: that error, not a network error of Lasso's.
      if (err instanceof BudgetUnavailable) throw err.cause;
      throw this.networkError(spec, err, timeoutMs, isTimeout(err, signal));
    }
    if (response.ok) return response;
    throw await this.#apiError(spec, response);
  }

  /**
   * One token of the shared budget; none in time is answered as Lasso would answer the
   * call past its limit, a 429 with `retry-after`, so every caller handles it as one.
   */
  async #takeToken(spec: RequestSpec): Promise<void> {
    try {
      await this.#callBudget.take();
    } catch (err) {
      if (!(err instanceof LassoBudgetExhausted)) throw new BudgetUnavailable(err);
      throw new LassoApiError({
        operation: spec.operation,
        request: this.describe(spec),
        status: 429,
        errorCode: "budget",
        serverMessage: `not sent: ${err.message}`,
        retryAfterMs: err.retryAfterMs,
      });
    }
  }

  async #apiError(spec: RequestSpec, response: Response): Promise<LassoApiError> {
    let text = "";
    try {
      text = await response.text();
    } catch {
      // The status says enough.
    }
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = parseErrorBody(json);
    const contentType = response.headers.get("content-type") ?? "";
    const rawMessage =
      parsed?.message ?? (json === undefined && text !== "" && !/html/i.test(contentType) ? text : undefined);
    const serverMessage = rawMessage === undefined ? undefined : this.#redact(rawMessage, spec);
    const errorCode =
      typeof parsed?.errorCode === "string" ? this.#redact(parsed.errorCode, spec, 50) : parsed?.errorCode;
    return new LassoApiError({
      operation: spec.operation,
      request: this.describe(spec),
      status: response.status,
      statusText: this.#redact(response.statusText, spec, 60),
      errorCode,
      serverMessage: serverMessage === "" ? undefined : serverMessage,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
    });
  }

  async readText(spec: RequestSpec, response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw this.networkError(
        spec,
        err,
        this.timeoutOf(spec),
        err instanceof Error && err.name === "TimeoutError",
      );
    }
  }

  async readJson(spec: RequestSpec, response: Response): Promise<unknown> {
    const text = await this.readText(spec, response);
    if (text.trim() === "")
      throw this.responseError(spec, response.status, [{ path: "", message: "empty body" }]);
    try {
      return JSON.parse(text);
    } catch {
      throw this.responseError(spec, response.status, [{ path: "", message: "body is not JSON" }]);
    }
  }

  looseBody(text: string, spec: RequestSpec): unknown {
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return this.#redact(text, spec);
    }
  }

  validate<T>(spec: RequestSpec, status: number, schema: ZodMiniType<T>, raw: unknown): T {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    throw this.responseError(spec, status, issuesOf(parsed.error));
  }

  responseError(spec: RequestSpec, status: number, issues: readonly ResponseIssue[]): LassoResponseError {
    const clean = issues.map((issue) => ({
      path: this.#redact(issue.path, spec, 200),
      message: this.#redact(issue.message, spec, 200),
    }));
    return new LassoResponseError({
      operation: spec.operation,
      request: this.describe(spec),
      status,
      issues: clean,
    });
  }

  networkError(spec: RequestSpec, err: unknown, timeoutMs: number, timedOut: boolean): LassoNetworkError {
    const secrets = this.#secrets(spec);
    const causeCode =
      err instanceof Error && err.cause instanceof Error ? pickField(err.cause, "code") : undefined;
    const detail = [errorMessage(err), typeof causeCode === "string" ? causeCode : undefined]
      .filter((part) => part !== undefined && part !== "")
      .join(": ");
    return new LassoNetworkError({
      operation: spec.operation,
      request: this.describe(spec),
      reason: timedOut
        ? `no answer within ${timeoutMs} ms`
        : `network error: ${redactSecrets(detail, secrets)}`,
      timedOut,
      cause: sanitiseCause(err, secrets),
    });
  }

  #secrets(spec: RequestSpec): string[] {
    return [this.#apiKey, ...(spec.secrets ?? [])];
  }

  #redact(text: string, spec: RequestSpec, maxLength?: number): string {
    return redactSecrets(text, this.#secrets(spec), maxLength);
  }

  timeoutOf(spec: RequestSpec): number {
    return spec.timeoutMs ?? this.#timeoutMs;
  }

  path(segments: readonly string[]): string {
    return `${new URL(this.#root).pathname.replace(/\/+$/, "")}/${segments.map(encodeURIComponent).join("/")}`;
  }

  /** "GET /apps/reporting/batches/{id}" — the query is left out (it may hold a webhook URL). */
  describe(spec: RequestSpec): string {
    return `${spec.method} ${this.#redact(this.path(spec.segments), spec, 200)}`;
  }

  #url(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== "") params.set(name, value);
    }
    const query = params.toString();
    return `${this.#root}/${spec.segments.map(encodeURIComponent).join("/")}${query ? `?${query}` : ""}`;
  }
}
