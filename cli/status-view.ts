/**
 * `status` and `run`: recent runs (the state table's `runsByTime` index), open batches
 * (`openBatches`, docs/state-model.md) and one run with its chunks, read for people.
 */

import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "#shared/lasso/enums.ts";
import { listOpenBatches } from "#shared/state/batch-polling.ts";
import { listChunks } from "#shared/state/chunks.ts";
import { RUNS_PARTITION } from "#shared/state/keys.ts";
import type { BatchAlertKind, BatchRecord } from "#shared/state/records.ts";
import type { RunRecord } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { StateIndexName } from "#shared/tables.ts";

/** The state table's index of runs, newest first (typed: a typo is a compile error). */
const RUNS_BY_TIME: StateIndexName = "runsByTime";

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
