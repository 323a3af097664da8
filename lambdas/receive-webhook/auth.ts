/**
 * Authenticates Lasso's webhook calls: the header named in our `authConfig` must carry the
 * webhook secret (current, or previous while a rotation settles), and, when configured,
 * BasicAuth with our user name and the secret as password is accepted too.
 *
 * Comparisons are constant-time on equal-length digests: both sides go through HMAC-SHA256
 * with a per-process random key before `timingSafeEqual`, so neither the secret's content
 * nor its length leaks through timing. Every candidate is compared (no early exit).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RotatingSecret } from "#shared/secrets.ts";

export interface WebhookAuthOptions {
  secret: RotatingSecret;
  /** The header Lasso sends the secret in (authConfig Method "Header", Key = this name). */
  headerName?: string;
  /** When set, `Authorization: Basic base64(user:secret)` is accepted too. */
  basicUser?: string;
}

export type AuthOutcome = "ok" | "missing" | "invalid";

export interface WebhookAuthenticator {
  /**
   * Checks the request's headers (names in lower case). Rejects only when the secret could
   * not be read: the caller answers 5xx so that Lasso retries.
   */
  check(headers: Readonly<Record<string, string | undefined>>): Promise<AuthOutcome>;
}

export class SecretUnavailableError extends Error {
  override readonly name = "SecretUnavailableError";
}

const digestKey = randomBytes(32);
const digest = (value: string): Buffer => createHmac("sha256", digestKey).update(value, "utf8").digest();

/** Constant-time equality of two strings of any lengths. */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function basicPassword(authorization: string | undefined, user: string): string | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  // The user name is not secret, but compare it the same way anyway.
  return safeEqual(decoded.slice(0, colon), user) ? decoded.slice(colon + 1) : "";
}

export function webhookAuthenticator(options: WebhookAuthOptions): WebhookAuthenticator {
  const headerName = options.headerName?.toLowerCase();
  if (headerName === undefined && options.basicUser === undefined) {
    throw new Error("webhook authentication needs a header name or a BasicAuth user");
  }
  return {
    async check(headers) {
      const presented: string[] = [];
      const header = headerName === undefined ? undefined : headers[headerName];
      if (header !== undefined && header !== "") presented.push(header);
      if (options.basicUser !== undefined) {
        const password = basicPassword(headers.authorization, options.basicUser);
        if (password !== undefined) presented.push(password);
      }
      if (presented.length === 0) return "missing";

      let current: string;
      try {
        current = await options.secret.current();
      } catch (error) {
        throw new SecretUnavailableError("the webhook secret could not be read", { cause: error });
      }
      let matched = false;
      for (const value of presented) matched = safeEqual(value, current) || matched;
      if (matched) return "ok";

      // Only now the previous value: a rotation's old secret is still valid for a while.
      let previous: string | undefined;
      try {
        previous = await options.secret.previous();
      } catch (error) {
        throw new SecretUnavailableError("the previous webhook secret could not be read", { cause: error });
      }
      if (previous === undefined) return "invalid";
      for (const value of presented) matched = safeEqual(value, previous) || matched;
      return matched ? "ok" : "invalid";
    },
  };
}
