/**
 * poll-batches: run by an EventBridge Scheduler rate schedule (its payload is ignored).
 * Reconciles every open batch with Lasso and hands every finished report not handed on
 * yet to the report-ready queue (docs/polling.md). Cold-start wiring only: config read
 * once, clients built once; the shape is in lambda.ts, the work in poll.ts.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import { realLassoClients } from "#shared/runtime/lasso.ts";
import { lassoCallBudget, readLassoBudgetConfig } from "#shared/runtime/lasso-budget.ts";
import { cachedSecret } from "#shared/secrets.ts";
import { cachedRoutingFacts } from "#shared/state/batch-facts-cache.ts";
import { POLL_LASSO_RETRY, readPollBatchesConfig, reserveMsFor } from "./config.ts";
import { createPollBatchesHandler } from "./lambda.ts";

const config = readPollBatchesConfig();
const stateDoc = stateDocumentClient(new DynamoDBClient({}));
const lasso = realLassoClients(cachedSecret(config.lassoApiKeySecretId), {
  baseUrl: config.lassoBaseUrl,
  // A token not there within the call's retry budget stops the poll as Lasso's 429 does.
  callBudget: lassoCallBudget(readLassoBudgetConfig(), stateDoc, POLL_LASSO_RETRY.maxTotalMs / 2),
  timeoutMs: config.lassoRequestTimeoutMs,
  retry: POLL_LASSO_RETRY,
});

export const handler = createPollBatchesHandler({
  ports: {
    table: {
      doc: stateDoc,
      tableName: config.stateTableName,
      retentionDays: config.stateRetentionDays,
    },
    queue: { sqs: new SQSClient({}), queueUrl: config.reportReadyQueueUrl },
    lasso: {
      getBatch: (id) => lasso.call((client) => client.getBatch(id)),
      listItems: (id, options) => lasso.call((client) => client.listItems(id, options)),
    },
    clock: () => new Date(),
    routingFacts: cachedRoutingFacts(),
  },
  options: {
    concurrency: config.concurrency,
    reserveMs: reserveMsFor(config),
    stalledAfterMs: config.stalledAfterMinutes * 60_000,
    webhookGraceMs: config.webhookGraceMs,
  },
  lassoReady: () => lasso.current(),
});
