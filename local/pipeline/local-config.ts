/**
 * The embedded defaults of local mode: the schedules `npm start` fires and the settings
 * the stack would take from the deploy config. Validated by the same schema as a
 * deployment's schedules.
 */
import { type ScheduleConfig, scheduleSchema } from "#lib/config/schema.ts";
import type { ReportType } from "#shared/lasso/enums.ts";

export const DEMO_GROUP = "demo";

/** Two schedules, two report types: every demo customer gets both reports. */
export const LOCAL_SCHEDULES: ScheduleConfig[] = [
  {
    name: "demo-revision",
    cron: "cron(0 6 1 * ? *)",
    timeZone: "Europe/Copenhagen",
    reportType: "Revision",
    group: DEMO_GROUP,
    format: "{cvr}-{name}-{type}-{rundate}",
    errorAppend: "#fejl",
  },
  {
    name: "demo-finans",
    cron: "cron(0 7 1 */3 ? *)",
    timeZone: "Europe/Copenhagen",
    reportType: "Finans",
    group: DEMO_GROUP,
    format: "{cvr}-{name}-{type}-{balanceday}",
    errorAppend: "#fejl",
  },
].map((schedule) => scheduleSchema.parse(schedule));

export const DEMO_REPORT_TYPES: ReportType[] = [
  ...new Set(LOCAL_SCHEDULES.map((schedule) => schedule.reportType)),
];

/** One schedule per (group, report type) found in a customer file: each customer gets each type it asks for. */
export function schedulesForCustomers(
  wanted: readonly { group: string; reportType: ReportType }[],
): ScheduleConfig[] {
  const schedules = new Map<string, ScheduleConfig>();
  for (const { group, reportType } of wanted) {
    const key = JSON.stringify([group, reportType]);
    if (schedules.has(key)) continue;
    schedules.set(
      key,
      scheduleSchema.parse({
        name: `customers-${schedules.size + 1}-${reportType}`,
        cron: "cron(0 6 1 * ? *)",
        timeZone: "Europe/Copenhagen",
        reportType,
        group,
      }),
    );
  }
  return [...schedules.values()];
}

/** The local runner's settings that a deployment takes from the deploy config. */
export const LOCAL_SETTINGS = {
  /** Messages per deliver-report invocation and invocations at once. */
  deliveryBatchSize: 5,
  deliveryConcurrency: 4,
  maxReceiveCount: 5,
  /** The deliver-report timeout; the queue's visibility timeout is 6 times it. */
  deliveryTimeoutSeconds: 30,
  /** How often the poller runs locally (a deployment: minutes). */
  pollIntervalMs: 1500,
  chunkSize: 1000,
  /**
   * The local SES keeps this many of the newest mails whole; older ones keep their headers
   * and attachment names (the archive keeps every message): a run's memory then stops
   * growing by a mail's bodies and PDF with every report (issue 15).
   */
  sentMailsKeptWhole: 2000,
} as const;
