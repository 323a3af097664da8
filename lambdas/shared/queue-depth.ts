/**
 * How many messages a queue holds, with SQS's meaning of each count: the one reading used
 * by the local runner, the CLI and the tests, so that none of them leans on one emulator's
 * way of counting (docs/architecture.md, "Two local backends").
 */
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from "@aws-sdk/client-sqs";

export interface QueueDepth {
  /** Ready to be received (`ApproximateNumberOfMessages`). */
  visible: number;
  /** Received and not yet deleted or visible again (`ApproximateNumberOfMessagesNotVisible`). */
  inFlight: number;
  /** Sent with a delay that has not passed (`ApproximateNumberOfMessagesDelayed`). */
  delayed: number;
  /** Everything the queue still holds: visible + in flight + delayed. */
  total: number;
}

export async function readQueueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const count = (name: QueueAttributeName): number => Number(Attributes?.[name] ?? 0);
  const visible = count("ApproximateNumberOfMessages");
  const inFlight = count("ApproximateNumberOfMessagesNotVisible");
  const delayed = count("ApproximateNumberOfMessagesDelayed");
  return { visible, inFlight, delayed, total: visible + inFlight + delayed };
}
