/**
 * Reads a batch's finished items, from where the last complete read ended or from page 1,
 * and hands each page on as it comes (docs/polling.md): the reports not handed on yet go to
 * the report-ready queue, once per report identity, or, in a batch Lasso rings webhooks
 * for, are held for their own ring (state/report-handoff.ts) and recorded in the batch's
 * held set (state/held-reports.ts); what could not be handed on is named with why.
 */
import type { ItemStatus } from "#shared/lasso/enums.ts";
import { LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoItem, LassoItemsPage } from "#shared/lasso/schemas.ts";
import { addHeld, earliestOf } from "#shared/state/held-reports.ts";
import type { BatchRecord, FailedItemNote, ItemsCursor } from "#shared/state/records.ts";
import { type HandOffEntry, handOnReports } from "#shared/state/report-handoff.ts";
import { handOffEntryForItem, manifestCustomers } from "./items.ts";
import { manifestOf, type PollPorts } from "./ports.ts";
import { describeError, mayContinue, type PollRun, stopFor } from "./run.ts";

const MAX_FAILED_NOTES = 100;

export interface ItemsRead {
  pages: number;
  /** The read reached the end of the list. */
  complete: boolean;
  /** The (last) pass began at page 1, not at a stored cursor. */
  fromFirstPage: boolean;
  /** Why a read that began at the cursor started over at page 1. */
  startedOver?: string;
  /** Where the next read resumes, after a complete read (the last page with items). */
  cursor?: ItemsCursor;
  /** Why the read ended early. */
  error?: string;
  /** The read ended early because the poll must stop (deadline, rate limit), not on a failure. */
  stopped?: boolean;
  /** Distinct finished items (by Lasso's item id, else by identity), the cursor's included. */
  finishedItems: number;
  counts: Record<ItemStatus, number>;
  failedNotes: FailedItemNote[];
  handedOn: HandOffEntry[];
  alreadyHandedOn: number;
  raced: number;
  unmarked: number;
  /** Reports that could not be handed on (SQS refused, invalid, unidentifiable), with why. */
  notHandedOn: string[];
  /** Reports held for their own ring (in the batch's held set, settled by reconcile/held.ts). */
  held: number;
  /** The earliest `seenAt` among the reports this read added to the held set (kept if it starts over). */
  heldFrom?: string;
}

/**
 * How one read goes: from the record's cursor or from page 1, and what a closing read of a
 * normal batch must find before a resumed read is trusted.
 */
export interface ReadPlan {
  /** Start at `record.itemsCursor` (page 1 when there is none). */
  resume: boolean;
  /**
   * A closing read of a normal batch (its batchSize): a resumed read that counts fewer
   * distinct items than this reads again from page 1, in the same poll.
   */
  expectItems?: number;
  /**
   * How long a report first seen by this read is held for its own ring (0: none; the batch
   * has no webhook, or the ring cannot tell its report).
   */
  holdMs?: number;
}

/** Lasso refused the stored token (expired, or not valid any more): the read starts over. */
const refusesToken = (error: unknown): boolean =>
  error instanceof LassoApiError &&
  error.status >= 400 &&
  error.status < 500 &&
  ![401, 403, 404, 429].includes(error.status);

/** What identifies an item's place in the list (its id; else its cvr). */
const itemKey = (item: LassoItem): string => item.id ?? item.cvr;

/** A read that has read nothing yet. */
export function emptyRead(): ItemsRead {
  return {
    pages: 0,
    complete: false,
    fromFirstPage: false,
    finishedItems: 0,
    counts: { Completed: 0, Warning: 0, Failed: 0 },
    failedNotes: [],
    handedOn: [],
    alreadyHandedOn: 0,
    raced: 0,
    unmarked: 0,
    notHandedOn: [],
    held: 0,
  };
}

