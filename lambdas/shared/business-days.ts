/**
 * Danish business days: Monday to Friday except the public holidays (type `public`) of the
 * date-holidays library for DK, from the table generated from it
 * (./danish-holidays.generated.ts, `npm run build:holidays`: the library itself would add
 * about 1.4 MB to submit-batches). Days it lists as observances (Grundlovsdag, Christmas
 * Eve, 1 May) are business days here; docs/schedules.md says why.
 *
 * Dates are calendar dates `YYYY-MM-DD` (no time, no zone): the caller says which zone's
 * date it means.
 */
import { DANISH_PUBLIC_HOLIDAYS, HOLIDAY_YEARS } from "./danish-holidays.generated.ts";

/** A calendar date `YYYY-MM-DD`. */
export type LocalDate = string;

const holidaysByYear = new Map<number, ReadonlyMap<LocalDate, string>>();

/** The public holidays of a year in Denmark: date → Danish name. */
export function danishPublicHolidays(year: number): ReadonlyMap<LocalDate, string> {
  if (year < HOLIDAY_YEARS.from || year > HOLIDAY_YEARS.to) {
    // A wrong business day would be worse than none: say so.
    throw new Error(
      `no Danish holidays for ${year}: the table covers ${HOLIDAY_YEARS.from}-${HOLIDAY_YEARS.to} (lib/holidays/danish-holidays.ts)`,
    );
  }
  let holidays = holidaysByYear.get(year);
  if (holidays === undefined) {
    const prefix = `${year}-`;
    holidays = new Map(
      Object.entries(DANISH_PUBLIC_HOLIDAYS).flatMap(([name, dates]) =>
        dates.filter((date) => date.startsWith(prefix)).map((date) => [date, name] as const),
      ),
    );
    holidaysByYear.set(year, holidays);
  }
  return holidays;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

export const localDate = (year: number, month: number, day: number): LocalDate =>
  `${pad(year, 4)}-${pad(month)}-${pad(day)}`;

/** Days in a month (1-based month). */
export const daysInMonth = (year: number, month: number): number =>
  new Date(Date.UTC(year, month, 0)).getUTCDate();

const weekday = (year: number, month: number, day: number): number =>
  new Date(Date.UTC(year, month - 1, day)).getUTCDay();

/** Why a date is not a business day, or undefined when it is. */
export function nonBusinessReason(date: LocalDate): string | undefined {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const dow = weekday(year, month, day);
  if (dow === 0 || dow === 6) return dow === 0 ? "Sunday" : "Saturday";
  return danishPublicHolidays(year).get(date);
}

export const isBusinessDay = (date: LocalDate): boolean => nonBusinessReason(date) === undefined;

const businessDaysByMonth = new Map<string, readonly LocalDate[]>();

/** The business days of a month, in order. */
export function businessDaysOfMonth(year: number, month: number): readonly LocalDate[] {
  const key = `${year}-${month}`;
  let days = businessDaysByMonth.get(key);
  if (days === undefined) {
    const found: LocalDate[] = [];
    for (let day = 1; day <= daysInMonth(year, month); day++) {
      const date = localDate(year, month, day);
      if (isBusinessDay(date)) found.push(date);
    }
    days = found;
    businessDaysByMonth.set(key, days);
  }
  return days;
}

/** The Nth business day of a month (1-based), or undefined when the month has fewer. */
export const nthBusinessDay = (year: number, month: number, n: number): LocalDate | undefined =>
  businessDaysOfMonth(year, month)[n - 1];

export const lastBusinessDay = (year: number, month: number): LocalDate | undefined =>
  businessDaysOfMonth(year, month).at(-1);
