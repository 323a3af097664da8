/**
 * `status` and `run`: recent runs (the state table's `runsByTime` index), open batches
 * (`openBatches`, docs/state-model.md) and one run with its chunks, read for people.
 */

import { paginateQuery, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { listOpenBatches } from "#shared/state/batch-polling.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import { listChunks } from "#shared/state/chunks.ts";
import { RUNS_PARTITION } from "#shared/state/keys.ts";

import type { RunRecord } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { StateIndexName } from "#shared/tables.ts";
import { batchCounts, type OpenBatchRow, openBatchRow, type ReportState } from "./state-views.ts";

/** The state table's index of runs, newest first (typed: a typo is a compile error). */
export const RUNS_BY_TIME: StateIndexName = "runsByTime";

export interface RunSummaryRow {
  schedule: string;
  scheduledTime: string;
  /** A run of these customers only (`run --customer`). */
  customerIds?: number[];
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

/** Where a batch's reports are, as `status` counts them (waiting includes a delivery in progress). */
export interface ReportCounts {
  delivered: number;
  failed: number;
  unroutable: number;
  bounced: number;
  waiting: number;
}

export interface RecentRun extends RunSummaryRow {
  /** Lasso's ids of the run's submitted batches (for `status --batch ID`). */
  batchIds: string[];
  /** Its batches' reports; absent when one of them is a listener batch (see `status --batch`). */
  reports?: ReportCounts;
}

export interface BatchRow extends OpenBatchRow {
  open: boolean;
  createdAt: string;
  closedAt?: string;
  /** Absent for a listener batch: its reports are counted by `status --batch` (a scan). */
  reports?: ReportCounts;
}

export interface StatusReport {
  runs: RecentRun[];
  /** The recent runs' batches and every open batch, newest first. */
  batches: BatchRow[];
  /** The open ones among them (the `openBatches` index). */
  openBatches: BatchRow[];
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

/** The runs created since `since` (of one schedule, when given), newest first: the `runsByTime` index. */
export async function runsCreatedSince(
  state: StateTable,
  since: string,
  schedule?: string,
): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  const pages = paginateQuery(
    { client: state.doc },
    {
      TableName: state.tableName,
      IndexName: RUNS_BY_TIME,
      KeyConditionExpression: "#partition = :runs AND createdAt >= :since",
      ...(schedule === undefined ? {} : { FilterExpression: "#schedule = :schedule" }),
      ExpressionAttributeNames: {
        "#partition": "runsPartition",
        ...(schedule === undefined ? {} : { "#schedule": "schedule" }),
      },
      ExpressionAttributeValues: {
        ":runs": RUNS_PARTITION,
        ":since": since,
        ...(schedule === undefined ? {} : { ":schedule": schedule }),
      },
      ScanIndexForward: false,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) if (item.recordType === "run") out.push(item as RunRecord);
  }
  return out;
}

export function runRow(run: RunRecord): RunSummaryRow {
  return {
    schedule: run.schedule,
    scheduledTime: run.scheduledTime,
    ...(run.customerIds === undefined ? {} : { customerIds: run.customerIds }),
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

const reportCounts = (counts: Record<ReportState, number>): ReportCounts => ({
  delivered: counts.delivered,
  failed: counts.failed,
  unroutable: counts.unroutable,
  bounced: counts.bounced,
  waiting: counts.waiting + counts.delivering,
});

/** The sum of the batches' counts; undefined when one of them could not be counted. */
function sumCounts(list: readonly (ReportCounts | undefined)[]): ReportCounts | undefined {
  const total: ReportCounts = { delivered: 0, failed: 0, unroutable: 0, bounced: 0, waiting: 0 };
  for (const counts of list) {
    if (counts === undefined) return undefined;
    for (const key of Object.keys(total) as (keyof ReportCounts)[]) total[key] += counts[key];
  }
  return total;
}

async function batchIdsOfRun(state: StateTable, run: RunRecord): Promise<string[]> {
  if (run.planId === undefined) return [];
  const chunks = await listChunks(state, run.pk, run.planId);
  return chunks.flatMap((chunk) => (chunk.lassoBatchId === undefined ? [] : [chunk.lassoBatchId]));
}

/** The newest runs with their batches and where their reports are, and every open batch. */
export async function readStatus(state: StateTable, limit: number, now = new Date()): Promise<StatusReport> {
  const [runs, open] = await Promise.all([recentRuns(state, limit), listOpenBatches(state)]);
  const batchIds = await Promise.all(runs.map((run) => batchIdsOfRun(state, run)));
  const records = new Map(open.map((batch) => [batch.lassoBatchId, batch]));
  const missing = [...new Set(batchIds.flat())].filter((id) => !records.has(id));
  for (const batch of await Promise.all(missing.map((id) => getBatchRecord(state, id)))) {
    if (batch !== undefined) records.set(batch.lassoBatchId, batch);
  }
  const counted = new Map<string, ReportCounts | undefined>();
  await Promise.all(
    [...records.values()].map(async (batch) => {
      const counts = await batchCounts(state, batch, now);
      counted.set(batch.lassoBatchId, counts === undefined ? undefined : reportCounts(counts));
    }),
  );
  const batches = [...records.values()]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .map((batch): BatchRow => {
      const reports = counted.get(batch.lassoBatchId);
      return {
        ...openBatchRow(batch),
        open: batch.openPartition !== undefined,
        createdAt: batch.createdAt,
        ...(batch.closedAt === undefined ? {} : { closedAt: batch.closedAt }),
        ...(reports === undefined ? {} : { reports }),
      };
    });
  return {
    runs: runs.map((run, index) => {
      const ids = batchIds[index] ?? [];
      const reports = sumCounts(ids.map((id) => counted.get(id)));
      return { ...runRow(run), batchIds: ids, ...(reports === undefined ? {} : { reports }) };
    }),
    batches,
    openBatches: batches.filter((batch) => batch.open),
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
