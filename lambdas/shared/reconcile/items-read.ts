/**
 * Reads every page of a batch's finished items and hands each page on as it comes
 * (docs/polling.md): the reports not handed on yet go to the report-ready queue, once per
 * report identity; what could not be handed on is named with why.
 */
import type { ItemStatus } from "#shared/lasso/enums.ts";
import type { LassoItemsPage } from "#shared/lasso/schemas.ts";
import type { BatchRecord, FailedItemNote } from "#shared/state/records.ts";
import { type HandOffEntry, handOnReports } from "#shared/state/report-handoff.ts";
import { handOffEntryForItem, manifestCustomers } from "./items.ts";
import type { PollPorts } from "./ports.ts";
import { describeError, mayContinue, type PollRun, stopFor } from "./run.ts";

const MAX_FAILED_NOTES = 100;

export interface ItemsRead {
  pages: number;
  complete: boolean;
  /** Why the read ended early. */
  error?: string;
  /** The read ended early because the poll must stop (deadline, rate limit), not on a failure. */
  stopped?: boolean;
  /** Distinct finished items (by Lasso's item id, else by identity). */
  finishedItems: number;
  counts: Record<ItemStatus, number>;
  failedNotes: FailedItemNote[];
  handedOn: HandOffEntry[];
  alreadyHandedOn: number;
  raced: number;
  unmarked: number;
  /** Reports that could not be handed on (SQS refused, invalid, unidentifiable), with why. */
  notHandedOn: string[];
}

/** Reads every page of the batch's finished items, handing each page on as it comes. */
export async function readAndHandOn(
  ports: PollPorts,
  run: PollRun,
  record: BatchRecord,
  isListener: boolean,
  priority: number,
): Promise<ItemsRead> {
  const read: ItemsRead = {
    pages: 0,
    complete: false,
    finishedItems: 0,
    counts: { Completed: 0, Warning: 0, Failed: 0 },
    failedNotes: [],
    handedOn: [],
    alreadyHandedOn: 0,
    raced: 0,
    unmarked: 0,
    notHandedOn: [],
  };
  const seen: Seen = { customers: manifestCustomers(record), itemKeys: new Set(), identities: new Set() };
  const tokens = new Set<string>();
  let cToken: string | undefined;
  for (;;) {
    if (!mayContinue(run)) {
      read.error = `stopped after ${read.pages} pages (${run.stop})`;
      read.stopped = true;
      return read;
    }
    let page: LassoItemsPage;
    try {
      const options = cToken === undefined ? {} : { cToken };
      page = await run.lasso.call(priority, (lasso) => lasso.listItems(record.lassoBatchId, options));
    } catch (error) {
      const stop = stopFor(error);
      if (stop !== undefined) {
        run.stop ??= stop;
        read.stopped = true;
      }
      read.error = `items page ${read.pages + 1}: ${describeError(error)}`;
      return read;
    }
    read.pages++;
    const entries = entriesOfPage(page, record, isListener, seen, read, ports.clock());
    if (!(await handOnPage(ports, entries, read))) return read;
    const next = page.continuationToken;
    if (next === undefined) {
      read.complete = true;
      read.finishedItems = seen.itemKeys.size;
      return read;
    }
    if (tokens.has(next) || read.pages >= run.maxPages) {
      read.error = tokens.has(next)
        ? `items page ${read.pages} repeats a continuation token`
        : `more than ${run.maxPages} items pages`;
      return read;
    }
    tokens.add(next);
    cToken = next;
  }
}

/** What the read has met so far: each report once, however often Lasso lists it. */
interface Seen {
  customers: ReadonlyMap<string, number>;
  itemKeys: Set<string>;
  identities: Set<string>;
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
    if (item.status === "Failed" && read.failedNotes.length < MAX_FAILED_NOTES) {
      const note: FailedItemNote = { cvr: item.cvr };
      if (item.id !== undefined) note.reportId = item.id;
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
async function handOnPage(ports: PollPorts, entries: HandOffEntry[], read: ItemsRead): Promise<boolean> {
  let handed: Awaited<ReturnType<typeof handOnReports>>;
  try {
    handed = await handOnReports(ports, entries, ports.clock());
  } catch (error) {
    // Nothing of this page was sent (the markers could not be read): the next poll reads it again.
    read.error = `hand-off of items page ${read.pages}: ${describeError(error)}`;
    return false;
  }
  read.handedOn.push(...handed.handedOn);
  read.alreadyHandedOn += handed.alreadyHandedOn.length;
  read.raced += handed.raced.length;
  // Accepted by SQS: handed on, though the marker is missing (the next read may send it again).
  read.unmarked += handed.unmarked.length;
  for (const { entry, rejection } of handed.notHandedOn) {
    read.notHandedOn.push(`${entry.identity}: ${rejection.kind} (${rejection.reason})`);
  }
  return true;
}
