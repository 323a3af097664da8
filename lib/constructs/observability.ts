/**
 * What operators see and what wakes them: one dashboard and the alarms that need a human
 * (docs/operations.md says what each means and what to do), all sent to one encrypted
 * SNS topic with the configured e-mail subscribed.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "#shared/runtime/metrics.ts";
import type { DeployConfig } from "../config/schema.ts";
import { APP_METRICS, appMetric, DELIVERY_FAILED_REASONS } from "../metrics.ts";

export interface ObservabilityProps {
  config: DeployConfig;
  /** Every function, by its folder name. */
  functions: Readonly<Record<string, lambda.IFunction>>;
  reportReadyQueue: sqs.IQueue;
  /** Every dead-letter queue, by a short label. */
  deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
}

const FIVE_MINUTES = Duration.minutes(5);

export class Observability extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config } = props;

    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: a key of our own.
    const topicKey = new kms.Key(this, "AlarmTopicKey", {
      description: "Encrypts the pipeline's alarm topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    topicKey.grant(
      new iam.ServicePrincipal("cloudwatch.amazonaws.com"),
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    );
    this.alarmTopic = new sns.Topic(this, "AlarmTopic", {
      displayName: "Lasso reports: alarms",
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (config.alertEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alertEmail));
    }

    // Dead letters: something was given up on and waits for a human.
    for (const [label, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(
        `${label}DeadLetters`,
        `A message is in the ${label} dead-letter queue: something was given up on. See docs/operations.md#dead-letters.`,
        queue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: FIVE_MINUTES,
        }),
        1,
      );
    }
    this.alarm(
      "ReportReadyBacklog",
      `A report has waited over ${config.alarms.oldestMessageAgeMinutes} minutes for delivery. See docs/operations.md#reportreadybacklog.`,
      props.reportReadyQueue.metricApproximateAgeOfOldestMessage({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: FIVE_MINUTES,
      }),
      config.alarms.oldestMessageAgeMinutes * 60,
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(
        `${pascal(name)}Errors`,
        `The ${name} function failed. See docs/operations.md#function-errors.`,
        fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        1,
      );
    }
    const m = APP_METRICS;
    const metricAlarms: [string, string, cloudwatch.IMetric, number][] = [
      [
        "BatchFinishedWithErrors",
        "Lasso finished a batch with errors.",
        appMetric(m.batchFinishedWithErrors),
        1,
      ],
      [
        "ReportFailed",
        "Lasso could not make a report; it went to operators, not the customer.",
        appMetric(m.reportFailed),
        1,
      ],
      [
        "BatchStalled",
        `A batch made no progress for ${config.poll.stalledAfterMinutes} minutes.`,
        appMetric(m.batchStalled),
        1,
      ],
      [
        "BatchUnknownToLasso",
        "Lasso answers 404 for a batch we submitted.",
        appMetric(m.batchUnknownToLasso),
        1,
      ],
      [
        "BatchIncomplete",
        "A batch closed with fewer finished reports than its size.",
        appMetric(m.batchIncomplete),
        1,
      ],
      [
        "ReportsNotHandedOn",
        "Finished reports could not be put on the queue (retried every poll).",
        appMetric(m.reportsNotHandedOn),
        1,
      ],
      [
        "BatchPollErrors",
        "Polling a batch failed (Lasso 5xx after retries, DynamoDB).",
        appMetric(m.batchPollErrors),
        1,
      ],
      [
        "LassoUnauthorized",
        "Lasso refused the API key: set it in Secrets Manager.",
        appMetric(m.lassoUnauthorized),
        1,
      ],
      [
        "ReportUnroutable",
        "A finished report matches no customer with a valid e-mail.",
        appMetric(m.reportUnroutable),
        1,
      ],
      [
        "WebhookUnverified",
        "A webhook named a report our records or Lasso's API do not confirm: mailed to nobody (forged, replayed or misaddressed).",
        appMetric(m.webhookUnverified),
        1,
      ],
      [
        "DeliveryFailed",
        "A report could not be delivered and was recorded as failed.",
        deliveryFailed(FIVE_MINUTES),
        1,
      ],
      ["BatchRejected", "Lasso refused to create a batch of a run.", appMetric(m.batchRejected), 1],
      [
        "WebhookUnauthorizedBurst",
        `At least ${config.alarms.webhookUnauthorizedBurst} webhook calls in 5 minutes had a wrong or missing secret.`,
        appMetric(m.webhookRefused, { dimensions: { reason: "auth" } }),
        config.alarms.webhookUnauthorizedBurst,
      ],
      [
        "WebhookFailed",
        "The webhook answered 5xx (queue or secret unavailable); Lasso retries.",
        appMetric(m.webhookFailed),
        1,
      ],
      [
        "MailBounced",
        "A recipient's address bounced permanently; it is skipped until fixed.",
        appMetric(m.mailBounced),
        1,
      ],
      [
        "MailComplained",
        "A recipient marked a report mail as spam; the address is skipped.",
        appMetric(m.mailComplained),
        1,
      ],
      ["MailRejected", "SES rejected a report mail.", appMetric(m.mailRejected), 1],
      [
        "ScheduleRefused",
        "A schedule item was refused; EventBridge Scheduler still runs the schedule as it was. See docs/operations.md#schedulerefused.",
        appMetric(m.scheduleRefused),
        1,
      ],
    ];
    for (const [alarmId, description, metric, threshold] of metricAlarms) {
      this.alarm(
        alarmId,
        `${description} See docs/operations.md#${alarmId.toLowerCase()}.`,
        metric,
        threshold,
      );
    }

    // The poller emits OpenBatches on every run: silence means it is not running at all.
    const pollPeriod = Duration.minutes(Math.max(5, config.poll.rateMinutes));
    this.alarm(
      "PollerSilent",
      "poll-batches has not completed a poll for three periods. See docs/operations.md#pollersilent.",
      appMetric(m.openBatches, { statistic: cloudwatch.Stats.SAMPLE_COUNT, period: pollPeriod }),
      1,
      {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        evaluationPeriods: 3,
      },
    );

    this.dashboard = this.buildDashboard(props);
  }

  private alarm(
    id: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    overrides: Partial<
      Pick<cloudwatch.AlarmProps, "comparisonOperator" | "treatMissingData" | "evaluationPeriods">
    > = {},
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means nothing happened: no report failed, no message waits.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...overrides,
    });
    const action = new cloudwatchActions.SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }

  private buildDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.days(7),
    });
    const hourly = Duration.hours(1);
    const graph = (title: string, metrics: cloudwatch.IMetric[], width = 8): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left: metrics, width, height: 6 });

    const m = APP_METRICS;
    dashboard.addWidgets(
      graph("Runs and batches submitted", [
        appMetric(m.runSubmitted, { period: hourly, label: "runs" }),
        appMetric(m.batchSubmitted, { period: hourly, label: "batches" }),
        appMetric(m.customerSkipped, { period: hourly, label: "customers skipped" }),
      ]),
      graph("Batches open", [
        appMetric(m.openBatches, { statistic: cloudwatch.Stats.MAXIMUM, label: "open batches" }),
      ]),
      graph("Webhooks (doorbells) and reports handed on", [
        appMetric(m.webhookAccepted, { period: hourly, label: "webhooks accepted" }),
        appMetric(m.doorbellRead, { period: hourly, label: "batch reads rung by webhooks" }),
        appMetric(m.reportsHandedOn, { period: hourly, label: "handed on by the poller" }),
      ]),
    );
    dashboard.addWidgets(
      graph("Mails sent and duplicates skipped", [
        appMetric(m.reportDelivered, { period: hourly, label: "delivered" }),
        appMetric(m.duplicateSkipped, { period: hourly, label: "duplicates skipped" }),
      ]),
      graph("Unroutable and failures", [
        appMetric(m.reportUnroutable, { period: hourly, label: "unroutable" }),
        appMetric(m.webhookUnverified, { period: hourly, label: "webhook unverified" }),
        deliveryFailed(hourly),
        appMetric(m.reportFailed, { period: hourly, label: "Lasso: report failed" }),
        appMetric(m.batchFinishedWithErrors, { period: hourly, label: "Lasso: batch with errors" }),
        appMetric(m.batchStalled, { period: hourly, label: "batch stalled" }),
        appMetric(m.batchPollErrors, { period: hourly, label: "poll errors" }),
      ]),
      graph("Bounces, complaints, rejects", [
        appMetric(m.mailBounced, { period: hourly, label: "bounced" }),
        appMetric(m.mailComplained, { period: hourly, label: "complaints" }),
        appMetric(m.mailRejected, { period: hourly, label: "rejected" }),
        appMetric(m.recipientSuppressed, { period: hourly, label: "recipients skipped (suppressed)" }),
      ]),
      graph("Proof of delivery (recipients)", [
        appMetric(m.mailDelivered, { period: hourly, label: "delivered" }),
        appMetric(m.mailDelayed, { period: hourly, label: "delayed" }),
        appMetric(m.sesEventUnmatched, { period: hourly, label: "SES events without a delivery record" }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        "Dead-letter queue depth",
        Object.entries(props.deadLetterQueues).map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label }),
        ),
      ),
      graph("Report-ready queue: oldest message age (s)", [
        props.reportReadyQueue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM }),
      ]),
      graph("Webhook calls refused, by reason", [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRICS_NAMESPACE},reason,service} MetricName="${m.webhookRefused.name}"', 'Sum', 300)`,
          label: "",
          period: FIVE_MINUTES,
        }),
      ]),
    );
    const functions = Object.entries(props.functions);
    dashboard.addWidgets(
      graph(
        "Lambda errors",
        functions.map(([name, fn]) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM, label: name })),
        12,
      ),
      graph(
        "Lambda duration p99 (ms)",
        functions.map(([name, fn]) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99), label: name })),
        12,
      ),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24, height: 4 }),
    );
    return dashboard;
  }
}

/** DeliveryFailed is only emitted with a `reason`: the alarm and the graph add the reasons up. */
function deliveryFailed(period: Duration): cloudwatch.MathExpression {
  const usingMetrics = Object.fromEntries(
    DELIVERY_FAILED_REASONS.map((reason, index) => [
      `r${index}`,
      appMetric(APP_METRICS.deliveryFailed, { period, dimensions: { reason } }),
    ]),
  );
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((name) => `FILL(${name}, 0)`)
      .join(" + "),
    usingMetrics,
    period,
    label: "delivery failed",
  });
}

function pascal(name: string): string {
  return name
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
