/**
 * DynamoDB read capacity as DynamoDB bills it, measured at the local emulator. dynalite
 * computes ConsumedCapacity by DynamoDB's rules when a request asks for it (4 KB of item
 * per strongly consistent read unit, half a unit when eventually consistent; a GetItem of a
 * missing item still costs one read; a Query or Scan sums the sizes of the items it read
 * before rounding; a BatchGetItem costs what its GetItems would). The handlers build their
 * clients inside their modules, so the request is amended here instead of by an SDK
 * middleware: a read that did not ask for its consumed capacity is made to ask (TOTAL), and
 * the answer's units are added up by operation and by caller. The answer then carries a
 * ConsumedCapacity its caller did not ask for; the SDK reads it into the output, where
 * nothing of ours looks.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** The operations that consume read capacity (the ones dynalite serves). */
export const READ_OPERATIONS = ["GetItem", "BatchGetItem", "Query", "Scan"] as const;

/**
 * The header a client sets to be counted apart (the runner's own reads, such as its
 * end-of-run scans, are not the pipeline's); requests without it count as "pipeline".
 */
export const CALLER_HEADER = "x-local-caller";

/** What the local stack's own client (seeding, the runner's progress and status) names itself. */
export const RUNNER_CALLER = "runner";

/** Makes every request of `client` name `caller` in CALLER_HEADER. */
export function markCaller(client: DynamoDBClient, caller: string): void {
  client.middlewareStack.add(
    (next) => (args) => {
      const { request } = args as { request?: { headers?: Record<string, string> } };
      if (request?.headers !== undefined) request.headers[CALLER_HEADER] = caller;
      return next(args);
    },
    { step: "build", name: "localCallerHeader" },
  );
}

export interface ReadCapacityMeter {
  /** Read units consumed so far, by caller, then by operation. */
  units(): Record<string, Record<string, number>>;
  /** Puts the emulator's own request handling back. */
  stop(): void;
}

const isReadOperation = (operation: string): operation is (typeof READ_OPERATIONS)[number] =>
  (READ_OPERATIONS as readonly string[]).includes(operation);

/**
 * The read units an answer reports: ConsumedCapacity is one object (GetItem, Query, Scan)
 * or one per table (BatchGetItem). 0 for an answer without it (an error).
 */
export function readUnitsOf(answer: unknown): number {
  const consumed = (answer as { ConsumedCapacity?: unknown } | null)?.ConsumedCapacity;
  const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  return entries.reduce<number>((total, entry: { CapacityUnits?: unknown }) => {
    return total + (typeof entry?.CapacityUnits === "number" ? entry.CapacityUnits : 0);
  }, 0);
}

/** The request body with ReturnConsumedCapacity TOTAL, unless the caller asked for it already. */
export function askingForCapacity(body: string): string {
  const request = JSON.parse(body) as Record<string, unknown>;
  if (request.ReturnConsumedCapacity === "TOTAL" || request.ReturnConsumedCapacity === "INDEXES") return body;
  return JSON.stringify({ ...request, ReturnConsumedCapacity: "TOTAL" });
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Counts the read units `server` (a dynalite server) serves from now on. Its request
 * listener is wrapped: a read's body is read whole, amended, and handed on as the request
 * dynalite reads (it reads only the body, method, url and headers).
 */
export function meterReadCapacity(server: Server): ReadCapacityMeter {
  const units: Record<string, Record<string, number>> = {};
  const original = server.listeners("request") as RequestListener[];
  const add = (caller: string, operation: string, answer: string): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer);
    } catch {
      return;
    }
    const byOperation = units[caller] ?? {};
    byOperation[operation] = (byOperation[operation] ?? 0) + readUnitsOf(parsed);
    units[caller] = byOperation;
  };
  const metered: RequestListener = (request, response) => {
    const target = request.headers["x-amz-target"];
    const operation = typeof target === "string" ? (target.split(".")[1] ?? "") : "";
    if (!isReadOperation(operation)) {
      for (const listener of original) listener(request, response);
      return;
    }
    const callerHeader = request.headers[CALLER_HEADER];
    const caller = typeof callerHeader === "string" ? callerHeader : "pipeline";
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let body = Buffer.concat(chunks).toString();
      try {
        body = askingForCapacity(body);
      } catch {
        // Not JSON: dynalite answers it with its own SerializationException.
      }
      const amended = Object.assign(Readable.from([Buffer.from(body)]), {
        headers: request.headers,
        method: request.method,
        url: request.url,
      }) as unknown as IncomingMessage;
      // dynalite answers with one `end(body)`.
      const end = response.end.bind(response) as (chunk?: unknown, ...rest: unknown[]) => ServerResponse;
      response.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (typeof chunk === "string") add(caller, operation, chunk);
        return end(chunk, ...rest);
      }) as ServerResponse["end"];
      for (const listener of original) listener(amended, response);
    });
  };
  server.removeAllListeners("request");
  server.on("request", metered);
  return {
    units: () => units,
    stop: () => {
      server.off("request", metered);
      for (const listener of original) server.on("request", listener);
    },
  };
}
