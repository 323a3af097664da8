/**
 * A schedule's period (what `run` refuses to repeat) and the submit event of a run of some
 * customers only.
 */
import { describe, expect, it } from "vitest";
import { cronerPattern, periodStart } from "#cli/schedule-period.ts";
import { submitEventSchema } from "#lambdas/submit-batches/lambda.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { runKey } from "#shared/state/keys.ts";

const schedule = (cron: string) =>
  scheduleSchema.parse({
    name: "s",
    cron,
    timeZone: "Europe/Copenhagen",
    reportType: "Revision",
    group: "g",
  });

describe("periodStart", () => {
  const monthly = schedule("cron(0 6 1 * ? *)");

  it("is the latest firing at or before now, in the schedule's time zone", () => {
    expect(periodStart(monthly, new Date("2025-06-15T10:00:00Z"))?.toISOString()).toBe(
      "2025-06-01T04:00:00.000Z",
    );
    // Winter: 06:00 in Copenhagen is 05:00 UTC.
    expect(periodStart(monthly, new Date("2025-12-01T05:00:00Z"))?.toISOString()).toBe(
      "2025-12-01T05:00:00.000Z",
    );
    expect(periodStart(monthly, new Date("2025-12-01T04:59:59Z"))?.toISOString()).toBe(
      "2025-11-01T05:00:00.000Z",
    );
  });

  it("reads quarterly schedules and Quartz weekdays", () => {
    expect(
      periodStart(schedule("cron(0 7 1 */3 ? *)"), new Date("2026-12-01T10:00:00Z"))?.toISOString(),
    ).toBe("2026-10-01T05:00:00.000Z");
    // Quartz: 2 = Monday. 2025-06-11 is a Wednesday; the Monday before is the 9th.
    expect(periodStart(schedule("cron(0 6 ? * 2 *)"), new Date("2025-06-11T12:00:00Z"))?.toISOString()).toBe(
      "2025-06-09T04:00:00.000Z",
    );
    expect(() => cronerPattern(schedule("cron(0 6 1 * ? 2030)"))).toThrow(/year other than \*/);
  });

  it("a business-day rule's period starts at its latest real firing, not at a skipped candidate", () => {
    const firstBankDay = scheduleSchema.parse({
      name: "s",
      businessDay: 1,
      at: "07:00",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "g",
    });
    // 2027-01-01 (Nytårsdag) and the weekend are candidates, not firings: the period began 1 December.
    expect(periodStart(firstBankDay, new Date("2027-01-03T12:00:00Z"))?.toISOString()).toBe(
      "2026-12-01T06:00:00.000Z",
    );
    expect(periodStart(firstBankDay, new Date("2027-01-04T06:00:00Z"))?.toISOString()).toBe(
      "2027-01-04T06:00:00.000Z",
    );
  });
});

describe("a run of some customers only", () => {
  it("is keyed on the customers too, sorted and each once", () => {
    expect(runKey("s", "2025-06-01T04:00:00.000Z", [1003, 1001, 1003]).pk).toBe(
      "RUN#s#2025-06-01T04:00:00.000Z#customers=1001,1003",
    );
    expect(runKey("s", "2025-06-01T04:00:00.000Z", []).pk).toBe("RUN#s#2025-06-01T04:00:00.000Z");
  });

  it("the submit event takes customerIds, positive whole numbers, at most 100", () => {
    const base = { schedule: schedule("cron(0 6 1 * ? *)"), scheduledTime: "2025-06-01T04:00:00Z" };
    expect(submitEventSchema.parse({ ...base, customerIds: [1001] }).customerIds).toEqual([1001]);
    expect(submitEventSchema.parse(base).customerIds).toBeUndefined();
    expect(submitEventSchema.safeParse({ ...base, customerIds: [] }).success).toBe(false);
    expect(submitEventSchema.safeParse({ ...base, customerIds: [1.5] }).success).toBe(false);
    const many = Array.from({ length: 101 }, (_, i) => i + 1);
    expect(submitEventSchema.safeParse({ ...base, customerIds: many }).success).toBe(false);
  });
});
