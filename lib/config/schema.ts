/**
 * The deploy config: typed and validated once, at synth (and by the local runner), with
 * errors that name the field. Secrets never live here: the Lasso API key and the webhook
 * secret are in Secrets Manager.
 */
import { z } from "zod";
import { checkCvr } from "#shared/cvr.ts";
import { LASSO_DEFAULT_CALLS_PER_MINUTE, MIN_CALLS_PER_MINUTE } from "#shared/lasso/call-budget.ts";
import { profileLine } from "#shared/mail/profile.ts";
import {
  DEFAULT_MAX_PDF_BYTES,
  maxPdfBytesFor,
  PDF_COPIES_IN_MEMORY,
  PDF_MEMORY_SHARE,
} from "#shared/pdf-budget.ts";
import { isTimeZone, scheduleSchema } from "#shared/schedule.ts";
import { BASIC_USER_PATTERN, DEFAULT_WEBHOOK_BASIC_USER } from "#shared/webhook-credentials.ts";
import { logoFileProblem, MAX_PROFILE_JSON_BYTES, mailProfileJson } from "./mail-profile.ts";
import { mailboxText } from "./mailbox.ts";
import { judgePdfHostPattern } from "./pdf-hosts.ts";

/**
 * The longest stack name whose evidence bucket name (`<stack>-evidence-<account>-<region>`,
 * lib/constructs/evidence-archive.ts) fits S3's 63 characters in every region.
 */
export const MAX_STACK_NAME_FOR_ARCHIVE = 63 - "-evidence-".length - 12 - 1 - "ap-southeast-5".length;

export { type ScheduleConfig, scheduleSchema } from "#shared/schedule.ts";

/** The retention periods CloudWatch Logs accepts (in days). */
const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** One `pdfHosts` entry; a wildcard over a shared platform is judged with the whole config. */
const hostPattern = z.string().superRefine((pattern, ctx) => {
  if (pattern === "*" || /^\*:\d+$/.test(pattern)) {
    ctx.addIssue({
      code: "custom",
      message: "a bare * would allow every host on the internet: list Lasso's PDF host names",
    });
    return;
  }
  if (!HOST_PATTERN.test(pattern)) {
    ctx.addIssue({
      code: "custom",
      message: "must be a host name such as files.lassox.com or *.lassox.com (lower case, optional :port)",
    });
    return;
  }
  const verdict = judgePdfHostPattern(pattern);
  if (verdict.kind === "public-suffix") {
    ctx.addIssue({
      code: "custom",
      message: `${pattern} covers the public suffix ${verdict.suffix} (every domain under it): list exact host names`,
    });
  }
});

/** An e-mail address whose local part fits RFC 5321's 64 octets (zod's check does not count). */
const address = () =>
  z
    .email()
    .refine(
      (value) => Buffer.byteLength(value.slice(0, value.lastIndexOf("@")), "utf8") <= 64,
      "the part before @ is longer than 64 octets (RFC 5321): mail servers refuse it",
    );

/** The firm's words in one language: signature lines under the greeting, and the footer. */
const firmTexts = z.object({
  signature: z.array(profileLine(120)).min(1).max(6),
  footer: z.string().trim().min(1).max(600),
});

function profileJsonBytes(config: Parameters<typeof mailProfileJson>[0]): number {
  try {
    return Buffer.byteLength(mailProfileJson(config));
  } catch {
    return 0;
  }
}

/** The memory of the deliver-report function unless the config says otherwise. */
export const DEFAULT_DELIVER_REPORT_MEMORY_MB = 1024;

