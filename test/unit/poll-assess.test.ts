import { describe, expect, test } from "vitest";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import {
  assessBatch,
  clearAlert,
  decideClose,
  decideItemsRead,
  hasProgressed,
  isStalled,
  parseLassoTime,
  raiseAlert,
} from "#shared/reconcile/assess.ts";
import { emptyRead, type ItemsRead } from "#shared/reconcile/items-read.ts";
import type { BatchRecord } from "#shared/state/records.ts";

const NOW = new Date("2026-03-02T12:00:00.000Z");
const minutes = (n: number) => n * 60_000;

function record(over: Partial<BatchRecord> = {}): BatchRecord {
  return {
    pk: "BATCH#b",
    sk: "BATCH",
    recordType: "batch",
    lassoBatchId: "b",
    name: "b",
    reportType: "Revision",
    isListener: false,
    customerCount: 0,
    status: "Executing",
    lastProgressAt: "2026-03-02T11:00:00.000Z",
    version: 1,
    createdAt: "2026-03-02T10:00:00.000Z",
    updatedAt: "2026-03-02T10:00:00.000Z",
    expiresAt: 0,
    ...over,
  };
}

function lasso(over: Partial<LassoBatch> = {}): LassoBatch {
  return {
    id: "b",
    name: "b",
    status: "Executing",
    batchSize: 10,
    completionPercentage: 0.5,
    isListener: false,
    ...over,
  };
}

describe("parseLassoTime", () => {
  test("reads the API's UTC form and ISO 8601", () => {
    expect(parseLassoTime("2026-03-02 13:00:00")?.toISOString()).toBe("2026-03-02T13:00:00.000Z");
    expect(parseLassoTime("2026-03-02T13:00:00.500Z")?.toISOString()).toBe("2026-03-02T13:00:00.500Z");
    expect(parseLassoTime("2026-03-02T14:00:00+01:00")?.toISOString()).toBe("2026-03-02T13:00:00.000Z");
    expect(parseLassoTime("soon")).toBeUndefined();
    expect(parseLassoTime(undefined)).toBeUndefined();
  });
});

describe("decideItemsRead: only when something can have changed", () => {
  test("a finished batch is always read (the closing read)", () => {
    expect(
      decideItemsRead(
        record({ itemsReadAtCompletion: 1 }),
        lasso({ status: "Finished", completionPercentage: 1 }),
      ),
    ).toEqual({
      read: true,
      why: "final",
      plan: { resume: false, expectItems: 10 },
    });
    expect(decideItemsRead(record({ isListener: true }), lasso({ status: "ListeningStopped" })).read).toBe(
      true,
    );
  });
  test("a scheduled batch is never read", () => {
    expect(decideItemsRead(record(), lasso({ status: "Scheduled", completionPercentage: 0 }))).toEqual({
      read: false,
      why: "scheduled",
    });
  });
  test("a running batch is read when its completion moved since the last complete read", () => {
    expect(decideItemsRead(record({ itemsReadAtCompletion: 0.5 }), lasso()).read).toBe(false);
    expect(decideItemsRead(record({ itemsReadAtCompletion: 0.4 }), lasso())).toEqual({
      read: true,
      why: "progress",
      plan: { resume: false },
    });
    expect(decideItemsRead(record(), lasso({ status: "Initializing", completionPercentage: 0 })).read).toBe(
      false,
    );
    expect(decideItemsRead(record(), lasso({ completionPercentage: 0.1 })).read).toBe(true);
  });
  test("a Listening batch is read every poll: new reports do not move its completion", () => {
    expect(
      decideItemsRead(
        record({ isListener: true, itemsReadAtCompletion: 1 }),
        lasso({ status: "Listening", completionPercentage: 1 }),
      ),
    ).toEqual({ read: true, why: "listening", plan: { resume: false } });
  });
});

describe("decideItemsRead: where a read starts", () => {
  const cursor = {
    cToken: "t2",
    firstItem: "item-101",
    itemsBefore: 100,
    countsBefore: { Completed: 99, Warning: 0, Failed: 1 },
  };
  test("a read resumes at the stored cursor while the batch runs and listens", () => {
    expect(decideItemsRead(record({ itemsCursor: cursor, itemsReadAtCompletion: 0.4 }), lasso())).toEqual({
      read: true,
      why: "progress",
      plan: { resume: true },
    });
    const listening = lasso({ status: "Listening", isListener: true });
    expect(decideItemsRead(record({ itemsCursor: cursor, isListener: true }), listening)).toMatchObject({
      plan: { resume: true },
    });
  });
  test("an unchanged batch is not read, cursor or not", () => {
    expect(decideItemsRead(record({ itemsCursor: cursor, itemsReadAtCompletion: 0.5 }), lasso()).read).toBe(
      false,
    );
  });
  test("a normal batch's closing read resumes but must count batchSize items", () => {
    expect(
      decideItemsRead(
        record({ itemsCursor: cursor }),
        lasso({ status: "FinishedWithErrors", completionPercentage: 1, batchSize: 250 }),
      ),
    ).toEqual({ read: true, why: "final", plan: { resume: true, expectItems: 250 } });
  });
  test("a stopped listener resumes on the poll that sees the stop, reads from page 1 on the next", () => {
    const stopped = lasso({ status: "ListeningStopped", isListener: true });
    expect(decideItemsRead(record({ isListener: true, itemsCursor: cursor }), stopped)).toMatchObject({
      plan: { resume: true },
    });
    expect(
      decideItemsRead(
        record({ isListener: true, itemsCursor: cursor, finishedSeenAt: "2026-03-02T11:55:00.000Z" }),
        stopped,
      ),
    ).toMatchObject({ plan: { resume: false } });
  });
});

