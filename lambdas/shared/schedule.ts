/**
 * One schedule: what the deploy config declares and what submit-batches is invoked with.
 * The contract lives here, below both of its users (lib/config/schema.ts re-exports it for
 * the deploy config), so submit-batches bundles this and zod only, not the deploy config's
 * validation and its dependencies.
 */
import * as z from "zod";
import { LISTENABLE_REPORT_TYPES, REPORT_TYPES } from "./lasso/enums.ts";

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

export const scheduleSchema = z
  .object({
    /** Unique, used in resource names and in the run's idempotency key. */
    name: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, "letters, digits and '-', at most 40"),
    cron: z
      .string()
      .regex(CRON, "must be an EventBridge Scheduler cron expression: cron(m h dom mon dow year)"),
    timeZone: z.string().refine(isTimeZone, "must be an IANA time zone such as Europe/Copenhagen"),
    reportType: z.enum(REPORT_TYPES),
    /** Which customers it covers: their `group` attribute. */
    group: z.string().min(1).max(100),
    /** Lasso batch name; `{schedule}`, `{date}`, `{part}` and `{parts}` are filled in. */
    batchNameTemplate: z.string().min(1).max(150).default("{schedule} {date} ({part}/{parts})"),
    /** Lasso's file-name format; a customer's own `format` overrides it. */
    format: z.string().min(1).max(200).default("{cvr}-{name}-{type}-{rundate}"),
    errorAppend: z.string().max(50).optional(),
    /** Delay between firing and Lasso running the batch (`scheduledTime`). */
    delayMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .optional(),
    /** Listener batches keep every selected customer covered; only listenable types. */
    listener: z.object({ triggerNow: z.boolean().default(true) }).optional(),
    enabled: z.boolean().default(true),
    /**
     * How Lasso authenticates its webhook calls for this schedule's batches (`authConfig`):
     * `Header` (the webhook header carries the secret) or `BasicAuth` (user `webhook.basicUser`,
     * the secret as password). receive-webhook accepts both, compared in constant time.
     */
    webhookAuth: z.enum(SCHEDULE_WEBHOOK_AUTH).default("Header"),
    /**
     * Lasso's own copy of every report of the schedule's batches, to one address (for example
     * an archive mailbox): the batch's `notificationEmail`. Every report is one mail.
     */
    notificationEmail: z.email("must be an e-mail address").max(254).optional(),
    /**
     * EventBridge Scheduler may fire up to this many minutes after the cron time (spreads
     * load; safe because the run is keyed on the scheduled time, not the firing time).
     * 0 fires on the minute.
     */
    flexibleWindowMinutes: z.number().int().min(0).max(240).default(15),
  })
  .superRefine((schedule, ctx) => {
    if (schedule.listener && !LISTENABLE_REPORT_TYPES.has(schedule.reportType)) {
      ctx.addIssue({
        code: "custom",
        path: ["listener"],
        message: `report type ${schedule.reportType} cannot run as a listener batch (only ${[...LISTENABLE_REPORT_TYPES].join(", ")})`,
      });
    }
  });

export type ScheduleConfig = z.output<typeof scheduleSchema>;
