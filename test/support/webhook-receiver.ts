/**
 * A real HTTP endpoint that records what it receives: stands in for our webhook when a
 * test only needs to see what Lasso (the simulator) sent.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest<Body> {
  method: string;
  headers: IncomingHttpHeaders;
  body: Body;
}

export interface WebhookReceiver<Body> {
  url: string;
  received: ReceivedRequest<Body>[];
  close(): Promise<void>;
}

/** Answers the status `answer(n)` to its n-th request (0-based); bodies are parsed as JSON. */
export async function startWebhookReceiver<Body = unknown>(
  answer: (n: number) => number = () => 200,
): Promise<WebhookReceiver<Body>> {
  const received: ReceivedRequest<Body>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const status = answer(received.length);
      received.push({
        method: req.method ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Body,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
