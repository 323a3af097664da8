/**
 * The custom metrics the dashboard shows and the alarms watch. The functions emit them
 * with Powertools Metrics (EMF) into one namespace; Powertools adds the `service`
 * dimension (the function's folder name), so a metric is identified here by the service
 * that emits it. test/infra checks that each name is emitted by that function's code.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { METRICS_NAMESPACE } from "#shared/runtime/metrics.ts";

export interface AppMetricDefinition {
  /** The emitting function's folder under lambdas/ (Powertools' `service` dimension). */
  service: string;
  name: string;
}

const metric = (service: string, name: string): AppMetricDefinition => ({ service, name });

export const APP_METRICS = {
  // submit-batches
  runSubmitted: metric("submit-batches", "RunSubmitted"),
  batchSubmitted: metric("submit-batches", "BatchSubmitted"),
  customerSkipped: metric("submit-batches", "CustomerSkipped"),
  // poll-batches (lambdas/poll-batches/metrics.ts): emitted on every poll, zeros included
  batchFinishedWithErrors: metric("poll-batches", "BatchFinishedWithErrors"),
  reportFailed: metric("poll-batches", "ReportFailed"),
  batchStalled: metric("poll-batches", "BatchStalled"),
  batchUnknownToLasso: metric("poll-batches", "BatchUnknownToLasso"),
  batchIncomplete: metric("poll-batches", "BatchIncomplete"),
  reportsNotHandedOn: metric("poll-batches", "ReportsNotHandedOn"),
  batchPollErrors: metric("poll-batches", "BatchPollErrors"),
  lassoUnauthorized: metric("poll-batches", "LassoUnauthorized"),
  reportsHandedOn: metric("poll-batches", "ReportsHandedOn"),
  openBatches: metric("poll-batches", "OpenBatches"),
  lassoRateLimited: metric("poll-batches", "LassoRateLimited"),
  // receive-webhook (lambdas/receive-webhook/receive-webhook.ts)
  webhookReceived: metric("receive-webhook", "WebhookReceived"),
  webhookAccepted: metric("receive-webhook", "WebhookAccepted"),
  /** Dimension `reason`: method, auth, too-large, bad-json, unroutable. */
  webhookRefused: metric("receive-webhook", "WebhookRefused"),
  webhookFailed: metric("receive-webhook", "WebhookFailed"),
  // deliver-report
  reportDelivered: metric("deliver-report", "ReportDelivered"),
  duplicateSkipped: metric("deliver-report", "DuplicateSkipped"),
  reportUnroutable: metric("deliver-report", "ReportUnroutable"),
  /** A webhook our records or Lasso's API contradict (deliver-report/doorbell.ts). */
  webhookUnverified: metric("deliver-report", "WebhookUnverified"),
  doorbellRead: metric("deliver-report", "DoorbellRead"),
  /** Always with dimension `reason`: see DELIVERY_FAILED_REASONS. */
  deliveryFailed: metric("deliver-report", "DeliveryFailed"),
  batchRejected: metric("submit-batches", "BatchRejected"),
  recipientSuppressed: metric("deliver-report", "RecipientSuppressed"),
  // record-ses-event (lambdas/record-ses-event/record-ses-event.ts)
  mailBounced: metric("record-ses-event", "MailBounced"),
  mailComplained: metric("record-ses-event", "MailComplained"),
  mailRejected: metric("record-ses-event", "MailRejected"),
  mailDelivered: metric("record-ses-event", "MailDelivered"),
  mailDelayed: metric("record-ses-event", "MailDelayed"),
  /** Dimension `reason`: untagged (a mail sent before the delivery tags), missing (no such record). */
  sesEventUnmatched: metric("record-ses-event", "SesEventUnmatched"),
  // sync-schedules (lambdas/sync-schedules/sync-schedule.ts)
  /** A schedule item the schema or Scheduler refused: the running schedule stayed as it was. */
  scheduleRefused: metric("sync-schedules", "ScheduleRefused"),
  /** Dimension `outcome`: created, updated, unchanged, deleted. */
  scheduleSynced: metric("sync-schedules", "ScheduleSynced"),
} as const satisfies Record<string, AppMetricDefinition>;

/** The `reason` values deliver-report gives DeliveryFailed (lambdas/deliver-report/deliver-report.ts). */
export const DELIVERY_FAILED_REASONS = [
  "lasso-failed",
  "no-pdf-link",
  "pdf-refused",
  "ses-rejected",
] as const;

export interface AppMetricOptions {
  statistic?: string;
  period?: Duration;
  dimensions?: Record<string, string>;
  label?: string;
}

export function appMetric(
  definition: AppMetricDefinition,
  options: AppMetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: definition.name,
    dimensionsMap: { service: definition.service, ...options.dimensions },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    ...(options.label ? { label: options.label } : {}),
  });
}
