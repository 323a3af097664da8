/**
 * The scheduler adapter of submit-batches: middy with Powertools Logger and Metrics, the
 * event's schema, the metrics of a run, and the errors that make Lambda retry.
 * `createSubmitBatchesHandler(wiring)` turns the ports into the Lambda handler; handler.ts
 * and the local runner use it.
 *
 * The invocation fails (so Lambda retries it, then the failure destination keeps it) when
 * the run is not fully submitted: a retry finishes it without sending any batch twice.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import type { Language } from "#shared/customers.ts";
import { logTo } from "#shared/runtime/log.ts";
import { type Counter, METRICS_NAMESPACE, powertoolsCounter } from "#shared/runtime/metrics.ts";
import { deadlineOf } from "#shared/runtime/time.ts";
import { scheduleSchema } from "#shared/schedule.ts";
import { MAX_RUN_CUSTOMERS, runKey } from "#shared/state/keys.ts";
import "#shared/zod-english.ts";
import { canonicalScheduledTime } from "./plan.ts";
import type { SubmitPorts } from "./ports.ts";
import { RunIncompleteError, type SubmitResult } from "./run-result.ts";
import { submitScheduledRun } from "./submit-run.ts";

export const SERVICE_NAME = "submit-batches";

/** Metric names (lib/metrics.ts lists the ones the dashboard and alarms use). */
export const SUBMIT_METRICS = {
  runSubmitted: "RunSubmitted",
  batchSubmitted: "BatchSubmitted",
  customerSkipped: "CustomerSkipped",
  batchRejected: "BatchRejected",
  runIncomplete: "RunIncomplete",
  duplicateInvocation: "DuplicateInvocation",
} as const;

export const submitEventSchema = z.object({
  schedule: scheduleSchema,
  scheduledTime: z.string().check(
    z.minLength(1),
    z.refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO 8601 date-time"),
  ),
  /** Only these customers (an operator's `lasso-reports run SCHEDULE --customer ID…`); the scheduler never sends it. */
  customerIds: z.optional(
    z.array(z.int().check(z.minimum(1))).check(z.minLength(1), z.maxLength(MAX_RUN_CUSTOMERS)),
  ),
  /** `operator` from `lasso-reports run` (fires whatever the day); the scheduler never sends it. */
  firedBy: z.optional(z.enum(["scheduler", "operator"])),
});

/**
 * Another invocation holds the run's lease. Failing makes Lambda retry this invocation
 * later: it then finds the run submitted (done), or the lease of a crashed holder lapsed
 * and finishes the run itself.
 */
export class RunBusyError extends Error {
  override readonly name = "RunBusyError";
}

export class InvalidSubmitEventError extends Error {
  override readonly name = "InvalidSubmitEventError";
}

export type SubmitSummary = Omit<SubmitResult, "skipped"> & { skippedRows: number };

export interface SubmitBatchesWiring {
  /** Everything but what belongs to one invocation (its deadline, log, request id). */
  ports: Omit<SubmitPorts, "deadline" | "log" | "invocationId">;
  settings: { chunkSize: number; reserveMs: number; defaultLanguage: Language };
  logger?: Logger;
  metrics?: Metrics;
  counter?: Counter;
}

export function createSubmitBatchesHandler(wiring: SubmitBatchesWiring) {
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const counter = wiring.counter ?? powertoolsCounter(metrics);

  const submitBatches = async (event: unknown, context: Context): Promise<SubmitSummary> => {
    const parsed = submitEventSchema.safeParse(event);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "event"}: ${issue.message}`,
      );
      logger.error("invalid submit event", { problems });
      throw new InvalidSubmitEventError(`invalid submit-batches event: ${problems.join("; ")}`);
    }
    const { schedule, customerIds, firedBy } = parsed.data;
    const scheduledTime = canonicalScheduledTime(parsed.data.scheduledTime);
    logger.appendKeys({
      schedule: schedule.name,
      scheduledTime,
      runPk: runKey(schedule.name, scheduledTime, customerIds).pk,
    });

    const result = await submitScheduledRun(
      {
        ...wiring.ports,
        deadline: deadlineOf(context),
        log: logTo(logger),
        invocationId: context.awsRequestId,
      },
      {
        schedule,
        scheduledTime,
        ...(customerIds === undefined ? {} : { customerIds }),
        ...(firedBy === undefined ? {} : { firedBy }),
      },
      wiring.settings,
    );
    countRun(counter, result);

    const { skipped, ...rest } = result;
    if (result.outcome === "incomplete" || result.outcome === "partial") throw new RunIncompleteError(result);
    if (result.outcome === "in-progress-elsewhere") {
      throw new RunBusyError(
        `run ${result.runPk} is being submitted by another invocation: nothing sent by this one; a retry confirms it finished`,
      );
    }
    return { ...rest, skippedRows: skipped.length };
  };

  return middy<unknown, SubmitSummary, Error, Context>(submitBatches)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** Every metric on every run, zeros included, so alarms and graphs see continuous data. */
function countRun(counter: Counter, result: SubmitResult): void {
  const unfinished = result.outcome === "incomplete" || result.outcome === "partial";
  const duplicate = result.outcome === "already-submitted" || result.outcome === "in-progress-elsewhere";
  counter.count(SUBMIT_METRICS.runSubmitted, undefined, result.outcome === "submitted" ? 1 : 0);
  counter.count(SUBMIT_METRICS.batchSubmitted, undefined, result.batchesSubmittedNow);
  counter.count(SUBMIT_METRICS.batchRejected, undefined, result.batchesRejectedNow);
  counter.count(SUBMIT_METRICS.customerSkipped, undefined, result.planned ? result.skipped.length : 0);
  counter.count(SUBMIT_METRICS.runIncomplete, undefined, unfinished ? 1 : 0);
  counter.count(SUBMIT_METRICS.duplicateInvocation, undefined, duplicate ? 1 : 0);
}
