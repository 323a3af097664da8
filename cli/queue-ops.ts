/**
 * `resend` and `redrive`: the two ways an operator puts reports back on the report-ready
 * queue. Both go through the one delivery path (deliver-report), so its claim keeps the
 * guarantees: a re-driven report already delivered is skipped, and a resend mails once per
 * resend message (docs/delivery.md, "Re-send").
 */
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { readQueueDepth } from "#shared/queue-depth.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { getBatchRoutingFacts } from "#shared/state/batches.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { REPORTS_BY_CUSTOMER } from "./deliveries-view.ts";
import { type DlqActionOutcome, moveToQueue } from "./dlq.ts";
import { CliFailure, UsageError } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";
import { waitForResends } from "./resend-wait.ts";
import { type ReportView, reportView } from "./state-views.ts";

// ---------------------------------------------------------------------------------------
// resend
// ---------------------------------------------------------------------------------------

/** The report records of one batch for one customer (a listener batch may hold several). */
export async function findReportsOfCustomerInBatch(
  state: StateTable,
  lassoBatchId: string,
  customerId: number,
): Promise<ReportRecord[]> {
  const out: ReportRecord[] = [];
  const pages = paginateQuery(
    { client: state.doc },
    {
      TableName: state.tableName,
      IndexName: REPORTS_BY_CUSTOMER,
      KeyConditionExpression: "customerId = :id",
      FilterExpression: "lassoBatchId = :batch",
      ExpressionAttributeValues: { ":id": customerId, ":batch": lassoBatchId },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) if (item.recordType === "report") out.push(item as ReportRecord);
  }
  if (out.length > 0) return out;
  // An unroutable report may carry no customer id; the batch's manifest still names its cvr.
  const batch = await getBatchRoutingFacts(state, lassoBatchId);
  const entry = batch?.manifest.find((candidate) => candidate.customerId === customerId);
  if (batch === undefined || entry === undefined || batch.isListener) return out;
  const record = await getReportRecord(
    state,
    reportIdentity(
      { batchId: lassoBatchId, cvr: entry.cvr, reportType: batch.reportType },
      { isListener: false },
    ),
  );
  return record === undefined ? out : [record];
}

/** The report-ready message of an operator's re-send: `seenAt` is unique, it is the resend key. */
export function resendMessage(record: ReportRecord, customerId: number, now: Date): ReportReadyMessage {
  return {
    version: 1,
    batchId: record.lassoBatchId,
    cvr: record.cvr,
    reportType: record.reportType,
    itemStatus: record.itemStatus,
    internalCustomerId: customerId,
    ...(record.reportId === undefined ? {} : { reportId: record.reportId }),
    ...(record.fileName === undefined ? {} : { fileName: record.fileName }),
    // No pdfUrl: the delivery asks Lasso's item list for a fresh link (old links expire).
    source: "resend",
    seenAt: now.toISOString(),
  };
}

/** Why a report cannot be re-sent now, or undefined when it can. */
export function resendRefusal(record: ReportRecord, now: Date): string | undefined {
  if (record.itemStatus === "Failed") return "Lasso failed this report: there is no PDF to mail";
  if (record.deliveryStatus === undefined) {
    return "it has not been delivered yet: the pipeline delivers it (see `status --batch`)";
  }
  if (record.deliveryStatus === "claimed" && (record.claimUntil ?? "") >= now.toISOString()) {
    return "a delivery is working on it right now: try again in a minute";
  }
  return undefined;
}

export interface ResendOutcome {
  identity: string;
  resendKey: string;
  before: ReportView;
  /** The record once the delivery took the resend (absent without waiting, or on timeout). */
  after?: ReportView;
  /** True when the delivery took the resend before the timeout. */
  settled: boolean;
}

