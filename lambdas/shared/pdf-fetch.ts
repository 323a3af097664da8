/**
 * Downloads a report's PDF from a link that came from outside (a webhook body or an API
 * answer), treating it as hostile (SSRF):
 *
 * - https only, unless `allowHttp` (local mode: the simulator's http origin);
 * - the host (and port) must match the allow-list (`files.lassox.com`, `*.lassox.com`,
 *   `127.0.0.1:4010`); a pattern without a port allows only the scheme's default port;
 * - in production mode (`allowHttp` false) every address the host resolves to must be
 *   public: loopback, private, link-local, CGNAT, multicast and reserved ranges are refused.
 *   The check runs in the socket's own DNS lookup, so the address checked is the address
 *   connected to (no rebinding between check and connect);
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
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import pRetry, { AbortError } from "p-retry";

export type PdfRefusalReason =
  | "bad-url"
  | "scheme"
  | "host-not-allowed"
  | "private-address"
  | "too-many-redirects"
  | "http-status"
  | "too-large"
  | "not-pdf"
  | "timeout"
  | "network";

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

export interface PdfFetchOptions {
  /** Host patterns: `host`, `*.domain` (subdomains only), each with an optional `:port`. */
  allowedHosts: readonly string[];
  /** Local mode: http allowed, and private/loopback addresses too. */
  allowHttp: boolean;
  maxBytes: number;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** The whole download, redirects included (default 60000). */
  totalTimeoutMs?: number;
  /** Default 3. */
  maxRedirects?: number;
  /** DNS resolution (default node:dns lookup); tests inject one. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

export interface FetchedPdf {
  bytes: Buffer;
  /** The URL the PDF came from (after redirects). */
  finalUrl: string;
  redirects: number;
}

const PDF_MAGIC = Buffer.from("%PDF-", "latin1");
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Address ranges never fetched from in production mode. */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  // ::/96, ::ffff:0:0/96, ::ffff:0:0:0/96 and 64:ff9b::/96 embed an IPv4 address and are
  // judged by it (isForbiddenAddress).
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, "ipv6");
}

/**
 * The eight 16-bit groups of an IPv6 address, read from the canonical form the WHATWG URL
 * parser gives it (lower-case hex, embedded dotted IPv4 turned into hex, one `::` at most);
 * undefined for what URL does not take as an address (a zone id such as `fe80::1%eth0`).
 */
function ipv6Groups(address: string): number[] | undefined {
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname;
  } catch {
    return undefined;
  }
  const parts = (text: string): number[] =>
    text === "" ? [] : text.split(":").map((group) => Number.parseInt(group, 16));
  const [head = "", tail, ...rest] = host.slice(1, -1).split("::");
  if (rest.length > 0) return undefined;
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array.from({ length: 8 - left.length - right.length }, () => 0), ...right];
  const valid = groups.length === 8 && groups.every((group) => group >= 0 && group <= 0xffff);
  return valid ? groups : undefined;
}

/**
 * IPv6 prefixes (their first six groups) whose last 32 bits are an IPv4 address that the
 * host's stack or a translator may reach: judged by that IPv4 address.
 */
const IPV4_EMBEDDING_PREFIXES: readonly (readonly number[])[] = [
  // ::a.b.c.d, IPv4-compatible (deprecated; `::` and `::1` land in 0.0.0.0/8 here)
  [0, 0, 0, 0, 0, 0],
  // ::ffff:a.b.c.d, IPv4-mapped
  [0, 0, 0, 0, 0, 0xffff],
  // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
  [0, 0, 0, 0, 0xffff, 0],
  // 64:ff9b::a.b.c.d, NAT64's well-known prefix (RFC 6052): a DNS64 answer for a public host
  [0x64, 0xff9b, 0, 0, 0, 0],
];

/** Whether an address is loopback, private, link-local or otherwise not a public host. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, "ipv4");
  if (family !== 6) return true;
  const groups = ipv6Groups(address);
  if (groups === undefined) return true;
  const embeds = IPV4_EMBEDDING_PREFIXES.some((prefix) => prefix.every((group, i) => groups[i] === group));
  if (embeds) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return FORBIDDEN.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4");
  }
  return FORBIDDEN.check(groups.map((group) => group.toString(16)).join(":"), "ipv6");
}

const defaultPort = (protocol: string): string => (protocol === "https:" ? "443" : "80");

/** Whether the URL's host and port match one allow-list pattern. */
export function isAllowedHost(url: URL, patterns: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const port = url.port === "" ? defaultPort(url.protocol) : url.port;
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase();
    const portMatch = /^(.*):(\d{1,5})$/.exec(pattern);
    const patternHost = portMatch?.[1] ?? pattern;
    const patternPort = portMatch?.[2] ?? defaultPort(url.protocol);
    if (patternPort !== port) return false;
    if (patternHost.startsWith("*.")) {
      const domain = patternHost.slice(2);
      return host.endsWith(`.${domain}`) && host.length > domain.length + 1;
    }
    return host === patternHost;
  });
}

/** The URL without its query and path tail (pdf links are capabilities: not for logs). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "(not a URL)";
  }
}

/** Text with every http(s) link cut to its origin (for logs). */
export function redactLinks(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>\\]+/gi, (link) => redactUrl(link));
}

function checkUrl(raw: string, options: PdfFetchOptions): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PdfFetchError("bad-url", "the pdf link is not a URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new PdfFetchError("bad-url", "the pdf link carries credentials");
  }
  const schemeOk = url.protocol === "https:" || (options.allowHttp && url.protocol === "http:");
  if (!schemeOk) {
    throw new PdfFetchError("scheme", `the pdf link's scheme ${url.protocol} is not allowed (https only)`);
  }
  if (!isAllowedHost(url, options.allowedHosts)) {
    throw new PdfFetchError("host-not-allowed", `the host ${url.host} is not on the pdf allow-list`);
  }
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  if (!options.allowHttp && isIP(literal) !== 0 && isForbiddenAddress(literal)) {
    throw new PdfFetchError("private-address", `the host ${url.host} is not a public address`);
  }
  return url;
}

const systemResolve = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => {
    const all: LookupAllOptions = { all: true };
    dnsLookup(hostname, all, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

class ForbiddenAddressError extends Error {}

/** A socket lookup that refuses the host when any of its addresses is not public. */
function guardedLookup(resolve: (hostname: string) => Promise<LookupAddress[]>): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = addresses.filter((a) => wanted === undefined || a.family === wanted);
        if (usable.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
          return;
        }
        if (usable.some((a) => isForbiddenAddress(a.address))) {
          callback(new ForbiddenAddressError(`${hostname} resolves to an address that is not public`), "", 4);
          return;
        }
        if (options.all === true) {
          callback(null, usable);
        } else {
          const first = usable[0] as LookupAddress;
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, "", 4),
    );
  };
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
    if (!options.allowHttp) requestOptions.lookup = guardedLookup(options.resolve ?? systemResolve);
    else if (options.resolve !== undefined) {
      const resolver = options.resolve;
      requestOptions.lookup = (hostname, lookupOptions, callback) => {
        resolver(hostname).then(
          (addresses) => {
            const first = addresses[0];
            if (first === undefined) callback(new Error(`${hostname} has no address`), "", 4);
            else if (lookupOptions.all === true) callback(null, addresses);
            else callback(null, first.address, first.family);
          },
          (error: unknown) => callback(error as NodeJS.ErrnoException, "", 4),
        );
      };
    }
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
  let url = checkUrl(link, options);
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
      url = checkUrl(next, options);
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
