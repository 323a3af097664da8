/**
 * The SQS adapter of deliver-report: middy with Powertools Logger and Metrics, and
 * Powertools' BatchProcessor reporting partial batch failures, so one bad message never
 * re-runs the others. `buildDeliverReportWiring` turns settings and SDK clients into the
 * use case's ports; handler.ts, the local runner and the tests all use it.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { s3EvidenceArchive } from "#shared/archive/evidence-archive.ts";
import { findCustomersByCvr, getCustomer } from "#shared/customer-reads.ts";
import type { Language } from "#shared/customers.ts";
import { type LassoCallBudget, UNLIMITED_LASSO_BUDGET } from "#shared/lasso/call-budget.ts";
import { sesMailer } from "#shared/mail/ses-mailer.ts";
import { DEFAULT_PDF_RETRY, fetchPdfPatiently } from "#shared/pdf/fetch.ts";
import { redactLinks } from "#shared/redact-links.ts";
import { parseReportReadyMessage } from "#shared/report-ready.ts";
import type { ReportReadyQueue } from "#shared/report-ready-queue.ts";
import { realLassoClients } from "#shared/runtime/lasso.ts";
import { logTo } from "#shared/runtime/log.ts";
import { type Counter, METRICS_NAMESPACE, powertoolsCounter } from "#shared/runtime/metrics.ts";
import {
  BatchFactsCache,
  cachedRoutingFacts,
  type RoutingFactsReader,
} from "#shared/state/batch-facts-cache.ts";
import { DELIVERY_METRICS, type DeliverReportDeps, type DeliveryContext } from "./attempt.ts";
import type { DeliverReportSettings } from "./config.ts";
import { deliverReport } from "./deliver-report.ts";
import { answerDoorbell, type DoorbellConfig, type RingContext } from "./doorbell.ts";
import { RetryLaterError, UnidentifiableReportError } from "./errors.ts";
import type { BatchFacts } from "./lasso-lookups.ts";
import { deliverInPlace } from "./ring-delivery.ts";
import type { CustomerDirectory } from "./routing.ts";

export const SERVICE_NAME = "deliver-report";

/** The use case's ports (attempt.ts), built once per container, and what the handler adds. */
export interface DeliverReportWiring
  extends Pick<
    DeliverReportDeps,
    "state" | "customers" | "lasso" | "fetchPdf" | "sendMail" | "putEvidence" | "config"
  > {
  /** Built once per container with the wiring: a batch's routing facts are read once. */
  batchFacts: BatchFactsCache<BatchFacts>;
  /** A recorded batch's routing facts, read once per container for deliveries and rings. */
  routingFacts: RoutingFactsReader;
  /** The report-ready queue: a webhook's ring hands Lasso's finished reports on to it. */
  queue: ReportReadyQueue;
  doorbell: DoorbellConfig;
  logger?: Logger;
  metrics?: Metrics;
  /** Overrides the Powertools counter (tests read what was counted). */
  counter?: Counter;
  clock?: () => Date;
  /**
   * Brings a message back after `seconds` instead of the queue's visibility timeout: for a
   * retry the other side timed (`retry-after`), which is minutes sooner.
   */
  deferRetry?: DeferRetry;
}

export type DeferRetry = (record: SQSRecord, seconds: number) => Promise<void>;

/** The most a delivery keeps back, before sending, for SES's answer and the writes after it. */
const MAX_SEND_RESERVE_MS = 10_000;

/** The longest deferral SQS allows is 12 hours; ours stay far below. */
const MAX_DEFER_SECONDS = 15 * 60;

/** retry-after plus up to a third more, so a herd of throttled messages comes back spread out. */
export function deferSeconds(retryAfterMs: number, random: () => number = Math.random): number {
  const base = Math.ceil(retryAfterMs / 1000);
  return Math.min(MAX_DEFER_SECONDS, Math.max(1, base + Math.ceil((base * random()) / 3)));
}

/** The deferral through SQS ChangeMessageVisibility on the function's own queue. */
export function sqsDeferRetry(sqs: SQSClient, queueUrl: string): DeferRetry {
  return async (record, seconds) => {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  };
}

