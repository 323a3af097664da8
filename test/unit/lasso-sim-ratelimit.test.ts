import { describe, expect, it } from "vitest";
import { RateLimiter } from "#local/lasso-sim/ratelimit.ts";

describe("lasso-sim rate limiter", () => {
  it("allows `limit` requests per window, then refuses with a retry-after in whole seconds", () => {
    let now = 0;
    const limiter = new RateLimiter(3, 60_000, () => now);
    expect(limiter.take("k")).toEqual({ allowed: true, remaining: 2 });
    now = 10_000;
    expect(limiter.take("k")).toEqual({ allowed: true, remaining: 1 });
    expect(limiter.take("k")).toEqual({ allowed: true, remaining: 0 });
    now = 20_500;
    // The oldest request (t=0) leaves the window at t=60000: 39.5 s from now → 40.
    expect(limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 40 });
  });

  it("slides: a request becomes possible once the oldest one leaves the window", () => {
    let now = 0;
    const limiter = new RateLimiter(2, 1000, () => now);
    limiter.take("k");
    now = 400;
    limiter.take("k");
    now = 999;
    expect(limiter.take("k").allowed).toBe(false);
    now = 1001;
    expect(limiter.take("k").allowed).toBe(true);
    expect(limiter.take("k").allowed).toBe(false);
  });

  it("never answers a retry-after below 1 second", () => {
    let now = 0;
    const limiter = new RateLimiter(1, 100, () => now);
    limiter.take("k");
    now = 99.9;
    expect(limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it("counts each key separately, and does not count refused requests", () => {
    let now = 0;
    const limiter = new RateLimiter(1, 1000, () => now);
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("b").allowed).toBe(true);
    for (let i = 0; i < 5; i++) expect(limiter.take("a").allowed).toBe(false);
    now = 1000.5;
    expect(limiter.take("a").allowed).toBe(true);
  });

  it("counts the requests let through in each second from the first, refused ones not", () => {
    let now = 5_000;
    const limiter = new RateLimiter(3, 60_000, () => now);
    limiter.take("k");
    now = 5_999;
    limiter.take("k");
    now = 8_100;
    limiter.take("k");
    limiter.take("k");
    expect(limiter.stats().acceptedPerSecond).toEqual([2, 0, 0, 1]);
    expect(limiter.stats().refused).toBe(1);
  });

  it("is disabled with a limit of 0", () => {
    const limiter = new RateLimiter(0, 1000, () => 0);
    for (let i = 0; i < 1000; i++) expect(limiter.take("k").allowed).toBe(true);
  });
});