/**
 * Reads the batch's finished items from the cursor (or page 1) to the end, handing each
 * page on as it comes. Starts over at page 1 when Lasso refuses the stored token, when the
 * list moved under it, or when a resumed closing read comes up short (docs/polling.md).
 */
export async function readAndHandOn(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  isListener: boolean,
  priority: number,
  plan: ReadPlan = { resume: false },
): Promise<ItemsRead> {
  const read = emptyRead();
  const start = plan.resume ? record.itemsCursor : undefined;
  const ended = await readFrom(ports, run, record, isListener, priority, read, start, plan.holdMs ?? 0);
  if (ended.startOver === undefined) {
    // Only a read that began past page 1 can have missed something before its start.
    const short =
      read.complete &&
      !read.fromFirstPage &&
      plan.expectItems !== undefined &&
      read.finishedItems < plan.expectItems;
    if (!short) return read;
    read.startedOver = `a resumed read found ${read.finishedItems} of ${plan.expectItems} items`;
  } else read.startedOver = ended.startOver;
  ports.log.info("items read starts over at page 1", {
    lassoBatchId: record.lassoBatchId,
    why: read.startedOver,
  });
  read.complete = false;
  read.counts = { Completed: 0, Warning: 0, Failed: 0 };
  read.failedNotes = [];
  read.held = 0;
  await readFrom(ports, run, record, isListener, priority, read, undefined, plan.holdMs ?? 0);
  return read;
}

/** One pass from `start` (page 1 when undefined) to the end; `startOver` says why it gave up on the cursor. */
async function readFrom(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  isListener: boolean,
  priority: number,
  read: ItemsRead,
  start: ItemsCursor | undefined,
  holdMs: number,
): Promise<{ startOver?: string }> {
  const resumed = start?.cToken !== undefined;
  read.fromFirstPage = !resumed;
  const base = resumed ? start.itemsBefore : 0;
  if (resumed) {
    read.counts = { ...start.countsBefore };
    read.failedNotes = [...(record.failedItems ?? [])];
  }
  const seen: Seen = {
    customers: manifestCustomers(await manifestOf(ports, record.lassoBatchId)),
    itemKeys: new Set(),
    identities: new Set(),
    failedNotes: new Set(read.failedNotes.map(noteKey)),
  };
  const tokens = new Set<string>();
  let cToken = resumed ? start.cToken : undefined;
  let cursor = resumed ? start : undefined;
  for (let pass = 0; ; pass++) {
    if (!mayContinue(run)) {
      read.error = `stopped after ${read.pages} pages (${run.stop})`;
      read.stopped = true;
      return {};
    }
    let page: LassoItemsPage;
    try {
      const options = cToken === undefined ? {} : { cToken };
      page = await run.lasso.call(priority, (lasso) => lasso.listItems(record.lassoBatchId, options));
    } catch (error) {
      if (resumed && pass === 0 && refusesToken(error)) {
        return { startOver: `Lasso refused the stored token: ${describeError(error)}` };
      }
      const stop = stopFor(error);
      if (stop !== undefined) {
        run.stop ??= stop;
        read.stopped = true;
      }
      read.error = `items page ${read.pages + 1}: ${describeError(error)}`;
      return {};
    }
    read.pages++;
    const first = page.items[0];
    if (resumed && pass === 0 && (first === undefined || itemKey(first) !== start.firstItem)) {
      return { startOver: "the list moved under the stored token" };
    }
    const before = { itemsBefore: base + seen.itemKeys.size, countsBefore: { ...read.counts } };
    const entries = entriesOfPage(page, record, isListener, seen, read, ports.clock());
    if (first !== undefined)
      cursor = { ...(cToken === undefined ? {} : { cToken }), firstItem: itemKey(first), ...before };
    if (!(await handOnPage(ports, record.lassoBatchId, entries, read, holdMs))) return {};
    const next = page.continuationToken;
    if (next === undefined) {
      read.complete = true;
      read.finishedItems = base + seen.itemKeys.size;
      if (cursor !== undefined) read.cursor = cursor;
      return {};
    }
    if (tokens.has(next) || read.pages >= run.maxPages) {
      read.error = tokens.has(next)
        ? `items page ${read.pages} repeats a continuation token`
        : `more than ${run.maxPages} items pages`;
      return {};
    }
    tokens.add(next);
    cToken = next;
  }
}

