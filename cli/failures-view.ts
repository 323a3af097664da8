/**
 * `failures`: what did not reach a customer, across batches and runs, with what to do about
 * each. Read from the state table (docs/state-model.md):
 *
 * - report records recorded `failed` (Lasso failed it, its PDF was refused, SES rejected the
 *   mail) or `unroutable` (no customer to send it to);
 * - unverified webhooks (a report our records and Lasso's API did not confirm: mailed to nobody);
 * - the rows runs skipped (a customer row a run could not use), from the run records.
 *
 * Report and unverified records are found by a scan (an operator's command, with progress);
 * runs through the `runsByTime` index.
 */
import { type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { getCustomer } from "#shared/customer-reads.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import type { ReportRecord, UnverifiedRecord } from "#shared/state/records.ts";
import type { RunRecord } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { ProgressFactory } from "./progress.ts";
import { runsCreatedSince } from "./status-view.ts";

export const FAILURE_KINDS = ["failed", "unroutable", "unverified", "skipped"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface FailureRow {
  kind: FailureKind;
  /** When it was recorded (ISO, UTC). */
  at: string;
  schedule?: string;
  lassoBatchId?: string;
  runPk?: string;
  customerId?: number;
  cvr?: string;
  /** The customer's name in the customers table, when there is one. */
  company?: string;
  reportType?: ReportType;
  reason: string;
  /** What an operator does about it (a command where there is one). */
  action: string;
}

export interface FailuresReport {
  since: string;
  schedule?: string;
  failures: FailureRow[];
  counts: Record<FailureKind, number>;
}

/** What to do about a report the delivery recorded as failed or unroutable. */
export function reportAction(record: ReportRecord, schedule: string | undefined): string {
  const who = record.customerId === undefined ? "ID" : String(record.customerId);
  const resend = `resend --batch ${record.lassoBatchId} --customer ${who}`;
  if (record.deliveryStatus === "unroutable")
    return `fix the customer row (customers import), then ${resend}`;
  if (record.itemStatus === "Failed") {
    return `Lasso could not make it (its reason above): check the company with Lasso, then run ${schedule ?? "SCHEDULE"} --customer ${who}`;
  }
  if (/^pdf refused/.test(record.reason ?? "")) {
    return `its PDF link was refused (pdfHosts, docs/deploy.md#lassos-pdf-host): fix it, then ${resend}`;
  }
  return `fix the cause (docs/operations.md), then ${resend}`;
}

function reportRow(record: ReportRecord, schedule: string | undefined): FailureRow {
  return {
    kind: record.deliveryStatus === "unroutable" ? "unroutable" : "failed",
    at: record.outcomeAt ?? record.updatedAt,
    ...(schedule === undefined ? {} : { schedule }),
    lassoBatchId: record.lassoBatchId,
    ...(record.customerId === undefined ? {} : { customerId: record.customerId }),
    cvr: record.cvr,
    reportType: record.reportType,
    reason: record.reason ?? record.lassoMessage ?? "(no reason recorded)",
    action: reportAction(record, schedule),
  };
}

function unverifiedRow(record: UnverifiedRecord): FailureRow {
  return {
    kind: "unverified",
    at: record.lastSeenAt,
    lassoBatchId: record.lassoBatchId,
    ...(record.internalCustomerId === undefined ? {} : { customerId: record.internalCustomerId }),
    ...(record.cvr === undefined ? {} : { cvr: record.cvr }),
    ...(record.reportType === undefined ? {} : { reportType: record.reportType }),
    reason: `${record.reason} (webhook${record.hints === 1 ? "" : `s: ${record.hints}`})`,
    action:
      "mailed to nobody: expected after `webhook test`; otherwise find out who calls the webhook (docs/operations.md#webhookunverified)",
  };
}

function skippedRows(run: RunRecord): FailureRow[] {
  return (run.skippedRows ?? []).map((row) => ({
    kind: "skipped",
    at: run.plannedAt ?? run.createdAt,
    schedule: run.schedule,
    runPk: run.pk,
    ...(row.customerId === undefined ? {} : { customerId: row.customerId }),
    ...(row.cvr === undefined ? {} : { cvr: row.cvr }),
    reportType: run.reportType,
    reason: row.reason,
    action: `fix the row (customers validate), then run ${run.schedule}${row.customerId === undefined ? "" : ` --customer ${row.customerId}`}`,
  }));
}

/** Failed and unroutable reports and unverified webhooks recorded since `since` (a scan). */
async function scanFailures(
  state: StateTable,
  since: string,
  progress: ProgressFactory,
): Promise<(ReportRecord | UnverifiedRecord)[]> {
  const out: (ReportRecord | UnverifiedRecord)[] = [];
  const bar = progress("scanning the state table");
  try {
    const pages = paginateScan(
      { client: state.doc },
      {
        TableName: state.tableName,
        FilterExpression:
          "updatedAt >= :since AND ((recordType = :report AND deliveryStatus IN (:failed, :unroutable)) OR recordType = :unverified)",
        ExpressionAttributeValues: {
          ":since": since,
          ":report": "report",
          ":failed": "failed",
          ":unroutable": "unroutable",
          ":unverified": "unverified",
        },
      },
    );
    for await (const page of pages) {
      out.push(...((page.Items ?? []) as (ReportRecord | UnverifiedRecord)[]));
      bar.tick(page.ScannedCount ?? 0);
    }
  } finally {
    bar.done();
  }
  return out;
}

/** The schedule of each batch (its batch record), read once per batch. */
async function schedulesOfBatches(
  state: StateTable,
  batchIds: readonly string[],
): Promise<Map<string, string | undefined>> {
  const unique = [...new Set(batchIds)];
  const records = await Promise.all(unique.map((id) => getBatchRecord(state, id)));
  return new Map(unique.map((id, index) => [id, records[index]?.schedule]));
}

/** Customer names by id, from the customers table (a customer deleted since has none). */
async function companyNames(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  ids: readonly number[],
): Promise<Map<number, string>> {
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map((id) => getCustomer(customers.doc, customers.tableName, id)));
  const names = new Map<number, string>();
  unique.forEach((id, index) => {
    const result = found[index];
    if (result?.ok) names.set(id, result.customer.name);
  });
  return names;
}

export async function readFailures(
  ports: { state: StateTable; customers: { doc: DynamoDBDocumentClient; tableName: string } },
  filter: { since: string; schedule?: string },
  progress: ProgressFactory,
): Promise<FailuresReport> {
  const [records, runs] = await Promise.all([
    scanFailures(ports.state, filter.since, progress),
    runsCreatedSince(ports.state, filter.since),
  ]);
  const reports = records.filter((record): record is ReportRecord => record.recordType === "report");
  const schedules = await schedulesOfBatches(
    ports.state,
    reports.map((record) => record.lassoBatchId),
  );
  let rows: FailureRow[] = [
    ...reports.map((record) => reportRow(record, schedules.get(record.lassoBatchId))),
    ...records
      .filter((record): record is UnverifiedRecord => record.recordType === "unverified")
      .map(unverifiedRow),
    ...runs.flatMap(skippedRows),
  ];
  if (filter.schedule !== undefined) rows = rows.filter((row) => row.schedule === filter.schedule);
  const names = await companyNames(
    ports.customers,
    rows.flatMap((row) => (row.customerId === undefined ? [] : [row.customerId])),
  );
  const failures = rows
    .map((row) => {
      const company = row.customerId === undefined ? undefined : names.get(row.customerId);
      return company === undefined ? row : { ...row, company };
    })
    .sort((a, b) => b.at.localeCompare(a.at));
  const counts = Object.fromEntries(FAILURE_KINDS.map((kind) => [kind, 0])) as Record<FailureKind, number>;
  for (const row of failures) counts[row.kind]++;
  return {
    since: filter.since,
    ...(filter.schedule === undefined ? {} : { schedule: filter.schedule }),
    failures,
    counts,
  };
}
