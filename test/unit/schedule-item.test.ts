/**
 * The flat schedule item: written from a schedule and read back to the same schedule,
 * validated with the deploy config's scheduleSchema, refused with a reason that names the
 * field; typos and structural mistakes are reasons, not silent drops.
 */
import { describe, expect, it } from "vitest";
import { scheduleSchema } from "#lib/config/schema.ts";
import { attributeValue, itemFromSchedule, scheduleFromItem } from "#shared/schedule-item.ts";

const LISTENER = scheduleSchema.parse({
  name: "owners-watch",
  cron: "cron(30 2 * * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "ReelleEjere",
  group: "default",
  listener: { triggerNow: false },
  delayMinutes: 30,
  notificationEmail: "arkiv@example.dk",
});

const BUSINESS_DAY = scheduleSchema.parse({
  name: "first-bank-day",
  businessDay: 1,
  at: "07:00",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "nord",
  enabled: false,
});

describe("itemFromSchedule / scheduleFromItem", () => {
  it("flattens the listener into two booleans and keeps every other field at the top level", () => {
    const item = itemFromSchedule(LISTENER);
    expect(item).toEqual({
      name: "owners-watch",
      cron: "cron(30 2 * * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "ReelleEjere",
      group: "default",
      batchNameTemplate: "{schedule} {date} ({part}/{parts})",
      format: "{cvr}-{name}-{type}-{rundate}",
      delayMinutes: 30,
      listener: true,
      listenerTriggerNow: false,
      enabled: true,
      webhookAuth: "Header",
      notificationEmail: "arkiv@example.dk",
      flexibleWindowMinutes: 15,
    });
    for (const value of Object.values(item)) expect(typeof value).not.toBe("object");
  });

  it.each([
    ["a listener cron schedule", LISTENER],
    ["a paused business-day rule", BUSINESS_DAY],
  ])("reads %s back to the same schedule", (_what, schedule) => {
    expect(scheduleFromItem(itemFromSchedule(schedule))).toEqual({ ok: true, schedule });
  });

  it("fills the schema's defaults into a minimal hand-written item", () => {
    const decoded = scheduleFromItem({
      name: "x",
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "g",
    });
    expect(decoded.ok && decoded.schedule).toMatchObject({ enabled: true, flexibleWindowMinutes: 15 });
    expect(decoded.ok && decoded.schedule.listener).toBeUndefined();
  });

  it("listener = true alone is a listener with triggerNow's default; listener = false is none", () => {
    const base = itemFromSchedule(LISTENER);
    const { listenerTriggerNow: _dropped, ...withoutTrigger } = base;
    expect(scheduleFromItem(withoutTrigger)).toMatchObject({
      ok: true,
      schedule: { listener: { triggerNow: true } },
    });
    const { listenerTriggerNow: _also, ...rest } = base;
    const none = scheduleFromItem({ ...rest, listener: false, reportType: "Revision" });
    expect(none.ok && none.schedule.listener).toBeUndefined();
  });

  it.each([
    [{ cron: "every monday" }, /^cron: must be an EventBridge Scheduler cron expression/],
    [{ reportType: "Revison" }, /^reportType: /],
    [{ enabled: "yes" }, /^enabled: /],
    [{ flexibleWindowMinutes: 500 }, /^flexibleWindowMinutes: /],
    [{ enabeld: false }, /^unknown attribute enabeld \(known: name, cron, /],
    [{ listener: "true" }, /^listener: must be a boolean/],
    [{ listenerTriggerNow: true, listener: undefined }, /^listenerTriggerNow: only with listener = true/],
    [{ businessDay: 1, at: "07:00" }, /^businessDay: a schedule has either cron or businessDay/],
    [{ reportType: "Revision" }, /^listener: report type Revision cannot run as a listener batch/],
  ])("refuses %o with a reason naming the field", (change, reason) => {
    const item: Record<string, unknown> = { ...itemFromSchedule(LISTENER), ...change };
    for (const [name, value] of Object.entries(item)) if (value === undefined) delete item[name];
    const decoded = scheduleFromItem(item);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(reason);
    expect(!decoded.ok && decoded.name).toBe("owners-watch");
  });

  it("keeps notes people write on an item out of the schedule", () => {
    const decoded = scheduleFromItem({ ...itemFromSchedule(BUSINESS_DAY), note: "moved for Easter, Pia" });
    expect(decoded).toEqual({ ok: true, schedule: BUSINESS_DAY });
  });
});

describe("attributeValue (schedules set NAME field=value)", () => {
  it.each([
    ["flexibleWindowMinutes", "0", 0],
    ["delayMinutes", "30", 30],
    ["businessDay", "3", 3],
    ["businessDay", "last", "last"],
    ["enabled", "nej", false],
    ["listener", "true", true],
    ["name", "2026", "2026"],
    ["at", "07:00", "07:00"],
    ["errorAppend", "-", undefined],
    ["errorAppend", "", undefined],
  ])("%s=%s is stored as %o", (field, text, value) => {
    expect(attributeValue(field, text)).toEqual(value);
  });
});
