/**
 * The local runner: plays AWS's part around the production handlers.
 * - starts the local stack (emulators, tables and queues from the stack's definitions,
 *   the Lasso simulator, secrets) and seeds customers;
 * - serves receive-webhook over HTTP as Function URL events (the simulator's webhooks);
 * - feeds the report-ready queue to deliver-report as SQS events (batch size, partial
 *   batch failures, visibility, redrive to the DLQ);
 * - fires the schedules (submit-batches with `{ schedule, scheduledTime }`) and runs
 *   poll-batches on its rate;
 * - stops when every submitted report is delivered or recorded as failed, or at a timeout;
 *   progress comes from counters, the records are read to confirm the end.
 * The handlers are the modules CDK deploys; they learn where everything is from the
 * standard environment variables only.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import type { FiredBy } from "#lambdas/submit-batches/submit-run.ts";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { putCustomerItems } from "#shared/customer-store.ts";
import { ENV } from "#shared/env-names.ts";
import type { LocalAwsPorts } from "../aws/local-aws.ts";
import { type LocalStack, startLocalStack } from "../aws/local-stack.ts";
import type { LocalResources } from "../aws/provision.ts";
import type { SentMailStore, StoredMail } from "../aws/sent-mails.ts";
import type { LassoSimulatorOptions } from "../lasso-sim/types.ts";
import { type FunctionUrlServer, lambdaContext, serveFunctionUrl } from "./function-url-server.ts";
import { LOCAL_SETTINGS } from "./local-config.ts";
import {
  duplicateMails,
  mayBeDone,
  type PipelineProgress,
  type PipelineStatus,
  readPipelineProgress,
  readPipelineStatus,
  settledReports,
} from "./pipeline-status.ts";
import { type SqsEventSource, startSqsEventSource } from "./sqs-event-source.ts";

export interface RunnerOptions<Stack extends RunnerStack = LocalStack> {
  customers: readonly Record<string, unknown>[];
  schedules: readonly ScheduleConfig[];
  sim?: LassoSimulatorOptions;
  /** Give up after this long (default 110 s: `npm start` promises two minutes). */
  timeoutMs?: number;
  pollIntervalMs?: number;
  /** Fixed ports (`--serve`); ephemeral when absent. */
  ports?: { aws?: LocalAwsPorts; sim?: number; webhook?: number };
  /** Progress (from counters, about once a second) and log lines. */
  onProgress?: (progress: PipelineProgress) => void;
  /** Called once everything is up, before the schedules fire. */
  onStarted?(pipeline: LocalPipeline<Stack>): void;
  log?: (line: string) => void;
  /** Function environment over the runner's (a benchmark's baseline switches the Lasso budget off). */
  env?: Record<string, string>;
}

export interface RunSummary {
  customers: number;
  batches: number;
  reportsFinished: number;
  mailsSent: number;
  /** Failure notices to accountants or operators (not counted in mailsSent). */
  failureNotices: number;
  reportsFailed: number;
  unroutable: number;
  duplicatesSkipped: number;
  deadLetters: number;
  elapsedMs: number;
}

export interface RunOutcome {
  summary: RunSummary;
  /** Why the run is not a success: lost, duplicated, timed out. Empty when all is well. */
  problems: string[];
  /** The report mails (failure notices are in `notices`). */
  mails: StoredMail[];
  notices: StoredMail[];
}

/**
 * What the runner needs of a stack: its clients and names, a way to set the function
 * environment, and what SES accepted. A LocalStack is one; so is a stack in another
 * process, attached by its description (attached-stack.ts), when the functions run in a
 * process of their own.
 */
export interface RunnerStack {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  resources: LocalResources;
  aws: { sentMails: SentMailStore };
  setFunctionEnv(values: Record<string, string>): void;
  stop(): Promise<void>;
}

export interface LocalPipeline<Stack extends RunnerStack = LocalStack> {
  stack: Stack;
  webhook: FunctionUrlServer;
  deliveries: SqsEventSource;
  /**
   * Fires one schedule (as EventBridge Scheduler would at `scheduledTime`, default now);
   * `operator` for a firing someone asked for now, which a business-day rule does not refuse.
   */
  fire(schedule: ScheduleConfig, scheduledTime?: Date, firedBy?: FiredBy): Promise<unknown>;
  /** Runs one poll now. */
  poll(): Promise<unknown>;
  /** What every record says (reads the whole state table). */
  status(): Promise<PipelineStatus>;
  /** Progress from counters (no table scan): see PipelineProgress. */
  progress(): Promise<PipelineProgress>;
  mails(): Promise<StoredMail[]>;
  /** Starts polling on the rate; returns a stop function. */
  startPolling(intervalMs: number): () => Promise<void>;
  stop(): Promise<void>;
}

