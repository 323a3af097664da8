/**
 * receive-webhook served as a Lambda Function URL over real HTTP, with the real SQS and
 * Secrets Manager emulators and the Lasso simulator as the caller.
 */
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { readReceiveWebhookConfig } from "#lambdas/receive-webhook/config.ts";
import { createReceiveWebhookHandler } from "#lambdas/receive-webhook/lambda.ts";
import { functionUrlEvent, lambdaContext, serveFunctionUrl } from "#local/pipeline/function-url-server.ts";
import { parseReportReadyMessage } from "#shared/report-ready.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import { rotatingSecret } from "#shared/secrets.ts";
import {
  type DeliveryRig,
  silentMetrics,
  startDeliveryRig,
  takeMessages,
  testLogger,
} from "#test/support/delivery.ts";
import { customerItem, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline({ sim: { reportDelayMs: 2, webhooksEnabled: true } });
let rig: DeliveryRig;

beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current);
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await takeMessages(pipeline.current, pipeline.current.resources.reportReadyQueueUrl);
  rig.webhook.counter.counts.length = 0;
});

const payload = {
  batchId: "0f8fad5b-d9cb-469f-a165-70867728950e",
  batchName: "Kvartal",
  lassoId: "CVR-1-34580820",
  cvr: 34580820,
  companyName: "Nørregaard Revision ApS",
  reportType: "Revision",
  printType: 0,
  status: "Completed",
  pdfUrl: "http://127.0.0.1:1/files/x/y.pdf",
  fileName: "1234_34580820.pdf",
  internalCustomerId: 1234,
  reportId: "9b2c1c9e-0a51-4c1a-9d7e-4d1b0b8f2f11",
  timestamp: "2024-05-01T10:00:00.000Z",
  errorMessage: null,
};

