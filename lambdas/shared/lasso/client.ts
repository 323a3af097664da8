/**
 * Typed client of the Lasso X Reporting API (our contract with it: docs/lasso-api.md).
 *
 * - Authenticates with the `lasso-api-key` header only (never the `accessKey` query
 *   parameter), and never puts the key into an error, a cause, or a log-able property.
 * - Validates every answer at the boundary (schemas.ts) and throws typed errors (errors.ts).
 * - Retries reads (and the webhook test) with exponential backoff and jitter on network
 *   errors, timeouts, 408, 429 and 5xx, honouring `retry-after`, bounded by a count and by
 *   a total time budget. p-retry counts the attempts; the delays go through the injectable
 *   `sleep`, so tests and simulators control time.
 * - Never blindly repeats the POST that creates a batch: the batch name carries a unique
 *   token, and an ambiguous failure is resolved by looking the token up before posting
 *   again (see {@link LassoClient.createBatch}).
 *
 * Build one client per process (outside the Lambda handler) and share it.
 */
import pRetry, { AbortError } from "p-retry";
import type { ZodType } from "zod";
import type { ItemStatus } from "#shared/lasso/enums.ts";
import { ITEM_STATUSES, REPORT_TYPES } from "#shared/lasso/enums.ts";
import {
  LassoApiError,
  LassoError,
  LassoNetworkError,
  type LassoOperation,
  LassoRequestError,
  LassoResponseError,
  type ResponseIssue,
  redactSecrets,
  sanitiseCause,
} from "#shared/lasso/errors.ts";
import { pickField } from "#shared/lasso/normalise.ts";
import {
  type CreateBatchRequest,
  issuesOf,
  type LassoBatch,
  type LassoItem,
  type LassoItemsPage,
  lassoBatchListSchema,
  lassoBatchSchema,
  lassoItemsPageSchema,
  parseErrorBody,
  rawBatchEntries,
  serialiseCreateBatchRequest,
  type WebhookTestRequest,
  webhookAuthConfigSchema,
} from "#shared/lasso/schemas.ts";

export { isNotFound, isRateLimited } from "#shared/lasso/errors.ts";

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

/**
 * How a batch is looked up by its token after an ambiguous POST: Lasso may list a batch it
 * accepted only some seconds later, so "not listed" is believed only after a few looks.
 */
export interface SettleLookupOptions {
  /** Look-ups before the batch is taken not to exist (default 3). */
  lookups?: number;
  /** Wait before the second look-up, doubled before each later one (default 2500 ms: looks at 0, 2.5 and 7.5 s). */
  delayMs?: number;
}

