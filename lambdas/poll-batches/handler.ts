/**
 * poll-batches: run by an EventBridge Scheduler rate schedule (its payload is ignored).
 * Reconciles every open batch with Lasso and hands every finished report not handed on
 * yet to the report-ready queue (docs/polling.md). Thin: wiring, logs and metrics here, the
 * work in poll.ts.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { LassoClient } from "#shared/lasso/client.ts";
import type { PollLog, PollPorts } from "#shared/reconcile/ports.ts";
import { cachedSecret } from "#shared/secrets.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { POLL_LASSO_RETRY, readPollBatchesConfig, reserveMsFor } from "./config.ts";
import { lazyLassoReader } from "./lasso.ts";
import { METRICS_NAMESPACE, pollMetrics, SERVICE_NAME } from "./metrics.ts";
import { type PollSummary, pollOpenBatches } from "./poll.ts";

const config = readPollBatchesConfig();
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

const table: StateTable = {
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  tableName: config.stateTableName,
  retentionDays: config.stateRetentionDays,
};
const apiKey = cachedSecret(config.lassoApiKeySecretId);
const lasso = lazyLassoReader(
  async () =>
    new LassoClient({
      baseUrl: config.lassoBaseUrl,
      apiKey: await apiKey(),
      timeoutMs: config.lassoRequestTimeoutMs,
      retry: POLL_LASSO_RETRY,
    }),
);
const log: PollLog = {
  info: (message, details) => logger.info(message, details ?? {}),
  warn: (message, details) => logger.warn(message, details ?? {}),
  error: (message, details) => logger.error(message, details ?? {}),
};
const ports: PollPorts = {
  table,
  queue: { sqs: new SQSClient({}), queueUrl: config.reportReadyQueueUrl },
  lasso,
  clock: () => new Date(),
  log,
};

export class LassoKeyRejectedError extends Error {
  override readonly name = "LassoKeyRejectedError";
}

export type PollResult = Omit<PollSummary, "batches">;

export async function pollBatches(
  _event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis">,
): Promise<PollResult> {
  // Fails the invocation clearly when the key cannot be read, before any batch is touched.
  await lasso.ready();
  const summary = await pollOpenBatches(ports, {
    deadline: { remainingMs: () => context.getRemainingTimeInMillis() },
    concurrency: config.concurrency,
    reserveMs: reserveMsFor(config),
    stalledAfterMs: config.stalledAfterMinutes * 60_000,
  });
  for (const [name, value] of Object.entries(pollMetrics(summary))) {
    metrics.addMetric(name, MetricUnit.Count, value);
  }
  const { batches, ...result } = summary;
  logger.info("poll done", {
    ...result,
    batches: batches.filter((b) => b.result !== "open" || b.handedOn > 0 || b.stalled),
  });
  if (summary.stoppedBy === "unauthorized") {
    throw new LassoKeyRejectedError("Lasso rejected the API key (401/403): the poll stopped");
  }
  return result;
}

export const handler = middy<unknown, PollResult, Error, Context>(pollBatches)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
