/**
 * Planning a run of a schedule: which customers go into which batches, which rows are
 * skipped and why. `planSchedule` is the dry run (the CLI's `plan`): it reads the customers
 * table (and, for listener schedules, the coverage records) and writes nothing, calls no
 * Lasso. The real run plans with the same functions, then claims and stores.
 */

import type { Customer, Language } from "#shared/customers.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import { type ChunkManifestEntry, type ChunkRecord, getChunk } from "#shared/state/chunks.ts";
import { runKey } from "#shared/state/keys.ts";
import { getListenerCoverage, type ListenerCoverageRecord } from "#shared/state/listener-coverage.ts";
import type { RowWarning, RunCounts, SkippedRow } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { batchName, chunkCustomers, chunkToken, manifestEntry } from "./chunking.ts";
import type { PlanPorts } from "./ports.ts";
import { type Selection, selectCustomers } from "./selection.ts";

export interface PlanSettings {
  chunkSize: number;
  defaultLanguage?: Language;
  maxManifestBytes?: number;
}

export interface PlannedChunk {
  chunkIndex: number;
  uniqueToken: string;
  batchName: string;
  manifest: ChunkManifestEntry[];
}

/** A listener customer that an earlier run's listener batch already covers. */
export interface CoveredCustomer {
  customerId: number;
  cvr: string;
  runPk: string;
  chunkIndex: number;
}

export interface SchedulePlan {
  schedule: string;
  scheduledTime: string;
  runPk: string;
  reportType: ReportType;
  group: string;
  isListener: boolean;
  chunks: PlannedChunk[];
  skipped: SkippedRow[];
  warnings: RowWarning[];
  alreadyCovered: CoveredCustomer[];
  counts: RunCounts;
}

/** The canonical form of a scheduled time (the run's idempotency key): ISO 8601 UTC. */
export function canonicalScheduledTime(value: string | Date): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new RangeError(`scheduledTime "${String(value)}" is not a date-time`);
  return date.toISOString();
}

/** Chunks with names and tokens, numbered from 1. */
export function nameChunks(
  schedule: ScheduleConfig,
  scheduledTime: string,
  groups: readonly Customer[][],
  scope = "",
): PlannedChunk[] {
  return groups.map((customers, index) => {
    const chunkIndex = index + 1;
    const uniqueToken = chunkToken(schedule.name, scheduledTime, chunkIndex, scope);
    return {
      chunkIndex,
      uniqueToken,
      batchName: batchName(
        schedule.batchNameTemplate,
        {
          schedule: schedule.name,
          scheduledTime: new Date(scheduledTime),
          timeZone: schedule.timeZone,
          part: chunkIndex,
          parts: groups.length,
        },
        uniqueToken,
      ),
      manifest: customers.map(manifestEntry),
    };
  });
}

export function runCounts(selection: Selection, selected: number, alreadyCovered: number): RunCounts {
  return {
    customersRead: selection.customersRead,
    selected,
    disabled: selection.disabled,
    notWanted: selection.notWanted,
    alreadyCovered,
    skipped: selection.skipped.length,
    warnings: selection.warnings.length,
  };
}

/** Where an existing coverage record leaves a customer. */
export type CoverageVerdict =
  | { kind: "free" }
  /** Claimed by this run already (an earlier plan of it): claim again. */
  | { kind: "ours" }
  | { kind: "covered"; coverage: ListenerCoverageRecord }
  /** The claiming chunk was refused by Lasso (or never held the customer): take it over. */
  | { kind: "takeOver"; coverage: ListenerCoverageRecord; supersede: boolean };

/**
 * Reads the coverage of `customers` for a listener run and judges each claim: a claim is
 * live while its chunk exists, holds the customer and is not rejected/superseded. A missing
 * chunk (expired history) counts as live: never cover a customer twice.
 */
export async function judgeCoverage(
  state: StateTable,
  reportType: ReportType,
  runPk: string,
  customers: readonly Customer[],
): Promise<Map<number, CoverageVerdict>> {
  const existing = await getListenerCoverage(
    state,
    reportType,
    customers.map((c) => c.customerId),
  );
  const chunkCache = new Map<string, Promise<ChunkRecord | undefined>>();
  const verdicts = new Map<number, CoverageVerdict>();
  for (const customer of customers) {
    const coverage = existing.get(customer.customerId);
    if (coverage === undefined) {
      verdicts.set(customer.customerId, { kind: "free" });
      continue;
    }
    if (coverage.runPk === runPk) {
      verdicts.set(customer.customerId, { kind: "ours" });
      continue;
    }
    const cacheKey = `${coverage.runPk}#${coverage.chunkIndex}`;
    let chunk = chunkCache.get(cacheKey);
    if (chunk === undefined) {
      chunk = getChunk(state, coverage.runPk, coverage.chunkIndex);
      chunkCache.set(cacheKey, chunk);
    }
    const record = await chunk;
    if (record === undefined) verdicts.set(customer.customerId, { kind: "covered", coverage });
    else if (!record.manifest.some((entry) => entry.customerId === customer.customerId)) {
      verdicts.set(customer.customerId, { kind: "takeOver", coverage, supersede: false });
    } else if (record.status === "rejected" || record.status === "superseded") {
      verdicts.set(customer.customerId, {
        kind: "takeOver",
        coverage,
        supersede: record.status === "rejected",
      });
    } else verdicts.set(customer.customerId, { kind: "covered", coverage });
  }
  return verdicts;
}

/**
 * The dry run: for `schedule` firing at `scheduledTime`, the batches a run would submit
 * (customers and cvrs of each), the rows it would skip and why, and, for listener
 * schedules, the customers already covered. Reads only.
 */
export async function planSchedule(
  ports: PlanPorts,
  input: { schedule: ScheduleConfig; scheduledTime: string | Date },
  settings: PlanSettings,
): Promise<SchedulePlan> {
  const { schedule } = input;
  const scheduledTime = canonicalScheduledTime(input.scheduledTime);
  const runPk = runKey(schedule.name, scheduledTime).pk;
  const selection = await selectCustomers(
    ports.customers,
    { group: schedule.group, reportType: schedule.reportType },
    settings.defaultLanguage === undefined ? {} : { defaultLanguage: settings.defaultLanguage },
  );
  const isListener = schedule.listener !== undefined;
  let candidates = selection.selected;
  const alreadyCovered: CoveredCustomer[] = [];
  if (isListener && ports.state !== undefined) {
    const verdicts = await judgeCoverage(ports.state, schedule.reportType, runPk, candidates);
    candidates = candidates.filter((customer) => {
      const verdict = verdicts.get(customer.customerId);
      if (verdict?.kind !== "covered") return true;
      alreadyCovered.push({
        customerId: customer.customerId,
        cvr: customer.cvr,
        runPk: verdict.coverage.runPk,
        chunkIndex: verdict.coverage.chunkIndex,
      });
      return false;
    });
  }
  const chunks = nameChunks(schedule, scheduledTime, chunkCustomers(candidates, settings));
  return {
    schedule: schedule.name,
    scheduledTime,
    runPk,
    reportType: schedule.reportType,
    group: schedule.group,
    isListener,
    chunks,
    skipped: selection.skipped,
    warnings: selection.warnings,
    alreadyCovered,
    counts: runCounts(selection, candidates.length, alreadyCovered.length),
  };
}
