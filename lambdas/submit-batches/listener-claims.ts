/**
 * Listener runs: only customers no live listener batch covers join the run, each claimed
 * for its chunk (a coverage record, #shared/state/listener-coverage.ts) before anything is
 * sent, so no customer is covered by two listener batches (docs/submission.md).
 */
import type { ScheduleConfig } from "#shared/schedule.ts";
import { getChunk, supersedeRejectedChunk } from "#shared/state/chunks.ts";
import { runScope } from "#shared/state/keys.ts";
import { claimListenerCoverage, coverageRecord } from "#shared/state/listener-coverage.ts";
import type { RunRecord } from "#shared/state/runs.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { chunkCustomers } from "./chunking.ts";
import { mapLimit } from "./concurrency.ts";
import { judgeCoverage, nameChunks, type PlannedChunk } from "./plan.ts";
import type { SubmitPorts } from "./ports.ts";
import type { SubmitSettings } from "./run-result.ts";

/**
 * The listener run's chunks, each customer claimed for its chunk. A customer whose claim is
 * lost to a concurrent run leaves the chunk; an empty chunk is dropped.
 */
export async function claimListenerCustomers(
  ports: SubmitPorts,
  settings: SubmitSettings,
  schedule: ScheduleConfig,
  scheduledTime: string,
  run: RunRecord,
  selected: Parameters<typeof chunkCustomers>[0],
): Promise<{ chunks: PlannedChunk[]; alreadyCovered: number }> {
  const verdicts = await judgeCoverage(ports.state, schedule.reportType, run.pk, selected);
  const now = ports.clock().toISOString();
  const superseded = new Map<string, Promise<boolean>>();
  const candidates = selected.filter((customer) => verdicts.get(customer.customerId)?.kind !== "covered");
  let alreadyCovered = selected.length - candidates.length;
  const planned = nameChunks(
    schedule,
    scheduledTime,
    chunkCustomers(candidates, settings),
    runScope(run.customerIds),
  );

  const claims = planned.flatMap((chunk) => chunk.manifest.map((entry) => ({ chunk, entry })));
  const won = await mapLimit(claims, settings.claimConcurrency ?? 16, async ({ chunk, entry }) => {
    const verdict = verdicts.get(entry.customerId);
    let takeOverFrom: { runPk: string; chunkIndex: number } | undefined;
    if (verdict?.kind === "takeOver") {
      const from = { runPk: verdict.coverage.runPk, chunkIndex: verdict.coverage.chunkIndex };
      if (verdict.supersede) {
        // Retire the refused chunk first, so its own run can never send it after we take over.
        const cacheKey = `${from.runPk}#${from.chunkIndex}`;
        let retired = superseded.get(cacheKey);
        if (retired === undefined) {
          retired = retireChunk(ports.state, from.runPk, from.chunkIndex, now);
          superseded.set(cacheKey, retired);
        }
        if (!(await retired)) return false;
      }
      takeOverFrom = from;
    }
    const record = coverageRecord(
      {
        reportType: schedule.reportType,
        customerId: entry.customerId,
        cvr: entry.cvr,
        schedule: schedule.name,
        runPk: run.pk,
        chunkIndex: chunk.chunkIndex,
      },
      now,
    );
    return claimListenerCoverage(ports.state, record, takeOverFrom);
  });

  const winners = new Set<string>();
  claims.forEach(({ chunk, entry }, index) => {
    if (won[index]) winners.add(`${chunk.chunkIndex}#${entry.customerId}`);
    else alreadyCovered++;
  });
  const chunks = planned
    .map((chunk) => ({
      ...chunk,
      manifest: chunk.manifest.filter((entry) => winners.has(`${chunk.chunkIndex}#${entry.customerId}`)),
    }))
    .filter((chunk) => chunk.manifest.length > 0);
  return { chunks, alreadyCovered };
}

/** Supersedes a rejected chunk; true when it is (now or already) superseded. */
async function retireChunk(
  state: StateTable,
  runPk: string,
  chunkIndex: number,
  now: string,
): Promise<boolean> {
  if (await supersedeRejectedChunk(state, runPk, chunkIndex, now)) return true;
  return (await getChunk(state, runPk, chunkIndex))?.status === "superseded";
}
