/**
 * The poller reads a batch's items incrementally (docs/polling.md, "Reading incrementally"):
 * each read resumes at the page the last complete one ended on, a batch whose completion did
 * not move costs no items call, and a stored token Lasso refuses sends the read back to page
 * 1 without losing or repeating a report. Against the simulator over HTTP and the emulators.
 */
import { describe, expect, test } from "vitest";
import type { PollSummary } from "#lambdas/poll-batches/poll.ts";
import type { LassoReader } from "#shared/reconcile/ports.ts";
import {
  delay,
  tally,
  totals,
  usePollWorlds,
  validCvrs,
  type World,
  world,
} from "#test/support/poll-world.ts";

usePollWorlds();

/** The simulator's request lines for the items route since `from`. */
const itemsCalls = (w: World, from = 0): string[] =>
  w.requests.slice(from).filter((line) => /^GET \/apps\/reporting\/batches\/[^/]+\/items/.test(line));

/** Waits until the simulator has finished at least `n` reports of the batch. */
async function finishedAtLeast(w: World, batchId: string, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const batch = w.sim.batches().find((b) => b.id === batchId);
    if ((batch?.items.length ?? 0) >= n) return;
    await delay(10);
  }
  throw new Error(`batch ${batchId}: fewer than ${n} reports finished`);
}

