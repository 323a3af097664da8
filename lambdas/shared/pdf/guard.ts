/**
 * The PDF link guard (SSRF): which URLs and which addresses the PDF fetch (./fetch.ts) may
 * connect to. A link from outside (a webhook body or an API answer) is hostile:
 *
 * - https only, unless `allowHttp` (local mode: the simulator's http origin);
 * - the host (and port) must match the allow-list (`files.lassox.com`, `*.lassox.com`,
 *   `127.0.0.1:4010`); a pattern without a port allows only the scheme's default port;
 * - in production mode (`allowHttp` false) every address the host resolves to must be
 *   public: loopback, private, link-local, CGNAT, multicast and reserved ranges are refused.
 *   The check runs in the socket's own DNS lookup ({@link connectLookup}), so the address
 *   checked is the address connected to (no rebinding between check and connect).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

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

export type UrlRefusalReason = "bad-url" | "scheme" | "host-not-allowed" | "private-address";

/** What the guard needs to know of the fetch's options. */
export interface UrlPolicy {
  /** Host patterns: `host`, `*.domain` (subdomains only), each with an optional `:port`. */
  allowedHosts: readonly string[];
  /** Local mode: http allowed, and private/loopback addresses too. */
  allowHttp: boolean;
  /** DNS resolution (default node:dns lookup); tests inject one. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

/** The guard's verdict on one URL: the parsed URL, or why it is refused. */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: UrlRefusalReason; message: string };

const refuse = (reason: UrlRefusalReason, message: string): UrlVerdict => ({ ok: false, reason, message });

/** Checks a link before any connection: a URL, no credentials, the scheme, the allow-list, no private literal. */
export function checkUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("bad-url", "the pdf link is not a URL");
  }
  if (url.username !== "" || url.password !== "") {
    return refuse("bad-url", "the pdf link carries credentials");
  }
  const schemeOk = url.protocol === "https:" || (policy.allowHttp && url.protocol === "http:");
  if (!schemeOk) {
    return refuse("scheme", `the pdf link's scheme ${url.protocol} is not allowed (https only)`);
  }
  if (!isAllowedHost(url, policy.allowedHosts)) {
    return refuse("host-not-allowed", `the host ${url.host} is not on the pdf allow-list`);
  }
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  if (!policy.allowHttp && isIP(literal) !== 0 && isForbiddenAddress(literal)) {
    return refuse("private-address", `the host ${url.host} is not a public address`);
  }
  return { ok: true, url };
}

const systemResolve = (hostname: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => {
    const all: LookupAllOptions = { all: true };
    dnsLookup(hostname, all, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

/** Thrown from the socket's lookup when the host resolves to an address that is not public. */
export class ForbiddenAddressError extends Error {}

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

/** A lookup that answers from an injected resolver, unchecked (local mode with a test resolver). */
function plainLookup(resolver: (hostname: string) => Promise<LookupAddress[]>): LookupFunction {
  return (hostname, lookupOptions, callback) => {
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

/**
 * The socket lookup for one connection: in production mode the guarded one (over the
 * injected resolver or node:dns); in local mode the injected resolver unchecked, or
 * undefined (node's own lookup).
 */
export function connectLookup(policy: UrlPolicy): LookupFunction | undefined {
  if (!policy.allowHttp) return guardedLookup(policy.resolve ?? systemResolve);
  if (policy.resolve !== undefined) return plainLookup(policy.resolve);
  return undefined;
}
