/**
 * Step 3 of a run, for one chunk: POSTed at most once per attempt; an attempt whose outcome
 * is unknown is resolved by the chunk's token before anything is sent again. An accepted
 * batch gets its batch record (manifest, open for the poller) before the chunk says
 * `submitted` (docs/submission.md).
 */
import { LassoApiError, LassoRequestError } from "#shared/lasso/errors.ts";
import type { CreateBatchRequest, LassoBatch } from "#shared/lasso/schemas.ts";
import { silentLog } from "#shared/runtime/log.ts";
import type { ScheduleConfig } from "#shared/schedule.ts";
import { putNewBatchRecord, submittedBatchRecord } from "#shared/state/batches.ts";
import { type ChunkRecord, type ChunkStatus, settleChunk, startChunkAttempt } from "#shared/state/chunks.ts";
import { LeaseLostError } from "#shared/state/runs.ts";
import { lassoScheduledTime } from "./chunking.ts";
import type { SubmitPorts } from "./ports.ts";
import { describeError } from "./run-result.ts";

/** Chunks a POST may start from: unsent, unresolved (the answer was lost), or refused before. */
const ATTEMPTABLE_CHUNK_STATUSES: readonly ChunkStatus[] = ["planned", "submitting", "rejected"];

/** Chunks that are done for good: never sent again. */
export const chunkIsDone = (chunk: ChunkRecord): boolean =>
  chunk.status === "submitted" || chunk.status === "superseded";

export type ChunkOutcome =
  | { kind: "submitted"; batch: LassoBatch }
  | { kind: "rejected" | "failed"; error: string };

export type WebhookAuth = Awaited<ReturnType<SubmitPorts["webhook"]["auth"]>>;

/** Lasso said no for good (4xx other than 408/429), or we built a request it cannot take. */
function isDefiniteRejection(error: unknown): boolean {
  return error instanceof LassoRequestError || (error instanceof LassoApiError && !error.retryable);
}

export async function submitChunk(
  ports: SubmitPorts,
  schedule: ScheduleConfig,
  scheduledTime: string,
  chunk: ChunkRecord,
  auth: WebhookAuth,
): Promise<ChunkOutcome> {
  const log = ports.log ?? silentLog;
  // A chunk left `submitting` had a POST whose answer was lost: Lasso may hold the batch.
  const outcomeUnknown = chunk.status === "submitting";
  const now = ports.clock().toISOString();
  if (!(await startChunkAttempt(ports.state, chunk, now, ATTEMPTABLE_CHUNK_STATUSES))) {
    throw new LeaseLostError(`chunk ${chunk.chunkIndex} of ${chunk.runPk} changed under this invocation`);
  }
  const context = { chunkIndex: chunk.chunkIndex, items: chunk.manifest.length, token: chunk.uniqueToken };
  let batch: LassoBatch | undefined;
  try {
    if (outcomeUnknown) {
      batch = await ports.lasso.findBatchByToken(chunk.uniqueToken);
      if (batch !== undefined)
        log.info("found the batch of an earlier attempt by its token", {
          ...context,
          lassoBatchId: batch.id,
        });
    }
    batch ??= await ports.lasso.createBatch(batchRequest(ports, schedule, scheduledTime, chunk, auth), {
      uniqueToken: chunk.uniqueToken,
    });
  } catch (error) {
    return settleFailedAttempt(ports, chunk, error, context);
  }

  const accepted = ports.clock();
  // The batch record first: once it exists the poller works on the batch, whatever happens next.
  await putNewBatchRecord(ports.state, submittedBatchRecord(ports.state, chunk, batch, accepted));
  await settleChunk(ports.state, chunk, {
    status: "submitted",
    lassoBatchId: batch.id,
    now: accepted.toISOString(),
  });
  log.info("batch submitted", { ...context, lassoBatchId: batch.id, status: batch.status });
  return { kind: "submitted", batch };
}

/** The batch POST for a chunk. */
function batchRequest(
  ports: SubmitPorts,
  schedule: ScheduleConfig,
  scheduledTime: string,
  chunk: ChunkRecord,
  auth: WebhookAuth,
): CreateBatchRequest {
  const at = lassoScheduledTime(new Date(scheduledTime), schedule.delayMinutes);
  return {
    batchName: chunk.batchName,
    type: schedule.reportType,
    format: schedule.format,
    items: chunk.manifest.map((entry) => ({
      cvr: entry.cvr,
      internalCustomerId: entry.customerId,
      ...(entry.format === undefined ? {} : { format: entry.format }),
    })),
    notificationWebhookUrl: ports.webhook.url,
    authConfig: auth,
    ...(schedule.notificationEmail === undefined ? {} : { notificationEmail: schedule.notificationEmail }),
    ...(schedule.errorAppend === undefined ? {} : { errorAppend: schedule.errorAppend }),
    ...(at === undefined ? {} : { scheduledTime: at }),
    ...(schedule.listener === undefined
      ? {}
      : { isListener: true, triggerNow: schedule.listener.triggerNow }),
  };
}

/**
 * A refused attempt is `rejected` (a re-invocation tries again); any other failure leaves
 * the chunk `submitting`, its outcome resolved by token on the next attempt.
 */
async function settleFailedAttempt(
  ports: SubmitPorts,
  chunk: ChunkRecord,
  error: unknown,
  context: Record<string, unknown>,
): Promise<ChunkOutcome> {
  const log = ports.log ?? silentLog;
  const text = describeError(error);
  const now = ports.clock().toISOString();
  if (isDefiniteRejection(error)) {
    await settleChunk(ports.state, chunk, { status: "rejected", error: text, now });
    log.error("Lasso rejected a batch", { ...context, error: text });
    return { kind: "rejected", error: text };
  }
  await settleChunk(ports.state, chunk, { status: "submitting", error: text, now });
  log.error("batch submission failed; its outcome is resolved by token on the next attempt", {
    ...context,
    error: text,
  });
  return { kind: "failed", error: text };
}
