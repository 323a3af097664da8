/**
 * Plays Lambda's SQS event source mapping locally: receives from a queue in batches and
 * invokes an SQS handler (the very one CDK deploys) with an SQSEvent, as AWS would:
 *
 * - `batchSize` messages per invocation (1..10), up to `maxConcurrency` invocations at once;
 * - ReportBatchItemFailures: the messages the handler names in `batchItemFailures` stay on
 *   the queue, the others are deleted; an invalid identifier, a thrown error or a timeout
 *   fails the whole batch (nothing deleted);
 * - failed messages reappear after the queue's visibility timeout, and the queue's own
 *   RedrivePolicy (local-aws-sqs implements it) moves them to the DLQ after
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

export async function startSqsEventSource(options: SqsEventSourceOptions): Promise<SqsEventSource> {
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new RangeError("batchSize must be 1..10 for a standard queue without a batching window");
  }
  const concurrency = options.maxConcurrency ?? 2;
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const functionName = options.functionName ?? "function";
  const region = options.region ?? (await options.sqs.config.region());
  const log = options.log ?? (() => undefined);
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

  const stats: SqsEventSourceStats = { invocations: 0, succeeded: 0, failed: 0 };
  let running = true;
  let inFlight = 0;

  const handlers = typeof options.handler === "function" ? [options.handler] : options.handler;
  if (handlers.length === 0) throw new RangeError("no handler to invoke");

  const invoke = async (
    handler: SqsHandler,
    records: SQSRecord[],
  ): Promise<SQSBatchResponse | undefined | "error"> => {
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
  };

  const worker = async (handler: SqsHandler): Promise<void> => {
    while (running) {
      let messages: Message[];
      try {
        const received = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitTimeSeconds ?? 0,
            AttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (!running) return;
        log(`receive failed: ${error instanceof Error ? error.message : String(error)}`);
        await sleep(options.idlePollMs ?? 100);
        continue;
      }
      if (messages.length === 0) {
        await sleep(options.idlePollMs ?? 100);
        continue;
      }
      inFlight++;
      try {
        const records = messages.map((message) => sqsRecordOf(message, queueArn, region));
        stats.invocations++;
        const result = await invoke(handler, records);
        const done = messagesToDelete(records, result);
        stats.succeeded += done.length;
        stats.failed += records.length - done.length;
        if (done.length > 0) {
          const deleted = await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((record, index) => ({
                Id: String(index),
                ReceiptHandle: record.receiptHandle,
              })),
            }),
          );
          for (const failure of deleted.Failed ?? [])
            log(`delete failed: ${failure.Code ?? ""} ${failure.Message ?? ""}`);
        }
      } catch (error) {
        log(`delete failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        inFlight--;
      }
    }
  };

  const workers = Array.from({ length: concurrency }, (_, index) =>
    worker(handlers[index % handlers.length] as SqsHandler),
  );

  return {
    stats,
    async idle(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (inFlight === 0) {
          const { Attributes: counts } = await options.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: options.queueUrl,
              AttributeNames: [
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
              ],
            }),
          );
          const pending =
            Number(counts?.ApproximateNumberOfMessages ?? 0) +
            Number(counts?.ApproximateNumberOfMessagesNotVisible ?? 0) +
            Number(counts?.ApproximateNumberOfMessagesDelayed ?? 0);
          if (pending === 0 && inFlight === 0) return;
        }
        if (Date.now() > until) throw new Error(`the queue did not become idle within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}
