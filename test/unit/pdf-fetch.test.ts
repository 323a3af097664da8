/**
 * The PDF fetch's refusals that happen before any connection: scheme, allow-list, and
 * non-public addresses (through an injected resolver, so no packet leaves the process).
 * What needs a server (redirects, size, body, timeouts) is in
 * test/integration/deliver-pdf-fetch.test.ts.
 */
import type { LookupAddress } from "node:dns";
import { describe, expect, test } from "vitest";
import { fetchPdf, PdfFetchError, type PdfFetchOptions } from "#shared/pdf/fetch.ts";
import { isAllowedHost, isForbiddenAddress } from "#shared/pdf/guard.ts";
import { redactUrl } from "#shared/redact-links.ts";

const production = (overrides: Partial<PdfFetchOptions> = {}): PdfFetchOptions => ({
  allowedHosts: ["files.lassox.com", "*.lassox-cdn.com", "10.0.0.1"],
  allowHttp: false,
  maxBytes: 1024 * 1024,
  ...overrides,
});

/** A resolver that answers from a table and records what it was asked. */
function resolverOf(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    asked.push(hostname);
    return (table[hostname] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, asked };
}

async function refusal(link: string, options: PdfFetchOptions): Promise<PdfFetchError> {
  const error = await fetchPdf(link, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PdfFetchError);
  return error as PdfFetchError;
}

describe("isAllowedHost", () => {
  const allowed = (url: string, patterns: string[]) => isAllowedHost(new URL(url), patterns);

  test("matches exact hosts on the scheme's default port only, unless the pattern names a port", () => {
    expect(allowed("https://files.lassox.com/a.pdf", ["files.lassox.com"])).toBe(true);
    expect(allowed("https://FILES.lassox.com./a.pdf", ["files.lassox.com"])).toBe(true);
    expect(allowed("https://files.lassox.com:8443/a.pdf", ["files.lassox.com"])).toBe(false);
    expect(allowed("https://files.lassox.com:8443/a.pdf", ["files.lassox.com:8443"])).toBe(true);
    expect(allowed("http://127.0.0.1:4010/files/a.pdf", ["127.0.0.1:4010"])).toBe(true);
    expect(allowed("http://127.0.0.1:4011/files/a.pdf", ["127.0.0.1:4010"])).toBe(false);
  });

  test("a wildcard covers subdomains, not the domain itself nor look-alikes", () => {
    const patterns = ["*.lassox.com"];
    expect(allowed("https://files.lassox.com/a.pdf", patterns)).toBe(true);
    expect(allowed("https://a.b.lassox.com/a.pdf", patterns)).toBe(true);
    expect(allowed("https://lassox.com/a.pdf", patterns)).toBe(false);
    expect(allowed("https://evil-lassox.com/a.pdf", patterns)).toBe(false);
    expect(allowed("https://lassox.com.evil.dk/a.pdf", patterns)).toBe(false);
  });
});

describe("isForbiddenAddress", () => {
  test.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "0:0:0:0:0:ffff:7f00:1",
    // IPv4-compatible (deprecated): the embedded IPv4 address decides.
    "::7f00:1",
    "::127.0.0.1",
    "::a00:1",
    "0:0:0:0:0:0:a9fe:a9fe",
    // IPv4-translated (::ffff:0:0:0/96).
    "::ffff:0:7f00:1",
    "::ffff:0:127.0.0.1",
    "::FFFF:0:A00:1",
    // NAT64 (64:ff9b::/96) to a forbidden IPv4 address; the local-use NAT64 prefix.
    "64:ff9b::7f00:1",
    "64:ff9b::10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "fe80::1%eth0",
    "not an address",
  ])("%s is not fetched from in production", (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  test.each([
    "8.8.8.8",
    "172.32.0.1",
    "52.28.1.1",
    "2a00:1450:4001::1",
    "2a00:1450:4001:0:0:0:0:1",
    "::ffff:8.8.8.8",
    "::ffff:0:808:808",
    "64:ff9b::8.8.8.8",
  ])("%s is a public address", (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe("fetchPdf refusals before connecting", () => {
  test("production mode refuses http, even to an allowed host", async () => {
    const error = await refusal("http://files.lassox.com/a.pdf", production());
    expect(error).toMatchObject({ reason: "scheme", retryable: false });
  });

  test("refuses hosts outside the allow-list, links with credentials, and non-URLs", async () => {
    expect(await refusal("https://evil.example.com/a.pdf", production())).toMatchObject({
      reason: "host-not-allowed",
      retryable: false,
    });
    expect(await refusal("https://user:pw@files.lassox.com/a.pdf", production())).toMatchObject({
      reason: "bad-url",
    });
    expect(await refusal("not a url", production())).toMatchObject({ reason: "bad-url" });
    expect(await refusal("file:///etc/passwd", production({ allowHttp: true }))).toMatchObject({
      reason: "scheme",
    });
  });

  test("refuses an allowed host that is a private IP literal", async () => {
    expect(await refusal("https://10.0.0.1/a.pdf", production())).toMatchObject({
      reason: "private-address",
    });
  });

  test("refuses an allowed host whose name resolves to a private or loopback address", async () => {
    const { resolve, asked } = resolverOf({
      "files.lassox.com": ["10.0.0.7"],
      "a.lassox-cdn.com": ["52.28.1.1", "127.0.0.1"],
      "b.lassox-cdn.com": ["::ffff:169.254.169.254"],
    });
    for (const link of [
      "https://files.lassox.com/a.pdf",
      "https://a.lassox-cdn.com/a.pdf",
      "https://b.lassox-cdn.com/a.pdf",
    ]) {
      expect(await refusal(link, production({ resolve }))).toMatchObject({
        reason: "private-address",
        retryable: false,
      });
    }
    // The check ran in the connection's own lookup, once per host.
    expect(asked).toEqual(["files.lassox.com", "a.lassox-cdn.com", "b.lassox-cdn.com"]);
  });

  test("a host that does not resolve is a retryable network failure", async () => {
    const { resolve } = resolverOf({});
    expect(await refusal("https://files.lassox.com/a.pdf", production({ resolve }))).toMatchObject({
      reason: "network",
      retryable: true,
    });
  });
});

describe("redactUrl", () => {
  test("keeps the origin only: pdf links are capabilities", () => {
    expect(redactUrl("https://files.lassox.com/files/123/secret-token.pdf?sig=abc")).toBe(
      "https://files.lassox.com/…",
    );
    expect(redactUrl("::")).toBe("(not a URL)");
  });
});
