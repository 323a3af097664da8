import { describe, expect, it } from "vitest";
import { FaultEngine } from "#local/lasso-sim/faults.ts";
import { derivedUuid, hash32, mulberry32 } from "#local/lasso-sim/prng.ts";

const draw = (next: () => number, n: number): number[] => Array.from({ length: n }, next);

describe("lasso-sim PRNG", () => {
  it("mulberry32 gives the same sequence for the same seed", () => {
    expect(draw(mulberry32(42), 20)).toEqual(draw(mulberry32(42), 20));
    expect(draw(mulberry32(42), 20)).not.toEqual(draw(mulberry32(43), 20));
  });

  it("mulberry32 yields numbers in [0, 1) spread over the range", () => {
    const values = draw(mulberry32(7), 10_000);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it("hash32 and derivedUuid are stable and distinguish their inputs", () => {
    expect(hash32("a", 1)).toBe(hash32("a", 1));
    expect(hash32("a", 1)).not.toBe(hash32("a1"));
    expect(derivedUuid("org", "key")).toBe(derivedUuid("org", "key"));
    expect(derivedUuid("org", "key")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe("lasso-sim fault engine", () => {
  const options = {
    seed: 99,
    apiErrorRate: 0.2,
    apiDelayRate: 0.1,
    apiDelayMs: 1234,
    itemWarningRate: 0.2,
    itemFailedRate: 0.1,
    webhookDropRate: 0.2,
    webhookDuplicateRate: 0.3,
    webhookDuplicateCount: 2,
    webhookReorder: true,
    webhookReorderMaxDelayMs: 100,
  };

  it("draws the same API faults for the same seed", () => {
    const a = new FaultEngine(options);
    const b = new FaultEngine(options);
    const seqA = Array.from({ length: 200 }, () => a.apiFault());
    const seqB = Array.from({ length: 200 }, () => b.apiFault());
    expect(seqA).toEqual(seqB);
    const errors = seqA.filter((f) => f?.kind === "status").length;
    const delays = seqA.filter((f) => f?.kind === "delay");
    expect(errors).toBeGreaterThan(20);
    expect(errors).toBeLessThan(60);
    expect(delays.length).toBeGreaterThan(5);
    expect(delays[0]).toEqual({ kind: "delay", delayMs: 1234 });
    const other = new FaultEngine({ ...options, seed: 100 });
    expect(Array.from({ length: 200 }, () => other.apiFault())).not.toEqual(seqA);
  });

  it("decides report outcomes from the report's identity, not from call order", () => {
    const a = new FaultEngine(options);
    const b = new FaultEngine(options);
    const keys = Array.from({ length: 300 }, (_, i) => ({
      batchOrdinal: i % 3,
      itemIndex: i,
      reportOrdinal: 0,
    }));
    const forward = keys.map((k) => a.reportOutcome(k, "34580820"));
    const backward = [...keys]
      .reverse()
      .map((k) => b.reportOutcome(k, "34580820"))
      .reverse();
    expect(forward).toEqual(backward);
    const failed = forward.filter((s) => s === "Failed").length;
    const warning = forward.filter((s) => s === "Warning").length;
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(60);
    expect(warning).toBeGreaterThan(30);
    expect(warning).toBeLessThan(100);
  });

  it("never faults when rates are off, and honours forced outcomes", () => {
    const quiet = new FaultEngine({ forceItemStatus: { "12345674": "Warning" } });
    expect(quiet.apiFault()).toBeUndefined();
    expect(quiet.reportOutcome({ batchOrdinal: 0, itemIndex: 0, reportOrdinal: 0 }, "34580820")).toBe(
      "Completed",
    );
    expect(quiet.reportOutcome({ batchOrdinal: 0, itemIndex: 0, reportOrdinal: 0 }, "12345674")).toBe(
      "Warning",
    );
    expect(quiet.webhookPlan({ batchOrdinal: 0, itemIndex: 0, reportOrdinal: 0 })).toEqual({
      drop: false,
      duplicates: 0,
      extraDelayMs: 0,
    });
  });

  it("plans webhook drops, duplicates and reorder delays deterministically", () => {
    const a = new FaultEngine(options);
    const plans = Array.from({ length: 200 }, (_, i) =>
      a.webhookPlan({ batchOrdinal: 1, itemIndex: i, reportOrdinal: 0 }),
    );
    expect(plans).toEqual(
      Array.from({ length: 200 }, (_, i) =>
        new FaultEngine(options).webhookPlan({ batchOrdinal: 1, itemIndex: i, reportOrdinal: 0 }),
      ),
    );
    expect(plans.some((p) => p.drop)).toBe(true);
    expect(plans.some((p) => p.duplicates === 2)).toBe(true);
    expect(plans.every((p) => p.duplicates === 0 || p.duplicates === 2)).toBe(true);
    expect(plans.every((p) => p.extraDelayMs >= 0 && p.extraDelayMs <= 100)).toBe(true);
    expect(new Set(plans.map((p) => p.extraDelayMs)).size).toBeGreaterThan(20);
  });

  it("consumes deterministic rules in order and counts their times", () => {
    const engine = new FaultEngine();
    engine.addRule({ route: "getBatch", status: 503, times: 2 });
    engine.addRule({ route: "getBatch", kind: "timeout", delayMs: 10, times: 1 });
    expect(engine.takeRule("listItems")).toBeUndefined();
    expect(engine.takeRule("getBatch")).toMatchObject({ status: 503 });
    expect(engine.takeRule("getBatch")).toMatchObject({ status: 503 });
    expect(engine.takeRule("getBatch")).toMatchObject({ kind: "timeout", delayMs: 10 });
    expect(engine.takeRule("getBatch")).toBeUndefined();
  });
});
