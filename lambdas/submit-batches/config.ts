/**
 * submit-batches configuration, read once at cold start from the environment (names in
 * lambdas/shared/env-names.ts). Secrets are not here: only their ids.
 */
import { LANGUAGES, type Language } from "#shared/customers.ts";
import { intEnv, MissingConfigError, optionalEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import { BASIC_USER_PATTERN } from "#shared/webhook-credentials.ts";

export interface SubmitConfig {
  customersTable: string;
  stateTable: string;
  stateRetentionDays: number;
  chunkSize: number;
  lassoBaseUrl: string;
  lassoApiKeySecretId: string;
  lassoRequestTimeoutMs: number;
  /** Budget of one createBatch call, retries and rate-limit waits included. */
  lassoCallBudgetMs: number;
  webhookSecretId: string;
  webhookHeaderName: string;
  /** The BasicAuth user for schedules with webhookAuth BasicAuth (WEBHOOK_BASIC_USER). */
  webhookBasicUser?: string;
  webhookUrl: string;
  defaultLanguage: Language;
  /** Time kept free before the deadline: one more chunk may take this long. */
  reserveMs: number;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** How long one chunk's POST may take in the worst case, waits for 429s included. */
export const LASSO_CALL_BUDGET_MS = 90_000;

export function loadSubmitConfig(env: NodeJS.ProcessEnv = process.env): SubmitConfig {
  const webhookHeaderName = requireEnv(ENV.webhookHeaderName, env);
  if (!HEADER_NAME.test(webhookHeaderName)) {
    throw new MissingConfigError(`environment variable ${ENV.webhookHeaderName} must be an HTTP header name`);
  }
  const webhookBasicUser = optionalEnv(ENV.webhookBasicUser, env);
  if (webhookBasicUser !== undefined && !BASIC_USER_PATTERN.test(webhookBasicUser)) {
    throw new MissingConfigError(
      `environment variable ${ENV.webhookBasicUser} must be a user name of letters, digits, '.', '_' and '-'`,
    );
  }
  const webhookUrl = requireEnv(ENV.webhookUrl, env);
  if (!/^https?:\/\/[^\s]+$/i.test(webhookUrl) || !URL.canParse(webhookUrl)) {
    throw new MissingConfigError(`environment variable ${ENV.webhookUrl} must be an http(s) URL`);
  }
  const language = optionalEnv(ENV.defaultLanguage, env) ?? "da";
  if (!(LANGUAGES as readonly string[]).includes(language)) {
    throw new MissingConfigError(`environment variable ${ENV.defaultLanguage} must be da or en`);
  }
  const lassoRequestTimeoutMs = intEnv(
    ENV.lassoRequestTimeoutMs,
    { default: 10_000, min: 1000, max: 60_000 },
    env,
  );
  return {
    customersTable: requireEnv(ENV.customersTable, env),
    stateTable: requireEnv(ENV.stateTable, env),
    stateRetentionDays: intEnv(ENV.stateRetentionDays, { min: 1 }, env),
    chunkSize: intEnv(ENV.chunkSize, { default: 1000, min: 1, max: 5000 }, env),
    lassoBaseUrl: requireEnv(ENV.lassoBaseUrl, env),
    lassoApiKeySecretId: requireEnv(ENV.lassoApiKeySecretId, env),
    lassoRequestTimeoutMs,
    lassoCallBudgetMs: LASSO_CALL_BUDGET_MS,
    webhookSecretId: requireEnv(ENV.webhookSecretId, env),
    webhookHeaderName,
    ...(webhookBasicUser === undefined ? {} : { webhookBasicUser }),
    webhookUrl,
    defaultLanguage: language as Language,
    // The call budget, one more request that may start at its end, and the state writes.
    reserveMs: LASSO_CALL_BUDGET_MS + lassoRequestTimeoutMs + 15_000,
  };
}
