import { describe, expect, it } from "vitest";
import {
  type BucketState,
  budgetShape,
  freshBucket,
  LassoBudgetExhausted,
  refilled,
  takeTokens,
} from "#shared/lasso/call-budget.ts";
import { type BucketStore, readLassoBudgetConfig, SharedLassoBudget } from "#shared/runtime/lasso-budget.ts";

describe("the bucket's shape", () => {
  it("never lets more than the limit into any window: capacity + refill × (window + lease lifetime + margin) = limit", () => {
    for (const limit of [10, 60, 100, 500, 2000]) {
      const shape = budgetShape(limit);
      const longestReach = shape.windowMs + shape.leaseLifetimeMs + 500;
      expect(shape.capacity + shape.refillPerMs * longestReach).toBeCloseTo(limit, 9);
      expect(shape.capacity).toBeGreaterThanOrEqual(1);
      expect(shape.leaseSize).toBeLessThanOrEqual(shape.capacity);
    }
  });

  it("spends at least 96 % of Lasso's 500 a minute (the run's floor is within 1.05×)", () => {
    const shape = budgetShape(500);
    expect(shape.capacity).toBe(5);
    expect(shape.refillPerMs * 60_000).toBeGreaterThan(480);
  });

  it("refuses a limit too small to keep margins", () => {
    expect(() => budgetShape(9)).toThrow(RangeError);
    expect(() => budgetShape(12.5)).toThrow(RangeError);
  });
});

describe("refill and take", () => {
  const shape = budgetShape(500);
  const at = 1_000_000;

  it("refills with elapsed time, never above capacity", () => {
    const empty: BucketState = { tokens: 0, at, version: 3 };
    expect(refilled(empty, shape, at + 300).tokens).toBeCloseTo(shape.refillPerMs * 300, 9);
    expect(refilled(empty, shape, at + 3_600_000).tokens).toBe(shape.capacity);
    expect(refilled(empty, shape, at + 1000).version).toBe(3);
  });

  it("adds nothing when the clock goes backwards, and keeps the stored time", () => {
    const half: BucketState = { tokens: 0.5, at, version: 1 };
    const back = refilled(half, shape, at - 5_000);
    expect(back).toEqual({ tokens: 0.5, at, version: 1 });
    // Coming forward again counts only the time after `at`, not the time "regained".
    expect(refilled(back, shape, at + 100).tokens).toBeCloseTo(0.5 + 100 * shape.refillPerMs, 9);
  });

  it("grants whole tokens up to what is wanted and bumps the version", () => {
    const result = takeTokens(freshBucket(shape, at), shape, at, 3);
    expect(result).toEqual({ ok: true, granted: 3, next: { tokens: 2, at, version: 1 } });
    const rest = takeTokens({ tokens: 2.7, at, version: 1 }, shape, at, 5);
    expect(rest.ok && rest.granted).toBe(2);
  });

  it("says how long until the next whole token when there is none", () => {
    const result = takeTokens({ tokens: 0.25, at, version: 9 }, shape, at, 5);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.waitMs).toBe(Math.ceil(0.75 / shape.refillPerMs));
    // After that wait the token is there.
    expect(takeTokens({ tokens: 0.25, at, version: 9 }, shape, at + result.waitMs, 1).ok).toBe(true);
  });
});

