/**
 * What a `pdfHosts` wildcard covers. A PDF link is fetched only from an allowed host, so a
 * wildcard over a domain where anyone can rent a name (every Azure storage account, every S3
 * bucket, every CloudFront distribution) lets anyone who can put a link in front of the
 * delivery serve "a report" from their own account. Such wildcards are refused unless the
 * operator marks them deliberately; a wildcard over a public suffix (`*.com`) or a bare `*`
 * is refused always.
 *
 * The Public Suffix List (through tldts) names most shared platforms in its private section
 * (blob.core.windows.net, s3.amazonaws.com, cloudfront.net, github.io, ...); the list below
 * adds the storage and CDN domains the review named, including their parents, which the
 * list does not mark (`*.windows.net` covers every Azure storage account too).
 */
import { parse } from "tldts";

/** Domains whose subdomains belong to many unrelated customers of one provider. */
export const MULTI_TENANT_SUFFIXES: readonly string[] = [
  "blob.core.windows.net",
  "web.core.windows.net",
  "core.windows.net",
  "azureedge.net",
  "azurewebsites.net",
  "azurefd.net",
  "s3.amazonaws.com",
  "amazonaws.com",
  "cloudfront.net",
  "storage.googleapis.com",
  "googleapis.com",
  "googleusercontent.com",
  "appspot.com",
  "r2.cloudflarestorage.com",
  "r2.dev",
  "digitaloceanspaces.com",
  "herokuapp.com",
  "netlify.app",
  "vercel.app",
  "github.io",
];

export type WildcardVerdict =
  /** Not a wildcard, or a wildcard over one organisation's own domain. */
  | { kind: "ok" }
  /** A wildcard over a shared platform: allowed only when marked deliberately. */
  | { kind: "multi-tenant"; suffix: string }
  /** `*` or a wildcard over a public suffix (`*.com`, `*.co.uk`): never allowed. */
  | { kind: "public-suffix"; suffix: string };

/** Whether `domain` is `suffix` or one of its parents (`windows.net` for `core.windows.net`). */
const coversSuffix = (domain: string, suffix: string): boolean =>
  suffix === domain || suffix.endsWith(`.${domain}`);

/** Judges one `pdfHosts` entry (`host`, `*.domain`, each with an optional `:port`). */
export function judgePdfHostPattern(pattern: string): WildcardVerdict {
  const host = pattern.replace(/:\d+$/, "");
  if (host === "*") return { kind: "public-suffix", suffix: "*" };
  if (!host.startsWith("*.")) return { kind: "ok" };
  const base = host.slice(2);
  const parsed = parse(base, { allowPrivateDomains: true });
  if (parsed.isIp === true) return { kind: "ok" };
  if (parsed.publicSuffix === base) {
    // A private suffix is a platform's tenants; anything else (ICANN, or a TLD the list does
    // not know, which the list's default rule treats as a suffix) is the public internet.
    return parsed.isPrivate === true || MULTI_TENANT_SUFFIXES.includes(base)
      ? { kind: "multi-tenant", suffix: base }
      : { kind: "public-suffix", suffix: base };
  }
  // `*.x.amazonaws.com` or `*.core.windows.net`: the registrable domain is a shared platform
  // (or one of its parents), so the wildcard reaches other tenants.
  const registrable = parsed.domain ?? base;
  const shared = MULTI_TENANT_SUFFIXES.find(
    (suffix) => coversSuffix(base, suffix) || coversSuffix(registrable, suffix),
  );
  return shared === undefined ? { kind: "ok" } : { kind: "multi-tenant", suffix: shared };
}