const noteKey = (note: FailedItemNote): string => `${note.cvr}/${note.reportId ?? ""}`;

/** What the read has met so far: each report once, however often Lasso lists it. */
interface Seen {
  customers: ReadonlyMap<string, number>;
  itemKeys: Set<string>;
  identities: Set<string>;
  /** Failed notes already listed (a resumed read re-reads its first page). */
  failedNotes: Set<string>;
}

/** The hand-off entries of one page's items not met before; counts and Failed notes on the way. */
function entriesOfPage(
  page: LassoItemsPage,
  record: BatchRecord,
  isListener: boolean,
  seen: Seen,
  read: ItemsRead,
  seenAt: Date,
): HandOffEntry[] {
  const entries: HandOffEntry[] = [];
  for (const item of page.items) {
    const made = handOffEntryForItem(record, isListener, seen.customers, item, seenAt);
    if (!made.ok) {
      read.notHandedOn.push(`cvr ${item.cvr}: ${made.reason}`);
      continue;
    }
    const { entry } = made;
    seen.itemKeys.add(item.id ?? entry.identity);
    if (seen.identities.has(entry.identity)) continue;
    seen.identities.add(entry.identity);
    read.counts[item.status]++;
    const note: FailedItemNote = { cvr: item.cvr };
    if (item.id !== undefined) note.reportId = item.id;
    if (
      item.status === "Failed" &&
      read.failedNotes.length < MAX_FAILED_NOTES &&
      !seen.failedNotes.has(noteKey(note))
    ) {
      seen.failedNotes.add(noteKey(note));
      if (entry.message.internalCustomerId !== undefined)
        note.internalCustomerId = entry.message.internalCustomerId;
      if (item.fileName !== undefined) note.fileName = item.fileName;
      if (item.errorMessage !== undefined) note.message = item.errorMessage.slice(0, 300);
      read.failedNotes.push(note);
    }
    entries.push(entry);
  }
  return entries;
}

/** Hands one page's entries on; false when the markers could not be read (nothing was sent). */
async function handOnPage(
  ports: PollPorts,
  lassoBatchId: string,
  entries: HandOffEntry[],
  read: ItemsRead,
  holdMs: number,
): Promise<boolean> {
  let handed: Awaited<ReturnType<typeof handOnReports>>;
  try {
    const now = ports.clock();
    handed = await handOnReports(ports, entries, now, holdMs);
    // Held reports are found again in the held set, not by reading this page again.
    await addHeld(
      ports.table,
      lassoBatchId,
      handed.held.map((entry) => ({ identity: entry.identity, seenAt: entry.seenAt })),
      now,
    );
  } catch (error) {
    // Nothing of this page was sent (the markers could not be read): the next poll reads it again.
    read.error = `hand-off of items page ${read.pages}: ${describeError(error)}`;
    return false;
  }
  read.handedOn.push(...handed.handedOn);
  read.held += handed.held.length;
  read.heldFrom = earliestOf([read.heldFrom, ...handed.held.map((entry) => entry.seenAt)]);
  read.alreadyHandedOn += handed.alreadyHandedOn.length;
  read.raced += handed.raced.length;
  // Accepted by SQS: handed on, though the marker is missing (the next read may send it again).
  read.unmarked += handed.unmarked.length;
  for (const { entry, rejection } of handed.notHandedOn) {
    read.notHandedOn.push(`${entry.identity}: ${rejection.kind} (${rejection.reason})`);
  }
  return true;
}
