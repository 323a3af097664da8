/** poll-batches' configuration, read once at cold start (names in lambdas/shared/env-names.ts). */
import { intEnv, MissingConfigError, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import type { LassoRetryOptions } from "#shared/lasso/client.ts";
import { WEBHOOK_GRACE_MS } from "#shared/reconcile/run.ts";

export interface PollBatchesConfig {
  stateTableName: string;
  reportReadyQueueUrl: string;
  lassoBaseUrl: string;
  /** Secrets Manager id of the Lasso API key (the key itself is never in the environment). */
  lassoApiKeySecretId: string;
  lassoRequestTimeoutMs: number;
  stalledAfterMinutes: number;
  stateRetentionDays: number;
  /** Open batches reconciled at the same time. */
  concurrency: number;
  /** How long a report of a batch with webhooks waits for its ring before the poller sends it. */
  webhookGraceMs: number;
}

/**
 * The poller's retries of one Lasso call: short, because the next poll is minutes away.
 * A 429 whose retry-after does not fit the budget stops the poll (the rest waits for the
 * next one) instead of holding the function.
 */
export const POLL_LASSO_RETRY: Required<Pick<LassoRetryOptions, "retries" | "maxTotalMs">> = {
  retries: 3,
  maxTotalMs: 15_000,
};

/** Margin for the last DynamoDB and SQS writes of a batch after its last Lasso call. */
const WRITE_MARGIN_MS = 5_000;

export function readPollBatchesConfig(env: NodeJS.ProcessEnv = process.env): PollBatchesConfig {
  const lassoBaseUrl = requireEnv(ENV.lassoBaseUrl, env);
  if (!URL.canParse(lassoBaseUrl)) {
    throw new MissingConfigError(
      `environment variable ${ENV.lassoBaseUrl} must be a URL, got "${lassoBaseUrl}"`,
    );
  }
  return {
    stateTableName: requireEnv(ENV.stateTable, env),
    reportReadyQueueUrl: requireEnv(ENV.reportReadyQueueUrl, env),
    lassoBaseUrl,
    lassoApiKeySecretId: requireEnv(ENV.lassoApiKeySecretId, env),
    lassoRequestTimeoutMs: intEnv(
      ENV.lassoRequestTimeoutMs,
      { default: 10_000, min: 100, max: 120_000 },
      env,
    ),
    stalledAfterMinutes: intEnv(ENV.stalledAfterMinutes, { min: 1 }, env),
    stateRetentionDays: intEnv(ENV.stateRetentionDays, { min: 1 }, env),
    concurrency: intEnv(ENV.pollConcurrency, { default: 4, min: 1, max: 50 }, env),
    webhookGraceMs: intEnv(ENV.webhookGraceMs, { default: WEBHOOK_GRACE_MS, min: 0, max: 3_600_000 }, env),
  };
}

/**
 * Time a poll keeps free before its timeout: the longest Lasso call (the retry budget plus
 * one request's timeout) and the writes after it. The function's timeout must be well
 * above this (docs/polling.md).
 */
export function reserveMsFor(config: Pick<PollBatchesConfig, "lassoRequestTimeoutMs">): number {
  return POLL_LASSO_RETRY.maxTotalMs + config.lassoRequestTimeoutMs + WRITE_MARGIN_MS;
}
