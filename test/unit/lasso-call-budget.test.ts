import { describe, expect, it } from "vitest";
import {
  budgetShape,
  current,
  freshWindow,
  LassoBudgetExhausted,
  takeTokens,
  used,
  type WindowState,
  windowFromBucket,
} from "#shared/lasso/call-budget.ts";
import { type BudgetStore, readLassoBudgetConfig, SharedLassoBudget } from "#shared/runtime/lasso-budget.ts";
import { maxInWindow } from "#test/support/windows.ts";

describe("the window's shape", () => {
  it("counts a grant for Lasso's window plus the lease's lifetime and the arrival margin", () => {
    for (const limit of [10, 60, 100, 500, 2000]) {
      const shape = budgetShape(limit);
      expect(shape.reachMs).toBe(shape.windowMs + shape.leaseLifetimeMs + 500);
      expect(shape.slotMs).toBe(250);
      expect(shape.leaseSize).toBeGreaterThanOrEqual(1);
      expect(shape.leaseSize).toBeLessThanOrEqual(5);
    }
    expect(budgetShape(500).leaseSize).toBe(5);
  });

  it("refuses a limit too small to keep margins", () => {
    expect(() => budgetShape(9)).toThrow(RangeError);
    expect(() => budgetShape(12.5)).toThrow(RangeError);
  });
});

