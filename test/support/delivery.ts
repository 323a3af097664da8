/**
 * The delivery path on top of the test pipeline (pipeline.ts): receive-webhook served as a
 * Function URL over real HTTP, deliver-report fed by the report-ready queue through the
 * local SQS event source, both built with the production wiring from settings read from
 * the function environment; and helpers to submit batches to the simulator, record them
 * as submit-batches would, and read what aws-ses-v2-local received.
 */

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { type DeliverReportSettings, readDeliverReportSettings } from "#lambdas/deliver-report/config.ts";
import {
  buildDeliverReportWiring,
  createDeliverReportHandler,
  type DeliverReportWiring,
} from "#lambdas/deliver-report/lambda.ts";
import { pollOpenBatches } from "#lambdas/poll-batches/poll.ts";
import { readReceiveWebhookConfig } from "#lambdas/receive-webhook/config.ts";
import { createReceiveWebhookHandler } from "#lambdas/receive-webhook/lambda.ts";
import { demoMailProfileJson } from "#local/aws/demo-firm.ts";
import type { StoredMail } from "#local/aws/sent-mails.ts";
import { type FunctionUrlServer, serveFunctionUrl } from "#local/pipeline/function-url-server.ts";
import {
  type SqsEventSource,
  type SqsEventSourceOptions,
  startSqsEventSource,
} from "#local/pipeline/sqs-event-source.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { readQueueDepth } from "#shared/queue-depth.ts";
import { reportIdentity } from "#shared/report-ready.ts";
import { silentLog } from "#shared/runtime/log.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import { rotatingSecret } from "#shared/secrets.ts";
import { type NewBatchRecord, putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey } from "#shared/state/keys.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import { expiresAt } from "#shared/state/state-table.ts";
import type { Pipeline } from "./pipeline.ts";

export type { StoredMail } from "#local/aws/sent-mails.ts";

export const SENDER = "rapporter@revisor.example.dk";
/** The From header the tests' mails carry: the demo firm's display name and the tests' sender. */
export const FROM_HEADER = `"Demo Revision" <${SENDER}>`;

/** A mail's PDF (the firm's logo is an attachment too, inline in the HTML). */
export function pdfOf(mail: StoredMail | undefined): StoredMail["attachments"][number] | undefined {
  return mail?.attachments.find((attachment) => attachment.contentType === "application/pdf");
}
export const REPLY_TO = "support@revisor.example.dk";

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Metrics that neither print EMF nor warn when a test counter takes the counts. */
export const silentMetrics = (): Metrics => new Metrics({ namespace: "LassoReportsTest", logger: quiet });
export const testLogger = (serviceName: string): Logger =>
  new Logger({ serviceName, logLevel: process.env.TEST_LOG_LEVEL === undefined ? "SILENT" : "DEBUG" });

export interface DeliveryRigOptions {
  /** Extra deliver-report environment (PDF_*, MAX_*...). */
  deliverEnv?: Record<string, string>;
  /** Event source tuning (batch size, concurrency, function timeout). */
  eventSource?: Partial<Omit<SqsEventSourceOptions, "sqs" | "queueUrl" | "handler">>;
  /** Replaces parts of the production wiring (a fault-injecting port, say). */
  wiring?: Partial<DeliverReportWiring>;
}

export interface DeliveryRig {
  /** receive-webhook, served as a Function URL: give `url` to Lasso. */
  webhook: { server: FunctionUrlServer; url: string; counter: RecordingCounter };
  deliver: {
    counter: RecordingCounter;
    settings: DeliverReportSettings;
    wiring: DeliverReportWiring;
    handler: ReturnType<typeof createDeliverReportHandler>;
  };
  /** Starts feeding a queue (default: the report-ready queue) to deliver-report; stop it after. */
  startDelivery(
    queueUrl?: string,
    overrides?: Partial<Omit<SqsEventSourceOptions, "sqs" | "queueUrl" | "handler">>,
  ): Promise<SqsEventSource>;
  ses: SESv2Client;
  sentMails(): Promise<StoredMail[]>;
  clearMails(): Promise<void>;
  /** Creates a batch in the simulator with our webhook and records it like submit-batches. */
  submitBatch(options: SubmitOptions): Promise<{ batch: LassoBatch; record?: NewBatchRecord }>;
  /** A record like submit-batches writes (manifest included), for a batch made elsewhere. */
  recordBatch(
    batch: LassoBatch,
    customers: readonly { customerId: number; cvr: string }[],
  ): Promise<NewBatchRecord>;
  /** The report record of a (non-listener) batch's report. */
  report(batchId: string, cvr: string, reportType?: ReportType): Promise<ReportRecord | undefined>;
  /** A second queue with a short visibility timeout and a DLQ, for retry tests. */
  createQueueWithDlq(
    name: string,
    options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
  ): Promise<{
    queueUrl: string;
    dlqUrl: string;
  }>;
  messagesIn(queueUrl: string): Promise<number>;
  close(): Promise<void>;
}