describe("hasProgressed", () => {
  test("status or completion moved; an unrecorded completion counts as 0", () => {
    expect(
      hasProgressed(record({ status: "Scheduled" }), lasso({ status: "Scheduled", completionPercentage: 0 })),
    ).toBe(false);
    expect(
      hasProgressed(
        record({ status: "Scheduled" }),
        lasso({ status: "Initializing", completionPercentage: 0 }),
      ),
    ).toBe(true);
    expect(hasProgressed(record({ completionPercentage: 0.5 }), lasso({ completionPercentage: 0.6 }))).toBe(
      true,
    );
    expect(hasProgressed(record({ completionPercentage: 0.5 }), lasso())).toBe(false);
  });
});

describe("isStalled", () => {
  const policy = { stalledAfterMs: minutes(60) };
  test("no progress for longer than the limit", () => {
    expect(isStalled("2026-03-02T11:30:00.000Z", lasso(), NOW, policy)).toBe(false);
    expect(isStalled("2026-03-02T10:59:00.000Z", lasso(), NOW, policy)).toBe(true);
  });
  test("measured from the scheduled time when that is later", () => {
    const scheduled = lasso({
      status: "Scheduled",
      scheduledTime: "2026-03-02 11:30:00",
      completionPercentage: 0,
    });
    expect(isStalled("2026-03-01T00:00:00.000Z", scheduled, NOW, policy)).toBe(false);
    const future = lasso({
      status: "Scheduled",
      scheduledTime: "2026-03-09 11:30:00",
      completionPercentage: 0,
    });
    expect(isStalled("2026-03-01T00:00:00.000Z", future, NOW, policy)).toBe(false);
    const overdue = lasso({
      status: "Scheduled",
      scheduledTime: "2026-03-02 10:30:00",
      completionPercentage: 0,
    });
    expect(isStalled("2026-03-01T00:00:00.000Z", overdue, NOW, policy)).toBe(true);
  });
  test("Listening and finished batches never stall", () => {
    expect(isStalled("2026-01-01T00:00:00.000Z", lasso({ status: "Listening" }), NOW, policy)).toBe(false);
    expect(isStalled("2026-01-01T00:00:00.000Z", lasso({ status: "FinishedWithErrors" }), NOW, policy)).toBe(
      false,
    );
  });
});

describe("decideClose", () => {
  const base = {
    lasso: lasso({ status: "Finished", completionPercentage: 1, batchSize: 10 }),
    isListener: false,
    completeRead: true,
    readFromFirstPage: true,
    allHandedOn: true,
    finishedItems: 10,
    newlyHandedOn: 0,
    finishedSeenBefore: undefined,
    now: NOW,
    policy: { stalledAfterMs: minutes(60) },
  };
  test("a finished batch whose every report is handed on closes", () => {
    expect(decideClose(base)).toEqual({ close: true, reason: "Finished" });
  });
  test("not before it is finished, read completely and handed on completely", () => {
    expect(decideClose({ ...base, lasso: lasso({ status: "Executing" }) }).close).toBe(false);
    expect(decideClose({ ...base, completeRead: false }).close).toBe(false);
    expect(decideClose({ ...base, allHandedOn: false }).close).toBe(false);
  });
  test("fewer reports than batchSize: waits, then closes as incomplete", () => {
    expect(decideClose({ ...base, finishedItems: 9 }).close).toBe(false);
    expect(
      decideClose({ ...base, finishedItems: 9, finishedSeenBefore: "2026-03-02T11:30:00.000Z" }).close,
    ).toBe(false);
    const late = decideClose({ ...base, finishedItems: 9, finishedSeenBefore: "2026-03-02T10:30:00.000Z" });
    expect(late).toMatchObject({ close: true, reason: "incomplete" });
    expect(late.close && late.incomplete).toMatch(/9 of 10/);
  });
  test("a stopped listener closes on the poll after the stop was first seen, when nothing new came", () => {
    const stopped = {
      ...base,
      isListener: true,
      lasso: lasso({ status: "ListeningStopped", isListener: true }),
    };
    expect(decideClose(stopped).close).toBe(false);
    expect(
      decideClose({ ...stopped, finishedSeenBefore: "2026-03-02T11:55:00.000Z", newlyHandedOn: 1 }).close,
    ).toBe(false);
    expect(decideClose({ ...stopped, finishedSeenBefore: "2026-03-02T11:55:00.000Z" })).toEqual({
      close: true,
      reason: "ListeningStopped",
    });
    // Only after a read of the whole list: a resumed one does not see what moved before the cursor.
    expect(
      decideClose({ ...stopped, finishedSeenBefore: "2026-03-02T11:55:00.000Z", readFromFirstPage: false })
        .close,
    ).toBe(false);
  });
  test("a normal batch closes after a resumed read that counts batchSize items", () => {
    expect(decideClose({ ...base, readFromFirstPage: false })).toEqual({ close: true, reason: "Finished" });
  });
});