async function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
  method = "POST",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const p = pipeline.current;
  const response = await fetch(rig.webhook.url, {
    method,
    headers: { "content-type": "application/json", [p.webhookHeaderName]: p.webhookSecret, ...headers },
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const queued = async () =>
  (await takeMessages(pipeline.current, pipeline.current.resources.reportReadyQueueUrl)).map(
    parseReportReadyMessage,
  );

describe("receive-webhook behind a Function URL", () => {
  test("an authenticated report is enqueued, then answered 200", async () => {
    const answer = await post(JSON.stringify(payload));
    expect(answer).toEqual({ status: 200, body: { status: "accepted", reports: 1 } });
    const messages = await queued();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      batchId: payload.batchId,
      cvr: "34580820",
      reportType: "Revision",
      itemStatus: "Completed",
      reportId: payload.reportId,
      internalCustomerId: 1234,
      source: "webhook",
      extra: { batchName: "Kvartal" },
    });
    expect(rig.webhook.counter.total("WebhookAccepted")).toBe(1);
    expect(rig.webhook.counter.total("WebhookRefused")).toBe(0);
  });

  test.each([
    ["GET", "secret", 405, "method", JSON.stringify(payload)],
    ["PUT", "secret", 405, "method", JSON.stringify(payload)],
    ["POST", "none", 401, "auth", JSON.stringify(payload)],
    ["POST", "wrong", 401, "auth", JSON.stringify(payload)],
    ["POST", "secret", 413, "too-large", JSON.stringify({ ...payload, padding: "x".repeat(70 * 1024) })],
    ["POST", "secret", 400, "bad-json", "{not json"],
    ["POST", "secret", 400, "unroutable", JSON.stringify({ ...payload, batchId: undefined })],
    ["POST", "secret", 400, "unroutable", JSON.stringify({ hello: "world" })],
  ] as const)(
    "%s with %s answered %i (%s): nothing enqueued, the refusal counted",
    async (method, auth, status, reason, body) => {
      const header = pipeline.current.webhookHeaderName;
      const headers =
        auth === "none" ? { [header]: "" } : auth === "wrong" ? { [header]: "wrong-secret" } : {};
      const answer = await post(body, headers, method);
      expect(answer.status).toBe(status);
      expect(typeof answer.body.error).toBe("string");
      expect(await queued()).toHaveLength(0);
      expect(rig.webhook.counter.total("WebhookRefused", { reason })).toBe(1);
      expect(rig.webhook.counter.total("WebhookAccepted")).toBe(0);
    },
  );

  test("a 401 says nothing about why", async () => {
    const header = pipeline.current.webhookHeaderName;
    const missing = await post(JSON.stringify(payload), { [header]: "" });
    const wrong = await post(JSON.stringify(payload), { [header]: "nope" });
    expect(missing).toEqual(wrong);
    expect(missing.body).toEqual({ error: "unauthorized" });
  });

  test("after a rotation both the new and the previous secret are accepted", async () => {
    const p = pipeline.current;
    await p.secrets.send(
      new PutSecretValueCommand({ SecretId: p.webhookSecretId, SecretString: "rotated-secret" }),
    );
    try {
      expect((await post(JSON.stringify(payload), { [p.webhookHeaderName]: "rotated-secret" })).status).toBe(
        200,
      );
      expect((await post(JSON.stringify(payload), { [p.webhookHeaderName]: p.webhookSecret })).status).toBe(
        200,
      );
      expect((await post(JSON.stringify(payload), { [p.webhookHeaderName]: "older" })).status).toBe(401);
      expect(await queued()).toHaveLength(2);
    } finally {
      // Back to the original value (which is then current again) for the other tests.
      await p.secrets.send(
        new PutSecretValueCommand({ SecretId: p.webhookSecretId, SecretString: p.webhookSecret }),
      );
    }
  });

  test("answers 503 (so Lasso retries) when SQS does not take the message, and when the secret is unreadable", async () => {
    const p = pipeline.current;
    const env = { ...p.functionEnv, REPORT_READY_QUEUE_URL: `${p.resources.reportReadyQueueUrl}-missing` };
    const counter = new RecordingCounter();
    const noQueue = createReceiveWebhookHandler({
      config: readReceiveWebhookConfig(env),
      sqs: new SQSClient({ maxAttempts: 1 }),
      secret: rotatingSecret(p.webhookSecretId),
      logger: testLogger("receive-webhook"),
      metrics: silentMetrics(),
      counter,
    });
    const noSecret = createReceiveWebhookHandler({
      config: readReceiveWebhookConfig({ ...p.functionEnv, WEBHOOK_SECRET_ID: "no-such-secret" }),
      sqs: p.sqs,
      secret: rotatingSecret("no-such-secret"),
      logger: testLogger("receive-webhook"),
      metrics: silentMetrics(),
      counter,
    });
    for (const handler of [noQueue, noSecret]) {
      const server = await serveFunctionUrl(handler);
      try {
        const response = await fetch(server.url, {
          method: "POST",
          headers: { "content-type": "application/json", [p.webhookHeaderName]: p.webhookSecret },
          body: JSON.stringify(payload),
        });
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({ error: "temporarily unavailable" });
      } finally {
        await server.close();
      }
    }
    expect(counter.total("WebhookFailed")).toBe(2);
    expect(await queued()).toHaveLength(0);
  });

  test("Lasso's test webhook (the simulator's webhooktest) reaches the queue through the Function URL", async () => {
    const p = pipeline.current;
    const result = await p.lassoClient().testWebhook({
      url: rig.webhook.url,
      lassoId: "CVR-1-34580820",
      batchId: payload.batchId,
      reportType: "Finans",
      authConfig: { Method: "Header", Key: p.webhookHeaderName, Value: p.webhookSecret },
    });
    expect(result.body).toMatchObject({ success: true, statusCode: 200 });
    const messages = await queued();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ batchId: payload.batchId, cvr: "34580820", reportType: "Finans" });
  });

  test("every report of a simulator batch arrives as one message, with the simulator's own payload", async () => {
    const p = pipeline.current;
    const customers = [0, 1, 2].map((n) => customerItem(n) as { customerId: number; cvr: string });
    const { batch } = await rig.submitBatch({ customers, record: false });
    await p.sim.settle();
    const messages = await queued();
    expect(messages.map((m) => m.cvr).sort()).toEqual(customers.map((c) => c.cvr).sort());
    const items = p.sim.batches().find((b) => b.id === batch.id)?.items ?? [];
    for (const message of messages) {
      const item = items.find((i) => String(i.cvr) === message.cvr);
      expect(message).toMatchObject({
        batchId: batch.id,
        reportId: item?.id,
        pdfUrl: item?.pdfurl,
        fileName: item?.fileName,
        internalCustomerId: item?.internalCustomerId,
      });
    }
  });
});

describe("the deployed handler module", () => {
  test("handler.ts builds itself from the environment and answers a Function URL event", async () => {
    const p = pipeline.current;
    const { handler } = await import("#lambdas/receive-webhook/handler.ts");
    const body = Buffer.from(JSON.stringify(payload));
    const event = functionUrlEvent({
      method: "POST",
      url: "/",
      rawHeaders: ["Content-Type", "application/octet-stream", "X-Lasso-Reports-Secret", p.webhookSecret],
      body,
      sourceIp: "127.0.0.1",
    });
    // A non-text content type arrives base64-encoded, as AWS sends it.
    expect(event.isBase64Encoded).toBe(true);
    const result = await handler(event, lambdaContext({ functionName: "receive-webhook", timeoutMs: 5000 }));
    expect(result).toMatchObject({ statusCode: 200 });
    expect(await queued()).toHaveLength(1);
  });
});
