/**
 * The stateless half: the six functions with exactly the permissions each uses, the
 * webhook's Function URL, the schedules, SES sending and its event path, the dashboard
 * and the alarms. Everything here can be replaced by a redeploy without losing data; the
 * small dead-letter queues of the scheduler and of the SES event path live here, beside
 * the resources that write to them (a rule's DLQ needs a queue policy naming the rule).
 */
import * as path from "node:path";
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { ENV } from "#shared/env-names.ts";
import { LASSO_BUDGET_KEY } from "#shared/lasso/call-budget.ts";
import type { CustomersIndexName, StateIndexName } from "#shared/tables.ts";
import { logoBundleName, mailProfileJson } from "./config/mail-profile.ts";
import type { DeployConfig } from "./config/schema.ts";
import { archiveBucketName, grantArchiveWrite } from "./constructs/evidence-archive.ts";
import { Mail } from "./constructs/mail.ts";
import { Observability } from "./constructs/observability.ts";
import {
  grantBudgetItem,
  grantQueueDepth,
  grantSecretValue,
  grantSend,
  grantTable,
} from "./constructs/permissions.ts";
import { ReportFunction } from "./constructs/report-function.ts";
import { ReportSchedules } from "./constructs/report-schedules.ts";
import { Schedules } from "./constructs/schedules.ts";
import { acknowledge, acknowledgeInvokeOfVersions } from "./nag.ts";
import { DELIVER_TIMEOUT, DLQ_RETENTION } from "./stateful-stack.ts";

/** What the stateless stack needs from the stateful one. */
export interface StatefulResources {
  customersTable: dynamodb.ITable;
  stateTable: dynamodb.ITable;
  /** The report schedules, with a stream (keys only) that drives sync-schedules. */
  schedulesTable: dynamodb.ITable;
  /** The shared Lasso call budget (one item). */
  lassoBudgetTable: dynamodb.ITable;
  reportReadyQueue: sqs.IQueue;
  reportReadyDlq: sqs.IQueue;
  lassoApiKeySecret: secretsmanager.ISecret;
  webhookSecret: secretsmanager.ISecret;
  /** The evidence archive's KMS key (its bucket is named by `archiveBucketName`). */
  archiveKey: kms.IKey;
}

export interface StatelessStackProps extends StackProps {
  config: DeployConfig;
  stateful: StatefulResources;
}

// Typed by lambdas/shared/tables.ts: a renamed index is a compile error here.
const CUSTOMERS_BY_GROUP: CustomersIndexName = "byGroup";
const CUSTOMERS_BY_CVR: CustomersIndexName = "byCvr";
const OPEN_BATCHES_INDEX: StateIndexName = "openBatches";

/**
 * Receives of a webhook's ring before it leaves the batch to the poller: below the queue's
 * maxReceiveCount, so a deferred ring never reaches the dead-letter queue (at most 3).
 */
export function ringMaxReceivesFor(maxReceiveCount: number): number {
  return Math.max(1, Math.min(3, maxReceiveCount - 1));
}