export interface SubmitOptions {
  customers: readonly { customerId: number; cvr: string }[];
  reportType?: ReportType;
  /** Send Lasso our webhook URL (default true). */
  webhook?: boolean;
  errorAppend?: string;
  /** Record the batch in the state table (default true). */
  record?: boolean;
}

export async function startDeliveryRig(
  pipeline: Pipeline,
  options: DeliveryRigOptions = {},
): Promise<DeliveryRig> {
  const simHost = new URL(pipeline.sim.baseUrl).host;
  const env: NodeJS.ProcessEnv = {
    ...pipeline.functionEnv,
    MAIL_SENDER: SENDER,
    // No operators' address: a failed report tells only an accountant the customer names (cc/bcc).
    MAIL_PROFILE: demoMailProfileJson({ sender: SENDER, replyTo: REPLY_TO, operatorsEmail: null }),
    PDF_ALLOWED_HOSTS: simHost,
    PDF_ALLOW_HTTP: "true",
    PDF_TIMEOUT_MS: "10000",
    ...options.deliverEnv,
  };

  const webhookCounter = new RecordingCounter();
  const webhookConfig = readReceiveWebhookConfig(env);
  const webhookHandler = createReceiveWebhookHandler({
    config: webhookConfig,
    sqs: pipeline.sqs,
    // No cache: a test that rotates the secret sees the rotation at once.
    secret: rotatingSecret(webhookConfig.secretId, { maxAgeSeconds: 0 }),
    logger: testLogger("receive-webhook"),
    metrics: silentMetrics(),
    counter: webhookCounter,
  });
  const server = await serveFunctionUrl(webhookHandler, {
    functionName: "receive-webhook",
    timeoutMs: 10_000,
  });

  // Our webhook's URL: a batch made elsewhere is adopted only if Lasso notifies exactly it.
  const settings = readDeliverReportSettings({ ...env, WEBHOOK_URL: server.url });
  await pipeline.aws.verifySender(settings.mail.sender);
  const deliverCounter = new RecordingCounter();
  const ses = new SESv2Client({});
  const s3 = new S3Client({});
  const wiring: DeliverReportWiring = {
    ...buildDeliverReportWiring(settings, {
      stateDoc: pipeline.doc,
      customersDoc: pipeline.customersDoc,
      ses,
      s3,
      lassoApiKey: async () => pipeline.sim.apiKey,
      sqs: pipeline.sqs,
    }),
    logger: testLogger("deliver-report"),
    metrics: silentMetrics(),
    counter: deliverCounter,
    ...options.wiring,
  };
  const deliverHandler = createDeliverReportHandler(wiring);
  const sources: SqsEventSource[] = [];
  const lasso = pipeline.lassoClient();

  const recordBatch = async (
    batch: LassoBatch,
    customers: readonly { customerId: number; cvr: string }[],
  ) => {
    const now = new Date();
    const record: NewBatchRecord = {
      ...batchKey(batch.id),
      recordType: "batch",
      lassoBatchId: batch.id,
      name: batch.name,
      reportType: batch.type ?? "Revision",
      isListener: batch.isListener,
      manifest: customers.map((c) => ({ customerId: c.customerId, cvr: c.cvr })),
      status: batch.status,
      lastProgressAt: now.toISOString(),
      openPartition: "OPEN",
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: expiresAt(pipeline.state, now),
      version: 1,
    };
    await putNewBatchRecord(pipeline.state, record);
    return record;
  };

  let batchCount = 0;
  return {
    webhook: { server, url: server.url, counter: webhookCounter },
    deliver: { counter: deliverCounter, settings, wiring, handler: deliverHandler },
    async startDelivery(queueUrl = pipeline.resources.reportReadyQueueUrl, overrides = {}) {
      const source = await startSqsEventSource({
        sqs: pipeline.sqs,
        queueUrl,
        handler: deliverHandler,
        functionName: "deliver-report",
        batchSize: 5,
        maxConcurrency: 2,
        functionTimeoutMs: 30_000,
        idlePollMs: 25,
        ...options.eventSource,
        ...overrides,
      });
      sources.push(source);
      return source;
    },
    ses,
    sentMails: () => pipeline.aws.sentMails.read(),
    clearMails: () => pipeline.aws.sentMails.clear(),
    async submitBatch(submit) {
      const token = `t${Date.now().toString(36)}${(batchCount++).toString(36)}x`;
      const batch = await lasso.createBatch(
        {
          batchName: `Test ${token}`,
          type: submit.reportType ?? "Revision",
          format: "{cvr}-{name}-{type}",
          items: submit.customers.map((c) => ({ cvr: c.cvr, internalCustomerId: c.customerId })),
          ...(submit.errorAppend === undefined ? {} : { errorAppend: submit.errorAppend }),
          ...(submit.webhook === false
            ? {}
            : {
                notificationWebhookUrl: server.url,
                authConfig: {
                  Method: "Header",
                  Key: pipeline.webhookHeaderName,
                  Value: pipeline.webhookSecret,
                },
              }),
        },
        { uniqueToken: token },
      );
      if (submit.record === false) return { batch };
      return { batch, record: await recordBatch(batch, submit.customers) };
    },
    recordBatch,
    report: (batchId, cvr, reportType = "Revision") =>
      getReportRecord(pipeline.state, reportIdentity({ batchId, cvr, reportType }, { isListener: false })),
    async createQueueWithDlq(name, queueOptions) {
      const dlq = await pipeline.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
      const dlqUrl = dlq.QueueUrl as string;
      const { Attributes } = await pipeline.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
      );
      const queue = await pipeline.sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(queueOptions.visibilityTimeoutSeconds),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: Attributes?.QueueArn,
              maxReceiveCount: queueOptions.maxReceiveCount,
            }),
          },
        }),
      );
      return { queueUrl: queue.QueueUrl as string, dlqUrl };
    },
    async messagesIn(queueUrl) {
      return (await readQueueDepth(pipeline.sqs, queueUrl)).total;
    },
    async close() {
      await Promise.all(sources.map((source) => source.stop()));
      await server.close();
      ses.destroy();
      s3.destroy();
    },
  };
}