export interface LassoClientOptions {
  /** e.g. "https://api.lassox.com" or "http://127.0.0.1:4010" (a trailing slash is ignored). */
  baseUrl: string;
  apiKey: string;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
  retry?: LassoRetryOptions;
  settleLookup?: SettleLookupOptions;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface ListItemsOptions {
  /** Filter: only Completed, Warning or Failed items. */
  status?: ItemStatus;
  /** The `continuationToken` of the previous page. */
  cToken?: string;
}

export interface IterateItemsOptions {
  status?: ItemStatus;
  /** Safety stop against endless paging (default 10000 pages). */
  maxPages?: number;
}

export interface WebhookTestResult {
  /** HTTP status of Lasso's answer (2xx). */
  status: number;
  /** The answer's body: parsed JSON, else (redacted, shortened) text, else undefined. */
  body: unknown;
}

/** A unique token must be at least this long, so that it cannot match by accident. */
export const MIN_TOKEN_LENGTH = 8;

const DEFAULTS = { timeoutMs: 10_000, retries: 4, minDelayMs: 200, maxDelayMs: 5_000, maxTotalMs: 30_000 };
const SETTLE_DEFAULTS = { lookups: 3, delayMs: 2_500 };

/** What a patient look-up by token found out. */
type Settled =
  | { kind: "found"; batch: LassoBatch }
  | { kind: "absent" }
  /** The time budget ended before the last look-up: the batch may still turn up. */
  | { kind: "unsettled" };
const MAX_REDIRECTS = 5;
const ZIP_MAGIC = [0x50, 0x4b] as const; // "PK"

type Method = "GET" | "POST";

interface RequestSpec {
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
class Budget {
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

/**
 * Whether a batch name contains the token as a whole "word": the characters around it (if
 * any) are not ASCII letters or digits, so token "run-1" does not match "run-10".
 */
export function nameContainsToken(name: string, token: string): boolean {
  if (token === "") return false;
  const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9]/.test(ch);
  for (let at = name.indexOf(token); at !== -1; at = name.indexOf(token, at + 1)) {
    if (!isWordChar(name[at - 1]) && !isWordChar(name[at + token.length])) return true;
  }
  return false;
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
function isAmbiguous(err: unknown): boolean {
  return isRetryable(err) && !(err instanceof LassoApiError && err.status === 429);
}

export class LassoClient {
  readonly #apiKey: string;
  readonly #root: string;
  readonly #origin: string;
  readonly #timeoutMs: number;
  readonly #retry: Required<LassoRetryOptions>;
  readonly #settle: Required<SettleLookupOptions>;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: LassoClientOptions) {
    const apiKey = options.apiKey.trim();
    if (!/^[\x20-\x7e]+$/.test(apiKey)) {
      throw new TypeError("LassoClient: apiKey must be a non-empty string of printable ASCII characters");
    }
    this.#apiKey = apiKey;
    const trimmed = options.baseUrl.trim().replace(/\/+$/, "");
    let base: URL;
    try {
      base = new URL(trimmed);
    } catch {
      throw new TypeError(`LassoClient: baseUrl "${trimmed}" is not a URL`);
    }
    if (
      (base.protocol !== "https:" && base.protocol !== "http:") ||
      base.search ||
      base.hash ||
      base.username
    ) {
      throw new TypeError(`LassoClient: baseUrl "${trimmed}" must be a plain http(s) URL`);
    }
    this.#root = `${trimmed}/apps/reporting`;
    this.#origin = base.origin;
    this.#timeoutMs = positive(options.timeoutMs, DEFAULTS.timeoutMs, "timeoutMs");
    const retry = options.retry ?? {};
    this.#retry = {
      retries: nonNegativeInt(retry.retries, DEFAULTS.retries, "retry.retries"),
      minDelayMs: nonNegative(retry.minDelayMs, DEFAULTS.minDelayMs, "retry.minDelayMs"),
      maxDelayMs: nonNegative(retry.maxDelayMs, DEFAULTS.maxDelayMs, "retry.maxDelayMs"),
      maxTotalMs: nonNegative(retry.maxTotalMs, DEFAULTS.maxTotalMs, "retry.maxTotalMs"),
    };
    const settle = options.settleLookup ?? {};
    this.#settle = {
      lookups: Math.max(1, nonNegativeInt(settle.lookups, SETTLE_DEFAULTS.lookups, "settleLookup.lookups")),
      delayMs: nonNegative(settle.delayMs, SETTLE_DEFAULTS.delayMs, "settleLookup.delayMs"),
    };
    const injected = options.fetch;
    this.#fetch = injected ?? ((input, init) => fetch(input, init));
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  // -------------------------------------------------------------------------------------
  // Batches
  // -------------------------------------------------------------------------------------

