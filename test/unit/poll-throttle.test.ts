/**
 * The poll's Lasso throttle: priorities, the drop to one call at a time after a 429, the
 * pause for retry-after, and the stop when the pause does not fit before the deadline.
 * The Lasso reader is a fake here: the 429 bookkeeping is checked without real time.
 */
import { describe, expect, test } from "vitest";
import { LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import type { LassoReader } from "#shared/reconcile/ports.ts";
import { LassoThrottle, PollStopped } from "#shared/reconcile/throttle.ts";

const batch = (id: string): LassoBatch => ({
  id,
  name: id,
  status: "Finished",
  batchSize: 1,
  completionPercentage: 1,
  isListener: false,
});

const rateLimited = (retryAfterMs?: number) =>
  new LassoApiError({
    operation: "getBatch",
    request: "GET /apps/reporting/batches/x",
    status: 429,
    errorCode: 26,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

function gatedReader(): {
  reader: LassoReader;
  started: string[];
  release: (id: string) => void;
  fail: Map<string, Error[]>;
} {
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const fail = new Map<string, Error[]>();
  const reader: LassoReader = {
    getBatch: async (id) => {
      started.push(id);
      const error = fail.get(id)?.shift();
      if (error) throw error;
      await new Promise<void>((resolve) => gates.set(id, resolve));
      return batch(id);
    },
    listItems: async () => ({ items: [] }),
  };
  const release = (id: string) => {
    const gate = gates.get(id);
    gates.delete(id);
    gate?.();
  };
  return { reader, started, release, fail };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("LassoThrottle", () => {
  test("at most `concurrency` calls at once; a freed slot goes to the lowest priority number", async () => {
    const { reader, started, release } = gatedReader();
    const throttle = new LassoThrottle(reader, {
      concurrency: 2,
      deadline: { remainingMs: () => 60_000 },
      reserveMs: 0,
      sleep: async () => {},
    });
    const calls = [5, 1, 4, 0].map((priority) => throttle.call(priority, (r) => r.getBatch(`p${priority}`)));
    await tick();
    expect(started).toEqual(["p5", "p1"]);
    release("p5");
    await tick();
    expect(started).toEqual(["p5", "p1", "p0"]);
    release("p1");
    await tick();
    expect(started).toEqual(["p5", "p1", "p0", "p4"]);
    release("p0");
    release("p4");
    expect((await Promise.all(calls)).map((b) => b.id)).toEqual(["p5", "p1", "p4", "p0"]);
  });

  test("a 429 pauses every call for retry-after, then one call at a time, best first; the call is made again", async () => {
    const { reader, started, release, fail } = gatedReader();
    fail.set("a", [rateLimited(80)]);
    const sleeps: number[] = [];
    const throttle = new LassoThrottle(reader, {
      concurrency: 3,
      deadline: { remainingMs: () => 60_000 },
      reserveMs: 1000,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const a = throttle.call(0, (r) => r.getBatch("a"));
    await tick();
    expect(throttle.rateLimitHits).toBe(1);
    // Calls made during the pause wait for it, whatever their priority.
    const c = throttle.call(2, (r) => r.getBatch("c"));
    const b = throttle.call(1, (r) => r.getBatch("b"));
    await tick();
    expect(started).toEqual(["a"]);
    // Until the pause is over and "a" is made again (however slow the machine is).
    for (let waited = 0; started.length < 2 && waited < 5_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // One pause timer; then "a" again (best), while "b" and "c" wait: one call at a time now.
    // (A timer may fire a millisecond early: the rest of the pause is then slept as a top-up.)
    expect(sleeps[0]).toBeGreaterThan(60);
    expect(sleeps.slice(1).every((ms) => ms <= 5)).toBe(true);
    expect(throttle.pausedMs).toBeGreaterThanOrEqual(60);
    expect(started).toEqual(["a", "a"]);
    release("a");
    await tick();
    expect(started).toEqual(["a", "a", "b"]);
    release("b");
    await tick();
    expect(started).toEqual(["a", "a", "b", "c"]);
    release("c");
    expect((await Promise.all([a, b, c])).map((x) => x.id)).toEqual(["a", "b", "c"]);
  });

  test("a pause longer than the time left stops the poll for every later call", async () => {
    const { reader, fail } = gatedReader();
    fail.set("a", [rateLimited(30_000)]);
    const throttle = new LassoThrottle(reader, {
      concurrency: 2,
      deadline: { remainingMs: () => 20_000 },
      reserveMs: 5_000,
      sleep: async () => {
        throw new Error("must not wait");
      },
    });
    const error = await throttle.call(0, (r) => r.getBatch("a")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollStopped);
    expect((error as PollStopped).reason).toBe("rateLimited");
    expect(throttle.stopped).toBe(error);
    await expect(throttle.call(1, (r) => r.getBatch("b"))).rejects.toBeInstanceOf(PollStopped);
  });

  test("errors other than 429 pass through untouched, and so does a 429 after too many pauses", async () => {
    const { reader, fail } = gatedReader();
    const boom = new LassoApiError({ operation: "getBatch", request: "GET x", status: 503 });
    fail.set("a", [boom]);
    fail.set("b", [rateLimited(1), rateLimited(1), rateLimited(1)]);
    const throttle = new LassoThrottle(reader, {
      concurrency: 1,
      deadline: { remainingMs: () => 60_000 },
      reserveMs: 0,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      maxPausesPerCall: 2,
    });
    await expect(throttle.call(0, (r) => r.getBatch("a"))).rejects.toBe(boom);
    const error = await throttle.call(0, (r) => r.getBatch("b")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LassoApiError);
    expect((error as LassoApiError).status).toBe(429);
    expect(throttle.rateLimitHits).toBe(2);
  });
});