/** How often the run's progress is read (from counters: cheap). */
const PROGRESS_EVERY_MS = 1000;
/** The records are read to decide "done" at least this often, whatever the counters say. */
const CONFIRM_EVERY_MS = 10_000;

type LambdaHandler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

const context = (functionName: string, timeoutSeconds: number): Context =>
  lambdaContext({ functionName, timeoutMs: timeoutSeconds * 1000 });

export type PipelineStartOptions = Pick<RunnerOptions, "sim" | "ports" | "log" | "env"> & {
  customers: readonly Record<string, unknown>[];
};

/** The local stack with the runner's settings (queue timings and chunk size from local-config); also the benchmarks' baseline. */
export function startRunnerStack(options: PipelineStartOptions): Promise<LocalStack> {
  return startLocalStack({
    ...(options.ports?.aws ? { awsPorts: options.ports.aws } : {}),
    ...(options.ports?.sim === undefined ? {} : { simPort: options.ports.sim }),
    sim: { reportDelayMs: 20, ...options.sim },
    queue: {
      visibilityTimeoutSeconds: LOCAL_SETTINGS.deliveryTimeoutSeconds * 6,
      maxReceiveCount: LOCAL_SETTINGS.maxReceiveCount,
    },
    env: { [ENV.chunkSize]: String(LOCAL_SETTINGS.chunkSize), ...options.env },
  });
}

/** deliver-report fed from the report-ready queue, as Lambda's SQS event source mapping does. */
async function startDeliveries(stack: RunnerStack, log: (line: string) => void): Promise<SqsEventSource> {
  // One module instance per concurrent invocation: separate warm containers, as on Lambda.
  const deliverContainers = await Promise.all(
    Array.from({ length: LOCAL_SETTINGS.deliveryConcurrency }, async (_, index) => {
      const url = new URL(`../../lambdas/deliver-report/handler.ts?container=${index + 1}`, import.meta.url);
      return ((await import(url.href)) as typeof import("#lambdas/deliver-report/handler.ts")).handler;
    }),
  );
  return startSqsEventSource({
    sqs: stack.sqs,
    queueUrl: stack.resources.reportReadyQueueUrl,
    handler: deliverContainers,
    batchSize: LOCAL_SETTINGS.deliveryBatchSize,
    maxConcurrency: LOCAL_SETTINGS.deliveryConcurrency,
    functionName: "deliver-report",
    functionTimeoutMs: LOCAL_SETTINGS.deliveryTimeoutSeconds * 1000,
    log,
  });
}

/** The batches a submit-batches answer names, with their items (an answer of another shape names none). */
function batchesOf(result: unknown): { lassoBatchId: string; items: number }[] {
  const chunks = (result as { chunks?: unknown } | undefined)?.chunks;
  if (!Array.isArray(chunks)) return [];
  return chunks.flatMap((chunk: { lassoBatchId?: unknown; items?: unknown }) =>
    typeof chunk.lassoBatchId === "string" && typeof chunk.items === "number"
      ? [{ lassoBatchId: chunk.lassoBatchId, items: chunk.items }]
      : [],
  );
}

