/**
 * The local SQS event source (local/pipeline/sqs-event-source.ts) against local-aws-sqs: batch
 * size, partial batch failures, whole-batch failures, the visibility timeout, and the
 * queue's own redrive to the DLQ after maxReceiveCount.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, test } from "vitest";
import { type SqsEventSource, startSqsEventSource } from "#local/pipeline/sqs-event-source.ts";
import { useLocalAws } from "#test/support/local-aws.ts";

useLocalAws();
const sources: SqsEventSource[] = [];
afterEach(async () => {
  for (const source of sources.splice(0)) await source.stop();
});

let queues = 0;
async function queueWithDlq(visibilityTimeoutSeconds: number, maxReceiveCount: number) {
  const sqs = new SQSClient({});
  const name = `q${queues++}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { sqs, queueUrl: queue.QueueUrl as string, dlqUrl };
}

async function send(sqs: SQSClient, queueUrl: string, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies
          .slice(start, start + 10)
          .map((body, i) => ({ Id: String(start + i), MessageBody: body })),
      }),
    );
  }
}

async function bodiesIn(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  return (Messages ?? []).map((m) => m.Body ?? "").sort();
}

describe("startSqsEventSource", () => {
  test("invokes with at most batchSize records and deletes what succeeded", async () => {
    const { sqs, queueUrl } = await queueWithDlq(5, 3);
    await send(
      sqs,
      queueUrl,
      Array.from({ length: 7 }, (_, i) => `m${i}`),
    );
    const sizes: number[] = [];
    const seen: string[] = [];
    const source = await startSqsEventSource({
      sqs,
      queueUrl,
      batchSize: 3,
      maxConcurrency: 1,
      functionTimeoutMs: 5000,
      idlePollMs: 10,
      handler: async (event: SQSEvent) => {
        sizes.push(event.Records.length);
        for (const record of event.Records) {
          seen.push(record.body);
          expect(record.eventSource).toBe("aws:sqs");
          expect(record.eventSourceARN).toMatch(/^arn:aws:sqs:.*:q\d+$/);
          expect(record.attributes.ApproximateReceiveCount).toBe("1");
        }
        return { batchItemFailures: [] };
      },
    });
    sources.push(source);
    await source.idle(10_000);
    expect(seen.sort()).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(source.stats).toMatchObject({ succeeded: 7, failed: 0 });
  });

  test("a named failure alone is retried after the visibility timeout, then redriven to the DLQ", async () => {
    const { sqs, queueUrl, dlqUrl } = await queueWithDlq(1, 2);
    await send(sqs, queueUrl, ["good-1", "bad", "good-2"]);
    const receives: Record<string, number[]> = {};
    const source = await startSqsEventSource({
      sqs,
      queueUrl,
      batchSize: 10,
      maxConcurrency: 1,
      functionTimeoutMs: 1000,
      idlePollMs: 20,
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        for (const record of event.Records) {
          const counts = receives[record.body] ?? [];
          counts.push(Number(record.attributes.ApproximateReceiveCount));
          receives[record.body] = counts;
        }
        return {
          batchItemFailures: event.Records.filter((r) => r.body === "bad").map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    sources.push(source);
    await source.idle(15_000);
    // The good ones ran once; the bad one was received maxReceiveCount times, then moved.
    expect(receives["good-1"]).toEqual([1]);
    expect(receives["good-2"]).toEqual([1]);
    expect(receives.bad).toEqual([1, 2]);
    expect(await bodiesIn(sqs, dlqUrl)).toEqual(["bad"]);
  });

  test("a thrown error, a timeout or an unknown item identifier fails the whole batch", async () => {
    for (const behaviour of ["throw", "timeout", "unknown-id"] as const) {
      const { sqs, queueUrl, dlqUrl } = await queueWithDlq(1, 1);
      await send(sqs, queueUrl, ["a", "b"]);
      let calls = 0;
      const source = await startSqsEventSource({
        sqs,
        queueUrl,
        batchSize: 10,
        maxConcurrency: 1,
        functionTimeoutMs: 300,
        idlePollMs: 20,
        handler: async (): Promise<SQSBatchResponse> => {
          calls++;
          if (behaviour === "throw") throw new Error("boom");
          if (behaviour === "timeout") await new Promise((resolve) => setTimeout(resolve, 600));
          return { batchItemFailures: [{ itemIdentifier: "not-in-this-batch" }] };
        },
      });
      sources.push(source);
      await source.idle(10_000);
      expect(calls, behaviour).toBeGreaterThanOrEqual(1);
      expect(source.stats.succeeded, behaviour).toBe(0);
      expect(await bodiesIn(sqs, dlqUrl), behaviour).toEqual(["a", "b"]);
    }
  });

  test("refuses a queue whose visibility timeout is shorter than the function's timeout", async () => {
    const { sqs, queueUrl } = await queueWithDlq(1, 1);
    await expect(
      startSqsEventSource({ sqs, queueUrl, functionTimeoutMs: 5000, handler: async () => undefined }),
    ).rejects.toThrow(/visibility timeout/);
  });
});