export async function resendReport(
  ports: { state: StateTable; sqs: SQSClient; queueUrl: string },
  request: { lassoBatchId: string; customerId: number; reportId?: string },
  options: {
    wait: boolean;
    timeoutMs: number;
    pollMs?: number;
    clock?: () => Date;
    progress: ProgressFactory;
  },
): Promise<ResendOutcome> {
  const clock = options.clock ?? (() => new Date());
  const all = await findReportsOfCustomerInBatch(ports.state, request.lassoBatchId, request.customerId);
  const matching =
    request.reportId === undefined ? all : all.filter((record) => record.reportId === request.reportId);
  if (matching.length === 0) {
    throw new CliFailure(
      `no report of batch ${request.lassoBatchId} for customer ${request.customerId}${
        request.reportId === undefined ? "" : ` with report id ${request.reportId}`
      } in the state table (not finished yet? see \`status --batch ${request.lassoBatchId}\`)`,
    );
  }
  if (matching.length > 1) {
    throw new UsageError(
      `batch ${request.lassoBatchId} holds ${matching.length} reports for customer ${request.customerId} (a listener batch): choose one with --report-id (${matching
        .map((record) => record.reportId ?? "?")
        .join(", ")})`,
    );
  }
  const record = matching[0] as ReportRecord;
  const now = clock();
  const refusal = resendRefusal(record, now);
  if (refusal !== undefined) throw new CliFailure(`cannot re-send ${record.identity}: ${refusal}`);

  const message = resendMessage(record, request.customerId, now);
  await sendReportReady({ sqs: ports.sqs, queueUrl: ports.queueUrl }, [message]);
  const outcome: ResendOutcome = {
    identity: record.identity,
    resendKey: message.seenAt,
    before: reportView(record, now),
    settled: false,
  };
  if (!options.wait) return outcome;

  const taken = await waitForResends(ports.state, [record.identity], message.seenAt, options);
  const current = taken.get(record.identity);
  if (current !== undefined) {
    outcome.after = reportView(current, clock());
    outcome.settled = true;
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------
// redrive
// ---------------------------------------------------------------------------------------

export interface RedriveOutcome {
  /** Messages now on the report-ready queue (and gone from the DLQ). */
  moved: number;
  /** Sent to the queue but not deleted from the DLQ: they come back there (a later redrive is safe). */
  notDeleted: number;
  /** Refused by the queue: still in the DLQ. */
  failed: number;
  /** The DLQ's approximate depth before. */
  before: number;
}

/**
 * Moves the DLQ's messages back to the queue: receive up to 10, send them (body and
 * attributes as they are), delete from the DLQ only what the queue accepted. A crash in
 * between leaves a message in both: the delivery's claim makes that harmless. Stops when a
 * receive comes back empty or after `max` messages.
 */
export async function redriveDeadLetters(
  ports: { sqs: SQSClient; queueUrl: string; dlqUrl: string },
  options: { max?: number; progress: ProgressFactory; visibilityTimeoutSeconds?: number },
): Promise<RedriveOutcome> {
  const before = (await readQueueDepth(ports.sqs, ports.dlqUrl)).total;
  const outcome: RedriveOutcome = { moved: 0, notDeleted: 0, failed: 0, before };
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const bar = options.progress("moving dead letters", Math.min(before, max));
  try {
    while (outcome.moved + outcome.failed + outcome.notDeleted < max) {
      const wanted = Math.min(10, max - outcome.moved - outcome.failed - outcome.notDeleted);
      const { Messages = [] } = await ports.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ports.dlqUrl,
          MaxNumberOfMessages: wanted,
          WaitTimeSeconds: 1,
          // Long enough that a message cannot come round again while this loop runs.
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
          MessageAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) break;
      const step: DlqActionOutcome = { done: [], notFound: [], failed: [] };
      await moveToQueue(ports, Messages, step);
      outcome.moved += step.done.length;
      outcome.failed += step.failed.filter((entry) => entry.kind === "refused").length;
      outcome.notDeleted += step.failed.filter((entry) => entry.kind === "not-deleted").length;
      bar.tick(Messages.length);
    }
  } finally {
    bar.done();
  }
  return outcome;
}
