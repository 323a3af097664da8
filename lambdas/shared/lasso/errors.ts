/**
 * Typed errors of the Lasso X Reporting API client. Every error names the client operation
 * (`createBatch`, `getBatch`, ...) and the reason; none of them carries a secret (the API
 * key, a webhook auth value): the client redacts server-provided text and replaces network
 * error causes with redacted copies (see {@link redactSecrets}, {@link sanitiseCause}).
 */

export type LassoOperation =
  | "createBatch"
  | "findBatchByToken"
  | "listBatches"
  | "getBatch"
  | "listItems"
  | "iterateItems"
  | "downloadBatchZip"
  | "testWebhook";

/** Longest server-provided text kept in an error message. */
const MAX_TEXT = 300;

/** Base class of every error the client throws on purpose. */
export abstract class LassoError extends Error {
  readonly operation: LassoOperation;

  constructor(operation: LassoOperation, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}

/** The API answered with a non-2xx status. */
export class LassoApiError extends LassoError {
  override readonly name = "LassoApiError";
  /** HTTP status of the answer. */
  readonly status: number;
  /** The provider's `errorCode` when the body had one (e.g. 26 for the rate limit). */
  readonly errorCode?: number | string;
  /** The provider's message (redacted, shortened) when the body had one. */
  readonly serverMessage?: string;
  /** How long the provider asked us to wait (`retry-after`), in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(args: {
    operation: LassoOperation;
    request: string;
    status: number;
    statusText?: string;
    errorCode?: number | string;
    serverMessage?: string;
    retryAfterMs?: number;
  }) {
    const reason = [
      `HTTP ${args.status}${args.statusText ? ` ${args.statusText}` : ""}`,
      args.errorCode === undefined ? undefined : `errorCode ${args.errorCode}`,
      args.retryAfterMs === undefined ? undefined : `retry after ${Math.ceil(args.retryAfterMs / 1000)} s`,
    ]
      .filter((part) => part !== undefined)
      .join(", ");
    const detail = args.serverMessage ? `: ${args.serverMessage}` : "";
    super(args.operation, `Lasso ${args.operation} (${args.request}) failed with ${reason}${detail}`);
    this.status = args.status;
    if (args.errorCode !== undefined) this.errorCode = args.errorCode;
    if (args.serverMessage !== undefined) this.serverMessage = args.serverMessage;
    if (args.retryAfterMs !== undefined) this.retryAfterMs = args.retryAfterMs;
  }

  /** 408, 429 and 5xx: the same request may succeed later. */
  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** The request did not get an answer: connection failure, reset, or timeout. */
export class LassoNetworkError extends LassoError {
  override readonly name = "LassoNetworkError";
  /** True when our own per-request timeout fired. */
  readonly timedOut: boolean;

  constructor(args: {
    operation: LassoOperation;
    request: string;
    reason: string;
    timedOut: boolean;
    cause?: unknown;
  }) {
    super(args.operation, `Lasso ${args.operation} (${args.request}) failed: ${args.reason}`, {
      cause: args.cause,
    });
    this.timedOut = args.timedOut;
  }
}

export interface ResponseIssue {
  /** Where in the response, e.g. `[3].status` or `continuationToken`; empty for the whole body. */
  readonly path: string;
  readonly message: string;
}

/** The API answered 2xx, but the body is not what the contract promises. */
export class LassoResponseError extends LassoError {
  override readonly name = "LassoResponseError";
  readonly status: number;
  readonly issues: readonly ResponseIssue[];

  constructor(args: {
    operation: LassoOperation;
    request: string;
    status: number;
    issues: readonly ResponseIssue[];
  }) {
    const shown = args.issues
      .slice(0, 5)
      .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
      .join("; ");
    const more = args.issues.length > 5 ? ` (and ${args.issues.length - 5} more)` : "";
    super(
      args.operation,
      `Lasso ${args.operation} (${args.request}) returned an unexpected response (HTTP ${args.status}): ${shown}${more}`,
    );
    this.status = args.status;
    this.issues = args.issues;
  }
}

/** The caller's input is invalid; nothing was sent. A programming or data error, never retried. */
export class LassoRequestError extends LassoError {
  override readonly name = "LassoRequestError";
  readonly issues: readonly ResponseIssue[];

  constructor(operation: LassoOperation, reason: string, issues: readonly ResponseIssue[] = []) {
    super(operation, `Lasso ${operation}: invalid request: ${reason}`);
    this.issues = issues;
  }
}

/** True for a {@link LassoApiError} with status 404 (e.g. `getBatch` of an unknown id). */
export function isNotFound(err: unknown): err is LassoApiError {
  return err instanceof LassoApiError && err.status === 404;
}

/** True for a {@link LassoApiError} with status 429 (the provider's rate limit, errorCode 26). */
export function isRateLimited(err: unknown): err is LassoApiError {
  return err instanceof LassoApiError && err.status === 429;
}

/** Replaces every occurrence of each secret in `text` by `[redacted]`, and shortens it. */
export function redactSecrets(text: string, secrets: readonly string[], maxLength = MAX_TEXT): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join("[redacted]");
  }
  out = out.replace(/\s+/g, " ").trim();
  return out.length > maxLength ? `${out.slice(0, maxLength)}…` : out;
}

/**
 * A redacted copy of an error (or any thrown value) for use as a `cause`: name, message,
 * stack and the primitive own properties (`code`, `errno`, `syscall`, ...) are kept with
 * every secret replaced; nested causes are copied the same way, to a bounded depth.
 */
export function sanitiseCause(value: unknown, secrets: readonly string[], depth = 4): Error {
  const redact = (text: string): string => redactSecrets(text, secrets, Number.POSITIVE_INFINITY);
  if (!(value instanceof Error)) {
    const copy = new Error(redact(String(value)));
    copy.stack = undefined;
    return copy;
  }
  const options =
    depth > 1 && value.cause !== undefined ? { cause: sanitiseCause(value.cause, secrets, depth - 1) } : {};
  const copy = new Error(redact(value.message), options);
  copy.name = redact(value.name);
  copy.stack = value.stack === undefined ? undefined : value.stack.split("\n").map(redact).join("\n");
  const target = copy as unknown as Record<string, unknown>;
  for (const [key, inner] of Object.entries(value)) {
    if (key === "cause" || key === "message" || key === "name" || key === "stack") continue;
    if (typeof inner === "string") target[key] = redact(inner);
    else if (typeof inner === "number" || typeof inner === "boolean") target[key] = inner;
  }
  return copy;
}
