/** Following operator re-sends to their outcome: shared by `resend` of one report and of a batch. */
import type { ReportRecord } from "#shared/state/records.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { ProgressFactory } from "./progress.ts";

/**
 * Polls the reports until the delivery took the re-send `resendKey` of each (recorded its
 * outcome), or the timeout passes; the bar counts the ones taken.
 */
export async function waitForResends(
  state: StateTable,
  identities: readonly string[],
  resendKey: string,
  options: { timeoutMs: number; pollMs?: number; progress: ProgressFactory },
): Promise<Map<string, ReportRecord>> {
  const taken = new Map<string, ReportRecord>();
  const bar = options.progress("waiting for the deliveries", identities.length);
  const deadline = Date.now() + options.timeoutMs;
  try {
    while (taken.size < identities.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
      for (const identity of identities) {
        if (taken.has(identity)) continue;
        const current = await getReportRecord(state, identity);
        if (current?.resendKey === resendKey && current.deliveryStatus !== "claimed") {
          taken.set(identity, current);
          bar.tick();
        }
      }
    }
  } finally {
    bar.done();
  }
  return taken;
}
