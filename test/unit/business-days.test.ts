/**
 * Danish business days over the next 24 months (December 2026 to November 2028), checked
 * against a hand-written table of the public holidays, not against the library: Easter
 * moving from March (2027) to April (2028), Store Bededag gone since 2024, Christmas, New
 * Year. And the candidate days of the business-day rules' crons, over a century.
 */
import { describe, expect, it } from "vitest";
import {
  danishPublicHolidaysFromLibrary,
  HOLIDAY_YEARS,
  holidaysByName,
} from "#lib/holidays/danish-holidays.ts";
import {
  businessDaysOfMonth,
  danishPublicHolidays,
  isBusinessDay,
  lastBusinessDay,
  nonBusinessReason,
  nthBusinessDay,
} from "#shared/business-days.ts";
import { DANISH_PUBLIC_HOLIDAYS } from "#shared/danish-holidays.generated.ts";
import { latestDayOfNth } from "#shared/schedule-rules.ts";

/** The public holidays from December 2026 to November 2028, by hand (Easter 2027-03-28, 2028-04-16). */
const HOLIDAYS = new Map<string, string>([
  ["2026-12-25", "Juledag"],
  ["2026-12-26", "Anden Juledag"],
  ["2027-01-01", "Nytårsdag"],
  ["2027-03-25", "Skærtorsdag"],
  ["2027-03-26", "Langfredag"],
  ["2027-03-28", "Påskedag"],
  ["2027-03-29", "Anden påskedag"],
  ["2027-05-06", "Kristi Himmelfartsdag"],
  ["2027-05-16", "Pinsedag"],
  ["2027-05-17", "Anden Pinsedag"],
  ["2027-12-25", "Juledag"],
  ["2027-12-26", "Anden Juledag"],
  ["2028-01-01", "Nytårsdag"],
  ["2028-04-13", "Skærtorsdag"],
  ["2028-04-14", "Langfredag"],
  ["2028-04-16", "Påskedag"],
  ["2028-04-17", "Anden påskedag"],
  ["2028-05-25", "Kristi Himmelfartsdag"],
  ["2028-06-04", "Pinsedag"],
  ["2028-06-05", "Anden Pinsedag"],
]);

const MONTHS: [number, number][] = Array.from({ length: 24 }, (_, i) => {
  const index = 2026 * 12 + 11 + i; // December 2026 onwards
  return [Math.floor(index / 12), (index % 12) + 1];
});

/** The business days of a month from the table and the calendar alone. */
function expectedBusinessDays(year: number, month: number): string[] {
  const days: string[] = [];
  for (let day = 1; day <= new Date(Date.UTC(year, month, 0)).getUTCDate(); day++) {
    const date = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
    const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
    if (weekday !== 0 && weekday !== 6 && !HOLIDAYS.has(date)) days.push(date);
  }
  return days;
}

describe("Danish business days", () => {
  it("are the weekdays without the public holidays, month by month for 24 months", () => {
    for (const [year, month] of MONTHS) {
      expect(businessDaysOfMonth(year, month), `${year}-${month}`).toEqual(expectedBusinessDays(year, month));
    }
  });

  it("know the public holidays by name, and nothing else as public", () => {
    const fromLibrary = [2026, 2027, 2028].flatMap((year) =>
      [...danishPublicHolidays(year)].filter(([date]) => date >= "2026-12-01" && date < "2028-12-01"),
    );
    expect(new Map(fromLibrary)).toEqual(HOLIDAYS);
  });

  it("Easter moves the first and last business days", () => {
    expect(lastBusinessDay(2027, 3)).toBe("2027-03-31");
    expect(nthBusinessDay(2027, 4, 1)).toBe("2027-04-01");
    expect(nthBusinessDay(2028, 4, 1)).toBe("2028-04-03");
    expect(nthBusinessDay(2028, 4, 10)).toBe("2028-04-19"); // 13, 14 and 17 April are holidays
    expect(nonBusinessReason("2027-03-29")).toBe("Anden påskedag");
    expect(nonBusinessReason("2028-04-14")).toBe("Langfredag");
  });

  it("Store Bededag is a holiday until 2023 and a business day from 2024 on", () => {
    expect(nonBusinessReason("2023-05-05")).toBe("Store Bededag");
    // The fourth Friday after Easter: 2024-04-26, 2027-04-23, 2028-05-12.
    for (const date of ["2024-04-26", "2025-05-16", "2026-05-01", "2027-04-23", "2028-05-12"]) {
      expect(isBusinessDay(date), date).toBe(true);
    }
  });

  it("Christmas and New Year: 25 and 26 December and 1 January are holidays; 24 and 31 December are business days", () => {
    expect(nonBusinessReason("2027-12-24")).toBeUndefined(); // a Friday, an observance only
    expect(nonBusinessReason("2026-12-25")).toBe("Juledag");
    expect(nonBusinessReason("2026-12-26")).toBe("Saturday");
    expect(nonBusinessReason("2027-01-01")).toBe("Nytårsdag");
    expect(nthBusinessDay(2027, 1, 1)).toBe("2027-01-04");
    expect(lastBusinessDay(2027, 12)).toBe("2027-12-31");
    expect(nthBusinessDay(2028, 1, 1)).toBe("2028-01-03");
    // Grundlovsdag is an observance, not a public holiday: 2027-06-04 is a Friday, 06-05 a Saturday.
    expect(isBusinessDay("2027-06-04")).toBe(true);
  });

  it("the generated table is the library's public holidays, every year it covers (after upgrading date-holidays: npm run build:holidays)", () => {
    expect(DANISH_PUBLIC_HOLIDAYS).toEqual(holidaysByName(danishPublicHolidaysFromLibrary()));
    expect(DANISH_PUBLIC_HOLIDAYS.Nytårsdag?.[0]).toBe(`${HOLIDAY_YEARS.from}-01-01`);
    expect(DANISH_PUBLIC_HOLIDAYS.Nytårsdag?.at(-1)).toBe(`${HOLIDAY_YEARS.to}-01-01`);
  });

  it("refuses a year the table does not cover rather than guess", () => {
    expect(() => isBusinessDay(`${HOLIDAY_YEARS.to + 1}-01-04`)).toThrow(/no Danish holidays for 2080/);
  });

  it("a month may have fewer than 20 business days: then there is no 20th", () => {
    expect(businessDaysOfMonth(2028, 4)).toHaveLength(17);
    expect(nthBusinessDay(2028, 4, 18)).toBeUndefined();
  });
});

describe("the candidate days of the business-day crons", () => {
  it("hold every Nth and every last business day of the years the table covers", () => {
    for (let year = HOLIDAY_YEARS.from; year <= HOLIDAY_YEARS.to; year++) {
      for (let month = 1; month <= 12; month++) {
        const days = businessDaysOfMonth(year, month).map((date) => Number(date.slice(8)));
        days.forEach((day, index) => {
          if (index >= 20) return;
          expect(day, `${year}-${month} business day ${index + 1}`).toBeGreaterThanOrEqual(index + 1);
          expect(day, `${year}-${month} business day ${index + 1}`).toBeLessThanOrEqual(
            latestDayOfNth(index + 1),
          );
        });
        expect(days.at(-1), `${year}-${month} last`).toBeGreaterThanOrEqual(24);
      }
    }
  });
});
