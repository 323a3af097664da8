/**
 * The DynamoDB stream adapter of sync-schedules: middy with Powertools Logger and Metrics
 * around the use case. The stream (keys only) names the schedules that changed; each is
 * synced once per batch, in order. A schedule that could not be synced (Scheduler or
 * DynamoDB unavailable) is reported as the batch's first failure: Lambda retries from
 * there, and after its retries the records go to the sync's dead-letter queue (alarmed).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { type Counter, powertoolsCounter } from "#shared/runtime/metrics.ts";
import type { SyncSchedulesConfig } from "./config.ts";
import { type SyncScheduleResult, syncSchedule } from "./sync-schedule.ts";

export const SERVICE_NAME = "sync-schedules";

export interface SyncSchedulesWiring {
  config: SyncSchedulesConfig;
  /** Document client of the schedules table (plain numbers: schedule fields are small). */
  schedulesDoc: DynamoDBDocumentClient;
  stateDoc: DynamoDBDocumentClient;
  scheduler: Pick<SchedulerClient, "send">;
  logger?: Logger;
  metrics?: Metrics;
  counter?: Counter;
  clock?: () => Date;
}

export type SyncSchedulesHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse & { synced: SyncScheduleResult[] }>;

export function createSyncSchedulesHandler(wiring: SyncSchedulesWiring): SyncSchedulesHandler {
  const { config } = wiring;
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ serviceName: SERVICE_NAME });
  const deps = {
    readItem: async (name: string) => {
      const { Item } = await wiring.schedulesDoc.send(
        new GetCommand({ TableName: config.schedulesTable, Key: { name }, ConsistentRead: true }),
      );
      return Item;
    },
    scheduler: wiring.scheduler,
    target: config.target,
    state: { doc: wiring.stateDoc, tableName: config.stateTable, retentionDays: config.retentionDays },
    metrics: wiring.counter ?? powertoolsCounter(metrics),
    logger,
    clock: wiring.clock ?? (() => new Date()),
  };
  const handle = async (event: DynamoDBStreamEvent, _context: Context) => {
    const synced: SyncScheduleResult[] = [];
    const done = new Set<string>();
    for (const record of event.Records) {
      const name = record.dynamodb?.Keys?.name?.S;
      if (name === undefined || done.has(name)) continue;
      try {
        synced.push(await syncSchedule(name, deps));
        done.add(name);
      } catch (error) {
        logger.error("schedule not synced; the stream retries it", { error, name });
        const sequenceNumber = record.dynamodb?.SequenceNumber ?? "";
        return { batchItemFailures: [{ itemIdentifier: sequenceNumber }], synced };
      }
    }
    return { batchItemFailures: [], synced };
  };
  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
