/**
 * When a schedule fires, as EventBridge Scheduler fires it: the expression it runs, which
 * candidate firings of a business-day rule are real, the next firings in local time, daylight
 * saving time in Europe/Copenhagen (02:30 on 2027-03-28 does not exist, 02:30 on 2027-10-31
 * happens twice), and the schema's refusals.
 */
import { describe, expect, it } from "vitest";
import { periodStart } from "#cli/schedule-period.ts";
import { type ScheduleConfig, scheduleSchema } from "#shared/schedule.ts";
import {
  isFiring,
  nextFirings,
  previousFiring,
  schedulerExpression,
  skipReason,
} from "#shared/schedule-rules.ts";

const base = { name: "s", timeZone: "Europe/Copenhagen", reportType: "Revision", group: "g" };
const schedule = (timing: Record<string, unknown>): ScheduleConfig =>
  scheduleSchema.parse({ ...base, ...timing });

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());
/** Local wall-clock text in Copenhagen with its offset, to read the expectations. */
const local = (dates: Date[]) =>
  dates.map((date) =>
    new Intl.DateTimeFormat("sv-SE", {
      timeZone: "Europe/Copenhagen",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "shortOffset",
    }).format(date),
  );

describe("daylight saving time, as Scheduler does it", () => {
  const nightly = schedule({ cron: "cron(30 2 * * ? *)" });

  it("skips 02:30 on 2027-03-28, which does not exist in Copenhagen (croner alone fires 03:00)", () => {
    expect(local(nextFirings(nightly, new Date("2027-03-26T12:00:00Z"), 3))).toEqual([
      "2027-03-27 02:30 GMT+1",
      "2027-03-29 02:30 GMT+2",
      "2027-03-30 02:30 GMT+2",
    ]);
  });

  it("fires 02:30 on 2027-10-31 once, at its first occurrence (summer time, 00:30 UTC)", () => {
    expect(iso(nextFirings(nightly, new Date("2027-10-29T12:00:00Z"), 3))).toEqual([
      "2027-10-30T00:30:00.000Z",
      "2027-10-31T00:30:00.000Z",
      "2027-11-01T01:30:00.000Z",
    ]);
    // Between the two occurrences, the second is not a firing.
    expect(iso(nextFirings(nightly, new Date("2027-10-31T01:00:00Z"), 1))).toEqual([
      "2027-11-01T01:30:00.000Z",
    ]);
  });

  it("a frequent cron runs each wall-clock time of the repeated hour once", () => {
    const halfHourly = schedule({ cron: "cron(0/30 * * * ? *)" });
    expect(local(nextFirings(halfHourly, new Date("2027-10-30T23:15:00Z"), 5))).toEqual([
      "2027-10-31 01:30 GMT+2",
      "2027-10-31 02:00 GMT+2",
      "2027-10-31 02:30 GMT+2",
      "2027-10-31 03:00 GMT+1",
      "2027-10-31 03:30 GMT+1",
    ]);
  });

  it("a business-day rule at 02:30 follows the same rules", () => {
    const early = schedule({ businessDay: "every", at: "02:30" });
    // 2027-03-26 is Langfredag, 27-28 the weekend, 29 Anden påskedag.
    expect(local(nextFirings(early, new Date("2027-03-24T12:00:00Z"), 2))).toEqual([
      "2027-03-30 02:30 GMT+2",
      "2027-03-31 02:30 GMT+2",
    ]);
    // 2027-10-31 is a Sunday: the rule does not fire; Monday it does, in winter time.
    expect(local(nextFirings(early, new Date("2027-10-29T12:00:00Z"), 1))).toEqual([
      "2027-11-01 02:30 GMT+1",
    ]);
  });

  it("the period a moment is in starts at the latest real firing", () => {
    expect(periodStart(nightly, new Date("2027-03-28T12:00:00Z"))?.toISOString()).toBe(
      "2027-03-27T01:30:00.000Z",
    );
    expect(periodStart(nightly, new Date("2027-10-31T01:45:00Z"))?.toISOString()).toBe(
      "2027-10-31T00:30:00.000Z",
    );
  });
});