/** Runs `poll` every `intervalMs` until the returned function is called; a failed poll is logged, not fatal. */
function pollOnRate(
  poll: () => Promise<unknown>,
  intervalMs: number,
  log: (line: string) => void,
): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await poll();
      } catch (error) {
        log(`poll-batches failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Starts the local stack and wires the production handlers into it. */
export async function startLocalPipeline(options: PipelineStartOptions): Promise<LocalPipeline> {
  return attachPipeline(options, await startRunnerStack(options));
}

/** Wires the production handlers into a running stack (stopping the pipeline stops the stack). */
async function attachPipeline<Stack extends RunnerStack>(
  options: PipelineStartOptions,
  stack: Stack,
): Promise<LocalPipeline<Stack>> {
  const log = options.log ?? (() => undefined);
  const stopped: (() => Promise<void>)[] = [() => stack.stop()];
  try {
    const doc = DynamoDBDocumentClient.from(stack.dynamo, {
      marshallOptions: { removeUndefinedValues: true },
    });
    await putCustomerItems(doc, stack.resources.names.customersTable, options.customers);

    // Handlers read their configuration at import (cold start): import them only now that
    // the environment is set, and submit-batches only once the webhook URL is known.
    const receiveWebhook = (await import("#lambdas/receive-webhook/handler.ts")).handler;
    const webhook = await serveFunctionUrl(receiveWebhook, {
      functionName: "receive-webhook",
      ...(options.ports?.webhook === undefined ? {} : { port: options.ports.webhook }),
    });
    stopped.unshift(() => webhook.close());
    stack.setFunctionEnv({ [ENV.webhookUrl]: webhook.url });

    const deliveries = await startDeliveries(stack, log);
    stopped.unshift(() => deliveries.stop());

    const submitBatches = (await import("#lambdas/submit-batches/handler.ts")).handler as LambdaHandler<
      unknown,
      unknown
    >;
    const pollBatches = (await import("#lambdas/poll-batches/handler.ts")).handler as LambdaHandler<
      unknown,
      unknown
    >;
    const poll = (): Promise<unknown> => pollBatches({}, context("poll-batches", 300));
    const statusPorts = {
      doc,
      sqs: stack.sqs,
      stateTable: stack.resources.names.stateTable,
      queueUrl: stack.resources.reportReadyQueueUrl,
      dlqUrl: stack.resources.reportReadyDlqUrl,
    };
    // Counters for progress: the batches submit-batches answered with, by id.
    const fired = new Map<string, number>();

    return {
      stack,
      webhook,
      deliveries,
      fire: async (schedule, scheduledTime = new Date(), firedBy = "scheduler") => {
        const result = await submitBatches(
          {
            schedule,
            scheduledTime: scheduledTime.toISOString(),
            ...(firedBy === "operator" ? { firedBy } : {}),
          },
          context("submit-batches", 900),
        );
        for (const batch of batchesOf(result)) fired.set(batch.lassoBatchId, batch.items);
        return result;
      },
      poll,
      status: () => readPipelineStatus(statusPorts),
      progress: () =>
        readPipelineProgress(statusPorts, {
          batches: fired.size,
          expectedReports: [...fired.values()].reduce((total, items) => total + items, 0),
          messagesHandled: deliveries.stats.succeeded,
        }),
      mails: () => stack.aws.sentMails.read(),
      startPolling: (intervalMs) => pollOnRate(poll, intervalMs, log),
      stop: async () => {
        for (const stop of stopped) await stop();
      },
    };
  } catch (error) {
    for (const stop of stopped) await stop();
    throw error;
  }
}

/**
 * The whole run: fire every schedule once, now, and wait until every report is settled.
 * "Done" is read from the reports (each delivered or recorded as failed), not from a queue
 * count: a message left on the queue then is a copy of a settled report (a late ring, a
 * retry after a crash) that its claim turns away, and queue counts are approximate on SQS.
 */
export function runLocalPipeline(options: RunnerOptions): Promise<RunOutcome & { pipeline: LocalPipeline }>;
/** The same on a stack that runs elsewhere (started `startedAt`, for the run's time). */
export function runLocalPipeline<Stack extends RunnerStack>(
  options: RunnerOptions<Stack>,
  attached: { stack: Stack; startedAt: number },
): Promise<RunOutcome & { pipeline: LocalPipeline<Stack> }>;
export async function runLocalPipeline(
  options: RunnerOptions<RunnerStack>,
  attached?: { stack: RunnerStack; startedAt: number },
): Promise<RunOutcome & { pipeline: LocalPipeline<RunnerStack> }> {
  const started = attached?.startedAt ?? Date.now();
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 110_000;
  const pipeline: LocalPipeline<RunnerStack> =
    attached === undefined
      ? await startLocalPipeline(options)
      : await attachPipeline(options, attached.stack);
  options.onStarted?.(pipeline);
  const problems: string[] = [];
  const stopPolling = pipeline.startPolling(options.pollIntervalMs ?? LOCAL_SETTINGS.pollIntervalMs);
  try {
    for (const schedule of options.schedules) {
      try {
        // `npm start` runs every schedule now, whatever the day.
        await pipeline.fire(schedule, new Date(), "operator");
      } catch (error) {
        problems.push(`schedule ${schedule.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    // Progress comes from counters; the records are read (a scan) only when the counters say
    // the run may be over, and at most every CONFIRM_EVERY_MS in any case (nothing is missed
    // if a counter is off).
    let lastConfirmed = Date.now();
    for (;;) {
      const progress = await pipeline.progress();
      options.onProgress?.(progress);
      pipeline.stack.aws.sentMails.compact?.(LOCAL_SETTINGS.sentMailsKeptWhole);
      if (mayBeDone(progress) || Date.now() - lastConfirmed >= CONFIRM_EVERY_MS) {
        lastConfirmed = Date.now();
        const status = await pipeline.status();
        if (
          status.batches > 0 &&
          settledReports(status) >= status.expectedReports &&
          status.inFlight === 0 &&
          // Listener batches stay open by design: they do not hold the run up.
          status.openBatches === status.openListenerBatches
        ) {
          break;
        }
      }
      // Nothing fired (a customer file without a usable row), or every firing failed.
      if (progress.batches === 0 && (problems.length > 0 || options.schedules.length === 0)) break;
      if (Date.now() - started > timeoutMs) {
        const status = await pipeline.status();
        problems.push(
          `timed out after ${Math.round(timeoutMs / 1000)} s: ${settledReports(status)} of ${status.expectedReports} reports settled, ` +
            `${status.openBatches - status.openListenerBatches} batches open, ${status.inFlight} deliveries in flight, ` +
            `${status.queueVisible} messages waiting`,
        );
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, PROGRESS_EVERY_MS));
    }
    await stopPolling();
    // A delivery that recorded its report's outcome may still be sending its failure notice:
    // the queue is empty once every invocation has returned.
    await pipeline.deliveries.idle(10_000).catch(() => undefined);
    const status = await pipeline.status();
    const sent = await pipeline.mails();
    const noticeIds = new Set(status.noticeMessageIds);
    const mails = sent.filter((mail) => !noticeIds.has(mail.messageId));
    const notices = sent.filter((mail) => noticeIds.has(mail.messageId));
    for (const duplicate of duplicateMails(mails)) problems.push(`sent more than once: ${duplicate}`);
    const lost = status.expectedReports - settledReports(status);
    if (lost > 0) problems.push(`${lost} reports neither delivered nor recorded as failed`);
    if (status.deadLetters > 0) problems.push(`${status.deadLetters} messages in the dead-letter queue`);
    log(`run finished in ${Date.now() - started} ms`);
    return {
      pipeline,
      problems,
      mails,
      notices,
      summary: {
        customers: options.customers.length,
        batches: status.batches,
        reportsFinished: status.reportsFinished,
        mailsSent: mails.length,
        failureNotices: notices.length,
        reportsFailed: status.failed,
        unroutable: status.unroutable,
        duplicatesSkipped: status.duplicatesSkipped,
        deadLetters: status.deadLetters,
        elapsedMs: Date.now() - started,
      },
    };
  } catch (error) {
    await stopPolling();
    await pipeline.stop();
    throw error;
  }
}

/**
 * Writes every mail that went out as an `.eml` file into `dir`: the archived bytes, exactly
 * what SES was given (docs/evidence.md), named by SES's message id. Only deliveries whose
 * `sent.json` says SES accepted them; a crashed attempt's archived message is not a mail.
 */
export async function writeMailFiles(pipeline: LocalPipeline, dir: string): Promise<number> {
  const { s3, resources } = pipeline.stack;
  const bucket = resources.names.archiveBucket;
  const read = async (key: string): Promise<Uint8Array> => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
  };
  await mkdir(dir, { recursive: true });
  let written = 0;
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: "customers/" })) {
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || !object.Key.endsWith("/sent.json")) continue;
      const prefix = object.Key.slice(0, -"sent.json".length);
      const sent = JSON.parse(new TextDecoder().decode(await read(object.Key))) as { sesMessageId: string };
      const name = `${sent.sesMessageId.replace(/[^A-Za-z0-9._-]/g, "_")}.eml`;
      await writeFile(join(dir, name), await read(`${prefix}message.eml`));
      written++;
    }
  }
  return written;
}
