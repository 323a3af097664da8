/**
 * POWERTOOLS_LOGGER_LOG_EVENT=true makes Powertools log every invocation's raw event. For
 * receive-webhook that is the webhook secret (a header) and PDF links (the body); for
 * deliver-report the SQS bodies carry PDF links. Both handlers log neither, with the
 * variable set: each test first shows that Powertools' default would have logged them.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { readDeliverReportSettings } from "#lambdas/deliver-report/config.ts";
import { buildDeliverReportWiring, createDeliverReportHandler } from "#lambdas/deliver-report/lambda.ts";
import { createReceiveWebhookHandler } from "#lambdas/receive-webhook/lambda.ts";
import { DEMO_SENDER, demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { functionUrlEvent, lambdaContext } from "#local/pipeline/function-url-server.ts";
import { ENV } from "#shared/env-names.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import { silentMetrics } from "#test/support/delivery.ts";

const SECRET = "whsec-4f1c9a77d2e84b0c-very-secret";
const PDF_LINK = "https://files.lassox.com/files/0f8fad5b/capability-token-91b2.pdf?sig=zz81";
const CAPABILITY_PARTS = ["capability-token-91b2", "sig=zz81", "/files/0f8fad5b"];

let output: string[] = [];
let restoreEnv: string | undefined;

beforeEach(() => {
  restoreEnv = process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  // Read by the Logger's constructor: set before any logger of a test is made.
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = "true";
  output = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    output.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
  if (restoreEnv === undefined) delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  else process.env.POWERTOOLS_LOGGER_LOG_EVENT = restoreEnv;
});

const logged = (): string => output.join("");
const infoLogger = (serviceName: string): Logger => new Logger({ serviceName, logLevel: "INFO" });

function webhookEvent(secret: string): APIGatewayProxyEventV2 {
  const body = JSON.stringify({
    batchId: "0f8fad5b-d9cb-469f-a165-70867728950e",
    lassoId: "CVR-1-34580820",
    cvr: 34580820,
    reportType: "Revision",
    status: "Completed",
    pdfUrl: PDF_LINK,
    internalCustomerId: 1234,
  });
  return functionUrlEvent({
    method: "POST",
    url: "/",
    rawHeaders: ["content-type", "application/json", "x-lasso-reports-secret", secret],
    body: Buffer.from(body),
    sourceIp: "203.0.113.9",
  });
}

/** An SQS client that accepts every entry. */
const acceptingSqs = (): SQSClient =>
  ({
    send: async (command: SendMessageBatchCommand) => ({
      Successful: (command.input.Entries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: `m-${entry.Id}`,
        MD5OfMessageBody: "",
      })),
      Failed: [],
    }),
  }) as unknown as SQSClient;

describe("receive-webhook with POWERTOOLS_LOGGER_LOG_EVENT=true", () => {
  test("Powertools' default would log the secret and the link (the control)", async () => {
    const logger = infoLogger("control");
    const plain = middy(async () => ({ statusCode: 200 })).use(injectLambdaContext(logger));
    await plain(webhookEvent(SECRET), lambdaContext({ functionName: "control", timeoutMs: 5_000 }));
    expect(logged()).toContain(SECRET);
    expect(logged()).toContain("capability-token-91b2");
  });

  test.each([
    ["the right secret", SECRET],
    ["a wrong secret", `${SECRET}-guessed`],
  ])("with %s, neither the secret nor the PDF link is logged", async (_case, sent) => {
    const handler = createReceiveWebhookHandler({
      config: {
        queueUrl: "https://sqs.local/queue",
        secretId: "webhook",
        headerName: "x-lasso-reports-secret",
        maxBodyBytes: 65_536,
      },
      sqs: acceptingSqs(),
      secret: { current: async () => SECRET, previous: async () => undefined },
      logger: infoLogger("receive-webhook"),
      metrics: silentMetrics(),
      counter: new RecordingCounter(),
    });
    const answer = await handler(
      webhookEvent(sent),
      lambdaContext({ functionName: "receive-webhook", timeoutMs: 5_000 }),
    );
    expect(answer.statusCode).toBeGreaterThanOrEqual(200);
    const text = logged();
    // The variable is honoured with the event's shape, so the log is not simply silent.
    expect(text).toContain("Lambda invocation event (shape only)");
    expect(text).toContain("x-lasso-reports-secret");
    expect(text).not.toContain(SECRET);
    for (const part of CAPABILITY_PARTS) expect(text).not.toContain(part);
  });
});

/** The settings deliver-report reads from the environment the stack gives it. */
const deliverEnv = {
  [ENV.reportReadyQueueUrl]: "https://sqs.local/report-ready",
  [ENV.stateTable]: "state",
  [ENV.customersTable]: "customers",
  [ENV.archiveBucket]: "archive",
  [ENV.mailSender]: DEMO_SENDER,
  [ENV.mailProfile]: demoMailProfileJson(),
  [ENV.pdfAllowedHosts]: "files.lassox.com",
  [ENV.lassoBaseUrl]: "https://api.lassox.com",
  [ENV.lassoApiKeySecretId]: "lasso-key",
};

function sqsEvent(bodies: readonly string[]): SQSEvent {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "1714557600000",
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: "1714557600000",
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-central-1:000000000000:report-ready",
      awsRegion: "eu-central-1",
    })),
  };
}

describe("deliver-report with POWERTOOLS_LOGGER_LOG_EVENT=true", () => {
  // Not a report-ready message (no identity): the handler refuses it without touching a port.
  const bodies = [JSON.stringify({ pdfUrl: PDF_LINK, note: "no identity" }), `{"pdfUrl":"${PDF_LINK}"`];

  test("Powertools' default would log the SQS bodies' links (the control)", async () => {
    const logger = infoLogger("control");
    const plain = middy(async () => ({ batchItemFailures: [] })).use(injectLambdaContext(logger));
    await plain(sqsEvent(bodies), lambdaContext({ functionName: "control", timeoutMs: 5_000 }));
    expect(logged()).toContain("capability-token-91b2");
  });

  test("no PDF link is logged, neither from the event nor from a refused message", async () => {
    const unused = {} as never;
    const wiring = buildDeliverReportWiring(readDeliverReportSettings(deliverEnv), {
      stateDoc: unused,
      customersDoc: unused,
      ses: unused,
      s3: unused,
      lassoApiKey: async () => "key",
      sqs: unused,
    });
    const handler = createDeliverReportHandler({
      ...wiring,
      logger: infoLogger("deliver-report"),
      metrics: silentMetrics(),
      counter: new RecordingCounter(),
    });
    const answer = await handler(
      sqsEvent(bodies),
      lambdaContext({ functionName: "deliver-report", timeoutMs: 30_000 }),
    );
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: "m-0" }, { itemIdentifier: "m-1" }]);
    const text = logged();
    expect(text).toContain("Lambda invocation event (shape only)");
    // The refusals are logged, with the link cut to its origin.
    expect(text).toContain("not a report-ready message");
    expect(text).toContain("https://files.lassox.com/…");
    for (const part of CAPABILITY_PARTS) expect(text).not.toContain(part);
  });
});
