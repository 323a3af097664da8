/**
 * The report-ready sender's error paths that the SQS emulator cannot produce: entries
 * refused inside a SendMessageBatch answer, a call that throws, and messages that do not
 * match the schema. A fake SQS client stands in (unit test of error paths only).
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { describe, expect, test } from "vitest";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { EnqueueError, sendReportReady, trySendReportReady } from "#shared/report-ready-queue.ts";

function message(i: number): ReportReadyMessage {
  return {
    version: 1,
    batchId: "batch-1",
    cvr: String(30_000_000 + i),
    reportType: "Revision",
    itemStatus: "Completed",
    source: "poll",
    seenAt: "2026-03-02T12:00:00.000Z",
  };
}

type Answer = (entries: { Id: string; MessageBody: string }[], call: number) => SendMessageBatchCommandOutput;

function fakeSqs(answer: Answer): { sqs: SQSClient; calls: { Id: string; MessageBody: string }[][] } {
  const calls: { Id: string; MessageBody: string }[][] = [];
  const sqs = {
    send: async (command: unknown) => {
      if (!(command instanceof SendMessageBatchCommand)) throw new Error("unexpected command");
      const entries = (command.input.Entries ?? []).map((e) => ({
        Id: e.Id ?? "",
        MessageBody: e.MessageBody ?? "",
      }));
      calls.push(entries);
      return answer(entries, calls.length);
    },
  } as unknown as SQSClient;
  return { sqs, calls };
}

const ok = (entries: { Id: string }[]): SendMessageBatchCommandOutput => ({
  $metadata: {},
  Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: "" })),
  Failed: [],
});

describe("trySendReportReady", () => {
  test("sends 10 per call and reports every message accepted, in input order", async () => {
    const { sqs, calls } = fakeSqs((entries) => ok(entries));
    const messages = Array.from({ length: 23 }, (_, i) => message(i));
    const result = await trySendReportReady({ sqs, queueUrl: "q" }, messages);
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(result.rejected).toEqual([]);
    expect(result.accepted.map((a) => a.index)).toEqual(messages.map((_, i) => i));
    expect(result.accepted[22]).toMatchObject({ messageId: "m-22", message: messages[22] });
    expect(JSON.parse(calls[0]?.[0]?.MessageBody ?? "")).toEqual(messages[0]);
  });

  test("entries SQS refused, or left out of its answer, are not accepted", async () => {
    const { sqs } = fakeSqs((entries) => ({
      $metadata: {},
      Successful: entries
        .filter((e) => e.Id !== "1" && e.Id !== "2")
        .map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: "" })),
      Failed: [{ Id: "1", Code: "InternalError", SenderFault: false }],
    }));
    const result = await trySendReportReady({ sqs, queueUrl: "q" }, [
      message(0),
      message(1),
      message(2),
      message(3),
    ]);
    expect(result.accepted.map((a) => a.index)).toEqual([0, 3]);
    expect(result.rejected).toEqual([
      { index: 1, message: message(1), kind: "refused", reason: "InternalError", senderFault: false },
      { index: 2, message: message(2), kind: "refused", reason: "not in SQS's answer" },
    ]);
  });

  test("a call that throws: its entries are errors, the rest is not sent", async () => {
    const { sqs, calls } = fakeSqs((entries, call) => {
      if (call === 2) throw Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
      return ok(entries);
    });
    const result = await trySendReportReady(
      { sqs, queueUrl: "q" },
      Array.from({ length: 25 }, (_, i) => message(i)),
    );
    expect(calls).toHaveLength(2);
    expect(result.accepted).toHaveLength(10);
    expect(result.rejected.filter((r) => r.kind === "error").map((r) => r.index)).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
    expect(result.rejected.find((r) => r.kind === "error")?.reason).toMatch(/TimeoutError: socket hang up/);
    expect(result.rejected.filter((r) => r.kind === "notSent").map((r) => r.index)).toEqual([
      20, 21, 22, 23, 24,
    ]);
  });

  test("a message that does not match the schema is not sent; the others are", async () => {
    const { sqs, calls } = fakeSqs((entries) => ok(entries));
    const bad = { ...message(1), cvr: "123" };
    const result = await trySendReportReady({ sqs, queueUrl: "q" }, [message(0), bad, message(2)]);
    expect(calls.flat().map((e) => e.Id)).toEqual(["0", "2"]);
    expect(result.accepted.map((a) => a.index)).toEqual([0, 2]);
    expect(result.rejected).toMatchObject([{ index: 1, kind: "invalid" }]);
    expect(result.rejected[0]?.reason).toMatch(/^cvr: /);
  });
});

describe("sendReportReady (all or an error)", () => {
  test("resolves with the result when every message was accepted", async () => {
    const { sqs } = fakeSqs((entries) => ok(entries));
    const result = await sendReportReady({ sqs, queueUrl: "q" }, [message(0)]);
    expect(result.accepted).toHaveLength(1);
  });

  test("rejects with an EnqueueError that still says which were accepted", async () => {
    const { sqs } = fakeSqs((entries) => ({
      $metadata: {},
      Successful: [{ Id: entries[0]?.Id, MessageId: "m", MD5OfMessageBody: "" }],
      Failed: [{ Id: entries[1]?.Id, Code: "KmsThrottled", SenderFault: false }],
    }));
    const error = await sendReportReady({ sqs, queueUrl: "q" }, [message(0), message(1)]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EnqueueError);
    const enqueue = error as EnqueueError;
    expect(enqueue.message).toMatch(/did not accept 1 of 2/);
    expect(enqueue.result.accepted.map((a) => a.index)).toEqual([0]);
    expect(enqueue.result.rejected.map((r) => r.index)).toEqual([1]);
  });
});
