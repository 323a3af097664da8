/**
 * deliver-report: the report-ready queue's consumer. Clients and configuration are built
 * once, at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import { lassoCallBudget, readLassoBudgetConfig } from "#shared/runtime/lasso-budget.ts";
import { cachedSecret } from "#shared/secrets.ts";
import { readDeliverReportSettings } from "./config.ts";
import { buildDeliverReportWiring, createDeliverReportHandler } from "./lambda.ts";

const settings = readDeliverReportSettings();
const dynamo = new DynamoDBClient({});
const stateDoc = stateDocumentClient(dynamo);
/** A delivery may wait this long for a Lasso token before its message is deferred instead. */
const LASSO_TOKEN_WAIT_MS = 20_000;

export const handler = createDeliverReportHandler(
  buildDeliverReportWiring(settings, {
    stateDoc,
    customersDoc: DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG),
    ses: new SESv2Client({}),
    // An archive write that hangs must fail in seconds, not hold the invocation to its end.
    s3: new S3Client({
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    }),
    lassoApiKey: cachedSecret(settings.lasso.apiKeySecretId),
    sqs: new SQSClient({}),
    lassoBudget: lassoCallBudget(readLassoBudgetConfig(), stateDoc, LASSO_TOKEN_WAIT_MS),
  }),
);