export class StatelessStack extends Stack {
  readonly submitBatches: ReportFunction;
  readonly pollBatches: ReportFunction;
  readonly receiveWebhook: ReportFunction;
  readonly deliverReport: ReportFunction;
  readonly recordSesEvent: ReportFunction;
  readonly webhookUrl: lambda.FunctionUrl;
  readonly scheduledRunsDlq: sqs.Queue;
  readonly sesEventsDlq: sqs.Queue;
  readonly scheduleSyncDlq: sqs.Queue;
  readonly mail: Mail;
  readonly schedules: Schedules;
  readonly reportSchedules: ReportSchedules;
  readonly syncSchedules: ReportFunction;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, stateful } = props;
    const logRetention = config.retention.logDays as logs.RetentionDays;

    const dlq = (queueId: string, feeders: string): sqs.Queue => {
      const queue = new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DLQ_RETENTION,
      });
      acknowledge(
        queue,
        "AwsSolutions-SQS3",
        `This queue is itself a dead-letter queue (of ${feeders}); cdk-nag only recognises SQS redrive DLQs.`,
      );
      return queue;
    };
    this.scheduledRunsDlq = dlq("ScheduledRunsDlq", "the schedules and submit-batches' failed async runs");
    this.sesEventsDlq = dlq("SesEventsDlq", "the SES events rule target and record-ses-event's failed runs");
    this.scheduleSyncDlq = dlq("ScheduleSyncDlq", "sync-schedules' stream batches it gave up on");

    const stateEnv = {
      [ENV.stateTable]: stateful.stateTable.tableName,
      [ENV.stateRetentionDays]: String(config.retention.stateDays),
    };
    const lassoEnv = {
      [ENV.lassoBaseUrl]: config.lasso.baseUrl,
      [ENV.lassoApiKeySecretId]: stateful.lassoApiKeySecret.secretArn,
      [ENV.lassoRequestTimeoutMs]: String(config.lasso.requestTimeoutMs),
      [ENV.lassoCallsPerMinute]: String(config.lasso.callsPerMinute),
      [ENV.lassoBudgetTable]: stateful.lassoBudgetTable.tableName,
    };

    // receive-webhook: Function URL in, report-ready queue out.
    this.receiveWebhook = new ReportFunction(this, "ReceiveWebhook", {
      folder: "receive-webhook",
      description: "Lasso webhook: authenticates the secret (header or BasicAuth), enqueues the report",
      timeout: Duration.seconds(10),
      environment: {
        [ENV.webhookSecretId]: stateful.webhookSecret.secretArn,
        [ENV.webhookHeaderName]: config.webhook.headerName,
        [ENV.webhookBasicUser]: config.webhook.basicUser,
        [ENV.reportReadyQueueUrl]: stateful.reportReadyQueue.queueUrl,
      },
      logRetention,
    });
    grantSecretValue(this.receiveWebhook, stateful.webhookSecret);
    grantSend(this.receiveWebhook, stateful.reportReadyQueue);
    // Lasso cannot sign requests with AWS credentials: the header secret is the authentication.
    this.webhookUrl = this.receiveWebhook.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    // submit-batches: one invocation per schedule firing.
    this.submitBatches = new ReportFunction(this, "SubmitBatches", {
      folder: "submit-batches",
      description: "Submits a schedule's customers to Lasso as batches, once per scheduled time",
      timeout: Duration.minutes(5),
      memorySize: 512,
      environment: {
        [ENV.customersTable]: stateful.customersTable.tableName,
        ...stateEnv,
        ...lassoEnv,
        [ENV.webhookSecretId]: stateful.webhookSecret.secretArn,
        [ENV.webhookHeaderName]: config.webhook.headerName,
        [ENV.webhookBasicUser]: config.webhook.basicUser,
        [ENV.webhookUrl]: this.webhookUrl.url,
        [ENV.chunkSize]: String(config.submission.chunkSize),
        [ENV.defaultLanguage]: config.mail.defaultLanguage,
      },
      logRetention,
    });
    // Customers of a group by index, and one filtered scan per run for rows stored with a
    // group that is not normalised ("default "): skipped with a reason, never silently.
    grantTable(this.submitBatches, stateful.customersTable, ["dynamodb:Scan"], [CUSTOMERS_BY_GROUP]);
    // Runs, chunks (queried by run), batches; listener coverage read in batches of keys.
    grantTable(this.submitBatches, stateful.stateTable, [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:BatchGetItem",
    ]);
    grantSecretValue(this.submitBatches, stateful.lassoApiKeySecret);
    grantBudgetItem(this.submitBatches, stateful.lassoBudgetTable, LASSO_BUDGET_KEY);
    grantSecretValue(this.submitBatches, stateful.webhookSecret);
    // A run that failed all of Lambda's retries is kept, not dropped: it is a missed report run.
    this.submitBatches.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.scheduledRunsDlq),
    });

    // poll-batches: the reconciliation that never misses a report.
    this.pollBatches = new ReportFunction(this, "PollBatches", {
      folder: "poll-batches",
      description: "Reconciles open Lasso batches and enqueues every finished report not yet handed on",
      timeout: Duration.seconds(Math.min(300, config.poll.rateMinutes * 60)),
      memorySize: 512,
      environment: {
        ...stateEnv,
        ...lassoEnv,
        [ENV.reportReadyQueueUrl]: stateful.reportReadyQueue.queueUrl,
        [ENV.stalledAfterMinutes]: String(config.poll.stalledAfterMinutes),
      },
      logRetention,
    });
    // Batches (updated in place); report hand-off records (created, or marked; read in
    // batches of keys); listener coverage (deleted when a listener batch closes).
    grantTable(
      this.pollBatches,
      stateful.stateTable,
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
      ],
      [OPEN_BATCHES_INDEX],
    );
    grantSend(this.pollBatches, stateful.reportReadyQueue);
    grantQueueDepth(this.pollBatches, stateful.reportReadyQueue);
    grantSecretValue(this.pollBatches, stateful.lassoApiKeySecret);
    grantBudgetItem(this.pollBatches, stateful.lassoBudgetTable, LASSO_BUDGET_KEY);
    // The next poll does the same work: a failed poll is not worth keeping.
    this.pollBatches.configureAsyncInvoke({ retryAttempts: 0 });

    // SES: identity, configuration set, and the bounce/complaint path.
    this.mail = new Mail(this, "Mail", { mail: config.mail });

    // deliver-report: report-ready queue in, SES out.
    this.deliverReport = new ReportFunction(this, "DeliverReport", {
      folder: "deliver-report",
      description: "Claims a finished report, routes it to its customer, fetches the PDF and mails it",
      timeout: DELIVER_TIMEOUT,
      memorySize: config.delivery.memoryMb,
      environment: {
        ...stateEnv,
        [ENV.customersTable]: stateful.customersTable.tableName,
        [ENV.mailSender]: config.mail.sender,
        // The firm (display name, reply-to, signature, footer, logo's name in the bundle), redirect.
        [ENV.mailProfile]: mailProfileJson(config),
        [ENV.defaultLanguage]: config.mail.defaultLanguage,
        [ENV.sesConfigurationSet]: this.mail.configurationSet.configurationSetName,
        [ENV.pdfAllowedHosts]: config.pdfHosts.join(","),
        [ENV.maxPdfBytes]: String(config.delivery.maxPdfBytes),
        // Its parallelism: the cold start checks that a batch of PDFs fits the memory.
        [ENV.deliveryBatchSize]: String(config.delivery.batchSize),
        // Its own queue: a retry the other side timed (retry-after) is deferred by
        // ChangeMessageVisibility, which the event source's grant already allows.
        [ENV.reportReadyQueueUrl]: stateful.reportReadyQueue.queueUrl,
        // A webhook's ring reconciles its batch as the poller does, with the poller's verdicts;
        // it adopts a batch made elsewhere only if Lasso notifies exactly this webhook; and it
        // gives up before the queue would dead-letter it.
        [ENV.stalledAfterMinutes]: String(config.poll.stalledAfterMinutes),
        [ENV.webhookUrl]: this.webhookUrl.url,
        [ENV.ringMaxReceives]: String(ringMaxReceivesFor(config.delivery.maxReceiveCount)),
        [ENV.archiveBucket]: archiveBucketName(config.stackName),
        [ENV.archiveRetentionDays]: String(config.archive.retentionDays),
        ...lassoEnv,
      },
      logRetention,
      // The logo, read at synth from the deploy config's file, travels in the bundle.
      bundleFiles:
        config.firm.logo === undefined
          ? []
          : [{ from: path.resolve(config.firm.logo.file), to: logoBundleName(config.firm.logo.file) }],
    });
    // Report records (claim, deliver), batch manifests, suppressions; and for a webhook's
    // ring what the poller writes: batches adopted or updated, hand-off records created or
    // marked (read in batches of keys), listener coverage released, unverified hints.
    grantTable(this.deliverReport, stateful.stateTable, [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:BatchGetItem",
      "dynamodb:DeleteItem",
    ]);
    // A ring hands Lasso's finished reports on to the queue it consumes.
    grantSend(this.deliverReport, stateful.reportReadyQueue);
    grantTable(this.deliverReport, stateful.customersTable, ["dynamodb:GetItem"], [CUSTOMERS_BY_CVR]);
    this.mail.grantSendEmail(this.deliverReport);
    // Writes each mail's evidence before sending it; the only writer of the archive.
    grantArchiveWrite(this.deliverReport, archiveBucketName(config.stackName), stateful.archiveKey);
    // Asks Lasso about a batch or its items only when a message and the state lack them.
    grantSecretValue(this.deliverReport, stateful.lassoApiKeySecret);
    grantBudgetItem(this.deliverReport, stateful.lassoBudgetTable, LASSO_BUDGET_KEY);
    this.deliverReport.addEventSource(
      new SqsEventSource(stateful.reportReadyQueue, {
        batchSize: config.delivery.batchSize,
        maxConcurrency: config.delivery.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    // record-ses-event: every outcome per recipient goes onto the mail's delivery record
    // (UpdateItem; GetItem only to tell a redelivered event from a missing record);
    // bounces and complaints also become suppressions the delivery honours.
    this.recordSesEvent = new ReportFunction(this, "RecordSesEvent", {
      folder: "record-ses-event",
      description:
        "Records SES deliveries, delays, bounces, complaints and rejects on the delivery history; suppresses bounced addresses",
      timeout: Duration.seconds(30),
      environment: { ...stateEnv },
      logRetention,
    });
    grantTable(this.recordSesEvent, stateful.stateTable, ["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    this.recordSesEvent.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new destinations.SqsDestination(this.sesEventsDlq),
    });
    this.mail.routeEventsTo(this.recordSesEvent, this.sesEventsDlq);

    this.schedules = new Schedules(this, "Schedules", {
      config,
      pollFunction: this.pollBatches,
      deadLetterQueue: this.scheduledRunsDlq,
    });
    acknowledgeInvokeOfVersions(this, this.pollBatches, "the poll schedule's role");

    // The report schedules: data in the schedules table, applied by sync-schedules.
    this.reportSchedules = new ReportSchedules(this, "ReportSchedules", {
      config,
      schedulesTable: stateful.schedulesTable,
      stateEnv,
      stateTable: stateful.stateTable,
      submitFunction: this.submitBatches,
      scheduledRunsDlq: this.scheduledRunsDlq,
      syncDlq: this.scheduleSyncDlq,
      logRetention,
    });
    this.syncSchedules = this.reportSchedules.syncFunction;

    this.observability = new Observability(this, "Observability", {
      config,
      functions: {
        "submit-batches": this.submitBatches,
        "poll-batches": this.pollBatches,
        "receive-webhook": this.receiveWebhook,
        "deliver-report": this.deliverReport,
        "record-ses-event": this.recordSesEvent,
        "sync-schedules": this.syncSchedules,
      },
      reportReadyQueue: stateful.reportReadyQueue,
      deadLetterQueues: {
        ReportReady: stateful.reportReadyDlq,
        ScheduledRuns: this.scheduledRunsDlq,
        SesEvents: this.sesEventsDlq,
        ScheduleSync: this.scheduleSyncDlq,
      },
    });

    new CfnOutput(this, "WebhookUrl", {
      value: this.webhookUrl.url,
      description: `The receive-webhook Function URL (Lasso sends header ${config.webhook.headerName})`,
    });
    for (const [outputId, fn] of [
      ["SubmitBatchesFunctionName", this.submitBatches],
      ["PollBatchesFunctionName", this.pollBatches],
      ["ReceiveWebhookFunctionName", this.receiveWebhook],
      ["DeliverReportFunctionName", this.deliverReport],
      ["RecordSesEventFunctionName", this.recordSesEvent],
      ["SyncSchedulesFunctionName", this.syncSchedules],
    ] as const) {
      new CfnOutput(this, outputId, { value: fn.functionName });
    }
    new CfnOutput(this, "ScheduleGroupName", {
      value: this.reportSchedules.group.scheduleGroupName,
      description:
        "The report schedules' EventBridge Scheduler group (aws scheduler list-schedules --group-name ...)",
    });
    new CfnOutput(this, "ScheduledRunsDlqName", { value: this.scheduledRunsDlq.queueName });
    new CfnOutput(this, "SesEventsDlqName", { value: this.sesEventsDlq.queueName });
    new CfnOutput(this, "ScheduleSyncDlqName", { value: this.scheduleSyncDlq.queueName });
    new CfnOutput(this, "SesConfigurationSetName", {
      value: this.mail.configurationSet.configurationSetName,
    });
    new CfnOutput(this, "AlarmTopicArn", { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, "DashboardName", { value: this.observability.dashboard.dashboardName });
  }
}