export function customerDirectory(
  doc: DynamoDBDocumentClient,
  tableName: string,
  defaultLanguage: Language,
): CustomerDirectory {
  return {
    get: (customerId) => getCustomer(doc, tableName, customerId, { defaultLanguage }),
    findByCvr: (cvr) => findCustomersByCvr(doc, tableName, cvr, { defaultLanguage }),
  };
}

export interface DeliverReportClients {
  stateDoc: DynamoDBDocumentClient;
  /** Built with CUSTOMERS_TRANSLATE_CONFIG (customers.ts). */
  customersDoc: DynamoDBDocumentClient;
  ses: SESv2Client;
  /** The evidence archive's client. */
  s3: S3Client;
  lassoApiKey: () => Promise<string>;
  /** The report-ready queue's client, for deferring timed retries. */
  sqs: SQSClient;
  /** Lasso's rate limit, shared with the other functions: Lasso calls and PDF downloads take from it. */
  lassoBudget?: LassoCallBudget;
}

export function buildDeliverReportWiring(
  settings: DeliverReportSettings,
  clients: DeliverReportClients,
): DeliverReportWiring {
  const callBudget = clients.lassoBudget ?? UNLIMITED_LASSO_BUDGET;
  const lasso = realLassoClients(clients.lassoApiKey, {
    baseUrl: settings.lasso.baseUrl,
    callBudget,
    ...(settings.lasso.timeoutMs === undefined ? {} : { timeoutMs: settings.lasso.timeoutMs }),
  });
  return {
    state: {
      doc: clients.stateDoc,
      tableName: settings.stateTable,
      retentionDays: settings.stateRetentionDays,
    },
    customers: customerDirectory(
      clients.customersDoc,
      settings.customersTable,
      settings.mail.defaultLanguage,
    ),
    lasso: () => lasso.current(),
    fetchPdf: (url, deadline) =>
      fetchPdfPatiently(
        url,
        {
          allowedHosts: settings.pdf.allowedHosts,
          allowHttp: settings.pdf.allowHttp,
          maxBytes: settings.pdf.maxBytes,
          connectTimeoutMs: settings.pdf.connectTimeoutMs,
          totalTimeoutMs: settings.pdf.totalTimeoutMs,
        },
        { ...DEFAULT_PDF_RETRY, deadline, callBudget },
      ),
    sendMail: sesMailer(
      clients.ses,
      settings.mail.configurationSet === undefined
        ? {}
        : { configurationSet: settings.mail.configurationSet },
    ),
    putEvidence: s3EvidenceArchive(clients.s3, settings.archive.bucket),
    batchFacts: new BatchFactsCache<BatchFacts>(),
    routingFacts: cachedRoutingFacts(),
    config: {
      archive: settings.archive,
      sender: settings.mail.sender,
      profile: settings.mail.profile,
      ...(settings.mail.logo === undefined ? {} : { logo: settings.mail.logo }),
      defaultLanguage: settings.mail.defaultLanguage,
      maxMessageBytes: settings.mail.maxMessageBytes,
    },
    queue: { sqs: clients.sqs, queueUrl: settings.queueUrl },
    doorbell: settings.doorbell,
    deferRetry: sqsDeferRetry(clients.sqs, settings.queueUrl),
  };
}

/**
 * What `POWERTOOLS_LOGGER_LOG_EVENT=true` logs of an invocation: the records' ids and
 * sizes, never their bodies, which carry PDF links (capabilities). Powertools' own event
 * logging is switched off below, whatever the environment says.
 */
export function sqsEventSummary(event: SQSEvent): Record<string, unknown> {
  return {
    records: event.Records.map((record) => ({
      messageId: record.messageId,
      receiveCount: record.attributes.ApproximateReceiveCount,
      sentTimestamp: record.attributes.SentTimestamp,
      bodyBytes: Buffer.byteLength(record.body, "utf8"),
    })),
  };
}

