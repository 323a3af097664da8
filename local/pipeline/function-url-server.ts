/**
 * Serves a Lambda Function URL handler over node:http, as AWS does in front of a deployed
 * function: each request becomes a payload-format-2.0 event (APIGatewayProxyEventV2), the
 * handler's result becomes the response. The local runner receives the simulator's
 * webhooks through this; tests call the deployed handler over real HTTP with it.
 *
 * What it mirrors from AWS: header names in lower case with repeated values joined by
 * commas, cookies in `cookies`, query values joined by commas, text bodies as text and
 * other bodies base64-encoded, a 6 MB request cap (413), a string or plain-object result
 * taken as a 200 JSON body, a thrown error or a timeout answered 502.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";

export type FunctionUrlHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | undefined>;

export interface FunctionUrlServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  functionName?: string;
  /** The function's timeout: the handler's context counts down from it (default 30 s). */
  timeoutMs?: number;
  /** Function URLs refuse larger requests (default 6 MB, the Lambda payload limit). */
  maxBodyBytes?: number;
  /** Called with one line per request. */
  log?: (line: string) => void;
}

export interface FunctionUrlServer {
  /** e.g. "http://127.0.0.1:54321/" */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const FUNCTION_URL_MAX_BODY_BYTES = 6 * 1024 * 1024;

/** A Lambda context whose remaining time counts down from `timeoutMs`. */
export function lambdaContext(options: {
  functionName: string;
  timeoutMs: number;
  requestId?: string;
}): Context {
  const deadline = Date.now() + options.timeoutMs;
  const requestId = options.requestId ?? randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: options.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${options.functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Whether AWS passes a body of this content type as text (else base64). */
function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    type.startsWith("text/") ||
    /^application\/([\w.+-]+\+)?(json|xml|javascript|x-www-form-urlencoded)$/.test(type) ||
    type === "application/x-www-form-urlencoded"
  );
}

function clfTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export interface RawHttpRequest {
  method: string;
  /** Path and query, e.g. "/hook?x=1". */
  url: string;
  /** As node:http gives them: `rawHeaders` pairs keep repeated headers apart. */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  protocol?: string;
}

/** The Function URL event (payload format 2.0) of one HTTP request. */
export function functionUrlEvent(request: RawHttpRequest, now: Date = new Date()): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? "").toLowerCase();
    const value = request.rawHeaders[i + 1] ?? "";
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((part) => part.trim())
          .filter((part) => part !== ""),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const url = new URL(request.url, "http://function-url.local");
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const host = headers.host ?? "localhost";
  const requestId = randomUUID();
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.startsWith("?") ? url.search.slice(1) : url.search,
    headers,
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName: host,
      domainPrefix: host.split(".")[0] ?? host,
      http: {
        method: request.method.toUpperCase(),
        path: url.pathname,
        protocol: request.protocol ?? "HTTP/1.1",
        sourceIp: request.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (request.body.length > 0) {
    const textual = isTextual(headers["content-type"]);
    event.body = request.body.toString(textual ? "utf8" : "base64");
    event.isBase64Encoded = !textual;
  }
  return event;
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** The HTTP response AWS makes of a handler's result. */
export function functionUrlResponse(result: APIGatewayProxyResultV2 | undefined): HttpReply {
  if (result === undefined || result === null) {
    return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.alloc(0) };
  }
  if (typeof result === "string") {
    return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(result) };
  }
  if (typeof result !== "object" || !("statusCode" in result) || typeof result.statusCode !== "number") {
    // Anything but a structured result is returned as a JSON body.
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(result)),
    };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers["set-cookie"] = result.cookies;
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded === true ? "base64" : "utf8");
  return { status: result.statusCode, headers, body };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? "too-large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, reply: HttpReply): void {
  res.writeHead(reply.status, { ...reply.headers, "content-length": String(reply.body.length) });
  res.end(reply.body);
}

const jsonReply = (status: number, message: string): HttpReply => ({
  status,
  headers: { "content-type": "application/json" },
  body: Buffer.from(JSON.stringify({ Message: message })),
});

async function invoke(
  handler: FunctionUrlHandler,
  event: APIGatewayProxyEventV2,
  context: Context,
  timeoutMs: number,
): Promise<HttpReply> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const result = await Promise.race([handler(event, context), timeout]);
    if (result === "timeout") return jsonReply(502, "Internal Server Error");
    return functionUrlResponse(result);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts serving `handler`; every request invokes it once, concurrently like Lambda. */
export async function serveFunctionUrl(
  handler: FunctionUrlHandler,
  options: FunctionUrlServerOptions = {},
): Promise<FunctionUrlServer> {
  const functionName = options.functionName ?? "function";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBodyBytes = options.maxBodyBytes ?? FUNCTION_URL_MAX_BODY_BYTES;
  const server: Server = createServer((req, res) => {
    void (async () => {
      let reply: HttpReply;
      try {
        const body = await readBody(req, maxBodyBytes);
        if (body === "too-large") {
          reply = jsonReply(
            413,
            `Request must be smaller than ${maxBodyBytes} bytes for the InvokeFunction operation`,
          );
        } else {
          const event = functionUrlEvent({
            method: req.method ?? "GET",
            url: req.url ?? "/",
            rawHeaders: req.rawHeaders,
            body,
            sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
            protocol: `HTTP/${req.httpVersion}`,
          });
          const context = lambdaContext({
            functionName,
            timeoutMs,
            requestId: event.requestContext.requestId,
          });
          reply = await invoke(handler, event, context, timeoutMs);
        }
      } catch {
        // An unhandled error of the function: AWS answers 502 and the function's log says why.
        reply = jsonReply(502, "Internal Server Error");
      }
      options.log?.(`${req.method} ${req.url} -> ${reply.status}`);
      send(res, reply);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
