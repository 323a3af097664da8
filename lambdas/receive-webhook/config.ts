/** receive-webhook's configuration, read once at cold start (names: env-names.ts). */

import { intEnv, MissingConfigError, optionalEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import { DEFAULT_MAX_WEBHOOK_BODY_BYTES } from "./receive-webhook.ts";

export interface ReceiveWebhookConfig {
  queueUrl: string;
  /** The Secrets Manager id of the webhook secret (never its value). */
  secretId: string;
  headerName?: string;
  basicUser?: string;
  maxBodyBytes: number;
}

export function readReceiveWebhookConfig(env: NodeJS.ProcessEnv = process.env): ReceiveWebhookConfig {
  const headerName = optionalEnv(ENV.webhookHeaderName, env);
  const basicUser = optionalEnv(ENV.webhookBasicUser, env);
  if (headerName === undefined && basicUser === undefined) {
    throw new MissingConfigError(
      `environment variable ${ENV.webhookHeaderName} (or ${ENV.webhookBasicUser}) is required`,
    );
  }
  if (headerName !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName)) {
    throw new MissingConfigError(`environment variable ${ENV.webhookHeaderName} must be an HTTP header name`);
  }
  const config: ReceiveWebhookConfig = {
    queueUrl: requireEnv(ENV.reportReadyQueueUrl, env),
    secretId: requireEnv(ENV.webhookSecretId, env),
    maxBodyBytes: intEnv(
      ENV.webhookMaxBodyBytes,
      { default: DEFAULT_MAX_WEBHOOK_BODY_BYTES, min: 1024, max: 6 * 1024 * 1024 },
      env,
    ),
  };
  if (headerName !== undefined) config.headerName = headerName;
  if (basicUser !== undefined) config.basicUser = basicUser;
  return config;
}
