/**
 * A ring's report delivered in place (doorbell.ts, step 3): from the facts a read of
 * Lasso's list wrote on its record, in the ring's own invocation, without a queue message
 * of its own.
 */
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { removeHeld } from "#shared/state/held-reports.ts";
import { handOnReports } from "#shared/state/report-handoff.ts";
import { DOORBELL_METRICS, type DoorbellDeps, type RingContext, type RingOutcome } from "./doorbell.ts";
import { RetryLaterError } from "./errors.ts";

/**
 * The ring's report, delivered in place by `deliver` (deliverReport). A retryable failure
 * on the ring's last receive hands the report on as a message of its own, with the queue's
 * whole retry budget: the report is never left without a message that carries it. When
 * that send fails too, the error stands and the queue retries the ring.
 */
export async function deliverInPlace<T>(
  ring: { identity: string; message: ReportReadyMessage; seenAt?: string },
  deps: Pick<DoorbellDeps, "state" | "queue" | "clock" | "metrics" | "logger" | "config">,
  context: RingContext,
  deliver: (message: ReportReadyMessage) => Promise<T>,
): Promise<T | RingOutcome> {
  try {
    const delivered = await deliver(ring.message);
    await leaveHeldSet(ring, deps);
    return delivered;
  } catch (error) {
    if (!(error instanceof RetryLaterError) || context.receiveCount < deps.config.ringMaxReceives)
      throw error;
    const { message, identity } = ring;
    const reportType = message.reportType;
    if (reportType === undefined) throw error;
    const sent = await handOnReports(
      { table: deps.state, queue: deps.queue },
      [{ identity, reportType, message }],
      deps.clock(),
    );
    if (sent.handedOn.length + sent.raced.length + sent.unmarked.length === 0) throw error;
    deps.metrics.count(DOORBELL_METRICS.handedOn);
    deps.logger.info("ring's delivery to be retried: the report handed on as a message of its own", {
      reason: error.reason,
      receiveCount: context.receiveCount,
    });
    return { outcome: "read", batch: "open", handedOn: 1 };
  }
}

/**
 * The delivered report leaves its batch's held set, so that the batch can close without
 * the poller reading it. Best effort: an entry left behind is settled after its hold.
 */
async function leaveHeldSet(
  ring: { identity: string; message: ReportReadyMessage; seenAt?: string },
  deps: Pick<DoorbellDeps, "state" | "clock" | "logger">,
): Promise<void> {
  if (ring.seenAt === undefined) return;
  try {
    await removeHeld(
      deps.state,
      ring.message.batchId,
      [{ identity: ring.identity, seenAt: ring.seenAt }],
      deps.clock(),
    );
  } catch (error) {
    deps.logger.warn("delivered report not removed from its batch's held set (settled after its hold)", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
