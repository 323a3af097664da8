/**
 * One schedule: what the deploy config declares and what submit-batches is invoked with.
 * The contract lives here, below both of its users (lib/config/schema.ts re-exports it for
 * the deploy config), so submit-batches bundles this and zod only, not the deploy config's
 * validation and its dependencies.
 */
import * as z from "zod/mini";
import { LISTENABLE_REPORT_TYPES, REPORT_TYPES } from "./lasso/enums.ts";
import "./zod-english.ts";

export const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** The webhook auth methods a schedule may ask Lasso for (Kerberos cannot be checked at a Function URL). */
export const SCHEDULE_WEBHOOK_AUTH = ["Header", "BasicAuth"] as const;
export type ScheduleWebhookAuth = (typeof SCHEDULE_WEBHOOK_AUTH)[number];

/** EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`. */
const CRON = /^cron\(\s*(\S+\s+){5}\S+\s*\)$/;

/** Scheduler takes a day of the month or a day of the week, never both: exactly one is `?`. */
function oneDayField(cron: string): boolean {
  const fields = cron
    .replace(/^cron\(|\)$/g, "")
    .trim()
    .split(/\s+/);
  if (fields.length !== 6) return true; // the regex says what is wrong
  return (fields[2] === "?") !== (fields[4] === "?");
}

/** The highest N of "the Nth business day of the month": a month has 17 to 23 (docs/schedules.md), one with fewer than N has no firing. */
export const MAX_NTH_BUSINESS_DAY = 20;

/**
 * Which Danish business days a business-day rule fires on: every one, the last of the
 * month, or the Nth of the month (docs/schedules.md).
 */
const BUSINESS_DAY_MESSAGE = `must be "every", "last" or a whole number 1..${MAX_NTH_BUSINESS_DAY} (the Nth business day)`;
export const businessDaySchema = z.union(
  [
    z.literal("every"),
    z.literal("last"),
    z
      .int(BUSINESS_DAY_MESSAGE)
      .check(z.gte(1, BUSINESS_DAY_MESSAGE), z.lte(MAX_NTH_BUSINESS_DAY, BUSINESS_DAY_MESSAGE)),
  ],
  { error: BUSINESS_DAY_MESSAGE },
);
export type BusinessDay = z.output<typeof businessDaySchema>;

const LOCAL_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Text of `min`..`max` characters. */
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

