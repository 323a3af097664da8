import { describe, expect, test } from "vitest";
import { SecretUnavailableError, safeEqual, webhookAuthenticator } from "#lambdas/receive-webhook/auth.ts";
import type { RotatingSecret } from "#shared/secrets.ts";

/** A rotating secret held in memory, counting how often each stage is read. */
function secretOf(current: string, previous?: string) {
  const reads = { current: 0, previous: 0 };
  const secret: RotatingSecret = {
    current: async () => {
      reads.current++;
      return current;
    },
    previous: async () => {
      reads.previous++;
      return previous;
    },
  };
  return { secret, reads };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;

describe("safeEqual", () => {
  test("compares strings of any length without throwing", () => {
    expect(safeEqual("s3cret", "s3cret")).toBe(true);
    expect(safeEqual("s3cret", "s3cret!")).toBe(false);
    expect(safeEqual("", "s3cret")).toBe(false);
    expect(safeEqual("æøå", "æøå")).toBe(true);
  });
});

describe("webhookAuthenticator", () => {
  test("accepts the current secret in the configured header (any header-name case)", async () => {
    const { secret, reads } = secretOf("current-secret", "old-secret");
    const auth = webhookAuthenticator({ secret, headerName: "X-Lasso-Secret" });
    expect(await auth.check({ "x-lasso-secret": "current-secret" })).toBe("ok");
    // The previous stage is only read when the current one does not match.
    expect(reads.previous).toBe(0);
  });

  test("accepts the previous secret while a rotation settles, and nothing else", async () => {
    const { secret } = secretOf("new-secret", "old-secret");
    const auth = webhookAuthenticator({ secret, headerName: "x-lasso-secret" });
    expect(await auth.check({ "x-lasso-secret": "old-secret" })).toBe("ok");
    expect(await auth.check({ "x-lasso-secret": "older-secret" })).toBe("invalid");
    expect(await auth.check({ "x-other": "new-secret" })).toBe("missing");
    expect(await auth.check({ "x-lasso-secret": "" })).toBe("missing");
  });

  test("refuses a wrong secret when the secret was never rotated", async () => {
    const { secret } = secretOf("only-secret");
    const auth = webhookAuthenticator({ secret, headerName: "x-lasso-secret" });
    expect(await auth.check({ "x-lasso-secret": "only-secret-but-longer" })).toBe("invalid");
  });

  test("accepts BasicAuth with the configured user and the secret as password, when configured", async () => {
    const { secret } = secretOf("pw", "old-pw");
    const both = webhookAuthenticator({ secret, headerName: "x-lasso-secret", basicUser: "lasso" });
    expect(await both.check({ authorization: basic("lasso", "pw") })).toBe("ok");
    expect(await both.check({ authorization: basic("lasso", "old-pw") })).toBe("ok");
    expect(await both.check({ authorization: basic("mallory", "pw") })).toBe("invalid");
    expect(await both.check({ authorization: "Bearer pw" })).toBe("missing");
    const headerOnly = webhookAuthenticator({ secret, headerName: "x-lasso-secret" });
    expect(await headerOnly.check({ authorization: basic("lasso", "pw") })).toBe("missing");
  });

  test("says the secret is unavailable (so the caller answers 5xx) instead of refusing", async () => {
    const failing: RotatingSecret = {
      current: async () => {
        throw new Error("Secrets Manager is down");
      },
      previous: async () => undefined,
    };
    const auth = webhookAuthenticator({ secret: failing, headerName: "x-lasso-secret" });
    await expect(auth.check({ "x-lasso-secret": "anything" })).rejects.toBeInstanceOf(SecretUnavailableError);
    // No credentials at all is refused without asking for the secret.
    expect(await auth.check({})).toBe("missing");
  });

  test("needs a header name or a BasicAuth user", () => {
    expect(() => webhookAuthenticator({ secret: secretOf("x").secret })).toThrow(/header name/);
  });
});
