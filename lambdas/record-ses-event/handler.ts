/**
 * record-ses-event: SES deliveries, delays, bounces, complaints and rejects of the report
 * mails, from EventBridge. Clients and configuration are built once, at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import { readRecordSesEventConfig } from "./config.ts";
import { createRecordSesEventHandler } from "./lambda.ts";

export const handler = createRecordSesEventHandler({
  config: readRecordSesEventConfig(),
  doc: stateDocumentClient(new DynamoDBClient({})),
});
