/** Periods on the command line: UTC days, both ends included; months; what is refused. */
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { UsageError } from "#cli/errors.ts";
import { dayOption, describePeriod, inPeriod, monthOption, periodOf } from "#cli/period.ts";

describe("periods", () => {
  it("--from/--to: [first day 00:00, the day after the last) in UTC", () => {
    const period = periodOf({ from: "2024-02-28", to: "2024-02-29" });
    expect(period.from?.toISOString()).toBe("2024-02-28T00:00:00.000Z");
    expect(period.to?.toISOString()).toBe("2024-03-01T00:00:00.000Z");
    expect(inPeriod(period, "2024-02-29T23:59:59.999Z")).toBe(true);
    expect(inPeriod(period, "2024-03-01T00:00:00.000Z")).toBe(false);
    expect(inPeriod(period, "2024-02-27T23:59:59.999Z")).toBe(false);
    expect(describePeriod(period)).toBe("2024-02-28 to 2024-02-29 (UTC)");
  });

  it("--month: the whole month, December into January", () => {
    const period = periodOf({ month: "2026-12" });
    expect([period.from?.toISOString(), period.to?.toISOString()]).toEqual([
      "2026-12-01T00:00:00.000Z",
      "2027-01-01T00:00:00.000Z",
    ]);
    expect(describePeriod(period)).toBe("2026-12-01 to 2026-12-31 (UTC)");
  });

  it("open ends", () => {
    expect(describePeriod(periodOf({}))).toBe("all time");
    expect(describePeriod(periodOf({ from: "2026-01-01" }))).toBe("from 2026-01-01 (UTC)");
    expect(describePeriod(periodOf({ to: "2026-01-31" }))).toBe("until 2026-01-31 (UTC)");
  });

  it("refuses dates that are not, months that are not, and periods that end before they start", () => {
    for (const bad of ["2026-02-30", "2026-13-01", "01-12-2026", "2026-1-1", "i går"]) {
      expect(() => dayOption(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(dayOption(" 2024-02-29 ")).toBe("2024-02-29");
    for (const bad of ["2026-13", "2026-00", "2026-1", "december"]) {
      expect(() => monthOption(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => periodOf({ from: "2026-12-02", to: "2026-12-01" })).toThrow(UsageError);
    expect(() => periodOf({ month: "2026-12", from: "2026-12-01" })).toThrow(UsageError);
    // One day is a period: from and to the same day.
    expect(() => periodOf({ from: "2026-12-01", to: "2026-12-01" })).not.toThrow();
  });
});
