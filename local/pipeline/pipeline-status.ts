/**
 * What the local pipeline has done so far, read from where the truth is: the state table
 * (batches, reports and their delivery outcomes), the queues (what is still waiting, what
 * is dead) and the SES emulator's store (what was really sent).
 */
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import type { BatchRecord, ReportRecord } from "#shared/state/records.ts";

export interface StoredMail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  attachments: { filename?: string; contentType: string; size: number; content: string }[];
  at: number;
}

export interface PipelineStatus {
  batches: number;
  openBatches: number;
  openListenerBatches: number;
  /** Reports the submitted batches will produce: one per manifest entry. */
  expectedReports: number;
  /** Reports seen finished by Lasso (by poll or webhook). */
  reportsFinished: number;
  delivered: number;
  failed: number;
  unroutable: number;
  bounced: number;
  /** Claimed and not yet settled. */
  inFlight: number;
  duplicatesSkipped: number;
  /** Every message on the report-ready queue: visible, in flight or delayed. */
  queueDepth: number;
  /** Messages a consumer could receive right now. */
  queueVisible: number;
  deadLetters: number;
}

export async function readStateRecords(
  doc: DynamoDBDocumentClient,
  stateTable: string,
): Promise<{ batches: BatchRecord[]; reports: ReportRecord[] }> {
  const batches: BatchRecord[] = [];
  const reports: ReportRecord[] = [];
  for await (const page of paginateScan({ client: doc }, { TableName: stateTable, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      if (item.recordType === "batch") batches.push(item as BatchRecord);
      else if (item.recordType === "report") reports.push(item as ReportRecord);
    }
  }
  return { batches, reports };
}

async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; total: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  // local-aws-sqs counts in-flight messages in ApproximateNumberOfMessages too (real SQS
  // counts visible ones only); the runner only ever talks to the emulator.
  const stored = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  return {
    visible: Math.max(0, stored - inFlight),
    total: stored + Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export async function readPipelineStatus(ports: {
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  stateTable: string;
  queueUrl: string;
  dlqUrl: string;
}): Promise<PipelineStatus> {
  const { batches, reports } = await readStateRecords(ports.doc, ports.stateTable);
  const queue = await queueCounts(ports.sqs, ports.queueUrl);
  const outcome = (status: ReportRecord["deliveryStatus"]): number =>
    reports.filter((report) => report.deliveryStatus === status).length;
  return {
    batches: batches.length,
    openBatches: batches.filter((batch) => batch.openPartition !== undefined).length,
    openListenerBatches: batches.filter((batch) => batch.openPartition !== undefined && batch.isListener)
      .length,
    expectedReports: batches.reduce((total, batch) => total + batch.manifest.length, 0),
    reportsFinished: reports.length,
    delivered: outcome("delivered"),
    failed: outcome("failed"),
    unroutable: outcome("unroutable"),
    bounced: outcome("bounced"),
    inFlight: outcome("claimed"),
    duplicatesSkipped: reports.reduce((total, report) => total + (report.duplicatesSkipped ?? 0), 0),
    queueDepth: queue.total,
    queueVisible: queue.visible,
    deadLetters: (await queueCounts(ports.sqs, ports.dlqUrl)).total,
  };
}

/** Reports with a final outcome: delivered, or recorded as failed, unroutable or bounced. */
export const settledReports = (status: PipelineStatus): number =>
  status.delivered + status.failed + status.unroutable + status.bounced;

/** "a@x, b@y" → ["a@x", "b@y"]: the emulator keeps a raw message's To header as one string. */
const splitAddresses = (list: readonly string[]): string[] =>
  list
    .flatMap((entry) => entry.split(","))
    .map((address) => address.trim())
    .filter((address) => address !== "");

export async function readSentMails(sesEndpoint: string): Promise<StoredMail[]> {
  const response = await fetch(`${sesEndpoint}/store`);
  if (!response.ok) throw new Error(`SES emulator store answered ${response.status}`);
  const store = (await response.json()) as { emails: StoredMail[] };
  return store.emails.map((mail) => ({
    ...mail,
    destination: {
      to: splitAddresses(mail.destination.to),
      cc: splitAddresses(mail.destination.cc),
      bcc: splitAddresses(mail.destination.bcc),
    },
  }));
}

/**
 * Mails that went out more than once: the same report (attachment or subject) to the
 * same recipients. A non-empty answer is a broken guarantee.
 */
export function duplicateMails(mails: readonly StoredMail[]): string[] {
  const seen = new Map<string, number>();
  for (const mail of mails) {
    const recipients = [...mail.destination.to, ...mail.destination.cc, ...mail.destination.bcc]
      .sort()
      .join(",");
    const report = mail.attachments.map((attachment) => attachment.filename ?? "").join("|") || mail.subject;
    const key = `${recipients} ${report}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, count]) => count > 1).map(([key, count]) => `${key} ×${count}`);
}
