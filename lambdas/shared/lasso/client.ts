/**
 * Typed client of the Lasso X Reporting API (our contract with it: docs/lasso-api.md).
 *
 * - Authenticates with the `lasso-api-key` header only (never the `accessKey` query
 *   parameter), and never puts the key into an error, a cause, or a log-able property.
 * - Validates every answer at the boundary (schemas.ts) and throws typed errors (errors.ts).
 * - Retries reads (and the webhook test) with exponential backoff and jitter on network
 *   errors, timeouts, 408, 429 and 5xx, honouring `retry-after`, bounded by a count and by
 *   a total time budget (transport.ts: the exchange, retries, reading, errors).
 * - Never blindly repeats the POST that creates a batch: the batch name carries a unique
 *   token, and an ambiguous failure is resolved by looking the token up before posting
 *   again (see {@link LassoClient.createBatch}).
 *
 * Build one client per process (outside the Lambda handler) and share it.
 */

import type { ItemStatus } from "#shared/lasso/enums.ts";
import { ITEM_STATUSES, REPORT_TYPES } from "#shared/lasso/enums.ts";
import {
  LassoApiError,
  LassoNetworkError,
  type LassoOperation,
  LassoRequestError,
  LassoResponseError,
  type ResponseIssue,
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
  rawBatchEntries,
  serialiseCreateBatchRequest,
  type WebhookTestRequest,
  webhookAuthConfigSchema,
} from "#shared/lasso/schemas.ts";
import { type LassoClientOptions, resolveClientOptions, type SettleLookupOptions } from "./client-options.ts";
import { type Budget, isAmbiguous, LassoTransport, type RequestSpec } from "./transport.ts";

export { isNotFound, isRateLimited } from "#shared/lasso/errors.ts";
export type { LassoClientOptions, SettleLookupOptions } from "./client-options.ts";
export { type LassoRetryOptions, parseRetryAfter } from "./transport.ts";

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

/** What a patient look-up by token found out. */
type Settled =
  | { kind: "found"; batch: LassoBatch }
  | { kind: "absent" }
  /** The time budget ended before the last look-up: the batch may still turn up. */
  | { kind: "unsettled" };
const ZIP_MAGIC = [0x50, 0x4b] as const; // "PK"

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

export class LassoClient {
  readonly #transport: LassoTransport;
  readonly #settle: Required<SettleLookupOptions>;

  constructor(options: LassoClientOptions) {
    const resolved = resolveClientOptions(options);
    this.#settle = resolved.settle;
    this.#transport = new LassoTransport(resolved.transport);
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
    const budget = this.#transport.budget();
    let ambiguity: unknown;
    return this.#transport.retrying("createBatch", budget, async () => {
      if (ambiguity !== undefined) {
        // Not retried by this loop (its operation is not findBatchByToken): it has its own retries.
        const settled = await this.#findSettled(token, budget);
        if (settled.kind === "found") return settled.batch;
        // Out of time before Lasso could be believed: the POST's outcome stays unknown.
        if (settled.kind === "unsettled") throw ambiguity;
      }
      try {
        const response = await this.#transport.send(spec);
        return this.#transport.validate(
          spec,
          response.status,
          lassoBatchSchema,
          await this.#transport.readJson(spec, response),
        );
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
    if (!options.patient) return this.#findByToken(token, this.#transport.budget());
    const settled = await this.#findSettled(token, this.#transport.budget());
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
    return this.#transport.getJson(spec, lassoBatchListSchema, this.#transport.budget());
  }

  /** GET /apps/reporting/batches/{id}. An unknown id throws a 404 {@link LassoApiError} (see `isNotFound`). */
  async getBatch(id: string): Promise<LassoBatch> {
    checkId("getBatch", "id", id);
    const spec: RequestSpec = { operation: "getBatch", method: "GET", segments: ["batches", id] };
    return this.#transport.getJson(spec, lassoBatchSchema, this.#transport.budget());
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
    return this.#transport.getJson(spec, lassoItemsPageSchema, this.#transport.budget());
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
          request: `GET ${this.#transport.path(["batches", batchId, "items"])}`,
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
    return this.#transport.retrying(spec.operation, this.#transport.budget(), async () => {
      const response = await this.#transport.send(spec);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (err) {
        throw this.#transport.networkError(spec, err, this.#transport.timeoutOf(spec), false);
      }
      if (bytes[0] !== ZIP_MAGIC[0] || bytes[1] !== ZIP_MAGIC[1]) {
        throw new LassoResponseError({
          operation: spec.operation,
          request: this.#transport.describe(spec),
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
    return this.#transport.retrying(spec.operation, this.#transport.budget(), async () => {
      const response = await this.#transport.send(spec);
      const text = await this.#transport.readText(spec, response);
      return { status: response.status, body: this.#transport.looseBody(text, spec) };
    });
  }

  // -------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------

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
    return this.#transport.retrying(spec.operation, budget, async () => {
      const response = await this.#transport.send(spec);
      const raw = await this.#transport.readJson(spec, response);
      const entries = rawBatchEntries(raw);
      if (entries === undefined) {
        throw this.#transport.responseError(spec, response.status, [
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
          throw this.#transport.responseError(spec, response.status, issues);
        }
        return parsed.data;
      }
      return undefined;
    });
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