describe("alerts", () => {
  test("raising keeps the first time while active; clearing keeps the record", () => {
    const first = raiseAlert({}, "BatchStalled", NOW, "stuck");
    const later = new Date(NOW.getTime() + minutes(5));
    const again = raiseAlert(first, "BatchStalled", later, "still stuck", 2);
    expect(again.BatchStalled).toEqual({
      since: NOW.toISOString(),
      lastSeenAt: later.toISOString(),
      detail: "still stuck",
      count: 2,
    });
    const cleared = clearAlert(again, "BatchStalled", later);
    expect(cleared.BatchStalled?.clearedAt).toBe(later.toISOString());
    expect(clearAlert(cleared, "BatchStalled", NOW)).toBe(cleared);
    const raisedAfterClear = raiseAlert(cleared, "BatchStalled", NOW, "stuck again");
    expect(raisedAfterClear.BatchStalled).toEqual({
      since: NOW.toISOString(),
      lastSeenAt: NOW.toISOString(),
      detail: "stuck again",
    });
    expect(clearAlert({}, "ReportFailed", NOW)).toEqual({});
  });
});

describe("assessBatch: the cursor moves only past pages handed on completely", () => {
  const policy = { stalledAfterMs: minutes(60), unknownClosePolls: 3, webhookHoldMs: 0 };
  const cursor = {
    cToken: "t3",
    firstItem: "item-101",
    itemsBefore: 100,
    countsBefore: { Completed: 100, Warning: 0, Failed: 0 },
  };
  const read = (over: Partial<ItemsRead> = {}): ItemsRead => ({
    ...emptyRead(),
    pages: 2,
    complete: true,
    finishedItems: 120,
    counts: { Completed: 120, Warning: 0, Failed: 0 },
    cursor,
    ...over,
  });
  const assess = (r: ItemsRead, rec: BatchRecord = record()) =>
    assessBatch(rec, lasso(), r, NOW, policy, 0).update;

  test("a complete read with every report handed on stores its cursor and completion", () => {
    const update = assess(read());
    expect(update.set.itemsCursor).toEqual(cursor);
    expect(update.set.itemsReadAtCompletion).toBe(0.5);
    expect(update.set.itemCounts).toEqual({ Completed: 120, Warning: 0, Failed: 0 });
  });
  test("a report not handed on keeps the old cursor: the next read covers its page again", () => {
    const update = assess(read({ notHandedOn: ["cvr 1: SQS refused"] }));
    expect(update.set.itemsCursor).toBeUndefined();
    expect(update.remove).not.toContain("itemsCursor");
    expect(update.set.itemsReadAtCompletion).toBeUndefined();
  });
  test("a read cut short keeps the old cursor", () => {
    const update = assess(read({ complete: false, stopped: true, error: "stopped", cursor: undefined }));
    expect(update.set.itemsCursor).toBeUndefined();
    expect(update.remove).not.toContain("itemsCursor");
  });
  test("a read that started over and did not finish drops the cursor Lasso refused", () => {
    const update = assess(
      read({ complete: false, startedOver: "Lasso refused the stored token", error: "x", cursor: undefined }),
    );
    expect(update.remove).toContain("itemsCursor");
  });
  test("a complete read that found no item drops any cursor", () => {
    const update = assess(read({ cursor: undefined, finishedItems: 0 }), record({ itemsCursor: cursor }));
    expect(update.remove).toContain("itemsCursor");
  });
  test("reports held for their ring: the cursor and the completion move on (the held set keeps them), the batch stays open", () => {
    const finished = (heldReports: number) =>
      assessBatch(
        record(),
        lasso({ status: "Finished", completionPercentage: 1, batchSize: 120 }),
        read({ held: heldReports }),
        NOW,
        policy,
        0,
        heldReports,
      );
    const holding = finished(3);
    expect(holding.update.set.itemsCursor).toEqual(cursor);
    expect(holding.update.set.itemsReadAtCompletion).toBe(1);
    expect(holding.close).toEqual({ close: false });
    // What closes it later, without reading Lasso again.
    expect(holding.update.set.closeWhenSettled).toBe("Finished");
    // Once nothing is held (delivered by the rings, or sent by the poller) it closes.
    expect(finished(0).close).toMatchObject({ close: true, reason: "Finished" });
    expect(finished(0).update.set.closeWhenSettled).toBeUndefined();
    // A batch still running, or one that would close as incomplete, waits the normal way.
    const running = assessBatch(record(), lasso(), read({ held: 3 }), NOW, policy, 0, 3);
    expect(running.update.set.closeWhenSettled).toBeUndefined();
  });
});
