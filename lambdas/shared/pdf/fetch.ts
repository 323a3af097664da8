/**
 * Downloads a report's PDF from a link that came from outside (a webhook body or an API
 * answer), treating it as hostile (SSRF). Every URL, the first and each redirect's Location,
 * passes the guard (./guard.ts: scheme, allow-list, non-public addresses, and in production
 * mode the DNS check inside the socket's own lookup), and then:
 *
 * - redirects are followed by hand, at most `maxRedirects`, each Location checked again;
 * - a connect time limit, a total time limit, a byte cap (Content-Length and streamed);
 * - the body must start with `%PDF-`.
 *
 * node:http(s) rather than fetch: fetch offers no hook into the connection's DNS lookup
 * without an extra dependency (undici's Agent), and that hook is what closes rebinding.
 *
 * Failures are {@link PdfFetchError}s with a reason and `retryable` (timeouts, network
 * errors, 408/429/5xx) or not (everything the link itself is to blame for).
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import pRetry, { AbortError } from "p-retry";
import { LassoBudgetExhausted, type LassoCallBudget } from "#shared/lasso/call-budget.ts";
import {
  checkUrl,
  connectLookup,
  ForbiddenAddressError,
  type UrlPolicy,
  type UrlRefusalReason,
} from "#shared/pdf/guard.ts";

export type PdfRefusalReason =
  | UrlRefusalReason
  | "too-many-redirects"
  | "http-status"
  | "too-large"
  | "not-pdf"
  | "timeout"
  | "network"
  /** Lasso's call budget had no token in time (it counts PDF downloads). */
  | "budget";

export class PdfFetchError extends Error {
  override readonly name = "PdfFetchError";
  readonly reason: PdfRefusalReason;
  readonly retryable: boolean;
  /** HTTP status, for reason "http-status". */
  readonly status?: number;
  /** The host's `retry-after` (429, 503), in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(
    reason: PdfRefusalReason,
    message: string,
    options: { retryable?: boolean; status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.reason = reason;
    this.retryable = options.retryable ?? false;
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export interface PdfFetchOptions extends UrlPolicy {
  maxBytes: number;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** The whole download, redirects included (default 60000). */
  totalTimeoutMs?: number;
  /** Default 3. */
  maxRedirects?: number;
}

export interface FetchedPdf {
  bytes: Buffer;
  /** The URL the PDF came from (after redirects). */
  finalUrl: string;
  redirects: number;
}

const PDF_MAGIC = Buffer.from("%PDF-", "latin1");
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The guarded URL, or the guard's refusal as a {@link PdfFetchError}. */
function allowedUrl(raw: string, options: PdfFetchOptions): URL {
  const verdict = checkUrl(raw, options);
  if (!verdict.ok) throw new PdfFetchError(verdict.reason, verdict.message);
  return verdict.url;
}

interface Hop {
  response: IncomingMessage;
}

function openHop(url: URL, options: PdfFetchOptions, signal: AbortSignal): Promise<Hop> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const requestOptions: RequestOptions = {
      method: "GET",
      headers: { accept: "application/pdf", "accept-encoding": "identity", "user-agent": "lasso-reports" },
      signal,
      // The default agent keeps nothing that matters here; a fresh connection per hop.
      agent: false,
    };
    const lookup = connectLookup(options);
    if (lookup !== undefined) requestOptions.lookup = lookup;
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, requestOptions);
    let connectTimer: NodeJS.Timeout | undefined;
    request.on("socket", (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(
        () =>
          request.destroy(
            new PdfFetchError("timeout", `connecting to ${url.host} timed out`, { retryable: true }),
          ),
        connectTimeoutMs,
      );
      socket.once("connect", () => clearTimeout(connectTimer));
    });
    request.on("response", (response) => {
      clearTimeout(connectTimer);
      resolve({ response });
    });
    request.on("error", (error) => {
      clearTimeout(connectTimer);
      reject(error);
    });
    request.end();
  });
}

