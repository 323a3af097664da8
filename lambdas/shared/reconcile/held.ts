/**
 * Settles a batch's holds (docs/polling.md, "Held for its ring"): of the reports in its
 * held set, those done (delivered by their ring, or handed on) leave the set; those whose
 * hold is over (`holdMs` since a read first saw them) are sent to the queue from the facts
 * that read wrote, and leave it; the rest stay held, and keep the batch open.
 */
import { heldEntries, readHeld, removeHeld } from "#shared/state/held-reports.ts";
import { handOffStates, handOnReports } from "#shared/state/report-handoff.ts";
import type { PollPorts } from "./ports.ts";

export interface HeldOutcome {
  /** Still held for their ring. */
  remaining: number;
  /** Sent to the queue now: their hold was over (the webhook was lost). */
  sent: number;
}

export async function settleHeld(
  ports: PollPorts,
  lassoBatchId: string,
  holdMs: number,
): Promise<HeldOutcome> {
  const held = await readHeld(ports.table, lassoBatchId);
  if (held.length === 0) return { remaining: 0, sent: 0 };
  const now = ports.clock();
  const states = await handOffStates(ports.table, held, now);
  const settled = held.filter((identity) => states.get(identity)?.done === true);
  const due = held.filter((identity) => {
    const state = states.get(identity);
    if (state === undefined || state.done) return false;
    return state.seenAt === undefined || Date.parse(state.seenAt) + holdMs <= now.getTime();
  });
  let sent = 0;
  if (due.length > 0) {
    const entries = await heldEntries(ports.table, due);
    const result = await handOnReports(ports, entries, now, 0);
    sent = result.handedOn.length;
    const gone = [...result.handedOn, ...result.raced, ...result.alreadyHandedOn];
    settled.push(...gone.map((entry) => entry.identity), ...result.unmarked.map((u) => u.entry.identity));
    if (entries.length < due.length) {
      // Written by the read that held them, before they were held: missing means a bug.
      ports.log.error("held reports without their facts stay held", {
        lassoBatchId,
        missing: due.length - entries.length,
      });
    }
  }
  await removeHeld(ports.table, lassoBatchId, settled, now);
  return { remaining: held.length - settled.length, sent };
}
