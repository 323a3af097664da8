/**
 * submit-batches: invoked (asynchronously) by EventBridge Scheduler with
 * `{ schedule, scheduledTime }` for every firing of a configured schedule. Thin: validates
 * the event, wires the ports, counts metrics; the work is in submit-run.ts
 * (docs/submission.md).
 *
 * The invocation fails (so Lambda retries it, then the failure destination keeps it) when
 * the run is not fully submitted: a retry finishes it without sending any batch twice.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { CUSTOMERS_TRANSLATE_CONFIG, readCustomersOfGroup } from "#shared/customers.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { LassoApiError } from "#shared/lasso/errors.ts";
import type { CreateBatchRequest } from "#shared/lasso/schemas.ts";
import { powertoolsCounter } from "#shared/metrics.ts";
import { scheduleSchema } from "#shared/schedule.ts";
import { cachedSecret } from "#shared/secrets.ts";
import { runKey } from "#shared/state/keys.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { loadSubmitConfig } from "./config.ts";
import { canonicalScheduledTime } from "./plan.ts";
import type { LassoBatchPort, SubmitPorts } from "./ports.ts";
import { RunIncompleteError, type SubmitResult, submitScheduledRun } from "./submit-run.ts";

export const SERVICE_NAME = "submit-batches";
export const METRICS_NAMESPACE = "LassoReports";

/** Metric names (lib/metrics.ts lists the ones the dashboard and alarms use). */
export const SUBMIT_METRICS = {
  runSubmitted: "RunSubmitted",
  batchSubmitted: "BatchSubmitted",
  customerSkipped: "CustomerSkipped",
  batchRejected: "BatchRejected",
  runIncomplete: "RunIncomplete",
  duplicateInvocation: "DuplicateInvocation",
} as const;

const config = loadSubmitConfig();
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
const counter = powertoolsCounter(metrics);

const dynamo = new DynamoDBClient({});
const state: StateTable = {
  doc: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
  tableName: config.stateTable,
  retentionDays: config.stateRetentionDays,
};
// Hand-edited rows may hold numbers JavaScript cannot represent: read them as text.
const customersDoc = DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG);
const secretsClient = new SecretsManagerClient({});
const webhookSecret = cachedSecret(config.webhookSecretId, { awsSdkV3Client: secretsClient });
const lassoApiKey = cachedSecret(config.lassoApiKeySecretId, { awsSdkV3Client: secretsClient });

/** One client per API key value: a rotated key (after the secret cache's max age) gets a new one. */
let lassoClient: { apiKey: string; client: LassoClient } | undefined;
async function currentLassoClient(): Promise<LassoClient> {
  const apiKey = await lassoApiKey();
  if (lassoClient?.apiKey !== apiKey) {
    lassoClient = {
      apiKey,
      client: new LassoClient({
        baseUrl: config.lassoBaseUrl,
        apiKey,
        timeoutMs: config.lassoRequestTimeoutMs,
        // Rate limits (429 + retry-after) are waited out within this budget.
        retry: { retries: 8, maxTotalMs: config.lassoCallBudgetMs },
      }),
    };
  }
  return lassoClient.client;
}

const lasso: LassoBatchPort = {
  createBatch: async (request: CreateBatchRequest, options: { uniqueToken: string }) => {
    const client = await currentLassoClient();
    try {
      return await client.createBatch(request, options);
    } catch (error) {
      if (error instanceof LassoApiError && (error.status === 401 || error.status === 403))
        lassoClient = undefined;
      throw error;
    }
  },
  // Patient: after an ambiguous POST, Lasso may list the batch only seconds later.
  findBatchByToken: async (token: string) =>
    (await currentLassoClient()).findBatchByToken(token, { patient: true }),
};

export const submitEventSchema = z.object({
  schedule: scheduleSchema,
  scheduledTime: z
    .string()
    .min(1)
    .refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO 8601 date-time"),
});

/**
 * Another invocation holds the run's lease. Failing makes Lambda retry this invocation
 * later: it then finds the run submitted (done), or the lease of a crashed holder lapsed
 * and finishes the run itself.
 */
export class RunBusyError extends Error {
  override readonly name = "RunBusyError";
}

export class InvalidSubmitEventError extends Error {
  override readonly name = "InvalidSubmitEventError";
}

export type SubmitSummary = Omit<SubmitResult, "skipped"> & { skippedRows: number };

export async function submitBatches(
  event: unknown,
  context: Pick<Context, "getRemainingTimeInMillis" | "awsRequestId">,
): Promise<SubmitSummary> {
  const parsed = submitEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "event"}: ${issue.message}`,
    );
    logger.error("invalid submit event", { problems });
    throw new InvalidSubmitEventError(`invalid submit-batches event: ${problems.join("; ")}`);
  }
  const { schedule } = parsed.data;
  const scheduledTime = canonicalScheduledTime(parsed.data.scheduledTime);
  logger.appendKeys({
    schedule: schedule.name,
    scheduledTime,
    runPk: runKey(schedule.name, scheduledTime).pk,
  });

  const ports: SubmitPorts = {
    state,
    customers: { readGroup: (group) => readCustomersOfGroup(customersDoc, config.customersTable, group) },
    lasso,
    webhook: {
      url: config.webhookUrl,
      auth: async () => ({ Method: "Header", Key: config.webhookHeaderName, Value: await webhookSecret() }),
    },
    clock: () => new Date(),
    deadline: { remainingMs: () => context.getRemainingTimeInMillis() },
    log: {
      info: (message, attributes) => logger.info(message, attributes ?? {}),
      warn: (message, attributes) => logger.warn(message, attributes ?? {}),
      error: (message, attributes) => logger.error(message, attributes ?? {}),
    },
    invocationId: context.awsRequestId,
  };
  const result = await submitScheduledRun(
    ports,
    { schedule, scheduledTime },
    { chunkSize: config.chunkSize, reserveMs: config.reserveMs, defaultLanguage: config.defaultLanguage },
  );

  // Every metric on every run, zeros included, so alarms and graphs see continuous data.
  counter.count(SUBMIT_METRICS.runSubmitted, undefined, result.outcome === "submitted" ? 1 : 0);
  counter.count(SUBMIT_METRICS.batchSubmitted, undefined, result.batchesSubmittedNow);
  counter.count(SUBMIT_METRICS.batchRejected, undefined, result.batchesRejectedNow);
  counter.count(SUBMIT_METRICS.customerSkipped, undefined, result.planned ? result.skipped.length : 0);
  counter.count(
    SUBMIT_METRICS.runIncomplete,
    undefined,
    result.outcome === "incomplete" || result.outcome === "partial" ? 1 : 0,
  );
  counter.count(
    SUBMIT_METRICS.duplicateInvocation,
    undefined,
    result.outcome === "already-submitted" || result.outcome === "in-progress-elsewhere" ? 1 : 0,
  );

  const { skipped, ...rest } = result;
  const summary: SubmitSummary = { ...rest, skippedRows: skipped.length };
  if (result.outcome === "incomplete" || result.outcome === "partial") throw new RunIncompleteError(result);
  if (result.outcome === "in-progress-elsewhere") {
    throw new RunBusyError(
      `run ${result.runPk} is being submitted by another invocation: nothing sent by this one; a retry confirms it finished`,
    );
  }
  return summary;
}

export const handler = middy<unknown, SubmitSummary, Error, Context>(submitBatches)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
