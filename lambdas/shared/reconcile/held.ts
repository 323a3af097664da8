/**
 * Settles a batch's holds (docs/polling.md, "Held for its ring"). The held set says when
 * each report was first seen, so only the reports whose hold is over (`holdMs` since
 * then) are looked at: those done meanwhile (delivered by their ring, or handed on) leave
 * the set; the others are sent to the queue from the facts the read that held them wrote,
 * and leave it. The rest stay held, unread, and keep the batch open; a ring that delivers
 * its report removes it from the set itself.
 */
import {
  earliestOf,
  type HeldReport,
  heldEntries,
  readHeld,
  removeHeld,
} from "#shared/state/held-reports.ts";
import type { BatchRecord } from "#shared/state/records.ts";
import { handOffStates, handOnReports } from "#shared/state/report-handoff.ts";
import type { PollPorts } from "./ports.ts";

export interface HeldOutcome {
  /** Still held for their ring. */
  remaining: number;
  /** Sent to the queue now: their hold was over (the webhook was lost). */
  sent: number;
  /** When the earliest of those still held was first seen (none held: undefined). */
  from?: string;
}

/**
 * The longest a batch's held set goes unread while it is open, whatever `heldFrom` says: a
 * hold that some writer added without `heldFrom` knowing (say, a ring's read on code from
 * before it, during a deploy) is sent this late, not only once Lasso says the batch is done.
 */
export const HELD_SETTLE_MAX_MS = 15 * 60_000;

/**
 * Whether this poll must read the batch's held set (docs/polling.md, "Held for its ring"):
 * a hold may be over (`heldFrom`, the record's or this poll's read's, plus the hold), the
 * batch may close (its status is final: closing needs none held), no settle is on record
 * yet, or the last was HELD_SETTLE_MAX_MS ago. Otherwise nothing in the set can be sent,
 * and the set is left unread.
 */
export function holdsToSettle(
  record: Pick<BatchRecord, "heldFrom" | "heldSettledAt">,
  readHeldFrom: string | undefined,
  finalStatus: boolean,
  holdMs: number,
  now: Date,
): boolean {
  if (finalStatus || record.heldSettledAt === undefined) return true;
  if (now.getTime() - Date.parse(record.heldSettledAt) >= HELD_SETTLE_MAX_MS) return true;
  const from = earliestOf([record.heldFrom ?? undefined, readHeldFrom]);
  return from !== undefined && Date.parse(from) + holdMs <= now.getTime();
}

export async function settleHeld(
  ports: PollPorts,
  lassoBatchId: string,
  holdMs: number,
): Promise<HeldOutcome> {
  const held = await readHeld(ports.table, lassoBatchId);
  const now = ports.clock();
  const due = held.filter((report) => Date.parse(report.seenAt) + holdMs <= now.getTime());
  if (due.length === 0) return withFrom({ remaining: held.length, sent: 0 }, held);
  const states = await handOffStates(
    ports.table,
    due.map((report) => report.identity),
    now,
  );
  const settled: HeldReport[] = due.filter((report) => states.get(report.identity)?.done === true);
  const toSend = due.filter((report) => states.get(report.identity)?.done !== true);
  let sent = 0;
  if (toSend.length > 0) {
    const entries = await heldEntries(
      ports.table,
      toSend.map((report) => report.identity),
    );
    const result = await handOnReports(ports, entries, now, 0);
    sent = result.handedOn.length;
    const gone = new Set(
      [
        ...result.handedOn,
        ...result.raced,
        ...result.alreadyHandedOn,
        ...result.unmarked.map((u) => u.entry),
      ].map((entry) => entry.identity),
    );
    settled.push(...toSend.filter((report) => gone.has(report.identity)));
    if (entries.length < toSend.length) {
      // Written by the read that held them, before they were held: missing means a bug.
      ports.log.error("held reports without their facts stay held", {
        lassoBatchId,
        missing: toSend.length - entries.length,
      });
    }
  }
  await removeHeld(ports.table, lassoBatchId, settled, now);
  const gone = new Set(settled.map((report) => report.identity));
  const remaining = held.filter((report) => !gone.has(report.identity));
  return withFrom({ remaining: remaining.length, sent }, remaining);
}

/** The outcome with the first seen of `remaining` (oldest first, as readHeld gives them). */
const withFrom = (outcome: HeldOutcome, remaining: readonly HeldReport[]): HeldOutcome => {
  const from = remaining[0]?.seenAt;
  return from === undefined ? outcome : { ...outcome, from };
};
