/**
 * Periods on the command line (`deliveries`, `statement`): `--from DATE --to DATE` with
 * both days included, or `--month YYYY-MM`. Days and months are UTC, as delivery ids are
 * (lambdas/shared/state/delivery-history.ts): a period is [from, to) in UTC.
 */
import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "./errors.ts";

export interface Period {
  /** The first instant in the period (UTC). */
  from?: Date;
  /** The first instant after the period (UTC). */
  to?: Date;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** commander's parser for a UTC day `YYYY-MM-DD` (a real date: 2026-02-30 is refused). */
export function dayOption(value: string): string {
  const match = DAY.exec(value.trim());
  const at = match === null ? undefined : new Date(`${value.trim()}T00:00:00.000Z`);
  if (at === undefined || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== value.trim()) {
    throw new InvalidArgumentError("must be a date YYYY-MM-DD (UTC)");
  }
  return value.trim();
}

/** commander's parser for a month `YYYY-MM`. */
export function monthOption(value: string): string {
  if (!MONTH.test(value.trim())) throw new InvalidArgumentError("must be a month YYYY-MM");
  return value.trim();
}

const startOfDay = (day: string): Date => new Date(`${day}T00:00:00.000Z`);
const dayAfter = (day: string): Date => new Date(startOfDay(day).getTime() + 24 * 60 * 60 * 1000);

/** [first day 00:00, the day after `to` 00:00) in UTC; either end may be open. */
export function periodOf(options: { from?: string; to?: string; month?: string }): Period {
  if (options.month !== undefined) {
    if (options.from !== undefined || options.to !== undefined) {
      throw new UsageError("give --month or --from/--to, not both");
    }
    const [year, month] = options.month.split("-").map(Number) as [number, number];
    return { from: new Date(Date.UTC(year, month - 1, 1)), to: new Date(Date.UTC(year, month, 1)) };
  }
  const period: Period = {
    ...(options.from === undefined ? {} : { from: startOfDay(options.from) }),
    ...(options.to === undefined ? {} : { to: dayAfter(options.to) }),
  };
  if (period.from !== undefined && period.to !== undefined && period.from >= period.to) {
    throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  }
  return period;
}

/** True when the ISO time `at` is in the period. */
export const inPeriod = (period: Period, at: string): boolean =>
  (period.from === undefined || at >= period.from.toISOString()) &&
  (period.to === undefined || at < period.to.toISOString());

/** The period as people read it: both days included. */
export function describePeriod(period: Period): string {
  const first = period.from?.toISOString().slice(0, 10);
  const last =
    period.to === undefined ? undefined : new Date(period.to.getTime() - 1).toISOString().slice(0, 10);
  if (first === undefined && last === undefined) return "all time";
  if (first === undefined) return `until ${last} (UTC)`;
  if (last === undefined) return `from ${first} (UTC)`;
  return `${first} to ${last} (UTC)`;
}

/** `--from`, `--to` and `--month` on a command; `what` names what the period selects. */
export function addPeriodOptions(command: Command, what: string): Command {
  return command
    .option("--from <date>", `${what} on or after this day (YYYY-MM-DD, UTC)`, dayOption)
    .option("--to <date>", `${what} on or before this day (YYYY-MM-DD, UTC)`, dayOption)
    .option("--month <month>", "one month (YYYY-MM, UTC) instead of --from/--to", monthOption);
}
