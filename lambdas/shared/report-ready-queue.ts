/**
 * Puts report-ready messages on the queue: the one sender used by the poller (many at a
 * time) and the webhook (one). Messages are validated before they leave.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type ReportReadyMessage, serialiseReportReadyMessage } from "./report-ready.ts";

export interface ReportReadyQueue {
  sqs: SQSClient;
  queueUrl: string;
}

/** SQS accepts at most 10 entries per SendMessageBatch. */
const SQS_BATCH_LIMIT = 10;

export class EnqueueError extends Error {
  override readonly name = "EnqueueError";
}

/**
 * Sends every message, 10 per call. Resolves with nothing when SQS accepted all of them;
 * rejects with the ids (indexes) that it did not accept, so a caller never marks those as
 * handed on.
 */
export async function sendReportReady(
  queue: ReportReadyQueue,
  messages: readonly ReportReadyMessage[],
): Promise<void> {
  const failed: string[] = [];
  for (let start = 0; start < messages.length; start += SQS_BATCH_LIMIT) {
    const chunk = messages.slice(start, start + SQS_BATCH_LIMIT);
    const result = await queue.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.queueUrl,
        Entries: chunk.map((message, offset) => ({
          Id: String(start + offset),
          MessageBody: serialiseReportReadyMessage(message),
        })),
      }),
    );
    for (const failure of result.Failed ?? []) failed.push(`${failure.Id}: ${failure.Code ?? "error"}`);
  }
  if (failed.length > 0) {
    throw new EnqueueError(
      `SQS did not accept ${failed.length} of ${messages.length} messages (${failed.join(", ")})`,
    );
  }
}