  /**
   * POST /apps/reporting/batches, never blindly repeated:
   * - `request.batchName` must contain `uniqueToken` (at least {@link MIN_TOKEN_LENGTH}
   *   characters, standing apart from letters and digits around it); otherwise a
   *   {@link LassoRequestError} is thrown and nothing is sent. Make it unique per batch
   *   (e.g. a hash of schedule, scheduled time and chunk number).
   * - 429 (refused): waits `retry-after` (or backoff) and posts again.
   * - network error, timeout, 408 or 5xx (ambiguous): waits, then looks the token up in
   *   GET /batches, patiently (Lasso may list an accepted batch only seconds later: up to
   *   `settleLookup.lookups` looks with a growing wait); returns that batch when found,
   *   posts again only when every look said it is not there. Once an attempt was
   *   ambiguous, every later attempt looks up first. When the time budget ends before the
   *   last look, it throws the POST's error rather than posting again.
   * - other 4xx: throws {@link LassoApiError} at once, with the server's message.
   * Attempts and time are bounded by the retry options. When this throws anything but a
   * definite 4xx, the batch may still exist: resolve with {@link findBatchByToken} before
   * submitting again (e.g. when a Lambda is retried).
   */
  async createBatch(request: CreateBatchRequest, options: { uniqueToken: string }): Promise<LassoBatch> {
    const token = options.uniqueToken;
    checkToken("createBatch", token);
    if (!nameContainsToken(request.batchName, token)) {
      throw new LassoRequestError(
        "createBatch",
        `batchName must contain the uniqueToken "${token}" (apart from letters and digits around it)`,
      );
    }
    const serialised = serialiseCreateBatchRequest(request);
    if (!serialised.ok) {
      throw new LassoRequestError("createBatch", describeIssues(serialised.issues), serialised.issues);
    }
    const webhookSecret = request.authConfig?.Value;
    const spec: RequestSpec = {
      operation: "createBatch",
      method: "POST",
      segments: ["batches"],
      body: serialised.body,
      secrets: webhookSecret ? [webhookSecret] : [],
    };
    const budget = this.#budget();
    let ambiguity: unknown;
    return this.#retrying("createBatch", budget, async () => {
      if (ambiguity !== undefined) {
        // Not retried by this loop (its operation is not findBatchByToken): it has its own retries.
        const settled = await this.#findSettled(token, budget);
        if (settled.kind === "found") return settled.batch;
        // Out of time before Lasso could be believed: the POST's outcome stays unknown.
        if (settled.kind === "unsettled") throw ambiguity;
      }
      try {
        const response = await this.#send(spec);
        return this.#validate(spec, response.status, lassoBatchSchema, await this.#readJson(spec, response));
      } catch (err) {
        if (isAmbiguous(err)) ambiguity = err;
        throw err;
      }
    });
  }

  /**
   * The batch whose name contains `token` (as in {@link createBatch}), or undefined.
   * Only the matching batch is validated, so unusual unrelated batches (the list is shared
   * by the whole organisation) cannot make the lookup fail. With several matches, the first
   * listed is returned.
   */
  async findBatchByToken(
    token: string,
    options: { patient?: boolean } = {},
  ): Promise<LassoBatch | undefined> {
    checkToken("findBatchByToken", token);
    if (!options.patient) return this.#findByToken(token, this.#budget());
    const settled = await this.#findSettled(token, this.#budget());
    if (settled.kind === "found") return settled.batch;
    if (settled.kind === "absent") return undefined;
    throw new LassoNetworkError({
      operation: "findBatchByToken",
      request: "GET /apps/reporting/batches",
      reason: `the batch was not listed yet and the time budget ended before look-up ${this.#settle.lookups}`,
      timedOut: true,
    });
  }

  /** GET /apps/reporting/batches: every batch of the organisation. */
  async listBatches(): Promise<LassoBatch[]> {
    const spec: RequestSpec = { operation: "listBatches", method: "GET", segments: ["batches"] };
    return this.#getJson(spec, lassoBatchListSchema, this.#budget());
  }

  /** GET /apps/reporting/batches/{id}. An unknown id throws a 404 {@link LassoApiError} (see `isNotFound`). */
  async getBatch(id: string): Promise<LassoBatch> {
    checkId("getBatch", "id", id);
    const spec: RequestSpec = { operation: "getBatch", method: "GET", segments: ["batches", id] };
    return this.#getJson(spec, lassoBatchSchema, this.#budget());
  }

  // -------------------------------------------------------------------------------------
  // Items
  // -------------------------------------------------------------------------------------

  /** GET /apps/reporting/batches/{id}/items?status=&cToken= : one page of finished items. */
  async listItems(batchId: string, options: ListItemsOptions = {}): Promise<LassoItemsPage> {
    checkId("listItems", "batchId", batchId);
    if (options.status !== undefined && !ITEM_STATUSES.includes(options.status)) {
      throw new LassoRequestError("listItems", `status must be one of ${ITEM_STATUSES.join(", ")}`);
    }
    const spec: RequestSpec = {
      operation: "listItems",
      method: "GET",
      segments: ["batches", batchId, "items"],
      query: { status: options.status, cToken: options.cToken },
    };
    return this.#getJson(spec, lassoItemsPageSchema, this.#budget());
  }

  /**
   * Every finished item of a batch, page after page, until a page has no continuation
   * token. A token that comes back a second time (a provider loop) or more than `maxPages`
   * pages throws a {@link LassoResponseError} after the items already received were yielded.
   * Each page is one {@link listItems} call with its own retries.
   */
  async *iterateItems(
    batchId: string,
    options: IterateItemsOptions = {},
  ): AsyncGenerator<LassoItem, void, void> {
    const maxPages = options.maxPages ?? 10_000;
    const seen = new Set<string>();
    let cToken: string | undefined;
    for (let pages = 1; ; pages++) {
      const page = await this.listItems(batchId, { status: options.status, cToken });
      yield* page.items;
      const next = page.continuationToken;
      if (next === undefined) return;
      const problem = seen.has(next)
        ? `page ${pages} repeats a continuation token already followed`
        : pages >= maxPages
          ? `more than ${maxPages} pages`
          : undefined;
      if (problem !== undefined) {
        throw new LassoResponseError({
          operation: "iterateItems",
          request: `GET ${this.#path(["batches", batchId, "items"])}`,
          status: 200,
          issues: [{ path: "continuationToken", message: problem }],
        });
      }
      seen.add(next);
      cToken = next;
    }
  }

  // -------------------------------------------------------------------------------------
  // Download and webhook test
  // -------------------------------------------------------------------------------------

  /**
   * GET /apps/reporting/batches/{id}/download: the finished reports as a zip file.
   * `timeoutMs` overrides the client's per-request timeout (large zips take longer).
   */
  async downloadBatchZip(batchId: string, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    checkId("downloadBatchZip", "batchId", batchId);
    const spec: RequestSpec = {
      operation: "downloadBatchZip",
      method: "GET",
      segments: ["batches", batchId, "download"],
      timeoutMs: options.timeoutMs,
    };
    return this.#retrying(spec.operation, this.#budget(), async () => {
      const response = await this.#send(spec);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (err) {
        throw this.#networkError(spec, err, this.#timeoutOf(spec), false);
      }
      if (bytes[0] !== ZIP_MAGIC[0] || bytes[1] !== ZIP_MAGIC[1]) {
        throw new LassoResponseError({
          operation: spec.operation,
          request: this.#describe(spec),
          status: response.status,
          issues: [{ path: "", message: `body is not a zip file (${bytes.length} bytes)` }],
        });
      }
      return bytes;
    });
  }

  /**
   * Asks Lasso to send its dummy webhook to `request.url`: GET
   * /apps/reporting/webhooktest?url=&lassoId=&batchId=&reportType= without auth config,
   * POST with the auth config `{ Method, Key, Value }` as JSON body otherwise. Retried like
   * reads (a duplicate dummy webhook is harmless).
   */
  async testWebhook(request: WebhookTestRequest): Promise<WebhookTestResult> {
    const issues: ResponseIssue[] = [];
    if (!/^https?:\/\/\S+$/i.test(request.url))
      issues.push({ path: "url", message: "must be an http(s) URL" });
    if (request.lassoId.trim() === "") issues.push({ path: "lassoId", message: "must not be empty" });
    if (request.batchId.trim() === "") issues.push({ path: "batchId", message: "must not be empty" });
    if (!REPORT_TYPES.includes(request.reportType)) {
      issues.push({ path: "reportType", message: `must be one of ${REPORT_TYPES.join(", ")}` });
    }
    if (request.authConfig !== undefined) {
      const auth = webhookAuthConfigSchema.safeParse(request.authConfig);
      if (!auth.success) {
        for (const issue of issuesOf(auth.error)) issues.push({ ...issue, path: `authConfig.${issue.path}` });
      }
    }
    if (issues.length > 0) throw new LassoRequestError("testWebhook", describeIssues(issues), issues);
    const auth = request.authConfig;
    const spec: RequestSpec = {
      operation: "testWebhook",
      method: auth === undefined ? "GET" : "POST",
      segments: ["webhooktest"],
      query: {
        url: request.url,
        lassoId: request.lassoId,
        batchId: request.batchId,
        reportType: request.reportType,
      },
      body: auth === undefined ? undefined : { Method: auth.Method, Key: auth.Key, Value: auth.Value },
      secrets: auth?.Value ? [auth.Value] : [],
    };
    return this.#retrying(spec.operation, this.#budget(), async () => {
      const response = await this.#send(spec);
      const text = await this.#readText(spec, response);
      return { status: response.status, body: this.#looseBody(text, spec) };
    });
  }

  // -------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------

  #budget(): Budget {
    return new Budget(this.#retry.maxTotalMs, this.#sleep);
  }

  /**
   * The batch of `token`, believed absent only after `settleLookup.lookups` looks with a
   * growing wait between them (Lasso may list a batch it accepted some seconds late).
   */
  async #findSettled(token: string, budget: Budget): Promise<Settled> {
    for (let look = 1; ; look++) {
      const batch = await this.#findByToken(token, budget);
      if (batch !== undefined) return { kind: "found", batch };
      if (look >= this.#settle.lookups) return { kind: "absent" };
      const wait = this.#settle.delayMs * 2 ** (look - 1);
      if (budget.usedMs() + wait > budget.limitMs) return { kind: "unsettled" };
      await budget.sleep(wait);
    }
  }

  async #findByToken(token: string, budget: Budget): Promise<LassoBatch | undefined> {
    const spec: RequestSpec = { operation: "findBatchByToken", method: "GET", segments: ["batches"] };
    return this.#retrying(spec.operation, budget, async () => {
      const response = await this.#send(spec);
      const raw = await this.#readJson(spec, response);
      const entries = rawBatchEntries(raw);
      if (entries === undefined) {
        throw this.#responseError(spec, response.status, [
          { path: "", message: "expected a list of batches" },
        ]);
      }
      for (const [index, entry] of entries.entries()) {
        const name = pickField(entry, "batchName", "name");
        if (typeof name !== "string" || !nameContainsToken(name, token)) continue;
        const parsed = lassoBatchSchema.safeParse(entry);
        if (!parsed.success) {
          const issues = issuesOf(parsed.error).map((issue) => ({
            ...issue,
            path: `[${index}].${issue.path}`,
          }));
          throw this.#responseError(spec, response.status, issues);
        }
        return parsed.data;
      }
      return undefined;
    });
  }

  async #getJson<T>(spec: RequestSpec, schema: ZodType<T>, budget: Budget): Promise<T> {
    return this.#retrying(spec.operation, budget, async () => {
      const response = await this.#send(spec);
      return this.#validate(spec, response.status, schema, await this.#readJson(spec, response));
    });
  }

  /**
   * Runs `attempt` until it succeeds, it throws an error that is not retryable, or the
   * budget (count or time) is spent; then throws the last error. Only errors of the
   * attempt's own operation are retried here: an inner call (the token lookup of
   * createBatch) has already used its own retries.
   */
  async #retrying<T>(operation: LassoOperation, budget: Budget, attempt: () => Promise<T>): Promise<T> {
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
  async #send(spec: RequestSpec): Promise<Response> {
    const timeoutMs = this.#timeoutOf(spec);
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
      throw this.#networkError(spec, err, timeoutMs, isTimeout(err, signal));
    }
    if (response.ok) return response;
    throw await this.#apiError(spec, response);
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
      request: this.#describe(spec),
      status: response.status,
      statusText: this.#redact(response.statusText, spec, 60),
      errorCode,
      serverMessage: serverMessage === "" ? undefined : serverMessage,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
    });
  }

  async #readText(spec: RequestSpec, response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw this.#networkError(
        spec,
        err,
        this.#timeoutOf(spec),
        err instanceof Error && err.name === "TimeoutError",
      );
    }
  }

  async #readJson(spec: RequestSpec, response: Response): Promise<unknown> {
    const text = await this.#readText(spec, response);
    if (text.trim() === "")
      throw this.#responseError(spec, response.status, [{ path: "", message: "empty body" }]);
    try {
      return JSON.parse(text);
    } catch {
      throw this.#responseError(spec, response.status, [{ path: "", message: "body is not JSON" }]);
    }
  }

  #looseBody(text: string, spec: RequestSpec): unknown {
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return this.#redact(text, spec);
    }
  }

  #validate<T>(spec: RequestSpec, status: number, schema: ZodType<T>, raw: unknown): T {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    throw this.#responseError(spec, status, issuesOf(parsed.error));
  }

  #responseError(spec: RequestSpec, status: number, issues: readonly ResponseIssue[]): LassoResponseError {
    const clean = issues.map((issue) => ({
      path: this.#redact(issue.path, spec, 200),
      message: this.#redact(issue.message, spec, 200),
    }));
    return new LassoResponseError({
      operation: spec.operation,
      request: this.#describe(spec),
      status,
      issues: clean,
    });
  }

  #networkError(spec: RequestSpec, err: unknown, timeoutMs: number, timedOut: boolean): LassoNetworkError {
    const secrets = this.#secrets(spec);
    const causeCode =
      err instanceof Error && err.cause instanceof Error ? pickField(err.cause, "code") : undefined;
    const detail = [errorMessage(err), typeof causeCode === "string" ? causeCode : undefined]
      .filter((part) => part !== undefined && part !== "")
      .join(": ");
    return new LassoNetworkError({
      operation: spec.operation,
      request: this.#describe(spec),
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

  #timeoutOf(spec: RequestSpec): number {
    return spec.timeoutMs ?? this.#timeoutMs;
  }

  #path(segments: readonly string[]): string {
    return `${new URL(this.#root).pathname.replace(/\/+$/, "")}/${segments.map(encodeURIComponent).join("/")}`;
  }

  /** "GET /apps/reporting/batches/{id}" — the query is left out (it may hold a webhook URL). */
  #describe(spec: RequestSpec): string {
    return `${spec.method} ${this.#redact(this.#path(spec.segments), spec, 200)}`;
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

function checkToken(operation: LassoOperation, token: string): void {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new LassoRequestError(
      operation,
      `uniqueToken must have at least ${MIN_TOKEN_LENGTH} characters and no white space`,
    );
  }
}

/** Ids go into the path: non-empty, and not a dot segment that a URL parser would resolve. */
function checkId(operation: LassoOperation, name: string, id: string): void {
  if (id.trim() === "" || /^(\.|%2e){1,2}$/i.test(id) || id.length > 200) {
    throw new LassoRequestError(operation, `${name} must be a batch id`);
  }
}

function describeIssues(issues: readonly ResponseIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join("; ");
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out <= 0)
    throw new RangeError(`LassoClient: ${name} must be a positive number`);
  return out;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const out = value ?? fallback;
  if (!Number.isFinite(out) || out < 0) throw new RangeError(`LassoClient: ${name} must be a number >= 0`);
  return out;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  const out = nonNegative(value, fallback, name);
  if (!Number.isInteger(out)) throw new RangeError(`LassoClient: ${name} must be an integer`);
  return out;
}
