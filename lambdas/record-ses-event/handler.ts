/**
 * record-ses-event: SES bounces, complaints and rejects of the report mails, from
 * EventBridge. Clients and configuration are built once, at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { readRecordSesEventConfig } from "./config.ts";
import { createRecordSesEventHandler } from "./lambda.ts";

export const handler = createRecordSesEventHandler({
  config: readRecordSesEventConfig(),
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({})),
});
