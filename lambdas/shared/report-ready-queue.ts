/**
 * Puts report-ready messages on the queue: the one sender used by the poller (many at a
 * time) and the webhook (one). Messages are validated before they leave, and the caller
 * learns exactly which ones SQS accepted, so that only those are marked handed on.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { type ReportReadyMessage, reportReadyMessageSchema } from "./report-ready.ts";

export interface ReportReadyQueue {
  sqs: SQSClient;
  queueUrl: string;
}

/** SQS accepts at most 10 entries per SendMessageBatch. */
export const SQS_BATCH_LIMIT = 10;

export type RejectionKind =
  /** The message does not match the schema: nothing was sent (a bug or bad data; not retryable as is). */
  | "invalid"
  /** SQS answered, but refused this entry (`Failed` in the answer). */
  | "refused"
  /** The call carrying this entry failed (network, throttling after the SDK's retries). */
  | "error"
  /** Not attempted: an earlier call failed, so the rest was not sent. */
  | "notSent";

export interface RejectedMessage {
  /** Position in the input. */
  index: number;
  message: ReportReadyMessage;
  kind: RejectionKind;
  /** SQS's code or the error's name / the schema issue; never the message body. */
  reason: string;
  /** SQS's SenderFault for refused entries (true: this message will never be accepted as is). */
  senderFault?: boolean;
}

export interface SendReportReadyResult {
  /** The messages SQS accepted, in input order, with their position in the input. */
  accepted: { index: number; message: ReportReadyMessage; messageId: string }[];
  rejected: RejectedMessage[];
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error);
}

/**
 * Sends every message, 10 per SendMessageBatch call, and reports per message whether SQS
 * accepted it. Never throws for a message that was not accepted: it is in `rejected`, and
 * the caller must not mark it handed on. A call that throws (after the SDK's own retries)
 * stops the sending: its entries are `error` (SQS may or may not have them: a later
 * re-send can duplicate, which the delivery's claim absorbs), the rest `notSent`.
 */
export async function trySendReportReady(
  queue: ReportReadyQueue,
  messages: readonly ReportReadyMessage[],
): Promise<SendReportReadyResult> {
  const result: SendReportReadyResult = { accepted: [], rejected: [] };
  const ready: { index: number; message: ReportReadyMessage; body: string }[] = [];
  messages.forEach((message, index) => {
    const parsed = reportReadyMessageSchema.safeParse(message);
    if (parsed.success) ready.push({ index, message, body: JSON.stringify(parsed.data) });
    else {
      const issue = parsed.error.issues[0];
      result.rejected.push({
        index,
        message,
        kind: "invalid",
        reason: issue ? `${issue.path.join(".") || "message"}: ${issue.message}` : "invalid message",
      });
    }
  });

  for (let start = 0; start < ready.length; start += SQS_BATCH_LIMIT) {
    const chunk = ready.slice(start, start + SQS_BATCH_LIMIT);
    let answer: SendMessageBatchCommandOutput;
    try {
      answer = await queue.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: chunk.map((entry) => ({ Id: String(entry.index), MessageBody: entry.body })),
        }),
      );
    } catch (error) {
      const reason = describeError(error);
      for (const entry of chunk) result.rejected.push({ ...pick(entry), kind: "error", reason });
      for (const entry of ready.slice(start + SQS_BATCH_LIMIT)) {
        result.rejected.push({
          ...pick(entry),
          kind: "notSent",
          reason: "an earlier SendMessageBatch failed",
        });
      }
      break;
    }
    const byId = new Map(chunk.map((entry) => [String(entry.index), entry]));
    for (const success of answer.Successful ?? []) {
      const entry = success.Id === undefined ? undefined : byId.get(success.Id);
      if (entry === undefined) continue;
      byId.delete(success.Id as string);
      result.accepted.push({ ...pick(entry), messageId: success.MessageId ?? "" });
    }
    for (const failure of answer.Failed ?? []) {
      const entry = failure.Id === undefined ? undefined : byId.get(failure.Id);
      if (entry === undefined) continue;
      byId.delete(failure.Id as string);
      result.rejected.push({
        ...pick(entry),
        kind: "refused",
        reason: failure.Code ?? "refused",
        ...(failure.SenderFault === undefined ? {} : { senderFault: failure.SenderFault }),
      });
    }
    // An entry the answer does not mention was not confirmed: treat it as not accepted.
    for (const entry of byId.values()) {
      result.rejected.push({ ...pick(entry), kind: "refused", reason: "not in SQS's answer" });
    }
  }
  result.accepted.sort((a, b) => a.index - b.index);
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}

function pick(entry: { index: number; message: ReportReadyMessage }): {
  index: number;
  message: ReportReadyMessage;
} {
  return { index: entry.index, message: entry.message };
}

export class EnqueueError extends Error {
  override readonly name = "EnqueueError";
  /** Which messages SQS accepted and which it did not. */
  readonly result: SendReportReadyResult;

  constructor(result: SendReportReadyResult, total: number) {
    const shown = result.rejected
      .slice(0, 5)
      .map((r) => `#${r.index} ${r.kind} (${r.reason})`)
      .join(", ");
    super(`SQS did not accept ${result.rejected.length} of ${total} report-ready messages: ${shown}`);
    this.result = result;
  }
}

/**
 * Sends every message (see {@link trySendReportReady}); resolves with the result only when
 * SQS accepted all of them, else rejects with an {@link EnqueueError} that still says which
 * were accepted. For callers that must fail as a whole (the webhook answers 5xx so that
 * Lasso retries).
 */
export async function sendReportReady(
  queue: ReportReadyQueue,
  messages: readonly ReportReadyMessage[],
): Promise<SendReportReadyResult> {
  const result = await trySendReportReady(queue, messages);
  if (result.rejected.length > 0) throw new EnqueueError(result, messages.length);
  return result;
}