export function createDeliverReportHandler(wiring: DeliverReportWiring) {
  const logger = wiring.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const metrics = wiring.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const parts: RecordParts = {
    wiring,
    logger,
    counter: wiring.counter ?? powertoolsCounter(metrics),
    clock: wiring.clock ?? (() => new Date()),
  };

  // logEvent false below wins over POWERTOOLS_LOGGER_LOG_EVENT: the bodies carry PDF links.
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    if (logger.getLogEvent()) logger.info("Lambda invocation event (shape only)", sqsEventSummary(event));
    const remainingMs = context.getRemainingTimeInMillis();
    const deadline = new Date(Date.now() + remainingMs);
    // Kept for SES's answer and the writes after it: 10 s of Lambda's 2 minutes.
    const sendReserveMs = Math.min(MAX_SEND_RESERVE_MS, remainingMs / 6);
    // A processor per invocation: it holds the invocation's results.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(record, { deadline, sendReserveMs }, parts),
      processor,
      {
        context,
        // Every record failing is still a partial answer (all named), not a function error:
        // a throttled batch must not look like a crash on the function's error alarm.
        throwOnFullBatchFailure: false,
      },
    );
  })
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics));
}

interface RecordParts {
  wiring: DeliverReportWiring;
  logger: Logger;
  counter: Counter;
  clock: () => Date;
}

/** One SQS record: a report to deliver, or a webhook's doorbell; failures mapped for the queue. */
async function handleRecord(record: SQSRecord, time: DeliveryContext, parts: RecordParts): Promise<void> {
  const { deadline } = time;
  const { wiring, counter, clock } = parts;
  // One child logger per record: records run in parallel, each with its own keys.
  const log = parts.logger.createChild();
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  log.appendKeys({ messageId: record.messageId, receiveCount });
  let message: ReturnType<typeof parseReportReadyMessage>;
  try {
    message = parseReportReadyMessage(record.body);
  } catch (error) {
    counter.count(DELIVERY_METRICS.unidentifiable, { reason: "bad-message" });
    log.error("not a report-ready message: left for the dead-letter queue", {
      error,
      body: redactLinks(record.body.slice(0, 2000)),
    });
    throw error;
  }
  try {
    const deliver = (report: typeof message) =>
      deliverReport(report, { ...wiring, clock, metrics: counter, logger: log }, time);
    // A webhook's message is a doorbell: what it delivers, if anything, comes from Lasso's list.
    const doorbell = { ...wiring, clock, metrics: counter, logger: logTo(log), config: wiring.doorbell };
    const ring: RingContext = { deadline, receiveCount: Number.isFinite(receiveCount) ? receiveCount : 1 };
    const answer = message.source === "webhook" ? await answerDoorbell(message, doorbell, ring) : undefined;
    const outcome =
      answer === undefined
        ? await deliver(message)
        : answer.outcome === "deliver"
          ? await deliverInPlace(answer, doorbell, ring, deliver)
          : answer;
    log.debug("delivery outcome", { outcome: outcome.outcome });
  } catch (error) {
    await mapFailure(error, record, log, parts);
    throw error;
  }
}

/** Counts and logs a failed record; a retry the other side timed is deferred as asked. */
async function mapFailure(error: unknown, record: SQSRecord, log: Logger, parts: RecordParts): Promise<void> {
  if (error instanceof UnidentifiableReportError) {
    parts.counter.count(DELIVERY_METRICS.unidentifiable, { reason: "unidentifiable" });
    log.error("report cannot be identified: left for the dead-letter queue", { error: error.message });
  } else if (error instanceof RetryLaterError) {
    const defer = parts.wiring.deferRetry;
    if (error.retryAfterMs !== undefined && defer) {
      const seconds = deferSeconds(error.retryAfterMs);
      // Best effort: without it the message comes back after the visibility timeout.
      await defer(record, seconds).then(
        () => log.info("retry deferred as asked", { reason: error.reason, seconds }),
        (deferError: unknown) => log.warn("could not defer the retry", { error: deferError }),
      );
    }
  } else {
    log.error("delivery failed unexpectedly: will be retried", { error });
  }
}