/** Receives and deletes every message currently visible on a queue; returns the bodies. */
export async function takeMessages(pipeline: Pipeline, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages } = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!Messages || Messages.length === 0) return bodies;
    for (const message of Messages) {
      bodies.push(message.Body ?? "");
      await pipeline.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

export interface RunningPoller {
  /** Polls made so far, and reports they handed on. */
  readonly polls: number;
  readonly handedOn: number;
  /** Stops after the poll under way; rejects if a poll threw. */
  stop(): Promise<void>;
}

/**
 * Runs poll-batches' use case every `intervalMs` (as its rate schedule would, only faster),
 * holding a report of a batch with webhooks for its ring `webhookGraceMs` while the queue
 * is empty.
 */
export function startPoller(pipeline: Pipeline, intervalMs = 50, webhookGraceMs = 5_000): RunningPoller {
  let running = true;
  let polls = 0;
  let handedOn = 0;
  const lasso = pipeline.lassoClient();
  const loop = (async () => {
    while (running) {
      const summary = await pollOpenBatches(
        {
          table: pipeline.state,
          queue: { sqs: pipeline.sqs, queueUrl: pipeline.resources.reportReadyQueueUrl },
          lasso,
          clock: () => new Date(),
          log: silentLog,
        },
        {
          deadline: { remainingMs: () => 60_000 },
          concurrency: 2,
          reserveMs: 0,
          stalledAfterMs: 60 * 60_000,
          webhookGraceMs,
        },
      );
      polls++;
      handedOn += summary.reportsHandedOn;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    get polls() {
      return polls;
    },
    get handedOn() {
      return handedOn;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
