import { describe, expect, it } from "vitest";
import { latestBalanceDate, lookupCompany } from "#local/lasso-sim/registry.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";

/** The first `count` valid cvrs from `start` upwards. */
function validCvrs(start: number, count: number): string[] {
  const out: string[] = [];
  for (let n = start; out.length < count; n++) if (hasValidCvrChecksum(String(n))) out.push(String(n));
  return out;
}

describe("lasso-sim company registry", () => {
  it("answers the same company for the same cvr, given as number or string", () => {
    const a = lookupCompany(34580820);
    const b = lookupCompany("34580820");
    expect(a).toEqual(b);
    expect(a.found).toBe(true);
    if (a.found) {
      expect(a.company.cvr).toBe("34580820");
      expect(a.company.name.length).toBeGreaterThan(3);
    }
  });

  it("treats a cvr failing the modulus-11 check as an unknown company", () => {
    const result = lookupCompany(34580821);
    expect(result).toEqual({ found: false, cvr: "34580821", reason: "Company not found" });
  });

  it("treats malformed cvrs as unknown companies", () => {
    expect(lookupCompany("1234").found).toBe(false);
    expect(lookupCompany("02345678").found).toBe(false);
  });

  it("generates Danish-looking names with legal forms, some with æ, ø or å", () => {
    const names = validCvrs(10_000_000, 300).map((cvr) => {
      const r = lookupCompany(cvr);
      if (!r.found) throw new Error(`${cvr} should be known`);
      return r.company.name;
    });
    expect(names.every((n) => /( ApS| A\/S| I\/S| K\/S| P\/S)$/.test(n))).toBe(true);
    const withDanishLetters = names.filter((n) => /[æøåÆØÅ]/.test(n));
    expect(withDanishLetters.length).toBeGreaterThan(30);
    expect(withDanishLetters.length).toBeLessThan(names.length);
    // Varied: many different names.
    expect(new Set(names).size).toBeGreaterThan(150);
  });

  it("gives balance days from the usual Danish set, mostly 31 December", () => {
    const days = validCvrs(20_000_000, 400).map((cvr) => {
      const r = lookupCompany(cvr);
      if (!r.found) throw new Error("known");
      return `${r.company.balanceDay.day}-${r.company.balanceDay.month}`;
    });
    expect(new Set(days)).toEqual(new Set(["31-12", "30-6", "30-9", "31-3"]));
    expect(days.filter((d) => d === "31-12").length).toBeGreaterThan(days.length / 2);
  });

  it("dates the latest annual report at least five months before the run", () => {
    // The FY2023 report is due by the end of May 2024, so it is the latest only from mid-June.
    const runDate = new Date(Date.UTC(2024, 5, 15));
    expect(latestBalanceDate({ day: 31, month: 12 }, runDate).toISOString()).toBe("2023-12-31T00:00:00.000Z");
    expect(latestBalanceDate({ day: 31, month: 12 }, new Date(Date.UTC(2024, 3, 1))).toISOString()).toBe(
      "2022-12-31T00:00:00.000Z",
    );
    expect(latestBalanceDate({ day: 30, month: 6 }, runDate).toISOString()).toBe("2023-06-30T00:00:00.000Z");
  });
});
