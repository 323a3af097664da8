/**
 * submit-batches: invoked (asynchronously) by EventBridge Scheduler with
 * `{ schedule, scheduledTime }` for every firing of a configured schedule
 * (docs/submission.md). Cold-start wiring only: config read once, clients built once; the
 * shape is in lambda.ts, the work in submit-run.ts.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { readCustomersOfGroup } from "#shared/customer-reads.ts";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import { realLassoClients } from "#shared/runtime/lasso.ts";
import { lassoCallBudget, readLassoBudgetConfig } from "#shared/runtime/lasso-budget.ts";
import { cachedSecret } from "#shared/secrets.ts";
import { webhookAuthConfig } from "#shared/webhook-credentials.ts";
import { loadSubmitConfig } from "./config.ts";
import { createSubmitBatchesHandler } from "./lambda.ts";

const config = loadSubmitConfig();
const dynamo = new DynamoDBClient({});
// Hand-edited rows may hold numbers JavaScript cannot represent: read them as text.
const customersDoc = DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG);
const stateDoc = stateDocumentClient(dynamo);
const secrets = new SecretsManagerClient({});
const webhookSecret = cachedSecret(config.webhookSecretId, { awsSdkV3Client: secrets });
const lasso = realLassoClients(cachedSecret(config.lassoApiKeySecretId, { awsSdkV3Client: secrets }), {
  baseUrl: config.lassoBaseUrl,
  timeoutMs: config.lassoRequestTimeoutMs,
  // Rate limits (429 + retry-after) are waited out within this budget.
  retry: { retries: 8, maxTotalMs: config.lassoCallBudgetMs },
  callBudget: lassoCallBudget(readLassoBudgetConfig(), stateDoc, config.lassoCallBudgetMs / 2),
});

export const handler = createSubmitBatchesHandler({
  ports: {
    state: {
      doc: stateDoc,
      tableName: config.stateTable,
      retentionDays: config.stateRetentionDays,
    },
    customers: { readGroup: (group) => readCustomersOfGroup(customersDoc, config.customersTable, group) },
    lasso: {
      createBatch: (request, options) => lasso.call((client) => client.createBatch(request, options)),
      // Patient: after an ambiguous POST, Lasso may list the batch only seconds later.
      findBatchByToken: (token) => lasso.call((client) => client.findBatchByToken(token, { patient: true })),
    },
    webhook: {
      url: config.webhookUrl,
      auth: async (method) =>
        webhookAuthConfig(method, {
          headerName: config.webhookHeaderName,
          ...(config.webhookBasicUser === undefined ? {} : { basicUser: config.webhookBasicUser }),
          secret: await webhookSecret(),
        }),
    },
    clock: () => new Date(),
  },
  settings: {
    chunkSize: config.chunkSize,
    reserveMs: config.reserveMs,
    defaultLanguage: config.defaultLanguage,
  },
});
