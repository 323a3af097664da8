/**
 * sync-schedules: the schedules table's stream in, EventBridge Scheduler out. Clients and
 * configuration are built once, at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import { SCHEDULES_TRANSLATE_CONFIG } from "#shared/schedule-item.ts";
import { readSyncSchedulesConfig } from "./config.ts";
import { createSyncSchedulesHandler } from "./lambda.ts";

const dynamo = new DynamoDBClient({});

export const handler = createSyncSchedulesHandler({
  config: readSyncSchedulesConfig(),
  schedulesDoc: DynamoDBDocumentClient.from(dynamo, SCHEDULES_TRANSLATE_CONFIG),
  stateDoc: stateDocumentClient(dynamo),
  scheduler: new SchedulerClient({}),
});