export const scheduleSchema = z
  .object({
    /** Unique, used in resource names and in the run's idempotency key. */
    name: z.string().check(z.regex(/^[A-Za-z0-9-]{1,40}$/, "letters, digits and '-', at most 40")),
    /** When it fires: an EventBridge Scheduler cron, or `businessDay` with `at` (exactly one of the two). */
    cron: z.optional(
      z
        .string()
        .check(
          z.regex(CRON, "must be an EventBridge Scheduler cron expression: cron(m h dom mon dow year)"),
          z.refine(
            oneDayField,
            "exactly one of day-of-month and day-of-week must be ? (EventBridge Scheduler refuses the expression otherwise)",
          ),
        ),
    ),
    /** A Danish business-day rule (weekends and public holidays skipped); needs `at`. */
    businessDay: z.optional(businessDaySchema),
    /** The local time (in `timeZone`) of a business-day rule's firing, `HH:MM`. */
    at: z.optional(z.string().check(z.regex(LOCAL_TIME, "must be a local time HH:MM such as 07:00"))),
    timeZone: z.string().check(z.refine(isTimeZone, "must be an IANA time zone such as Europe/Copenhagen")),
    reportType: z.enum(REPORT_TYPES),
    /** Which customers it covers: their `group` attribute. */
    group: text(1, 100),
    /** Lasso batch name; `{schedule}`, `{date}`, `{part}` and `{parts}` are filled in. */
    batchNameTemplate: z._default(text(1, 150), "{schedule} {date} ({part}/{parts})"),
    /** Lasso's file-name format; a customer's own `format` overrides it. */
    format: z._default(text(1, 200), "{cvr}-{name}-{type}-{rundate}"),
    errorAppend: z.optional(z.string().check(z.maxLength(50))),
    /** Delay between firing and Lasso running the batch (`scheduledTime`). */
    delayMinutes: z.optional(z.int().check(z.gte(0), z.lte(7 * 24 * 60))),
    /** Listener batches keep every selected customer covered; only listenable types. */
    listener: z.optional(z.object({ triggerNow: z._default(z.boolean(), true) })),
    enabled: z._default(z.boolean(), true),
    /**
     * How Lasso authenticates its webhook calls for this schedule's batches (`authConfig`):
     * `Header` (the webhook header carries the secret) or `BasicAuth` (user `webhook.basicUser`,
     * the secret as password). receive-webhook accepts both, compared in constant time.
     */
    webhookAuth: z._default(z.enum(SCHEDULE_WEBHOOK_AUTH), "Header"),
    /**
     * Lasso's own copy of every report of the schedule's batches, to one address (for example
     * an archive mailbox): the batch's `notificationEmail`. Every report is one mail.
     */
    notificationEmail: z.optional(z.email("must be an e-mail address").check(z.maxLength(254))),
    /**
     * EventBridge Scheduler may fire up to this many minutes after the cron time (spreads
     * load; safe because the run is keyed on the scheduled time, not the firing time).
     * 0 fires on the minute.
     */
    flexibleWindowMinutes: z._default(z.int().check(z.gte(0), z.lte(240)), 15),
  })
  .check(
    // Said even when other fields are wrong too: "which timing?" is the first thing to fix.
    z.superRefine(
      (schedule, ctx) => {
        for (const issue of timingProblems(schedule)) ctx.addIssue({ code: "custom", ...issue });
      },
      { when: (payload) => typeof payload.value === "object" && payload.value !== null },
    ),
    z.superRefine((schedule, ctx) => {
      if (schedule.listener && !LISTENABLE_REPORT_TYPES.has(schedule.reportType)) {
        ctx.addIssue({
          code: "custom",
          path: ["listener"],
          message: `report type ${schedule.reportType} cannot run as a listener batch (only ${[...LISTENABLE_REPORT_TYPES].join(", ")})`,
        });
      }
    }),
  );

export type ScheduleConfig = z.output<typeof scheduleSchema>;

/** A schedule that fires on a cron. */
export type CronSchedule = ScheduleConfig & { cron: string; businessDay?: undefined };
/** A schedule that fires on Danish business days at a local time. */
export type BusinessDaySchedule = ScheduleConfig & { cron?: undefined; businessDay: BusinessDay; at: string };

/** Exactly one of `cron` and `businessDay` (with `at`): what is wrong, by field. */
function timingProblems(schedule: {
  cron?: string | undefined;
  businessDay?: BusinessDay | undefined;
  at?: string | undefined;
}): { path: string[]; message: string }[] {
  const hasCron = schedule.cron !== undefined;
  const hasRule = schedule.businessDay !== undefined;
  if (hasCron && hasRule) {
    return [
      {
        path: ["businessDay"],
        message: "a schedule has either cron or businessDay, not both: remove one of them",
      },
    ];
  }
  if (!hasCron && !hasRule) {
    return [
      {
        path: ["cron"],
        message: `a schedule needs cron (an EventBridge Scheduler cron) or businessDay ("every", "last" or 1..${MAX_NTH_BUSINESS_DAY}) with at (HH:MM)`,
      },
    ];
  }
  if (hasRule && schedule.at === undefined) {
    return [{ path: ["at"], message: "a businessDay rule needs at: the local time HH:MM it fires" }];
  }
  if (hasCron && schedule.at !== undefined) {
    return [{ path: ["at"], message: "at belongs to a businessDay rule: a cron says its time itself" }];
  }
  return [];
}
