/**
 * `status`, `status --batch`, `deliveries`: the state table read for people, through its
 * indexes (docs/state-model.md): recent runs (`runsByTime`), open batches (`openBatches`),
 * a customer's reports (`reportsByCustomer`), and a batch's reports by their identity.
 */

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BatchGetCommand, paginateQuery, paginateScan, QueryCommand } from "@aws-sdk/lib-dynamodb";
import pRetry from "p-retry";
import { findCustomersByCvr } from "#shared/customers.ts";
import { normaliseCvr } from "#shared/cvr.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import { reportIdentity } from "#shared/report-ready.ts";
import { listOpenBatches } from "#shared/state/batch-polling.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import { RUNS_PARTITION, reportKey } from "#shared/state/keys.ts";
import type { BatchAlertKind, BatchRecord, ReportRecord } from "#shared/state/records.ts";
import { listChunks, type RunRecord } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { StateIndexName } from "#shared/tables.ts";
import { CliFailure } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";

/** The state table's indexes the CLI queries (typed: a typo is a compile error). */
export const RUNS_BY_TIME: StateIndexName = "runsByTime";
export const REPORTS_BY_CUSTOMER: StateIndexName = "reportsByCustomer";

// ---------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------

export interface RunSummaryRow {
  schedule: string;
  scheduledTime: string;
  status: string;
  selected?: number;
  skipped?: number;
  chunkCount?: number;
  batchesSubmitted: number;
  batchesRejected: number;
  createdAt: string;
  finishedAt?: string;
  lastError?: string;
}

export interface OpenBatchRow {
  lassoBatchId: string;
  schedule?: string;
  reportType: ReportType;
  isListener: boolean;
  status: string;
  completionPercentage?: number;
  batchSize?: number;
  customers: number;
  itemCounts?: Partial<Record<string, number>>;
  lastPolledAt?: string;
  /** Alerts not cleared. */
  alerts: BatchAlertKind[];
}

export interface StatusReport {
  runs: RunSummaryRow[];
  openBatches: OpenBatchRow[];
}