describe("the sliding window's arithmetic", () => {
  const shape = budgetShape(500);
  // A slot boundary, so that the slot arithmetic below is exact.
  const at = 4_000 * shape.slotMs;

  it("grants the whole limit at once after a quiet time, as Lasso's own window would let through", () => {
    let state = freshWindow(at);
    let granted = 0;
    for (;;) {
      const result = takeTokens(state, shape, at, 5);
      if (!result.ok) break;
      granted += result.granted;
      state = result.next;
    }
    expect(granted).toBe(500);
    expect(state.counts).toEqual([500]);
    expect(state.version).toBe(100);
  });

  it("grants whole tokens up to what is wanted, at most what is free, in the slot of now", () => {
    const state: WindowState = { base: 4_000, counts: [497], at, version: 7 };
    const result = takeTokens(state, shape, at + 600, 5);
    // 600 ms later: two slots on.
    expect(result).toEqual({
      ok: true,
      granted: 3,
      next: { base: 4_000, counts: [497, 0, 3], at: at + 600, version: 8 },
    });
    expect(takeTokens(state, shape, at, 5, 4)).toEqual({ ok: false, waitMs: shape.slotMs + shape.reachMs });
  });

  it("frees a slot's grants exactly when the last of them leaves the reach, not a millisecond before", () => {
    const full: WindowState = { base: 4_000, counts: [300, 0, 200], at, version: 1 };
    // The first slot's grants count until its end plus the reach.
    const freedAt = at + shape.slotMs + shape.reachMs;
    const before = takeTokens(full, shape, freedAt - 1, 1);
    expect(before).toEqual({ ok: false, waitMs: 1 });
    const after = takeTokens(full, shape, freedAt, 5);
    expect(after.ok && after.granted).toBe(5);
    expect(after.ok && after.next.base).toBe(4_002);
    // Waiting for more than the oldest slot holds waits for the next slot with grants.
    const many = takeTokens({ base: 4_000, counts: [2, 0, 498], at, version: 1 }, shape, at, 1, 3);
    expect(many).toEqual({ ok: false, waitMs: 3 * shape.slotMs + shape.reachMs });
  });

  it("takes a clock behind the stored time as that time: the window never moves back", () => {
    const state: WindowState = { base: 4_000, counts: [500], at: at + 100_000, version: 3 };
    // Our clock says the slot stopped counting long ago; the stored time says it has not.
    expect(current(state, shape, at + 2 * shape.reachMs).counts).toEqual([]);
    const back = current(state, shape, at + 1_000);
    expect(back.at).toBe(at + 100_000);
    expect(used(back)).toBe(0);
    const recent: WindowState = { base: 4_400, counts: [500], at: at + 100_000, version: 3 };
    const behind = takeTokens(recent, shape, at, 1);
    expect(behind).toEqual({ ok: false, waitMs: shape.slotMs + shape.reachMs });
    // A grant made with a clock behind is counted in the newest slot, not in an older one.
    const partly: WindowState = { base: 4_400, counts: [10], at: at + 100_000, version: 3 };
    const granted = takeTokens(partly, shape, at, 1);
    expect(granted.ok && granted.next).toEqual({ base: 4_400, counts: [11], at: at + 100_000, version: 4 });
  });

  it("a stored token bucket (before the window) counts as a full window at its time", () => {
    const bucket = windowFromBucket(shape, at + 10, 42);
    expect(bucket.version).toBe(42);
    expect(takeTokens(bucket, shape, at + 10, 1)).toEqual({
      ok: false,
      waitMs: shape.slotMs + shape.reachMs - 10,
    });
    expect(takeTokens(bucket, shape, at + shape.slotMs + shape.reachMs, 1).ok).toBe(true);
  });

  it("whatever the takers' timing, never more grants than the limit within any reach, and most of it spent", () => {
    // A seeded walk: bursts, pauses and single calls, each taker taking as soon as it can.
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let state = freshWindow(at);
    let now = at;
    const stamps: number[] = [];
    while (now < at + 10 * 60_000) {
      const want = 1 + Math.floor(random() * 5);
      const result = takeTokens(state, shape, now, want);
      if (result.ok) {
        state = result.next;
        for (let i = 0; i < result.granted; i++) stamps.push(now);
        // Mostly busy, sometimes quiet for up to 20 s.
        now += random() < 0.02 ? random() * 20_000 : random() * 30;
      } else {
        now += result.waitMs;
      }
    }
    expect(maxInWindow(stamps, shape.reachMs)).toBeLessThanOrEqual(500);
    // Most of the limit: at least 90 % of 500 per reach over the run.
    expect(stamps.length).toBeGreaterThan(0.9 * 500 * ((10 * 60_000) / shape.reachMs));
  });

  it("under a steady demand spends the limit per reach, about 97 % of Lasso's 500 a minute", () => {
    let state = freshWindow(at);
    let now = at;
    const stamps: number[] = [];
    while (now < at + 20 * 60_000) {
      const result = takeTokens(state, shape, now, 1);
      if (result.ok) {
        state = result.next;
        stamps.push(now);
      }
      now += result.ok ? 50 : result.waitMs;
    }
    const perMinute = (stamps.length / (20 * 60_000)) * 60_000;
    expect(perMinute).toBeGreaterThan(0.96 * 500);
    expect(perMinute).toBeLessThanOrEqual((500 * 60_000) / shape.reachMs + 500 / 20);
  });
});

/** The item as DynamoDB keeps it: a write lands only on the version it expects; `steal` makes the next writes lose. */
function memoryStore(): BudgetStore & { state: WindowState | undefined; writes: number; steal: number } {
  const store = {
    state: undefined as WindowState | undefined,
    writes: 0,
    steal: 0,
    read: async () =>
      store.state === undefined ? undefined : { ...store.state, counts: [...store.state.counts] },
    write: async (next: WindowState, expected: number | undefined) => {
      await Promise.resolve();
      if (store.steal > 0 && store.state !== undefined) {
        // Another container's write lands first: it takes a token and moves the version on.
        store.steal--;
        const last = store.state.counts.length - 1;
        store.state = {
          ...store.state,
          counts: store.state.counts.map((n, i) => (i === last ? n + 1 : n)),
          version: store.state.version + 1,
        };
        return false;
      }
      if (expected === undefined ? store.state !== undefined : store.state?.version !== expected)
        return false;
      store.state = { ...next, counts: [...next.counts] };
      store.writes++;
      return true;
    },
  };
  return store;
}