describe("poll-batches: incremental item reads", () => {
  test("items finishing over many polls are each handed on once, and no poll reads the list from page 1 again", async () => {
    const w = await world({ itemsPageSize: 5, reportDelayMs: 80 });
    const cvrs = validCvrs(36_000_000, 40);
    const { batch } = await w.submit({ cvrs });
    const summaries: PollSummary[] = [];
    for (let i = 0; i < 400; i++) {
      summaries.push(await w.poll());
      await w.drain();
      if ((await w.record(batch.id)).openPartition === undefined) break;
      await delay(60);
    }
    expect((await w.record(batch.id)).openPartition).toBeUndefined();

    expect(w.received).toHaveLength(40);
    expect([...tally(w.received).values()].every((n) => n === 1)).toBe(true);
    const reading = summaries.filter((s) => s.pagesRead > 0);
    // Several reads saw the batch grow; each read only the page the last one ended on and
    // the pages after it: 8 pages in all, plus one page again per read after the first.
    expect(reading.length).toBeGreaterThan(2);
    expect(totals(summaries, (s) => s.pagesRead)).toBeLessThanOrEqual(8 + reading.length - 1);
    const record = await w.record(batch.id);
    expect(record.itemCounts).toEqual({ Completed: 40, Warning: 0, Failed: 0 });
    expect(record.itemsCursor).toMatchObject({ itemsBefore: 35 });
  });

  test("a batch whose completion did not move costs no items call", async () => {
    const w = await world({ itemsPageSize: 5, reportDelayMs: 2500 });
    const { batch } = await w.submit({ cvrs: validCvrs(36_100_000, 3) });
    await finishedAtLeast(w, batch.id, 1);

    let from = w.requests.length;
    let summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({ result: "open", items: "progress", handedOn: 1 });
    expect(itemsCalls(w, from)).toHaveLength(1);

    from = w.requests.length;
    summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({ result: "open", items: "noProgress", pages: 0 });
    expect(itemsCalls(w, from)).toEqual([]);
    expect(
      w.requests.slice(from).filter((line) => line.startsWith("GET /apps/reporting/batches/")),
    ).toHaveLength(1);

    await w.sim.settle();
    await w.pollUntilClosed(batch.id);
    expect([...tally(w.received).values()]).toEqual([1, 1, 1]);
  });

  test("a stored token Lasso refuses (expired): the read starts over at page 1, loses nothing, sends nothing twice", async () => {
    const w = await world({ itemsPageSize: 5, reportDelayMs: 30 });
    const cvrs = validCvrs(36_200_000, 23);
    const { batch } = await w.submit({ cvrs });
    await finishedAtLeast(w, batch.id, 12);
    await w.poll();
    await w.drain();
    const cursor = (await w.record(batch.id)).itemsCursor;
    expect(cursor?.cToken).toBeDefined();
    const handedBefore = w.received.length;
    expect(handedBefore).toBeGreaterThanOrEqual(10);

    w.sim.expireContinuationTokens();
    await w.sim.settle();
    const from = w.requests.length;
    const summary = await w.poll();
    await w.drain();
    expect(summary.batches[0]).toMatchObject({ result: "closed", completeRead: true });
    const calls = itemsCalls(w, from);
    expect(calls[0]).toMatch(/cToken=.*-> 400/);
    expect(calls[1]).toMatch(/\/items -> 200/);
    // From page 1 to the end: 23 items in 5 pages.
    expect(calls.slice(1)).toHaveLength(5);
    expect(w.received).toHaveLength(23);
    expect([...tally(w.received).values()].every((n) => n === 1)).toBe(true);
    expect(summary.reportsHandedOn).toBe(23 - handedBefore);
    expect(summary.reportsAlreadyHandedOn).toBe(handedBefore);
  });

  test("a list that moved under the stored token (Lasso's order is not promised): the read starts over, nothing is lost", async () => {
    const w = await world({ itemsPageSize: 4, reportDelayMs: 2 });
    const cvrs = validCvrs(36_300_000, 10);
    const { batch } = await w.submit({ cvrs });
    await w.sim.settle();
    // A Lasso that lists newest first: every item finished later pushes the others back a place.
    let visible = 6;
    const newestFirst: LassoReader = {
      getBatch: async (id) => {
        const answer = await w.lasso.getBatch(id);
        return visible < 10 ? { ...answer, status: "Executing", completionPercentage: visible / 10 } : answer;
      },
      listItems: async (id, options) => {
        const all: Awaited<ReturnType<LassoReader["listItems"]>>["items"] = [];
        for await (const item of w.lasso.iterateItems(id)) all.push(item);
        const shown = all.slice(0, visible).reverse();
        const offset = Number(options?.cToken ?? "0");
        const next = offset + 4 < shown.length ? String(offset + 4) : undefined;
        return {
          items: shown.slice(offset, offset + 4),
          ...(next === undefined ? {} : { continuationToken: next }),
        };
      },
    };
    await w.poll({}, { lasso: newestFirst });
    await w.drain();
    expect(w.received).toHaveLength(6);
    expect((await w.record(batch.id)).itemsCursor).toMatchObject({ cToken: "4", itemsBefore: 4 });

    // Four more finish: offset 4 now holds an item read before, and two new ones are on page 1.
    visible = 10;
    const summary = await w.poll({}, { lasso: newestFirst });
    await w.drain();
    expect(summary.batches[0]).toMatchObject({ result: "closed", handedOn: 4 });
    expect(w.received).toHaveLength(10);
    expect([...tally(w.received).values()].every((n) => n === 1)).toBe(true);
  });

  test("a token that skips what was listed before it (a list by cvr): the closing read counts too few and starts over", async () => {
    const w = await world({ itemsPageSize: 4, reportDelayMs: 2 });
    // Submitted largest cvr first: the later reports sort before the earlier ones.
    const cvrs = validCvrs(36_400_000, 10).reverse();
    const { batch } = await w.submit({ cvrs });
    await w.sim.settle();
    let visible = 6;
    const byCvr: LassoReader = {
      getBatch: async (id) => {
        const answer = await w.lasso.getBatch(id);
        return visible < 10 ? { ...answer, status: "Executing", completionPercentage: visible / 10 } : answer;
      },
      listItems: async (id, options) => {
        const all: Awaited<ReturnType<LassoReader["listItems"]>>["items"] = [];
        for await (const item of w.lasso.iterateItems(id)) all.push(item);
        // Keyset paging: a token is "after this cvr"; what sorts before it is never shown again.
        const sorted = all.slice(0, visible).sort((a, b) => (a.cvr < b.cvr ? -1 : 1));
        const after = options?.cToken;
        const rest = sorted.filter((item) => after === undefined || item.cvr > after);
        const items = rest.slice(0, 4);
        const more = rest.length > 4;
        return { items, ...(more ? { continuationToken: items.at(-1)?.cvr ?? "" } : {}) };
      },
    };
    await w.poll({}, { lasso: byCvr });
    await w.drain();
    expect(w.received).toHaveLength(6);
    expect((await w.record(batch.id)).itemsCursor).toMatchObject({ itemsBefore: 4 });

    // The four that finish now all sort before the token: the resumed read sees 6 of 10.
    visible = 10;
    const summary = await w.poll({}, { lasso: byCvr });
    await w.drain();
    expect(summary.batches[0]).toMatchObject({ result: "closed", handedOn: 4, completeRead: true });
    expect(w.received).toHaveLength(10);
    expect([...tally(w.received).values()].every((n) => n === 1)).toBe(true);
  });
});