function readCapped(response: IncomingMessage, maxBytes: number, host: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let checkedMagic = false;
    const fail = (error: PdfFetchError) => {
      response.destroy();
      reject(error);
    };
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(new PdfFetchError("too-large", `the pdf from ${host} is larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
      if (!checkedMagic && size >= PDF_MAGIC.length) {
        checkedMagic = true;
        const head = Buffer.concat(chunks).subarray(0, PDF_MAGIC.length);
        if (!head.equals(PDF_MAGIC)) fail(new PdfFetchError("not-pdf", `the body from ${host} is not a PDF`));
      }
    });
    response.on("end", () => {
      const body = Buffer.concat(chunks);
      if (body.length < PDF_MAGIC.length || !body.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) {
        reject(new PdfFetchError("not-pdf", `the body from ${host} is not a PDF`));
        return;
      }
      resolve(body);
    });
    response.on("error", reject);
  });
}

function classify(error: unknown, signal: AbortSignal, host: string): PdfFetchError {
  if (error instanceof PdfFetchError) return error;
  if (error instanceof ForbiddenAddressError) return new PdfFetchError("private-address", error.message);
  if (signal.aborted) {
    return new PdfFetchError("timeout", `downloading the pdf from ${host} timed out`, { retryable: true });
  }
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  if (code === "ENOTFOUND") {
    // A name that does not resolve may be a passing DNS failure: retried, bounded by the queue.
    return new PdfFetchError("network", `${host} does not resolve`, { retryable: true });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PdfFetchError("network", `downloading the pdf from ${host} failed: ${message}`, {
    retryable: true,
  });
}

/** Downloads and checks one PDF; throws {@link PdfFetchError}. */
export async function fetchPdf(link: string, options: PdfFetchOptions): Promise<FetchedPdf> {
  const maxRedirects = options.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(options.totalTimeoutMs ?? 60_000);
  let url = allowedUrl(link, options);
  for (let redirects = 0; ; redirects++) {
    let response: IncomingMessage;
    try {
      ({ response } = await openHop(url, options, signal));
    } catch (error) {
      throw classify(error, signal, url.host);
    }
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.resume();
      const location = response.headers.location;
      if (location === undefined) {
        throw new PdfFetchError("http-status", `${url.host} answered ${status} without a Location`, {
          status,
        });
      }
      if (redirects >= maxRedirects) {
        throw new PdfFetchError("too-many-redirects", `more than ${maxRedirects} redirects from ${url.host}`);
      }
      let next: string;
      try {
        next = new URL(location, url).toString();
      } catch {
        throw new PdfFetchError("bad-url", `${url.host} redirected to something that is not a URL`);
      }
      url = allowedUrl(next, options);
      continue;
    }
    if (status !== 200) {
      response.resume();
      const retryable = status === 408 || status === 429 || status >= 500;
      const retryAfterMs = parseRetryAfterMs(response.headers["retry-after"]);
      throw new PdfFetchError("http-status", `${url.host} answered ${status}`, {
        retryable,
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const length = Number(response.headers["content-length"]);
    if (Number.isFinite(length) && length > options.maxBytes) {
      response.destroy();
      throw new PdfFetchError(
        "too-large",
        `the pdf from ${url.host} is ${length} bytes, more than ${options.maxBytes}`,
      );
    }
    try {
      const bytes = await readCapped(response, options.maxBytes, url.host);
      return { bytes, finalUrl: url.toString(), redirects };
    } catch (error) {
      throw classify(error, signal, url.host);
    }
  }
}

/** `retry-after` as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface PdfRetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** The longest single wait; a longer `retry-after` is left to the queue's redelivery. */
  maxWaitMs: number;
  /** All waits together. */
  budgetMs: number;
  /**
   * The invocation's deadline: no attempt or wait runs into the last `reserveMs` before it
   * (what follows the fetch, composing, sending and recording, needs that time).
   */
  deadline?: Date;
  /** Default: a quarter of the time left, at most 15 s. */
  reserveMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Lasso counts PDF downloads against its limit: each attempt takes a token first. */
  callBudget?: LassoCallBudget;
}

/**
 * One token for a download attempt, waited for as long as the invocation has before its
 * reserve: the deliveries are paced by Lasso's limit anyway, and a deferral would spend one
 * of the message's receives (too many and it is dead-lettered). None in time is a
 * retryable failure with the wait as `retry-after`.
 */
async function takeToken(policy: PdfRetryPolicy, leftMs: number): Promise<void> {
  if (policy.callBudget === undefined) return;
  const maxWaitMs = Number.isFinite(leftMs) ? leftMs - 200 : policy.maxWaitMs;
  try {
    await policy.callBudget.take({ maxWaitMs: Math.max(0, maxWaitMs) });
  } catch (error) {
    if (!(error instanceof LassoBudgetExhausted))
      throw new AbortError(error instanceof Error ? error : new Error(String(error)));
    // Not retried here: the budget has waited already; the message is deferred for that long.
    throw new AbortError(
      new PdfFetchError("budget", error.message, { retryable: true, retryAfterMs: error.retryAfterMs }),
    );
  }
}

/** A few seconds of patience inside the invocation: far cheaper than the queue's visibility timeout. */
export const DEFAULT_PDF_RETRY: PdfRetryPolicy = { retries: 3, maxWaitMs: 10_000, budgetMs: 20_000 };

/**
 * `fetchPdf`, retrying a transient failure (429, 5xx, timeouts, network) a few times within
 * the invocation, after the host's `retry-after` or an exponential backoff with jitter (p-retry).
 * Past the policy's budget the last error is thrown, and the queue retries the message later.
 */
export async function fetchPdfPatiently(
  link: string,
  options: PdfFetchOptions,
  policy: PdfRetryPolicy = DEFAULT_PDF_RETRY,
): Promise<FetchedPdf> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = policy.deadline?.getTime();
  // By default a quarter of the time left, at most 15 s, stays for what follows the fetch.
  const reserveMs =
    policy.reserveMs ?? (deadline === undefined ? 0 : Math.min(15_000, (deadline - Date.now()) / 4));
  const timeLeft = (): number =>
    deadline === undefined ? Number.POSITIVE_INFINITY : deadline - reserveMs - Date.now();
  let waitedMs = 0;
  return pRetry(
    async () => {
      const left = timeLeft();
      if (left < 200) {
        throw new AbortError(
          new PdfFetchError("timeout", "no time left in this invocation to fetch the pdf", {
            retryable: true,
          }),
        );
      }
      await takeToken(policy, left);
      try {
        return await fetchPdf(link, {
          ...options,
          totalTimeoutMs: Math.floor(Math.min(options.totalTimeoutMs ?? 60_000, left)),
        });
      } catch (error) {
        if (error instanceof PdfFetchError && error.retryable) throw error;
        throw new AbortError(error instanceof Error ? error : new Error(String(error)));
      }
    },
    {
      retries: policy.retries,
      // The waits happen in onFailedAttempt, where retry-after is known.
      minTimeout: 0,
      maxTimeout: 0,
      onFailedAttempt: async (error) => {
        if (error.retriesLeft === 0) return;
        const backoff = 250 * 2 ** (error.attemptNumber - 1) * (0.5 + Math.random());
        const retryAfter = error instanceof PdfFetchError ? error.retryAfterMs : undefined;
        const wait = retryAfter ?? backoff;
        if (wait > policy.maxWaitMs || waitedMs + wait > policy.budgetMs || wait + 200 > timeLeft())
          throw error;
        waitedMs += wait;
        await sleep(wait);
      },
    },
  );
}
