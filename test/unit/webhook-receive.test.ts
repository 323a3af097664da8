/**
 * receive-webhook's use case on an error path the emulators cannot produce: the queue's
 * schema refusing a message the parser made (a bug, or a field past the schema's limits).
 * Everything else is tested over HTTP in test/integration/webhook-function-url.test.ts.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { describe, expect, test } from "vitest";
import { loggable, receiveWebhook } from "#lambdas/receive-webhook/receive-webhook.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { EnqueueError } from "#shared/report-ready-queue.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";

const body = Buffer.from(
  JSON.stringify({
    batchId: "0f0e0d0c-0b0a-4909-8807-060504030201",
    cvr: "34580820",
    status: "Completed",
    reportType: "Revision",
  }),
);

describe("receiveWebhook", () => {
  test("a message the queue's schema refuses is a 400 (a retry cannot help), not a 503", async () => {
    const metrics = new RecordingCounter();
    const response = await receiveWebhook(
      { method: "POST", headers: {}, body },
      {
        auth: { check: async () => "ok" },
        enqueue: async (messages: readonly ReportReadyMessage[]) => {
          const message = messages[0] as ReportReadyMessage;
          throw new EnqueueError(
            {
              accepted: [],
              rejected: [{ index: 0, message, kind: "invalid", reason: "cvr: cvr must be 8 digits" }],
            },
            1,
          );
        },
        clock: () => new Date("2024-05-01T10:00:00.000Z"),
        metrics,
        logger: new Logger({ logLevel: "SILENT" }),
        maxBodyBytes: 65_536,
      },
    );
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      error: "no routable report",
      detail: "cvr: cvr must be 8 digits",
    });
    expect(metrics.total("WebhookRefused", { reason: "unroutable" })).toBe(1);
    expect(metrics.total("WebhookFailed")).toBe(0);
  });
});

describe("loggable", () => {
  test("cuts links to their origin: a pdf link is a capability", () => {
    const text = loggable(
      JSON.stringify({
        pdfUrl: "https://files.lassox.com/files/123/s3cr3t-token.pdf?sig=abc",
        cvr: 34580820,
      }),
    );
    expect(text).toBe('{"pdfUrl":"https://files.lassox.com/…","cvr":34580820}');
    expect(loggable("x".repeat(5000))).toHaveLength(2000);
  });
});