/** The item as DynamoDB keeps it: a write lands only on the version it expects; `steal` makes the next writes lose. */
function memoryStore(): BucketStore & { state: BucketState | undefined; writes: number; steal: number } {
  const store = {
    state: undefined as BucketState | undefined,
    writes: 0,
    steal: 0,
    read: async () => (store.state === undefined ? undefined : { ...store.state }),
    write: async (next: BucketState, expected: number | undefined) => {
      await Promise.resolve();
      if (store.steal > 0 && store.state !== undefined) {
        // Another container's write lands first: it takes a token and moves the version on.
        store.steal--;
        store.state = {
          ...store.state,
          tokens: Math.max(0, store.state.tokens - 1),
          version: store.state.version + 1,
        };
        return false;
      }
      if (expected === undefined ? store.state !== undefined : store.state?.version !== expected)
        return false;
      store.state = { ...next };
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

  it("leases what its callers wait for, plus one: five at once in one write, one after another two per write", async () => {
    const store = memoryStore();
    const { time, clock, sleep } = fakeTime();
    const budget = new SharedLassoBudget({ store, shape, maxWaitMs: 10_000, clock, sleep, random: () => 0 });
    await Promise.all(Array.from({ length: 5 }, () => budget.take()));
    expect(store.writes).toBe(1);
    // The bucket full again.
    time.now += 10_000;
    for (let i = 0; i < 4; i++) await budget.take();
    expect(store.writes).toBe(3);
    expect(budget.stats.leases).toBe(3);
    expect(budget.stats.takes).toBe(9);
  });

  it("while tokens are scarce, waits until there is one for each waiting caller and takes them in one write", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 10_000,
      clock: fake.clock,
      sleep: fake.sleep,
      random: () => 0,
    });
    await Promise.all(Array.from({ length: shape.capacity }, () => budget.take()));
    expect(store.writes).toBe(1);
    await Promise.all(Array.from({ length: 3 }, () => budget.take()));
    expect(store.writes).toBe(2);
    // Waited for three tokens, not one.
    expect(fake.time.slept[0]).toBe(Math.ceil(3 / shape.refillPerMs));
  });

  it("drops leased tokens it did not use within their lifetime", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 10_000,
      clock: fake.clock,
      sleep: fake.sleep,
    });
    await budget.take();
    fake.time.now += shape.leaseLifetimeMs;
    await budget.take();
    // One leased for the call that usually follows; it did not come in time.
    expect(budget.stats.dropped).toBe(1);
    expect(store.writes).toBe(2);
  });

  it("waits for the refill when the bucket is empty, then takes", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 10_000,
      clock: fake.clock,
      sleep: fake.sleep,
      random: () => 0,
    });
    await Promise.all(Array.from({ length: shape.capacity }, () => budget.take()));
    await budget.take();
    expect(fake.time.slept).toEqual([Math.ceil(1 / shape.refillPerMs)]);
  });

  it("gives up with the expected wait when it exceeds what the caller may wait", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 10_000,
      clock: fake.clock,
      sleep: fake.sleep,
    });
    for (let i = 0; i < shape.capacity; i++) await budget.take();
    const error = await budget.take({ maxWaitMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoBudgetExhausted);
    expect((error as LassoBudgetExhausted).retryAfterMs).toBe(Math.ceil(1 / shape.refillPerMs));
    expect(fake.time.slept).toEqual([]);
    expect(budget.stats.exhausted).toBe(1);
  });

  it("reads the item again after losing a conditional write, and never grants a token twice", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 60_000,
      clock: fake.clock,
      sleep: fake.sleep,
    });
    await budget.take();
    // The spare token leased with it stays in the container; let it expire.
    fake.time.now += shape.leaseLifetimeMs;
    store.steal = 2;
    await budget.take();
    expect(budget.stats.conflicts).toBe(2);
    // Two stolen tokens, ours: the stored bucket accounts for every one.
    const stored = store.state;
    expect(stored?.version).toBe(1 + 2 + 1);
  });

  it("shares one lease write among concurrent takers of a container", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const budget = new SharedLassoBudget({
      store,
      shape,
      maxWaitMs: 60_000,
      clock: fake.clock,
      sleep: fake.sleep,
    });
    await Promise.all(Array.from({ length: 5 }, () => budget.take()));
    expect(store.writes).toBe(1);
  });

  it("with several containers on one store, grants never exceed capacity + refill over the time passed", async () => {
    const store = memoryStore();
    const fake = fakeTime();
    const containers = Array.from(
      { length: 4 },
      (_, i) =>
        new SharedLassoBudget({
          store,
          shape,
          maxWaitMs: 120_000,
          clock: fake.clock,
          sleep: fake.sleep,
          random: () => (i + 1) / 5,
        }),
    );
    const start = fake.time.now;
    let granted = 0;
    for (let round = 0; round < 50; round++) {
      for (const container of containers) {
        await container.take();
        granted++;
      }
    }
    const leased = containers.reduce((sum, c) => sum + c.stats.leases, 0);
    expect(leased).toBeGreaterThan(0);
    const elapsed = fake.time.now - start;
    // What the store handed out: capacity at the start, plus the refill since.
    const handedOut = shape.capacity + elapsed * shape.refillPerMs - (store.state?.tokens ?? 0);
    expect(granted).toBeLessThanOrEqual(Math.floor(handedOut + 1e-9));
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
