import { describe, expect, test } from "vitest";
import {
  batchName,
  chunkCustomers,
  chunkToken,
  lassoScheduledTime,
  localDate,
} from "#lambdas/submit-batches/chunking.ts";
import { canonicalScheduledTime } from "#lambdas/submit-batches/plan.ts";
import type { Customer } from "#shared/customers.ts";
import { nameContainsToken } from "#shared/lasso/client.ts";

const customer = (customerId: number, cvr = String(10_000_000 + customerId), format?: string): Customer => ({
  customerId,
  cvr,
  name: `Kunde ${customerId}`,
  emailsByType: {},
  cc: [],
  bcc: [],
  emails: ["a@example.dk"],
  reportTypes: ["Revision"],
  group: "g",
  enabled: true,
  language: "da",
  ...(format === undefined ? {} : { format }),
});

const ids = (chunks: Customer[][]): number[][] => chunks.map((chunk) => chunk.map((c) => c.customerId));

describe("chunkCustomers", () => {
  test("splits in order into chunks of at most chunkSize", () => {
    const customers = Array.from({ length: 2500 }, (_, i) => customer(i + 1));
    const chunks = chunkCustomers(customers, { chunkSize: 1000 });
    expect(chunks.map((c) => c.length)).toEqual([1000, 1000, 500]);
    expect(chunks.flat().map((c) => c.customerId)).toEqual(customers.map((c) => c.customerId));
  });

  test("two customers of the same company never share a chunk", () => {
    const customers = [
      customer(1, "34580820"),
      customer(2, "34580820"),
      customer(3),
      customer(4, "34580820"),
    ];
    expect(ids(chunkCustomers(customers, { chunkSize: 10 }))).toEqual([[1, 3], [2], [4]]);
  });

  test("a same-company customer fills the next chunk with room instead of opening a new one", () => {
    const customers = [
      customer(1, "34580820"),
      customer(2),
      customer(3, "34580820"),
      customer(4),
      customer(5),
    ];
    expect(ids(chunkCustomers(customers, { chunkSize: 2 }))).toEqual([[1, 2], [3, 4], [5]]);
  });

  test("chunks close early when the manifest would be too large for one DynamoDB item", () => {
    const longFormat = "x".repeat(150);
    const customers = Array.from({ length: 10 }, (_, i) => customer(i + 1, undefined, longFormat));
    const chunks = chunkCustomers(customers, { chunkSize: 1000, maxManifestBytes: 800 });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.length <= 4)).toBe(true);
    expect(chunks.flat()).toHaveLength(10);
  });

  test("refuses a chunk size that is not a positive integer", () => {
    expect(() => chunkCustomers([customer(1)], { chunkSize: 0 })).toThrow(RangeError);
  });
});

describe("batch names and tokens", () => {
  test("the token is stable per (schedule, time, chunk) and differs between chunks", () => {
    const a = chunkToken("monthly", "2024-05-01T04:00:00.000Z", 1);
    expect(a).toBe(chunkToken("monthly", "2024-05-01T04:00:00.000Z", 1));
    expect(a).not.toBe(chunkToken("monthly", "2024-05-01T04:00:00.000Z", 2));
    expect(a).not.toBe(chunkToken("monthly", "2024-06-01T04:00:00.000Z", 1));
    expect(a).toMatch(/^lr-[0-9a-f]{16}$/);
  });

  test("the template is filled with the local date of the firing and the token stands apart", () => {
    const token = chunkToken("monthly", "2024-04-30T22:30:00.000Z", 2);
    const name = batchName(
      "{schedule} {date} ({part}/{parts})",
      {
        schedule: "monthly",
        scheduledTime: new Date("2024-04-30T22:30:00.000Z"),
        timeZone: "Europe/Copenhagen",
        part: 2,
        parts: 3,
      },
      token,
    );
    // 22:30 UTC on 30 April is already 1 May in Copenhagen (CEST, UTC+2).
    expect(name).toBe(`monthly 2024-05-01 (2/3) [${token}]`);
    expect(nameContainsToken(name, token)).toBe(true);
  });

  test("local date across the winter time change", () => {
    expect(localDate(new Date("2024-01-31T23:30:00Z"), "Europe/Copenhagen")).toBe("2024-02-01");
    expect(localDate(new Date("2024-01-31T22:30:00Z"), "Europe/Copenhagen")).toBe("2024-01-31");
  });

  test("Lasso's scheduledTime is the firing time plus the delay, in UTC, or absent", () => {
    const at = new Date("2024-05-01T04:00:00Z");
    expect(lassoScheduledTime(at, 90)).toBe("2024-05-01 05:30:00");
    expect(lassoScheduledTime(at, undefined)).toBeUndefined();
    expect(lassoScheduledTime(at, 0)).toBeUndefined();
  });

  test("scheduled times are canonical, so the same firing is the same run however it is written", () => {
    expect(canonicalScheduledTime("2024-05-01T06:00:00+02:00")).toBe("2024-05-01T04:00:00.000Z");
    expect(canonicalScheduledTime("2024-05-01T04:00:00Z")).toBe("2024-05-01T04:00:00.000Z");
    expect(() => canonicalScheduledTime("yesterday")).toThrow(RangeError);
  });
});
