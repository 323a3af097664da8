import { describe, expect, test } from "vitest";
import { deferSeconds } from "#lambdas/deliver-report/lambda.ts";

describe("deferSeconds: when a throttled message comes back", () => {
  test("never sooner than retry-after, rounded up to whole seconds", () => {
    expect(deferSeconds(1, () => 0)).toBe(1);
    expect(deferSeconds(2500, () => 0)).toBe(3);
    expect(deferSeconds(0, () => 0)).toBe(1);
  });

  test("spread by up to a third more, so a throttled herd does not return at once", () => {
    expect(deferSeconds(30_000, () => 0.999)).toBe(40);
    expect(deferSeconds(30_000, () => 0.5)).toBe(35);
  });

  test("capped at 15 minutes, well inside SQS's 12-hour limit", () => {
    expect(deferSeconds(24 * 3600 * 1000, () => 0.5)).toBe(900);
  });
});
