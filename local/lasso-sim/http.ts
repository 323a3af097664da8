/** Small node:http helpers: reading bodies, writing JSON and binary answers. */

import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, badRequest, ERROR_CODES } from "./errors.ts";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless it is a Buffer/Uint8Array (sent as is) or undefined (no body). */
  body?: unknown;
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit)
      throw new ApiError(413, ERROR_CODES.payloadTooLarge, `The request body exceeds ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; undefined when the body is empty. */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString("utf8").replace(/^\uFEFF/, "");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(
      `The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

export function errorReply(err: unknown): Reply {
  if (err instanceof ApiError) return { status: err.status, headers: err.headers, body: err.body() };
  return {
    status: 500,
    body: { errorCode: ERROR_CODES.internal, message: err instanceof Error ? err.message : String(err) },
  };
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: Buffer | undefined;
  if (reply.body instanceof Uint8Array) {
    payload = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
  } else if (reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body), "utf8");
    headers["content-type"] ??= "application/json; charset=utf-8";
  }
  if (payload !== undefined) headers["content-length"] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** RFC 6266 content-disposition with an ASCII fallback and the UTF-8 name. */
export function contentDisposition(kind: "inline" | "attachment", fileName: string): string {
  const ascii = fileName
    .normalize("NFKD")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
