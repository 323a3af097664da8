/**
 * The deploy config: typed and validated once, at synth (and by the local runner), with
 * errors that name the field. Secrets never live here: the Lasso API key and the webhook
 * secret are in Secrets Manager.
 */
import { z } from "zod";
import { LISTENABLE_REPORT_TYPES, REPORT_TYPES } from "#shared/lasso/enums.ts";

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** The retention periods CloudWatch Logs accepts (in days). */
const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`. */
const CRON = /^cron\(\s*(\S+\s+){5}\S+\s*\)$/;

const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
    "must be a host name such as files.lassox.com or *.lassox.com (lower case, optional :port)",
  );

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

export const deployConfigSchema = z
  .object({
    stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,100}$/, "a CloudFormation stack name"),
    lasso: z.object({
      baseUrl: z.url({ protocol: /^https$/, error: "must be an https URL such as https://api.lassox.com" }),
      requestTimeoutMs: z.number().int().min(1000).max(60_000).default(10_000),
    }),
    mail: z.object({
      sender: z.email(),
      replyTo: z.email().optional(),
      /** The SES identity to verify: the sender's domain (recommended) or the address. */
      identity: z
        .string()
        .regex(
          /^([^\s@]+@)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/,
          "must be the sender's domain (example.dk) or the sender address, lower case",
        ),
      /**
       * Create the SES identity in the stack (false when the identity already exists in the
       * account and region, for example because other systems send from the same domain).
       */
      createIdentity: z.boolean().default(true),
      defaultLanguage: z.enum(["da", "en"]).default("da"),
    }),
    webhook: z
      .object({
        /** The header Lasso sends with the webhook secret (authConfig Method "Header"). */
        headerName: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, "an HTTP header name: letters, digits and '-'")
          .default("x-lasso-reports-secret"),
      })
      .prefault({}),
    /** Hosts PDFs may be fetched from (https only); `*.example.com` covers subdomains. */
    pdfHosts: z.array(hostPattern).min(1),
    schedules: z.array(scheduleSchema),
    poll: z
      .object({
        rateMinutes: z.number().int().min(1).max(60).default(5),
        /** A batch with no progress for this long is alarmed as stalled. */
        stalledAfterMinutes: z.number().int().min(10).default(360),
      })
      .prefault({}),
    submission: z
      .object({
        /** Items per Lasso batch; Lasso documents no limit. */
        chunkSize: z.number().int().min(1).max(5000).default(1000),
      })
      .prefault({}),
    delivery: z
      .object({
        batchSize: z.number().int().min(1).max(10).default(5),
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        maxReceiveCount: z.number().int().min(1).max(20).default(5),
        maxPdfBytes: z
          .number()
          .int()
          .min(1024)
          .max(200 * 1024 * 1024)
          .default(50 * 1024 * 1024),
      })
      .prefault({}),
    /** Who is told when an alarm fires (an SNS e-mail subscription; confirm its first mail). */
    alertEmail: z.email().optional(),
    alarms: z
      .object({
        /** A report waiting this long on the report-ready queue needs a human. */
        oldestMessageAgeMinutes: z
          .number()
          .int()
          .min(5)
          .max(24 * 60)
          .default(60),
        /** Refused (401) webhook calls in 5 minutes that count as a burst. */
        webhookUnauthorizedBurst: z.number().int().min(1).default(10),
      })
      .prefault({}),
    retention: z
      .object({
        /** State records (runs, batches, reports) expire after this many days. */
        stateDays: z.number().int().min(7).max(3650).default(400),
        /** CloudWatch Logs retention of every function's log group. */
        logDays: z
          .number()
          .int()
          .refine((days) => LOG_RETENTION_DAYS.includes(days), {
            message: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
          })
          .default(90),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.schedules.forEach((schedule, index) => {
      if (seen.has(schedule.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["schedules", index, "name"],
          message: `duplicate schedule name ${schedule.name}`,
        });
      }
      seen.add(schedule.name);
    });
    if (config.mail.identity.includes("@")) {
      if (config.mail.identity !== config.mail.sender.toLowerCase()) {
        ctx.addIssue({
          code: "custom",
          path: ["mail", "identity"],
          message: `an address identity must be the sender address ${config.mail.sender}`,
        });
      }
    } else {
      const senderDomain = config.mail.sender.split("@")[1]?.toLowerCase() ?? "";
      if (senderDomain !== config.mail.identity && !senderDomain.endsWith(`.${config.mail.identity}`)) {
        ctx.addIssue({
          code: "custom",
          path: ["mail", "identity"],
          message: `the sender ${config.mail.sender} is not in the identity's domain ${config.mail.identity}`,
        });
      }
    }
  });

export type DeployConfigInput = z.input<typeof deployConfigSchema>;
export type DeployConfig = z.output<typeof deployConfigSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Validates a deploy config; the error lists every problem with the path of its field. */
export function parseDeployConfig(input: unknown): DeployConfig {
  const result = deployConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
      .join("");
    return `  config${path}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid deploy config:\n${problems.join("\n")}`);
}
