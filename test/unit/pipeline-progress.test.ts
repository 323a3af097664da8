import { describe, expect, test } from "vitest";
import { mayBeDone, type PipelineProgress } from "#local/pipeline/pipeline-status.ts";

const progress = (over: Partial<PipelineProgress> = {}): PipelineProgress => ({
  batches: 2,
  expectedReports: 50,
  openBatches: 0,
  openListenerBatches: 0,
  messagesHandled: 100,
  queueDepth: 0,
  deadLetters: 0,
  ...over,
});

describe("the local runner's counters: when the records are worth reading to confirm the end", () => {
  test("every batch closed, the queue empty, at least a message per report handled", () => {
    expect(mayBeDone(progress())).toBe(true);
    // Listener batches stay open by design.
    expect(mayBeDone(progress({ openBatches: 1, openListenerBatches: 1 }))).toBe(true);
  });
  test("not while a batch is open, a message waits or runs, or fewer messages than reports were handled", () => {
    expect(mayBeDone(progress({ openBatches: 1 }))).toBe(false);
    expect(mayBeDone(progress({ queueDepth: 1 }))).toBe(false);
    expect(mayBeDone(progress({ messagesHandled: 49 }))).toBe(false);
    expect(mayBeDone(progress({ batches: 0, expectedReports: 0, messagesHandled: 0 }))).toBe(false);
  });
});
