/**
 * Continuation tokens of GET /batches/{id}/items: opaque to clients (base64url of a small
 * JSON record), bound to the batch and the status filter they were issued for. A token that
 * does not decode, or belongs to another batch or filter, is a 400. The contract does not
 * say how long a token stays valid (NOTES.md): each carries the epoch it was issued in, and
 * `expireContinuationTokens()` starts a new epoch, so a test can make every earlier token
 * answer 400 as an expired one would.
 */

export interface PageCursor {
  batchId: string;
  status: string | null;
  offset: number;
  /** The token epoch it was issued in (0 unless tokens were expired). */
  epoch: number;
}

export function encodeToken(cursor: PageCursor): string {
  return Buffer.from(
    JSON.stringify({ v: 1, b: cursor.batchId, s: cursor.status, o: cursor.offset, e: cursor.epoch }),
    "utf8",
  ).toString("base64url");
}

export function decodeToken(token: string): PageCursor | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { v, b, s, o, e = 0 } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof b !== "string" || (s !== null && typeof s !== "string")) return undefined;
  if (typeof o !== "number" || !Number.isInteger(o) || o < 0) return undefined;
  if (typeof e !== "number" || !Number.isInteger(e) || e < 0) return undefined;
  return { batchId: b, status: s, offset: o, epoch: e };
}

export interface Page<T> {
  items: T[];
  continuationToken: string | null;
}

/** One page of `all` starting at the cursor's offset; a token only when more items follow. */
export function pageOf<T>(all: readonly T[], cursor: PageCursor, pageSize: number): Page<T> {
  const end = cursor.offset + pageSize;
  return {
    items: all.slice(cursor.offset, end),
    continuationToken: end < all.length ? encodeToken({ ...cursor, offset: end }) : null,
  };
}
