/**
 * Keys of the state table's records (see docs/state-model.md). Every record carries a
 * `recordType` attribute naming what it is.
 */

export interface StateKey {
  pk: string;
  sk: string;
}

export const RECORD_TYPES = [
  "run",
  "chunk",
  "batch",
  "batchManifest",
  "report",
  "delivery",
  "listenerCoverage",
  "suppression",
  "unverified",
  "lookUpBudget",
  "failureNotice",
  "scheduleSync",
  "heldReports",
] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The value of the sparse `openPartition` attribute carried by open batches only. */
export const OPEN_BATCH_PARTITION = "OPEN";
/** The value of the sparse `runsPartition` attribute carried by run records only. */
export const RUNS_PARTITION = "RUN";

/** Most customers of one targeted run (its key names them all; a key holds 2 KB). */
export const MAX_RUN_CUSTOMERS = 100;

/**
 * What a run is limited to: `customers=1002,1003` (sorted, each once) for an operator's run of
 * some customers only (`lasso-reports run SCHEDULE --customer ID…`); "" for a whole run.
 */
export const runScope = (customerIds?: readonly number[]): string =>
  customerIds === undefined || customerIds.length === 0
    ? ""
    : `customers=${[...new Set(customerIds)].sort((a, b) => a - b).join(",")}`;

/**
 * One firing of a schedule: idempotent on (schedule, scheduled time), and for a run of some
 * customers only, on those customers too.
 */
export const runKey = (
  schedule: string,
  scheduledTime: string,
  customerIds?: readonly number[],
): StateKey => {
  const scope = runScope(customerIds);
  return { pk: `RUN#${schedule}#${scheduledTime}${scope === "" ? "" : `#${scope}`}`, sk: "RUN" };
};

/** One planned batch of a run, with its manifest, before and after submission. */
export const chunkKey = (run: StateKey, index: number): StateKey => ({
  pk: run.pk,
  sk: `CHUNK#${String(index).padStart(5, "0")}`,
});

/** A batch as Lasso knows it, by Lasso's batch id: status, open flag, poll state. */
export const batchKey = (lassoBatchId: string): StateKey => ({
  pk: `BATCH#${lassoBatchId}`,
  sk: "BATCH",
});

/** Who went into a submitted batch, written once (records.ts BatchManifestRecord). */
export const batchManifestKey = (lassoBatchId: string): StateKey => ({
  pk: `BATCH#${lassoBatchId}`,
  sk: "MANIFEST",
});

/** The reports of a batch held for their own ring (state/held-reports.ts). */
export const heldReportsKey = (lassoBatchId: string): StateKey => ({
  pk: `BATCH#${lassoBatchId}`,
  sk: "HELD",
});

/** One report, by its identity (report-ready.ts `reportIdentity`): handed on, claimed, delivered. */
export const reportKey = (identity: string): StateKey => ({
  pk: `REPORT#${identity}`,
  sk: "REPORT",
});

/** Which listener batch covers a customer for a report type: nobody is covered twice. */
export const listenerCoverageKey = (reportType: string, customerId: number): StateKey => ({
  pk: `LISTEN#${reportType}#${customerId}`,
  sk: "COVERAGE",
});

/**
 * An address SES reported as hard-bounced or complaining: the delivery skips it. The
 * address is normalised (trimmed, lower case) by `normaliseEmailAddress` in suppression.ts.
 */
export const suppressionKey = (normalisedEmail: string): StateKey => ({
  pk: `SUPPRESS#${normalisedEmail}`,
  sk: "SUPPRESS",
});

/**
 * A webhook that our records and Lasso's API did not confirm (unverified.ts): per batch id,
 * the batch's own verdict (`sk` BATCH) and one record per company and type it named.
 */
export const unverifiedKey = (
  lassoBatchId: string,
  subject: "BATCH" | { cvr: string; reportType?: string },
): StateKey => ({
  pk: `UNVERIFIED#${lassoBatchId}`,
  sk: subject === "BATCH" ? "BATCH" : `HINT#${subject.cvr}#${subject.reportType ?? "-"}`,
});

/** One failure notice per customer and Lasso batch (a run's batch of that customer). */
export const failureNoticeKey = (customerId: number, lassoBatchId: string): StateKey => ({
  pk: `NOTICE#${customerId}`,
  sk: `BATCH#${lassoBatchId}`,
});

/** How many Lasso look-ups of unknown batches the webhook rings took in one clock minute. */
export const lookUpBudgetKey = (minute: string): StateKey => ({ pk: `LOOKUPS#${minute}`, sk: "LOOKUPS" });

/** What sync-schedules last did with a schedule item (state/schedule-sync.ts): one per schedule. */
export const scheduleSyncKey = (name: string): StateKey => ({ pk: `SCHEDULE#${name}`, sk: "SYNC" });
