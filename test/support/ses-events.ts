/**
 * record-ses-event's handler as Lambda runs it (middy, Powertools), fed SES event records
 * wrapped as EventBridge delivers them, against a state table in the local emulator.
 * Create it after `useLocalAws()`'s `beforeAll`.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { EventBridgeEvent } from "aws-lambda";
import { createRecordSesEventHandler } from "#lambdas/record-ses-event/lambda.ts";
import { createTable } from "#local/aws/provision.ts";
import { lambdaContext } from "#local/pipeline/function-url-server.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { STATE_TABLE } from "#shared/tables.ts";

/** EventBridge's detail-type for each SES event type. */
const DETAIL_TYPES: Record<string, string> = {
  Bounce: "Email Bounced",
  Complaint: "Email Complaint Received",
  Delivery: "Email Delivered",
  DeliveryDelay: "Email Delivery Delayed",
  Reject: "Email Rejected",
};

export interface SesEventRecorder {
  table: StateTable;
  counter: RecordingCounter;
  /** Hands one SES event record (`detail`) to the handler, as EventBridge would. */
  handle(detail: unknown): Promise<void>;
}

/** Creates the state table `tableName` and the handler over it, with a fixed clock. */
export async function sesEventRecorder(tableName: string, now: Date): Promise<SesEventRecorder> {
  const dynamo = new DynamoDBClient({});
  await createTable(dynamo, tableName, STATE_TABLE);
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const counter = new RecordingCounter();
  const handler = createRecordSesEventHandler({
    config: { stateTable: tableName, retentionDays: 30 },
    doc,
    logger: new Logger({ serviceName: "record-ses-event", logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: "Test", serviceName: "record-ses-event" }),
    counter,
    clock: () => now,
  });
  let sequence = 0;
  return {
    table: { doc, tableName, retentionDays: 30 },
    counter,
    handle: async (detail) => {
      sequence += 1;
      const eventType = (detail as { eventType?: unknown } | null)?.eventType;
      const event = {
        version: "0",
        // A fresh EventBridge id each time, as when SES publishes one event twice.
        id: `event-${sequence}`,
        "detail-type": DETAIL_TYPES[String(eventType)] ?? "Email Bounced",
        source: "aws.ses",
        account: "000000000000",
        time: now.toISOString(),
        region: "eu-central-1",
        resources: [],
        detail,
      } satisfies EventBridgeEvent<string, unknown>;
      await handler(event, lambdaContext({ functionName: "record-ses-event", timeoutMs: 30_000 }));
    },
  };
}
