/**
 * receive-webhook: Lasso's webhook calls, behind a Lambda Function URL. Clients and
 * configuration are built once, at cold start.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { rotatingSecret } from "#shared/secrets.ts";
import { readReceiveWebhookConfig } from "./config.ts";
import { createReceiveWebhookHandler } from "./lambda.ts";

const config = readReceiveWebhookConfig();

export const handler = createReceiveWebhookHandler({
  config,
  sqs: new SQSClient({}),
  secret: rotatingSecret(config.secretId),
});