export async function recentRuns(state: StateTable, limit: number): Promise<RunRecord[]> {
  const answer = await state.doc.send(
    new QueryCommand({
      TableName: state.tableName,
      IndexName: RUNS_BY_TIME,
      KeyConditionExpression: "#partition = :runs",
      ExpressionAttributeNames: { "#partition": "runsPartition" },
      ExpressionAttributeValues: { ":runs": RUNS_PARTITION },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return (answer.Items ?? []).filter((item) => item.recordType === "run") as RunRecord[];
}

export function runRow(run: RunRecord): RunSummaryRow {
  return {
    schedule: run.schedule,
    scheduledTime: run.scheduledTime,
    status: run.status,
    ...(run.counts === undefined ? {} : { selected: run.counts.selected, skipped: run.counts.skipped }),
    ...(run.chunkCount === undefined ? {} : { chunkCount: run.chunkCount }),
    batchesSubmitted: run.batchesSubmitted,
    batchesRejected: run.batchesRejected,
    createdAt: run.createdAt,
    ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
    ...(run.lastError === undefined ? {} : { lastError: run.lastError }),
  };
}

export function openBatchRow(batch: BatchRecord): OpenBatchRow {
  return {
    lassoBatchId: batch.lassoBatchId,
    ...(batch.schedule === undefined ? {} : { schedule: batch.schedule }),
    reportType: batch.reportType,
    isListener: batch.isListener,
    status: batch.status,
    ...(batch.completionPercentage === undefined ? {} : { completionPercentage: batch.completionPercentage }),
    ...(batch.batchSize === undefined ? {} : { batchSize: batch.batchSize }),
    customers: batch.manifest.length,
    ...(batch.itemCounts === undefined ? {} : { itemCounts: batch.itemCounts }),
    ...(batch.lastPolledAt === undefined ? {} : { lastPolledAt: batch.lastPolledAt }),
    alerts: Object.entries(batch.alerts ?? {})
      .filter(([, alert]) => alert !== undefined && alert.clearedAt === undefined)
      .map(([kind]) => kind as BatchAlertKind),
  };
}

export async function readStatus(state: StateTable, limit: number): Promise<StatusReport> {
  const [runs, open] = await Promise.all([recentRuns(state, limit), listOpenBatches(state)]);
  return {
    runs: runs.map(runRow),
    openBatches: open.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(openBatchRow),
  };
}

// ---------------------------------------------------------------------------------------
// a run, as `run` shows it
// ---------------------------------------------------------------------------------------

export interface RunView extends RunSummaryRow {
  runPk: string;
  chunks: {
    chunkIndex: number;
    status: string;
    lassoBatchId?: string;
    batchName: string;
    customerIds: number[];
    error?: string;
  }[];
  skippedRows: { customerId?: number; cvr?: string; reason: string }[];
}

export async function readRunView(state: StateTable, run: RunRecord): Promise<RunView> {
  const chunks = run.planId === undefined ? [] : await listChunks(state, run.pk, run.planId);
  return {
    ...runRow(run),
    runPk: run.pk,
    chunks: chunks.map((chunk) => ({
      chunkIndex: chunk.chunkIndex,
      status: chunk.status,
      ...(chunk.lassoBatchId === undefined ? {} : { lassoBatchId: chunk.lassoBatchId }),
      batchName: chunk.batchName,
      customerIds: chunk.manifest.map((entry) => entry.customerId),
      ...(chunk.error === undefined ? {} : { error: chunk.error }),
    })),
    skippedRows: run.skippedRows ?? [],
  };
}

// ---------------------------------------------------------------------------------------
// one batch
// ---------------------------------------------------------------------------------------

/** Where one report is. */
export type ReportState =
  /** Not finished at Lasso yet, or finished and not yet seen / not yet delivered. */
  | "waiting"
  /** A delivery holds it right now. */
  | "delivering"
  | "delivered"
  /** Lasso failed it, or its PDF or SES refused: operators, not customers (reason). */
  | "failed"
  /** No customer to send it to (reason). */
  | "unroutable"
  /** SES reported a bounce after delivery. */
  | "bounced";

export interface ReportView {
  customerId?: number;
  cvr: string;
  reportType: ReportType;
  reportId?: string;
  state: ReportState;
  /** Waiting: what is known (not finished at Lasso; queued at ...). */
  detail?: string;
  recipients?: string[];
  deliveredAt?: string;
  sesMessageId?: string;
  source?: string;
  reason?: string;
  fileName?: string;
  lassoBatchId: string;
  updatedAt?: string;
}

export function reportView(record: ReportRecord, now: Date): ReportView {
  const base = {
    ...(record.customerId === undefined ? {} : { customerId: record.customerId }),
    cvr: record.cvr,
    reportType: record.reportType,
    ...(record.reportId === undefined ? {} : { reportId: record.reportId }),
    ...(record.fileName === undefined ? {} : { fileName: record.fileName }),
    lassoBatchId: record.lassoBatchId,
    updatedAt: record.updatedAt,
  };
  switch (record.deliveryStatus) {
    case undefined:
      return {
        ...base,
        state: "waiting",
        detail:
          record.handedOnAt === undefined
            ? `finished at Lasso (${record.itemStatus}), not yet delivered`
            : `finished at Lasso (${record.itemStatus}), queued for delivery at ${record.handedOnAt}`,
        ...(record.lastError === undefined ? {} : { reason: `last attempt: ${record.lastError}` }),
      };
    case "claimed": {
      const live = record.claimUntil !== undefined && record.claimUntil >= now.toISOString();
      return {
        ...base,
        state: live ? "delivering" : "waiting",
        detail: live
          ? `being delivered (claim until ${record.claimUntil})`
          : `a delivery attempt stopped at ${record.updatedAt}; the queue retries it`,
      };
    }
    case "delivered":
      return {
        ...base,
        state: "delivered",
        ...(record.recipients === undefined ? {} : { recipients: record.recipients }),
        ...(record.deliveredAt === undefined ? {} : { deliveredAt: record.deliveredAt }),
        ...(record.sesMessageId === undefined ? {} : { sesMessageId: record.sesMessageId }),
        ...(record.source === undefined ? {} : { source: record.source }),
        ...(record.reason === undefined ? {} : { reason: record.reason }),
      };
    default:
      return {
        ...base,
        state: record.deliveryStatus,
        ...(record.reason === undefined ? {} : { reason: record.reason }),
        ...(record.recipients === undefined ? {} : { recipients: record.recipients }),
        ...(record.sesMessageId === undefined ? {} : { sesMessageId: record.sesMessageId }),
        ...(record.source === undefined ? {} : { source: record.source }),
      };
  }
}

export interface BatchView {
  batch: OpenBatchRow & {
    name: string;
    runPk?: string;
    open: boolean;
    closedAt?: string;
    closeReason?: string;
    failedItems?: BatchRecord["failedItems"];
  };
  reports: ReportView[];
  counts: Record<ReportState, number>;
}

async function batchGetReports(
  state: StateTable,
  identities: readonly string[],
): Promise<Map<string, ReportRecord>> {
  const found = new Map<string, ReportRecord>();
  for (let start = 0; start < identities.length; start += 100) {
    let keys: Record<string, unknown>[] = identities
      .slice(start, start + 100)
      .map((id) => ({ ...reportKey(id) }));
    await pRetry(
      async () => {
        const answer = await state.doc.send(
          new BatchGetCommand({ RequestItems: { [state.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[state.tableName] ?? []) {
          if (item.recordType === "report") found.set(item.identity as string, item as ReportRecord);
        }
        keys = answer.UnprocessedKeys?.[state.tableName]?.Keys ?? [];
        if (keys.length > 0) throw new Error(`${keys.length} keys left unprocessed`);
      },
      { retries: 8, minTimeout: 50, maxTimeout: 2000, randomize: true },
    );
  }
  return found;
}

/**
 * Every report record of a batch. Reports of a batch we submitted are found by their
 * identity from the manifest (exact, cheap); a listener batch's reports carry Lasso's
 * report ids, unknown in advance, and a batch made elsewhere has no manifest, so for those
 * the state table is scanned (with progress).
 */
async function reportsOfBatch(
  state: StateTable,
  batch: BatchRecord,
  progress: ProgressFactory,
): Promise<ReportRecord[]> {
  if (!batch.isListener && batch.manifest.length > 0) {
    const identities = batch.manifest.map((entry) =>
      reportIdentity(
        { batchId: batch.lassoBatchId, cvr: entry.cvr, reportType: batch.reportType },
        { isListener: false },
      ),
    );
    return [...(await batchGetReports(state, [...new Set(identities)])).values()];
  }
  const bar = progress("scanning reports");
  const out: ReportRecord[] = [];
  const pages = paginateScan(
    { client: state.doc },
    {
      TableName: state.tableName,
      FilterExpression: "begins_with(pk, :prefix) AND recordType = :report",
      ExpressionAttributeValues: { ":prefix": `REPORT#${batch.lassoBatchId}#`, ":report": "report" },
    },
  );
  for await (const page of pages) {
    out.push(...((page.Items ?? []) as ReportRecord[]));
    bar.tick(page.ScannedCount ?? 0);
  }
  bar.done();
  return out;
}

const STATES: readonly ReportState[] = [
  "waiting",
  "delivering",
  "delivered",
  "failed",
  "unroutable",
  "bounced",
];

export async function readBatchView(
  state: StateTable,
  lassoBatchId: string,
  progress: ProgressFactory,
  now: Date,
): Promise<BatchView> {
  const batch = await getBatchRecord(state, lassoBatchId);
  if (batch === undefined) throw new CliFailure(`no batch ${lassoBatchId} in the state table`);
  const records = await reportsOfBatch(state, batch, progress);
  const reports = records.map((record) => reportView(record, now));
  // Manifest customers without a report record: Lasso has not finished theirs (or it was not seen yet).
  if (!batch.isListener) {
    const seen = new Set(records.map((record) => record.cvr));
    for (const entry of batch.manifest) {
      if (seen.has(entry.cvr)) continue;
      reports.push({
        customerId: entry.customerId,
        cvr: entry.cvr,
        reportType: batch.reportType,
        state: "waiting",
        detail: "not finished at Lasso yet (or not yet seen)",
        lassoBatchId: batch.lassoBatchId,
      });
    }
  }
  const order = new Map(batch.manifest.map((entry, index) => [entry.customerId, index]));
  reports.sort(
    (a, b) =>
      (order.get(a.customerId ?? -1) ?? Number.MAX_SAFE_INTEGER) -
        (order.get(b.customerId ?? -1) ?? Number.MAX_SAFE_INTEGER) ||
      (a.updatedAt ?? "").localeCompare(b.updatedAt ?? ""),
  );
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<ReportState, number>;
  for (const report of reports) counts[report.state]++;
  return {
    batch: {
      ...openBatchRow(batch),
      name: batch.name,
      ...(batch.runPk === undefined ? {} : { runPk: batch.runPk }),
      open: batch.openPartition !== undefined,
      ...(batch.closedAt === undefined ? {} : { closedAt: batch.closedAt }),
      ...(batch.closeReason === undefined ? {} : { closeReason: batch.closeReason }),
      ...(batch.failedItems === undefined ? {} : { failedItems: batch.failedItems }),
    },
    reports,
    counts,
  };
}

// ---------------------------------------------------------------------------------------
// deliveries
// ---------------------------------------------------------------------------------------

export async function reportsOfCustomer(
  state: StateTable,
  customerId: number,
  limit: number,
): Promise<ReportRecord[]> {
  const out: ReportRecord[] = [];
  const pages = paginateQuery(
    { client: state.doc, pageSize: Math.min(limit, 100) },
    {
      TableName: state.tableName,
      IndexName: REPORTS_BY_CUSTOMER,
      KeyConditionExpression: "customerId = :id",
      ExpressionAttributeValues: { ":id": customerId },
      ScanIndexForward: false,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (item.recordType === "report") out.push(item as ReportRecord);
    }
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

export interface DeliveriesReport {
  customerIds: number[];
  cvr?: string;
  reports: ReportView[];
}

export async function readDeliveries(
  state: StateTable,
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  who: { customerId?: number; cvr?: string },
  limit: number,
  now: Date,
): Promise<DeliveriesReport> {
  let customerIds: number[];
  let cvr: string | undefined;
  if (who.customerId !== undefined) customerIds = [who.customerId];
  else if (who.cvr !== undefined) {
    cvr = normaliseCvr(who.cvr);
    const found = await findCustomersByCvr(customers.doc, customers.tableName, cvr);
    customerIds = [
      ...new Set(
        found.flatMap((r) =>
          r.ok ? [r.customer.customerId] : r.customerId === undefined ? [] : [r.customerId],
        ),
      ),
    ];
    if (customerIds.length === 0) throw new CliFailure(`no customer with cvr ${cvr}`);
  } else throw new CliFailure("give --customer ID or --cvr CVR");
  const records = (await Promise.all(customerIds.map((id) => reportsOfCustomer(state, id, limit)))).flat();
  const reports = records
    .sort((a, b) => (b.deliveredAt ?? b.updatedAt).localeCompare(a.deliveredAt ?? a.updatedAt))
    .slice(0, limit)
    .map((record) => reportView(record, now));
  return { customerIds, ...(cvr === undefined ? {} : { cvr }), reports };
}
