/**
 * Plays Lambda's SQS event source mapping locally: receives from a queue in batches and
 * invokes an SQS handler (the very one CDK deploys) with an SQSEvent, as AWS would:
 *
 * - `batchSize` messages per invocation (1..10), up to `maxConcurrency` invocations at once;
 * - ReportBatchItemFailures: the messages the handler names in `batchItemFailures` stay on
 *   the queue, the others are deleted; an invalid identifier, a thrown error or a timeout
 *   fails the whole batch (nothing deleted);
 * - failed messages reappear after the queue's visibility timeout, and the queue's own
 *   RedrivePolicy (both local backends implement it) moves them to the DLQ after
 *   maxReceiveCount receives;
 * - like AWS, it refuses a queue whose visibility timeout is shorter than the function's.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { readQueueDepth } from "#shared/queue-depth.ts";
import { lambdaContext } from "./function-url-server.ts";

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /**
   * The function. Several (one module instance each) act as separate warm containers, one
   * per concurrent invocation, as Lambda runs them: Powertools' per-container state
   * (metrics, logger keys) is never shared by two invocations at once.
   */
  handler: SqsHandler | readonly SqsHandler[];
  /** Messages per invocation, 1..10 (default 10). */
  batchSize?: number;
  /** Invocations at once (default 2). */
  maxConcurrency?: number;
  functionName?: string;
  /** The function's timeout (default 30 s); must not exceed the queue's visibility timeout. */
  functionTimeoutMs?: number;
  /** Long-poll time of one receive (default 0: short polls, `idlePollMs` apart when empty). */
  waitTimeSeconds?: number;
  /** Pause after an empty receive (default 100 ms). */
  idlePollMs?: number;
  region?: string;
  /** Receive/delete errors and invocation failures, for the runner's log. */
  log?: (line: string) => void;
}

export interface SqsEventSourceStats {
  invocations: number;
  /** Messages deleted after a successful invocation. */
  succeeded: number;
  /** Messages left on the queue (named failures, failed or timed-out invocations). */
  failed: number;
}

export interface SqsEventSource {
  readonly stats: SqsEventSourceStats;
  /**
   * Resolves once the queue holds no message (visible, in flight or delayed) and no
   * invocation runs; rejects after `timeoutMs` (default 30 s).
   */
  idle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function messageAttributes(message: Message): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    out[name] = {
      dataType: value.DataType ?? "String",
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined
        ? {}
        : { binaryValue: Buffer.from(value.BinaryValue).toString("base64") }),
    };
  }
  return out;
}

/** The SQSEvent record Lambda builds from a received message. */
export function sqsRecordOf(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: messageAttributes(message),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Which messages of a batch to delete, given the handler's answer (AWS's rules). */
export function messagesToDelete(
  records: readonly SQSRecord[],
  result: SQSBatchResponse | undefined | "error",
): SQSRecord[] {
  if (result === "error") return [];
  const failures = result?.batchItemFailures ?? [];
  const ids = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure.itemIdentifier;
    // An identifier that is empty or not in the batch fails the whole batch.
    if (typeof id !== "string" || id === "" || !ids.has(id)) return [];
    failed.add(id);
  }
  return records.filter((record) => !failed.has(record.messageId));
}

/** The mapping's settings, defaults applied and the queue read once at start. */
interface Mapping {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  waitTimeSeconds: number;
  idlePollMs: number;
  functionName: string;
  functionTimeoutMs: number;
  log: (line: string) => void;
}

/** What the workers share: whether to go on, how many invocations run, the counts. */
interface WorkerState {
  running: boolean;
  inFlight: number;
  stats: SqsEventSourceStats;
}

async function resolveMapping(options: SqsEventSourceOptions): Promise<Mapping> {
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new RangeError("batchSize must be 1..10 for a standard queue without a batching window");
  }
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const region = options.region ?? (await options.sqs.config.region());
  const { Attributes } = await options.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: options.queueUrl,
      AttributeNames: ["QueueArn", "VisibilityTimeout"],
    }),
  );
  const queueArn = Attributes?.QueueArn ?? `arn:aws:sqs:${region}:000000000000:local`;
  const visibilityMs = Number(Attributes?.VisibilityTimeout ?? 30) * 1000;
  if (visibilityMs < functionTimeoutMs) {
    throw new RangeError(
      `the queue's visibility timeout (${visibilityMs / 1000} s) is shorter than the function's timeout (${functionTimeoutMs / 1000} s)`,
    );
  }
  return {
    sqs: options.sqs,
    queueUrl: options.queueUrl,
    queueArn,
    region,
    batchSize,
    waitTimeSeconds: options.waitTimeSeconds ?? 0,
    idlePollMs: options.idlePollMs ?? 100,
    functionName: options.functionName ?? "function",
    functionTimeoutMs,
    log: options.log ?? (() => undefined),
  };
}

