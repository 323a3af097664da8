/**
 * The Lambda Function URL adapter of receive-webhook: middy with Powertools Logger and
 * Metrics around the use case. `createReceiveWebhookHandler` takes its dependencies, so
 * the local runner and tests serve the very handler CDK deploys with their own wiring.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { type Counter, powertoolsCounter } from "#shared/runtime/metrics.ts";
import type { RotatingSecret } from "#shared/secrets.ts";
import { webhookAuthenticator } from "./auth.ts";
import type { ReceiveWebhookConfig } from "./config.ts";
import { type ReceiveWebhookDeps, receiveWebhook, type WebhookRequest } from "./receive-webhook.ts";

export const SERVICE_NAME = "receive-webhook";

export interface ReceiveWebhookWiring {
  config: ReceiveWebhookConfig;
  sqs: SQSClient;
  secret: RotatingSecret;
  logger?: Logger;
  metrics?: Metrics;
  /** Overrides the Powertools counter (tests read what was counted). */
  counter?: Counter;
  clock?: () => Date;
}

/** The Function URL event (payload format 2.0) as the use case's plain request. */
export function webhookRequestOf(event: APIGatewayProxyEventV2): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const body =
    event.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  return { method: event.requestContext.http.method, headers, body };
}

/**
 * What `POWERTOOLS_LOGGER_LOG_EVENT=true` logs of a call: its shape, never its content.
 * The raw event holds the webhook secret (a header) and PDF links (the body), which are
 * capabilities, so Powertools' own event logging is switched off below, whatever the
 * environment says.
 */
export function eventSummary(event: APIGatewayProxyEventV2): Record<string, unknown> {
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    headerNames: Object.keys(event.headers ?? {})
      .map((name) => name.toLowerCase())
      .sort(),
    bodyBytes:
      event.body === undefined ? 0 : Buffer.byteLength(event.body, event.isBase64Encoded ? "base64" : "utf8"),
  };
}

export function createReceiveWebhookHandler(wiring: ReceiveWebhookWiring) {
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ serviceName: SERVICE_NAME });
  const deps: ReceiveWebhookDeps = {
    auth: webhookAuthenticator({
      secret: wiring.secret,
      ...(wiring.config.headerName === undefined ? {} : { headerName: wiring.config.headerName }),
      ...(wiring.config.basicUser === undefined ? {} : { basicUser: wiring.config.basicUser }),
    }),
    enqueue: (messages) => sendReportReady({ sqs: wiring.sqs, queueUrl: wiring.config.queueUrl }, messages),
    clock: wiring.clock ?? (() => new Date()),
    metrics: wiring.counter ?? powertoolsCounter(metrics),
    logger,
    maxBodyBytes: wiring.config.maxBodyBytes,
  };
  return (
    middy(
      async (
        event: APIGatewayProxyEventV2,
        _context: Context,
      ): Promise<APIGatewayProxyStructuredResultV2> => {
        if (logger.getLogEvent()) logger.info("Lambda invocation event (shape only)", eventSummary(event));
        try {
          return await receiveWebhook(webhookRequestOf(event), deps);
        } catch (error) {
          // A bug, not a refusal: 500 tells Lasso to retry, and the log says why.
          logger.error("webhook handler failed", { error });
          return {
            statusCode: 500,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ error: "internal error" }),
          };
        }
      },
    )
      // logEvent false wins over POWERTOOLS_LOGGER_LOG_EVENT: the raw event carries secrets.
      .use(injectLambdaContext(logger, { logEvent: false }))
      .use(logMetrics(metrics))
  );
}
