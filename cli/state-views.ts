/**
 * `status --batch`: one batch and where each of its reports is, read from the state table
 * (the batch record, its reports by their identity, docs/state-model.md).
 */
import { BatchGetCommand, paginateScan } from "@aws-sdk/lib-dynamodb";
import pRetry from "p-retry";
import type { ReportType } from "#shared/lasso/enums.ts";
import { reportIdentity } from "#shared/report-ready.ts";
import { getBatchManifest, getBatchRecord } from "#shared/state/batches.ts";
import { reportKey } from "#shared/state/keys.ts";
import type { BatchAlertKind, BatchRecord, ManifestEntry, ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { CliFailure } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";

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

export function openBatchRow(batch: BatchRecord): OpenBatchRow {
  return {
    lassoBatchId: batch.lassoBatchId,
    ...(batch.schedule === undefined ? {} : { schedule: batch.schedule }),
    reportType: batch.reportType,
    isListener: batch.isListener,
    status: batch.status,
    ...(batch.completionPercentage === undefined ? {} : { completionPercentage: batch.completionPercentage }),
    ...(batch.batchSize === undefined ? {} : { batchSize: batch.batchSize }),
    customers: batch.customerCount,
    ...(batch.itemCounts === undefined ? {} : { itemCounts: batch.itemCounts }),
    ...(batch.lastPolledAt === undefined ? {} : { lastPolledAt: batch.lastPolledAt }),
    alerts: Object.entries(batch.alerts ?? {})
      .filter(([, alert]) => alert !== undefined && alert.clearedAt === undefined)
      .map(([kind]) => kind as BatchAlertKind),
  };
}

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
          record.handedOnAt !== undefined
            ? `finished at Lasso (${record.itemStatus}), queued for delivery at ${record.handedOnAt}`
            : record.seenAt !== undefined
              ? `finished at Lasso (${record.itemStatus}), seen at ${record.seenAt}: waiting for its webhook (or the poller)`
              : `finished at Lasso (${record.itemStatus}), not yet delivered`,
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
export async function reportsOfBatch(
  state: StateTable,
  batch: BatchRecord,
  manifest: readonly ManifestEntry[],
  progress: ProgressFactory,
): Promise<ReportRecord[]> {
  if (!batch.isListener && manifest.length > 0) {
    const identities = manifest.map((entry) =>
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

/**
 * Where each report of `batch` is: its records as views, and for a batch we submitted a
 * `waiting` entry for each manifest customer without a record (Lasso has not finished
 * theirs, or it was not seen yet), in manifest order.
 */
async function batchReports(
  state: StateTable,
  batch: BatchRecord,
  progress: ProgressFactory,
  now: Date,
): Promise<ReportView[]> {
  const manifest = batch.isListener ? [] : await getBatchManifest(state, batch.lassoBatchId);
  const records = await reportsOfBatch(state, batch, manifest, progress);
  const reports = records.map((record) => reportView(record, now));
  if (!batch.isListener) {
    const seen = new Set(records.map((record) => record.cvr));
    for (const entry of manifest) {
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
  const order = new Map(manifest.map((entry, index) => [entry.customerId, index]));
  return reports.sort(
    (a, b) =>
      (order.get(a.customerId ?? -1) ?? Number.MAX_SAFE_INTEGER) -
        (order.get(b.customerId ?? -1) ?? Number.MAX_SAFE_INTEGER) ||
      (a.updatedAt ?? "").localeCompare(b.updatedAt ?? ""),
  );
}

export const countStates = (reports: readonly { state: ReportState }[]): Record<ReportState, number> => {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<ReportState, number>;
  for (const report of reports) counts[report.state]++;
  return counts;
};

/**
 * How many reports of a batch we submitted are where, read by their identities (exact and
 * cheap); undefined for a listener batch or one without a manifest, whose reports only a
 * scan finds (`status --batch` does that one at a time).
 */
export async function batchCounts(
  state: StateTable,
  batch: BatchRecord,
  now: Date,
): Promise<Record<ReportState, number> | undefined> {
  if (batch.isListener || batch.customerCount === 0) return undefined;
  const silent = (): { tick(): void; setTotal(): void; done(): void } => ({
    tick: () => {},
    setTotal: () => {},
    done: () => {},
  });
  return countStates(await batchReports(state, batch, silent, now));
}

export async function readBatchView(
  state: StateTable,
  lassoBatchId: string,
  progress: ProgressFactory,
  now: Date,
): Promise<BatchView> {
  const batch = await getBatchRecord(state, lassoBatchId);
  if (batch === undefined) throw new CliFailure(`no batch ${lassoBatchId} in the state table`);
  const reports = await batchReports(state, batch, progress, now);
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
    counts: countStates(reports),
  };
}
