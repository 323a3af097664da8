/**
 * The local scheduler fires as EventBridge Scheduler does (02:30 on 2027-03-28 skipped, 02:30
 * on 2027-10-31 once), with the firing's scheduled time, and reads its schedules again so a
 * change applies on the next firing without a restart. Fake timers stand in for the nights.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ScheduleConfig, scheduleSchema } from "#lib/config/schema.ts";
import { type LocalScheduler, startLocalScheduler } from "#local/pipeline/local-scheduler.ts";

const schedule = (name: string, timing: Record<string, unknown>): ScheduleConfig =>
  scheduleSchema.parse({
    name,
    timeZone: "Europe/Copenhagen",
    reportType: "Revision",
    group: "g",
    ...timing,
  });

const HOUR = 3_600_000;
let scheduler: LocalScheduler | undefined;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  scheduler?.stop();
  scheduler = undefined;
  vi.useRealTimers();
});

async function run(source: () => readonly ScheduleConfig[], from: string) {
  vi.setSystemTime(new Date(from));
  const fired: string[] = [];
  scheduler = await startLocalScheduler({
    schedules: source,
    onFire: (s, at) => {
      fired.push(`${s.name} ${at.toISOString()}`);
    },
    refreshMs: HOUR,
  });
  return fired;
}

describe("the local scheduler", () => {
  it("skips 02:30 on 2027-03-28 in Copenhagen, which does not exist", async () => {
    const nightly = schedule("nightly", { cron: "cron(30 2 * * ? *)" });
    const fired = await run(() => [nightly], "2027-03-27T12:00:00Z");
    await vi.advanceTimersByTimeAsync(62 * HOUR);
    expect(fired).toEqual(["nightly 2027-03-29T00:30:00.000Z", "nightly 2027-03-30T00:30:00.000Z"]);
  });

  it("fires 02:30 on 2027-10-31 once, at its first occurrence", async () => {
    const nightly = schedule("nightly", { cron: "cron(30 2 * * ? *)" });
    const fired = await run(() => [nightly], "2027-10-30T12:00:00Z");
    await vi.advanceTimersByTimeAsync(40 * HOUR);
    expect(fired).toEqual(["nightly 2027-10-31T00:30:00.000Z", "nightly 2027-11-01T01:30:00.000Z"]);
  });

  it("fires a business-day rule on its days only", async () => {
    const first = schedule("first", { businessDay: 1, at: "07:00" });
    const fired = await run(() => [first], "2026-12-31T12:00:00Z");
    await vi.advanceTimersByTimeAsync(40 * 24 * HOUR);
    expect(fired).toEqual(["first 2027-01-04T06:00:00.000Z", "first 2027-02-01T06:00:00.000Z"]);
  });

  it("applies a change, a pause, a resume, an addition and a deletion on the next firing, without a restart", async () => {
    let schedules = [schedule("a", { cron: "cron(0 6 * * ? *)" })];
    const fired = await run(() => schedules, "2027-01-10T00:00:00Z"); // 01:00 in Copenhagen
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(fired).toEqual(["a 2027-01-10T05:00:00.000Z"]);

    // 2027-01-11 01:00: a moves to 08:00, b is added.
    schedules = [
      schedule("a", { cron: "cron(0 8 * * ? *)" }),
      schedule("b", { businessDay: "every", at: "09:00" }),
    ];
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(fired.slice(1)).toEqual(["a 2027-01-11T07:00:00.000Z", "b 2027-01-11T08:00:00.000Z"]);

    // 2027-01-12 01:00: a paused for two days, then resumed; its paused firings are not made up.
    schedules = [{ ...(schedules[0] as ScheduleConfig), enabled: false }, schedules[1] as ScheduleConfig];
    await vi.advanceTimersByTimeAsync(48 * HOUR);
    schedules = [{ ...(schedules[0] as ScheduleConfig), enabled: true }, schedules[1] as ScheduleConfig];
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(fired.slice(3)).toEqual([
      "b 2027-01-12T08:00:00.000Z",
      "b 2027-01-13T08:00:00.000Z",
      "a 2027-01-14T07:00:00.000Z",
      "b 2027-01-14T08:00:00.000Z",
    ]);

    // 2027-01-15 01:00: b deleted.
    schedules = [schedules[0] as ScheduleConfig];
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(fired.slice(7)).toEqual(["a 2027-01-15T07:00:00.000Z"]);
    expect(scheduler?.upcoming()).toEqual([{ schedule: "a", at: new Date("2027-01-16T07:00:00.000Z") }]);
  });

  it("goes on after a firing fails", async () => {
    vi.setSystemTime(new Date("2027-01-10T00:00:00Z"));
    const errors: unknown[] = [];
    let calls = 0;
    scheduler = await startLocalScheduler({
      schedules: () => [schedule("a", { cron: "cron(0 6 * * ? *)" })],
      onFire: () => {
        calls++;
        throw new Error("boom");
      },
      onError: (error) => errors.push(error),
      refreshMs: HOUR,
    });
    await vi.advanceTimersByTimeAsync(48 * HOUR);
    expect(calls).toBe(2);
    expect(errors).toHaveLength(2);
  });
});
