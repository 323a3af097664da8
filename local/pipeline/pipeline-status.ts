/**
 * What the local pipeline has done so far, read from where the truth is: the state table
 * (batches, reports and their delivery outcomes), the queues (what is still waiting, what
 * is dead) and what the local SES accepted (what was really sent).
 */

import type { SQSClient } from "@aws-sdk/client-sqs";
import { type DynamoDBDocumentClient, paginateQuery, paginateScan } from "@aws-sdk/lib-dynamodb";
import { readQueueDepth } from "#shared/queue-depth.ts";
import { storedBatchRecord } from "#shared/state/batches.ts";
import type { FailureNoticeRecord } from "#shared/state/failure-notices.ts";
import { OPEN_BATCH_PARTITION } from "#shared/state/keys.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { StoredMail } from "../aws/sent-mails.ts";

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
  /** SES message ids of the failure notices sent (to accountants or operators, not customers). */
  noticeMessageIds: string[];
}

type RecordCounts = Omit<PipelineStatus, "queueDepth" | "queueVisible" | "deadLetters">;

/** Adds one state record to the counts (other record types count for nothing). */
export function countStateRecord(counts: RecordCounts, item: Record<string, unknown>): void {
  if (item.recordType === "batch") {
    const batch = storedBatchRecord(item);
    counts.batches++;
    if (batch.openPartition !== undefined) {
      counts.openBatches++;
      if (batch.isListener) counts.openListenerBatches++;
    }
    counts.expectedReports += batch.customerCount;
  } else if (item.recordType === "report") {
    const report = item as unknown as ReportRecord;
    counts.reportsFinished++;
    if (report.deliveryStatus === "delivered") counts.delivered++;
    else if (report.deliveryStatus === "failed") counts.failed++;
    else if (report.deliveryStatus === "unroutable") counts.unroutable++;
    else if (report.deliveryStatus === "bounced") counts.bounced++;
    else if (report.deliveryStatus === "claimed") counts.inFlight++;
    counts.duplicatesSkipped += report.duplicatesSkipped ?? 0;
  } else if (item.recordType === "failureNotice") {
    const notice = item as unknown as FailureNoticeRecord;
    if (notice.sesMessageId !== undefined) counts.noticeMessageIds.push(notice.sesMessageId);
  }
}

/**
 * What every record says, counted page by page as the scan goes: a run of 20,000 reports
 * reads them all every few seconds near its end, and holding them only to count them was a
 * peak of its own.
 */
export async function readPipelineStatus(ports: ProgressPorts): Promise<PipelineStatus> {
  const counts: RecordCounts = {
    batches: 0,
    openBatches: 0,
    openListenerBatches: 0,
    expectedReports: 0,
    reportsFinished: 0,
    delivered: 0,
    failed: 0,
    unroutable: 0,
    bounced: 0,
    inFlight: 0,
    duplicatesSkipped: 0,
    noticeMessageIds: [],
  };
  const pages = paginateScan({ client: ports.doc }, { TableName: ports.stateTable, ConsistentRead: true });
  for await (const page of pages) {
    for (const item of page.Items ?? []) countStateRecord(counts, item);
  }
  const [queue, dlq] = await Promise.all([
    readQueueDepth(ports.sqs, ports.queueUrl),
    readQueueDepth(ports.sqs, ports.dlqUrl),
  ]);
  return { ...counts, queueDepth: queue.total, queueVisible: queue.visible, deadLetters: dlq.total };
}

/**
 * The run's progress from counters, without reading every record: what the runner fired
 * (batches and their items, from submit-batches' answers), the open-batch index, the
 * queues, and what it fed to deliver-report. Cheap enough to read every second at any size;
 * "done" is still decided from the records (readPipelineStatus), once these say it may be.
 */
export interface PipelineProgress {
  batches: number;
  expectedReports: number;
  openBatches: number;
  openListenerBatches: number;
  /** Messages deliver-report handled (deleted after its invocation), rings included. */
  messagesHandled: number;
  /** Every message on the report-ready queue: visible, in flight or delayed. */
  queueDepth: number;
  deadLetters: number;
}

export interface ProgressPorts {
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  stateTable: string;
  queueUrl: string;
  dlqUrl: string;
}

export async function readPipelineProgress(
  ports: ProgressPorts,
  counters: Pick<PipelineProgress, "batches" | "expectedReports" | "messagesHandled">,
): Promise<PipelineProgress> {
  let openBatches = 0;
  let openListenerBatches = 0;
  const pages = paginateQuery(
    { client: ports.doc },
    {
      TableName: ports.stateTable,
      IndexName: "openBatches",
      KeyConditionExpression: "#open = :open",
      ProjectionExpression: "#listener",
      ExpressionAttributeNames: { "#open": "openPartition", "#listener": "isListener" },
      ExpressionAttributeValues: { ":open": OPEN_BATCH_PARTITION },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      openBatches++;
      if (item.isListener === true) openListenerBatches++;
    }
  }
  const [queue, dlq] = await Promise.all([
    readQueueDepth(ports.sqs, ports.queueUrl),
    readQueueDepth(ports.sqs, ports.dlqUrl),
  ]);
  return { ...counters, openBatches, openListenerBatches, queueDepth: queue.total, deadLetters: dlq.total };
}

/** Whether the counters allow the run to be over: only then are the records read to make sure. */
export const mayBeDone = (progress: PipelineProgress): boolean =>
  progress.batches > 0 &&
  progress.openBatches === progress.openListenerBatches &&
  progress.queueDepth === 0 &&
  progress.messagesHandled >= progress.expectedReports;

/** Reports with a final outcome: delivered, or recorded as failed, unroutable or bounced. */
export const settledReports = (status: PipelineStatus): number =>
  status.delivered + status.failed + status.unroutable + status.bounced;

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
