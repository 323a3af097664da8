/**
 * The scheduler adapter of poll-batches: middy with Powertools Logger and Metrics around
 * one poll (poll.ts). `createPollBatchesHandler(wiring)` turns the ports into the Lambda
 * handler; handler.ts, the local runner and the tests all use it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { PollPorts } from "#shared/reconcile/ports.ts";
import { logTo } from "#shared/runtime/log.ts";
import { METRICS_NAMESPACE } from "#shared/runtime/metrics.ts";
import { deadlineOf } from "#shared/runtime/time.ts";
import { pollMetrics, SERVICE_NAME } from "./metrics.ts";
import { type PollOptions, type PollSummary, pollOpenBatches } from "./poll.ts";

export class LassoKeyRejectedError extends Error {
  override readonly name = "LassoKeyRejectedError";
}

export type PollResult = Omit<PollSummary, "batches">;

export interface PollBatchesWiring {
  ports: Omit<PollPorts, "log">;
  options: Omit<PollOptions, "deadline">;
  /** Fails the invocation clearly when the Lasso key cannot be read, before any batch is touched. */
  lassoReady: () => Promise<unknown>;
  logger?: Logger;
  metrics?: Metrics;
}

export function createPollBatchesHandler(wiring: PollBatchesWiring) {
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const ports: PollPorts = { ...wiring.ports, log: logTo(logger) };

  const pollBatches = async (_event: unknown, context: Context): Promise<PollResult> => {
    await wiring.lassoReady();
    const summary = await pollOpenBatches(ports, { ...wiring.options, deadline: deadlineOf(context) });
    for (const [name, value] of Object.entries(pollMetrics(summary))) {
      metrics.addMetric(name, MetricUnit.Count, value);
    }
    const { batches, ...result } = summary;
    logger.info("poll done", {
      ...result,
      batches: batches.filter((b) => b.result !== "open" || b.handedOn > 0 || b.stalled),
    });
    if (summary.stoppedBy === "unauthorized") {
      throw new LassoKeyRejectedError("Lasso rejected the API key (401/403): the poll stopped");
    }
    return result;
  };

  return middy<unknown, PollResult, Error, Context>(pollBatches)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