function fakeTime(start = 5_000_000) {
  const time = { now: start, slept: [] as number[] };
  return {
    time,
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.slept.push(ms);
      time.now += ms;
    },
  };
}

describe("SharedLassoBudget (a container's side)", () => {
  const shape = budgetShape(500);
  /** The stored window with the limit spent: one grant in each of the oldest `spread - 1` slots, the rest in the newest (now's). */
  const fullWindow = (now: number, spread = 1): WindowState => {
    const newest = Math.floor(now / shape.slotMs);
    const counts = Array.from({ length: spread }, (_, i) =>
      i === spread - 1 ? shape.limit - spread + 1 : 1,
    );
    return { base: newest - spread + 1, counts, at: now, version: 1 };
  };
  /** A container's budget on `store`, in the fake time of `fake`. */
  const budgetOn = (
    store: BudgetStore,
    fake: ReturnType<typeof fakeTime>,
    maxWaitMs: number,
    random?: () => number,
  ): SharedLassoBudget =>
    new SharedLassoBudget({
      store,
      shape,
      maxWaitMs,
      clock: fake.clock,
      sleep: fake.sleep,
      ...(random === undefined ? {} : { random }),
    });
  /** When the grants of slot `slot` stop counting. */
  const slotFreedAt = (slot: number) => (slot + 1) * shape.slotMs + shape.reachMs;

  it("leases what its callers wait for, no more: five at once in one write, one after another one each", async () => {
    const store = memoryStore();
    const { time, clock, sleep } = fakeTime();
    const budget = new SharedLassoBudget({ store, shape, maxWaitMs: 10_000, clock, sleep, random: () => 0 });
    await Promise.all(Array.from({ length: 5 }, () => budget.take()));
    expect(store.writes).toBe(1);
    time.now += 10_000;
    for (let i = 0; i < 4; i++) await budget.take();
    expect(store.writes).toBe(5);
    expect(budget.stats.leases).toBe(5);
    expect(budget.stats.takes).toBe(9);
    // Every grant counted in the window, none leased to be dropped.
    expect(store.state && used(store.state)).toBe(9);
    expect(budget.stats.dropped).toBe(0);
  });

  it("spends a quiet time's budget at once: the whole limit without waiting", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = budgetOn(store, fake, 10_000);
    await Promise.all(Array.from({ length: shape.limit }, () => budget.take()));
    expect(fake.time.slept).toEqual([]);
    expect(store.state && used(store.state)).toBe(shape.limit);
    // One more waits for the window to slide.
    const error = await budget.take({ maxWaitMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoBudgetExhausted);
  });

  it("while tokens are scarce, waits until there is one for each waiting caller and takes them in one write", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    store.state = fullWindow(fake.time.now, 5);
    const third = store.state.base + 2;
    const budget = budgetOn(store, fake, 120_000, () => 0);
    await Promise.all(Array.from({ length: 3 }, () => budget.take()));
    expect(store.writes).toBe(1);
    // Waited (each of the three) for three slots to stop counting, not one.
    expect(fake.time.slept[0]).toBe(slotFreedAt(third) - 5_000_000);
    expect(budget.stats.leases).toBe(1);
  });

  it("drops a lease that came back after its lifetime (a slow write), and leases again", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const write = store.write;
    let slow = true;
    store.write = async (next, expected, granted) => {
      // The first write's answer takes the whole lifetime: the call would reach Lasso later
      // than the window allows for the slot it was counted in.
      if (slow) fake.time.now += shape.leaseLifetimeMs;
      slow = false;
      return write(next, expected, granted);
    };
    const budget = budgetOn(store, fake, 10_000);
    await budget.take();
    expect(budget.stats.dropped).toBe(1);
    expect(budget.stats.leases).toBe(2);
    // The dropped token still counts: Lasso might have seen it.
    expect(store.state && used(store.state)).toBe(2);
  });

  it("waits for the window to slide when the limit is spent, then takes", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    store.state = fullWindow(fake.time.now);
    const budget = budgetOn(store, fake, 120_000, () => 0);
    await budget.take();
    expect(fake.time.slept).toEqual([slotFreedAt(Math.floor(5_000_000 / shape.slotMs)) - 5_000_000]);
    expect(budget.stats.waitedMs).toBe(fake.time.slept[0]);
  });

  it("gives up with the expected wait when it exceeds what the caller may wait", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    store.state = fullWindow(fake.time.now);
    const budget = budgetOn(store, fake, 10_000);
    const error = await budget.take().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoBudgetExhausted);
    expect((error as LassoBudgetExhausted).retryAfterMs).toBe(
      slotFreedAt(Math.floor(5_000_000 / shape.slotMs)) - 5_000_000,
    );
    expect(fake.time.slept).toEqual([]);
    expect(budget.stats.exhausted).toBe(1);
  });

  it("reads the item again after losing a conditional write, and never grants a token twice", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = budgetOn(store, fake, 60_000);
    await budget.take();
    store.steal = 2;
    await budget.take();
    expect(budget.stats.conflicts).toBe(2);
    const stored = store.state;
    expect(stored?.version).toBe(1 + 2 + 1);
    // Our two tokens, and the two the other container took: all counted.
    expect(stored && used(stored)).toBe(1 + 2 + 1);
  });

  it("shares one lease write among concurrent takers of a container", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = budgetOn(store, fake, 60_000);
    await Promise.all(Array.from({ length: 5 }, () => budget.take()));
    expect(store.writes).toBe(1);
  });

  it("with several containers on one store, no window of Lasso's sees more than the limit", async () => {
    const small = budgetShape(60);
    const store = memoryStore();
    const fake = fakeTime();
    const containers = Array.from(
      { length: 4 },
      (_, i) =>
        new SharedLassoBudget({
          store,
          shape: small,
          maxWaitMs: 120_000,
          clock: fake.clock,
          sleep: fake.sleep,
          random: () => (i + 1) / 5,
        }),
    );
    const sent: number[] = [];
    for (let round = 0; round < 60; round++) {
      for (const container of containers) {
        await container.take();
        sent.push(fake.time.now);
        // Now and then the containers pause: the window slides on in between.
        if (round % 7 === 0) fake.time.now += 1_500;
      }
    }
    const leased = containers.reduce((sum, c) => sum + c.stats.leases, 0);
    expect(leased).toBeGreaterThan(0);
    // A call is sent within its lease's lifetime, and arrives within the margin: any window
    // of Lasso's, widened by the margin, holds at most the limit.
    expect(maxInWindow(sent, small.windowMs + 500)).toBeLessThanOrEqual(small.limit);
    expect(fake.time.now - 5_000_000).toBeGreaterThan(3 * small.reachMs);
  });
});

describe("the budget's settings from a function's environment", () => {
  const table = { LASSO_BUDGET_TABLE_NAME: "budget" };

  it("defaults to Lasso's 500 a minute and needs the table then", () => {
    expect(readLassoBudgetConfig(table)).toEqual({ callsPerMinute: 500, tableName: "budget" });
    expect(() => readLassoBudgetConfig({})).toThrow(/LASSO_BUDGET_TABLE_NAME/);
  });

  it("0 is no budget at all (a Lasso without a limit), and needs no table", () => {
    expect(readLassoBudgetConfig({ LASSO_CALLS_PER_MINUTE: "0" })).toEqual({
      callsPerMinute: 0,
      tableName: undefined,
    });
  });

  it("refuses a limit too small for the bucket's margins, or not a whole number", () => {
    expect(() => readLassoBudgetConfig({ ...table, LASSO_CALLS_PER_MINUTE: "5" })).toThrow(
      /LASSO_CALLS_PER_MINUTE/,
    );
    expect(() => readLassoBudgetConfig({ ...table, LASSO_CALLS_PER_MINUTE: "many" })).toThrow(
      /LASSO_CALLS_PER_MINUTE/,
    );
  });
});