/** One invocation; a throw or a timeout is "error" (the whole batch failed), as on Lambda. */
async function invoke(
  mapping: Mapping,
  handler: SqsHandler,
  records: SQSRecord[],
): Promise<SQSBatchResponse | undefined | "error"> {
  const { functionName, functionTimeoutMs, log } = mapping;
  const context = lambdaContext({ functionName, timeoutMs: functionTimeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), functionTimeoutMs);
  });
  try {
    const result = await Promise.race([handler({ Records: records }, context), timeout]);
    if (result === "timeout") {
      log(`${functionName}: timed out after ${functionTimeoutMs} ms`);
      return "error";
    }
    return result ?? undefined;
  } catch (error) {
    log(`${functionName}: invocation failed: ${error instanceof Error ? error.message : String(error)}`);
    return "error";
  } finally {
    clearTimeout(timer);
  }
}

/** One receive; undefined when it failed (logged, unless stopping). */
async function receiveBatch(mapping: Mapping, state: WorkerState): Promise<Message[] | undefined> {
  try {
    const received = await mapping.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: mapping.queueUrl,
        MaxNumberOfMessages: mapping.batchSize,
        WaitTimeSeconds: mapping.waitTimeSeconds,
        AttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    return received.Messages ?? [];
  } catch (error) {
    if (state.running)
      mapping.log(`receive failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Invokes the handler with one batch and deletes what it did not name as failed. */
async function processBatch(
  mapping: Mapping,
  state: WorkerState,
  handler: SqsHandler,
  messages: Message[],
): Promise<void> {
  const { stats } = state;
  const records = messages.map((message) => sqsRecordOf(message, mapping.queueArn, mapping.region));
  stats.invocations++;
  const result = await invoke(mapping, handler, records);
  const done = messagesToDelete(records, result);
  stats.succeeded += done.length;
  stats.failed += records.length - done.length;
  if (done.length === 0) return;
  const deleted = await mapping.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: mapping.queueUrl,
      Entries: done.map((record, index) => ({
        Id: String(index),
        ReceiptHandle: record.receiptHandle,
      })),
    }),
  );
  for (const failure of deleted.Failed ?? [])
    mapping.log(`delete failed: ${failure.Code ?? ""} ${failure.Message ?? ""}`);
}

/** One concurrent poller: receive, invoke, delete, until stopped. */
async function worker(mapping: Mapping, state: WorkerState, handler: SqsHandler): Promise<void> {
  while (state.running) {
    const messages = await receiveBatch(mapping, state);
    if (messages === undefined && !state.running) return;
    if (messages === undefined || messages.length === 0) {
      await sleep(mapping.idlePollMs);
      continue;
    }
    state.inFlight++;
    try {
      await processBatch(mapping, state, handler, messages);
    } catch (error) {
      mapping.log(`delete failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      state.inFlight--;
    }
  }
}

export async function startSqsEventSource(options: SqsEventSourceOptions): Promise<SqsEventSource> {
  const mapping = await resolveMapping(options);
  const concurrency = options.maxConcurrency ?? 2;
  const state: WorkerState = {
    running: true,
    inFlight: 0,
    stats: { invocations: 0, succeeded: 0, failed: 0 },
  };

  const handlers = typeof options.handler === "function" ? [options.handler] : options.handler;
  if (handlers.length === 0) throw new RangeError("no handler to invoke");

  const workers = Array.from({ length: concurrency }, (_, index) =>
    worker(mapping, state, handlers[index % handlers.length] as SqsHandler),
  );

  return {
    stats: state.stats,
    async idle(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (state.inFlight === 0) {
          const pending = (await readQueueDepth(mapping.sqs, mapping.queueUrl)).total;
          if (pending === 0 && state.inFlight === 0) return;
        }
        if (Date.now() > until) throw new Error(`the queue did not become idle within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async stop() {
      state.running = false;
      await Promise.all(workers);
    },
  };
}
