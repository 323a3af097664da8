/**
 * Step 2 of a run: the plan. Customers selected, listener customers claimed, chunks (with
 * manifests and unique tokens) stored, then the run moves to `submitting`. Nothing is sent
 * before the whole plan is stored (docs/submission.md).
 */
import { randomUUID } from "node:crypto";
import { silentLog } from "#shared/runtime/log.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import { plannedChunkRecord, putPlannedChunk } from "#shared/state/chunks.ts";
import { runScope } from "#shared/state/keys.ts";
import {
  MAX_ROWS_KEPT,
  type RunCounts,
  type RunRecord,
  type SkippedRow,
  savePlan,
} from "#shared/state/runs.ts";
import { chunkCustomers } from "./chunking.ts";
import { claimListenerCustomers } from "./listener-claims.ts";
import { nameChunks, type PlannedChunk, runCounts } from "./plan.ts";
import type { SubmitPorts } from "./ports.ts";
import { keyOf, type RunLease, renewLease } from "./run-lifecycle.ts";
import type { SubmitSettings } from "./run-result.ts";
import { selectCustomers } from "./selection.ts";

export async function makePlan(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  lease: RunLease,
): Promise<{ planId: string; counts: RunCounts; skipped: SkippedRow[] }> {
  const log = ports.log ?? silentLog;
  const planId = randomUUID();
  const selection = await selectCustomers(
    ports.customers,
    { group: schedule.group, reportType: schedule.reportType },
    settings.defaultLanguage === undefined ? {} : { defaultLanguage: settings.defaultLanguage },
  );
  for (const row of selection.skipped) log.warn("customer row skipped", { ...row });
  for (const row of selection.warnings) log.warn("customer row warning", { ...row });

  let chunks: PlannedChunk[];
  let alreadyCovered = 0;
  if (schedule.listener === undefined) {
    chunks = nameChunks(
      schedule,
      scheduledTime,
      chunkCustomers(selection.selected, settings),
      runScope(run.customerIds),
    );
  } else {
    const claimed = await claimListenerCustomers(
      ports,
      settings,
      schedule,
      scheduledTime,
      run,
      selection.selected,
    );
    chunks = claimed.chunks;
    alreadyCovered = claimed.alreadyCovered;
  }

  // Selection (and listener claims) took a while: the lease must still be ours, and fresh,
  // before the plan is written, so a lapsed planner can never overwrite a newer plan.
  await renewLease(ports, run, lease);
  await storeChunks(ports, schedule, run, planId, chunks);
  const selected = chunks.reduce((sum, chunk) => sum + chunk.manifest.length, 0);
  const counts = runCounts(selection, selected, alreadyCovered);
  const truncated = selection.skipped.length > MAX_ROWS_KEPT || selection.warnings.length > MAX_ROWS_KEPT;
  await savePlan(ports.state, keyOf(run), ports.invocationId, {
    planId,
    chunkCount: chunks.length,
    counts,
    skippedRows: selection.skipped.slice(0, MAX_ROWS_KEPT),
    warningRows: selection.warnings.slice(0, MAX_ROWS_KEPT),
    rowsTruncated: truncated,
    now: ports.clock().toISOString(),
  });
  log.info("run planned", { runId: run.runId, chunks: chunks.length, ...counts });
  return { planId, counts, skipped: selection.skipped };
}

/** Stores every chunk of the plan as `planned` (replacing only unsent chunks of an abandoned plan). */
async function storeChunks(
  ports: SubmitPorts,
  schedule: ScheduleConfig,
  run: RunRecord,
  planId: string,
  chunks: readonly PlannedChunk[],
): Promise<void> {
  const at = ports.clock();
  for (const planned of chunks) {
    const record = plannedChunkRecord(
      ports.state,
      keyOf(run),
      {
        schedule: schedule.name,
        chunkIndex: planned.chunkIndex,
        planId,
        uniqueToken: planned.uniqueToken,
        batchName: planned.batchName,
        reportType: schedule.reportType,
        isListener: schedule.listener !== undefined,
        manifest: planned.manifest,
      },
      at,
    );
    if (!(await putPlannedChunk(ports.state, record))) {
      // Only possible if a chunk of this run was sent while it was still planning: a bug.
      throw new Error(
        `chunk ${planned.chunkIndex} of ${run.pk} was already sent; the plan cannot be replaced`,
      );
    }
  }
}