export const deployConfigSchema = z
  .object({
    stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,100}$/, "a CloudFormation stack name"),
    lasso: z.object({
      baseUrl: z.url({ protocol: /^https$/, error: "must be an https URL such as https://api.lassox.com" }),
      requestTimeoutMs: z.number().int().min(1000).max(60_000).default(10_000),
      /**
       * Lasso's rate limit, calls a minute per API key (500, as Lasso documents): every
       * function spends one shared budget of it before calling (docs/lasso-api.md).
       */
      callsPerMinute: z
        .number()
        .int()
        .min(MIN_CALLS_PER_MINUTE)
        .max(100_000)
        .default(LASSO_DEFAULT_CALLS_PER_MINUTE),
    }),
    mail: z
      .object({
        /** `rapporter@firma.dk` or `Revisor Firma <rapporter@firma.dk>`: the display name goes into From. */
        sender: mailboxText(),
        replyTo: mailboxText().optional(),
        /**
         * Every mail of the deployment goes to this one address instead of its recipients (the
         * body names them): for a first real run. Failure notices too.
         */
        redirectAllTo: address().optional(),
        /** Where failure notices go for a customer without cc/bcc; default alertEmail. */
        operatorsEmail: address().optional(),
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
      })
      .transform(({ sender, replyTo, ...rest }) => ({
        ...rest,
        /** The bare address: SES's FromEmailAddress and the identity checks. */
        sender: sender.address,
        senderName: sender.name,
        replyTo: replyTo?.address,
        replyToName: replyTo?.name,
      })),
    /** Who the mail is from, as the client reads it: every mail carries it, in its language. */
    firm: z.object({
      name: profileLine(100),
      /** Postal address, one line each (street, postcode and town). */
      address: z.array(profileLine(120)).min(1).max(4),
      cvr: z
        .string()
        .refine(
          (cvr) => checkCvr(cvr).ok,
          "must be the firm's CVR number: 8 digits with a valid check digit",
        ),
      phone: z.optional(profileLine(40)),
      web: z.url({ protocol: /^https$/, error: "must be an https URL such as https://firma.dk" }).optional(),
      /** A PNG, JPEG or GIF file (path from the project root), at most 100 KB, embedded in every mail. */
      logo: z.object({ file: z.string().min(1), alt: z.optional(profileLine(100)) }).optional(),
      da: firmTexts,
      en: firmTexts,
    }),
    webhook: z
      .object({
        /** The header Lasso sends with the webhook secret (authConfig Method "Header"). */
        headerName: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, "an HTTP header name: letters, digits and '-'")
          .default("x-lasso-reports-secret"),
        /**
         * The BasicAuth user name for schedules with `webhookAuth: "BasicAuth"` (authConfig
         * Key; the webhook secret is the password). receive-webhook accepts both methods.
         */
        basicUser: z
          .string()
          .regex(BASIC_USER_PATTERN, "a user name of letters, digits, '.', '_' and '-' (no ':')")
          .default(DEFAULT_WEBHOOK_BASIC_USER),
      })
      .prefault({}),
    /**
     * Hosts PDFs may be fetched from (https only): exact host names, as `lasso-reports status
     * --batch ID` shows them. `*.example.com` covers subdomains, but not over a shared
     * storage or CDN platform (`*.blob.core.windows.net`, `*.s3.amazonaws.com`, ...), where
     * anyone can rent a name, unless {@link allowMultiTenantPdfHostWildcards}.
     */
    pdfHosts: z.array(hostPattern).min(1),
    /**
     * Accept a `pdfHosts` wildcard over a shared platform deliberately (default false): every
     * tenant of that platform could then serve a PDF that gets mailed to a customer.
     */
    allowMultiTenantPdfHostWildcards: z.boolean().default(false),
    schedules: z.array(scheduleSchema),
    /** For the operator CLI: the time zone its readable output shows times in (with the UTC offset). */
    operators: z
      .object({
        timeZone: z
          .string()
          .refine(isTimeZone, "must be an IANA time zone such as Europe/Copenhagen")
          .default("Europe/Copenhagen"),
      })
      .prefault({}),
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
        /** Messages per invocation; the function delivers them in parallel. */
        batchSize: z.number().int().min(1).max(10).default(5),
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        maxReceiveCount: z.number().int().min(1).max(20).default(5),
        /** deliver-report's memory: the PDFs of a whole batch must fit it (see maxPdfBytes). */
        memoryMb: z.number().int().min(256).max(10_240).default(DEFAULT_DELIVER_REPORT_MEMORY_MB),
        /**
         * The largest PDF fetched. batchSize × maxPdfBytes × 3 (the PDF, its base64 copy and
         * the raw message) must stay within 60% of memoryMb (lambdas/shared/pdf-budget.ts).
         */
        maxPdfBytes: z
          .number()
          .int()
          .min(1024)
          .max(200 * 1024 * 1024)
          .default(DEFAULT_MAX_PDF_BYTES),
      })
      .prefault({}),
    /** Who is told when an alarm fires (an SNS e-mail subscription; confirm its first mail). */
    alertEmail: address().optional(),
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
    /** The write-once evidence archive (docs/evidence.md): every mail sent, its PDF, its record. */
    archive: z
      .object({
        /**
         * S3 Object Lock mode. COMPLIANCE: nobody, not even the account's root user, can
         * delete or shorten the retention of an archived mail. GOVERNANCE: a user with
         * s3:BypassGovernanceRetention can (for a trial deployment).
         */
        retentionMode: z.enum(["COMPLIANCE", "GOVERNANCE"]).default("COMPLIANCE"),
        /** How long every archived mail is kept; also the delivery history's retention. Default 5 years. */
        retentionDays: z.number().int().min(1).max(36_500).default(1827),
        /** Archived objects move to S3 Glacier Instant Retrieval after this many days. */
        coldAfterDays: z.number().int().min(30).default(90),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (!config.allowMultiTenantPdfHostWildcards) {
      config.pdfHosts.forEach((pattern, index) => {
        const verdict = judgePdfHostPattern(pattern);
        if (verdict.kind !== "multi-tenant") return;
        ctx.addIssue({
          code: "custom",
          path: ["pdfHosts", index],
          message: `${pattern} covers every tenant of the shared platform ${verdict.suffix}, not only Lasso's: list Lasso's exact PDF host (lasso-reports status --batch ID shows it), or set allowMultiTenantPdfHostWildcards: true to accept this deliberately`,
        });
      });
    }
    const { batchSize, memoryMb, maxPdfBytes } = config.delivery;
    const fitting = maxPdfBytesFor(memoryMb, batchSize);
    if (maxPdfBytes > fitting) {
      ctx.addIssue({
        code: "custom",
        path: ["delivery", "maxPdfBytes"],
        message: `${maxPdfBytes} bytes does not fit deliver-report's memory: ${batchSize} parallel deliveries (delivery.batchSize) × ${PDF_COPIES_IN_MEMORY} copies of a PDF must stay within ${PDF_MEMORY_SHARE * 100}% of ${memoryMb} MB (delivery.memoryMb), so at most ${fitting} bytes; lower maxPdfBytes or batchSize, or raise memoryMb`,
      });
    }
    if (config.stackName.length > MAX_STACK_NAME_FOR_ARCHIVE) {
      ctx.addIssue({
        code: "custom",
        path: ["stackName"],
        message: `at most ${MAX_STACK_NAME_FOR_ARCHIVE} characters: the evidence archive's bucket is named <stackName>-evidence-<account>-<region>, which S3 allows 63 characters`,
      });
    }
    if (config.archive.retentionMode === "COMPLIANCE" && config.archive.retentionDays > 3653) {
      ctx.addIssue({
        code: "custom",
        path: ["archive", "retentionDays"],
        message: `${config.archive.retentionDays} days in COMPLIANCE mode cannot be shortened by anyone once a mail is archived: at most 3653 (10 years) here; 1827 keeps the 5 years the Danish rules ask`,
      });
    }
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
    const logo = config.firm.logo;
    const logoProblem = logo === undefined ? undefined : logoFileProblem(logo.file);
    if (logoProblem !== undefined) {
      ctx.addIssue({ code: "custom", path: ["firm", "logo", "file"], message: logoProblem });
    }
    // Measured only when the rest is valid: a field's own issue names it better.
    const profileBytes = logoProblem === undefined ? profileJsonBytes(config) : 0;
    if (profileBytes > MAX_PROFILE_JSON_BYTES) {
      ctx.addIssue({
        code: "custom",
        path: ["firm"],
        message: `the firm profile takes ${profileBytes} bytes of deliver-report's environment, at most ${MAX_PROFILE_JSON_BYTES} fit Lambda's 4 KB: shorten the footers or signatures`,
      });
    }
    // With an issue inside `mail`, its transform has not run: the sender is not yet its address.
    if (typeof config.mail.sender !== "string") return;
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