describe("business-day rules", () => {
  const first = schedule({ businessDay: 1, at: "07:00" });
  const last = schedule({ businessDay: "last", at: "16:00" });
  const every = schedule({ businessDay: "every", at: "07:00" });

  it("run on a candidate cron in the schedule's zone", () => {
    expect(schedulerExpression(first)).toBe("cron(0 7 1-10 * ? *)");
    expect(schedulerExpression(schedule({ businessDay: 12, at: "06:45" }))).toBe("cron(45 6 12-25 * ? *)");
    expect(schedulerExpression(last)).toBe("cron(0 16 24-31 * ? *)");
    expect(schedulerExpression(every)).toBe("cron(0 7 ? * MON-FRI *)");
    expect(schedulerExpression(schedule({ cron: "cron(0 6 1 * ? *)" }))).toBe("cron(0 6 1 * ? *)");
  });

  it("the first business day at 07:00, the next 12 in local time", () => {
    expect(local(nextFirings(first, new Date("2026-12-01T12:00:00Z"), 12))).toEqual([
      "2027-01-04 07:00 GMT+1",
      "2027-02-01 07:00 GMT+1",
      "2027-03-01 07:00 GMT+1",
      "2027-04-01 07:00 GMT+2",
      "2027-05-03 07:00 GMT+2",
      "2027-06-01 07:00 GMT+2",
      "2027-07-01 07:00 GMT+2",
      "2027-08-02 07:00 GMT+2",
      "2027-09-01 07:00 GMT+2",
      "2027-10-01 07:00 GMT+2",
      "2027-11-01 07:00 GMT+1",
      "2027-12-01 07:00 GMT+1",
    ]);
  });

  it("the last business day skips Easter and weekends", () => {
    expect(local(nextFirings(last, new Date("2028-02-01T00:00:00Z"), 3))).toEqual([
      "2028-02-29 16:00 GMT+1",
      "2028-03-31 16:00 GMT+2",
      "2028-04-28 16:00 GMT+2",
    ]);
    expect(local(nextFirings(last, new Date("2024-03-01T00:00:00Z"), 1))).toEqual(["2024-03-27 16:00 GMT+1"]);
  });

  it("isFiring: a candidate is real only on the rule's day, in the schedule's zone", () => {
    expect(isFiring(first, new Date("2027-01-04T06:00:00Z"))).toBe(true);
    expect(isFiring(first, new Date("2027-01-05T06:00:00Z"))).toBe(false);
    expect(skipReason(first, new Date("2027-01-01T06:00:00Z"))).toBe("Nytårsdag");
    expect(skipReason(first, new Date("2027-01-02T06:00:00Z"))).toBe("Saturday");
    expect(skipReason(first, new Date("2027-01-05T06:00:00Z"))).toBe("not business day 1");
    expect(skipReason(every, new Date("2027-05-06T05:00:00Z"))).toBe("Kristi Himmelfartsdag");
    // 23:30 UTC on 31 March is 1 April in Copenhagen: the zone's date counts.
    const lateFirst = schedule({ businessDay: 1, at: "01:30" });
    expect(isFiring(lateFirst, new Date("2027-03-31T23:30:00Z"))).toBe(true);
    expect(isFiring(schedule({ cron: "cron(0 6 1 * ? *)" }), new Date("2027-01-01T05:00:00Z"))).toBe(true);
  });

  it("a month with fewer than N business days has no firing of the Nth", () => {
    const eighteenth = schedule({ businessDay: 18, at: "07:00" });
    const months = nextFirings(eighteenth, new Date("2028-03-01T00:00:00Z"), 2).map((date) =>
      date.toISOString().slice(0, 7),
    );
    expect(months).toEqual(["2028-03", "2028-05"]); // April 2028 has 17
  });

  it("previousFiring finds the latest real firing, skipping candidates", () => {
    expect(previousFiring(first, new Date("2027-01-20T12:00:00Z"))?.toISOString()).toBe(
      "2027-01-04T06:00:00.000Z",
    );
    expect(previousFiring(every, new Date("2027-03-29T12:00:00Z"))?.toISOString()).toBe(
      "2027-03-24T06:00:00.000Z",
    );
  });
});

describe("the schedule schema's timing", () => {
  const problems = (timing: Record<string, unknown>) => {
    const parsed = scheduleSchema.safeParse({ ...base, ...timing });
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  };

  it("refuses both cron and businessDay, and neither", () => {
    expect(problems({ cron: "cron(0 6 1 * ? *)", businessDay: 1, at: "07:00" })).toEqual([
      "businessDay: a schedule has either cron or businessDay, not both: remove one of them",
    ]);
    expect(problems({})).toEqual([
      'cron: a schedule needs cron (an EventBridge Scheduler cron) or businessDay ("every", "last" or 1..20) with at (HH:MM)',
    ]);
  });

  it("says what a business-day rule needs", () => {
    expect(problems({ businessDay: 1 })).toEqual([
      "at: a businessDay rule needs at: the local time HH:MM it fires",
    ]);
    expect(problems({ businessDay: 21, at: "07:00" })).toEqual([
      'businessDay: must be "every", "last" or a whole number 1..20 (the Nth business day)',
    ]);
    expect(problems({ businessDay: "first", at: "7:00" })).toEqual([
      'businessDay: must be "every", "last" or a whole number 1..20 (the Nth business day)',
      "at: must be a local time HH:MM such as 07:00",
    ]);
    expect(problems({ cron: "cron(0 6 1 * ? *)", at: "07:00" })).toEqual([
      "at: at belongs to a businessDay rule: a cron says its time itself",
    ]);
  });

  it("refuses a cron with both or neither of day-of-month and day-of-week as ? (Scheduler would), accepts either alone", () => {
    const both =
      "cron: exactly one of day-of-month and day-of-week must be ? (EventBridge Scheduler refuses the expression otherwise)";
    expect(problems({ cron: "cron(0 6 1 * MON *)" })).toEqual([both]);
    expect(problems({ cron: "cron(0 6 ? * ? *)" })).toEqual([both]);
    expect(problems({ cron: "cron(0 6 1 * ? *)" })).toEqual([]);
    expect(problems({ cron: "cron(0 6 ? * MON-FRI *)" })).toEqual([]);
  });

  it("names the timing even when other fields are wrong too", () => {
    const parsed = scheduleSchema.safeParse({ name: "x" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join("."))).toContain("cron");
  });

  it("accepts each kind of rule", () => {
    for (const businessDay of ["every", "last", 1, 20]) {
      expect(problems({ businessDay, at: "07:00" })).toEqual([]);
    }
  });
});
