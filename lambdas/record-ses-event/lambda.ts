/**
 * The EventBridge adapter of record-ses-event: middy with Powertools Logger and Metrics
 * around the use case. An event that cannot be parsed or recorded fails the invocation:
 * Lambda retries it and then keeps it in the SES events dead-letter queue.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { type Counter, powertoolsCounter } from "#shared/runtime/metrics.ts";
import type { RecordSesEventConfig } from "./config.ts";
import { recordSesEvent } from "./record-ses-event.ts";

export const SERVICE_NAME = "record-ses-event";

export interface RecordSesEventWiring {
  config: RecordSesEventConfig;
  doc: DynamoDBDocumentClient;
  logger?: Logger;
  metrics?: Metrics;
  counter?: Counter;
  clock?: () => Date;
}

export function createRecordSesEventHandler(wiring: RecordSesEventWiring) {
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ serviceName: SERVICE_NAME });
  const deps = {
    table: {
      doc: wiring.doc,
      tableName: wiring.config.stateTable,
      retentionDays: wiring.config.retentionDays,
    },
    metrics: wiring.counter ?? powertoolsCounter(metrics),
    logger,
    clock: wiring.clock ?? (() => new Date()),
  };
  return middy(async (event: EventBridgeEvent<string, unknown>, _context: Context): Promise<void> => {
    try {
      await recordSesEvent(event.detail, deps);
    } catch (error) {
      logger.error("SES event not recorded", { error, eventId: event.id, detailType: event["detail-type"] });
      throw error;
    }
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}
