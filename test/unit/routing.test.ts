/**
 * Routing (lambdas/deliver-report/routing.ts): a report of one of our batches goes only to
 * the customer its manifest names; a report of a batch made elsewhere only to a customer
 * with its cvr who wants its type. The customer table is an in-memory directory here: the
 * rules are pure; the emulator-backed paths are in test/integration/deliver-report.test.ts.
 */
import { describe, expect, test } from "vitest";
import { type CustomerDirectory, routeReport } from "#lambdas/deliver-report/routing.ts";
import type { Customer, CustomerParseResult } from "#shared/customers.ts";

const customer = (customerId: number, cvr: string, overrides: Partial<Customer> = {}): Customer => ({
  customerId,
  cvr,
  name: `Kunde ${customerId}`,
  emailsByType: {},
  cc: [],
  bcc: [],
  emails: [`kunde${customerId}@example.dk`],
  reportTypes: ["Revision"],
  group: "default",
  enabled: true,
  language: "da",
  ...overrides,
});

function directory(...customers: Customer[]): CustomerDirectory {
  const ok = (c: Customer): CustomerParseResult => ({ ok: true, customer: c, warnings: [] });
  return {
    get: async (id) => {
      const found = customers.find((c) => c.customerId === id);
      return found === undefined ? undefined : ok(found);
    },
    findByCvr: async (cvr) => customers.filter((c) => c.cvr === cvr).map(ok),
  };
}

const A = customer(1, "34580820");
const B = customer(2, "10000009");
const manifest = [{ customerId: 1, cvr: "34580820" }];

describe("a report of one of our batches", () => {
  test("goes to the manifest's customer", async () => {
    const route = await routeReport(
      { cvr: A.cvr, reportType: "Revision", manifest, submittedByUs: true },
      directory(A, B),
    );
    expect(route).toMatchObject({ ok: true, via: "manifest", customer: { customerId: 1 } });
  });

  test("of a company that is not in the manifest is unroutable, though the table has the company", async () => {
    const route = await routeReport(
      { cvr: B.cvr, reportType: "Revision", manifest, submittedByUs: true, internalCustomerId: 2 },
      directory(A, B),
    );
    expect(route).toEqual({ ok: false, reason: `cvr ${B.cvr} is not in the batch we submitted (manifest)` });
  });

  test("naming another customer than the manifest has for the cvr is unroutable", async () => {
    const twin = customer(3, A.cvr);
    const route = await routeReport(
      { cvr: A.cvr, reportType: "Revision", manifest, submittedByUs: true, internalCustomerId: 3 },
      directory(A, twin),
    );
    expect(route).toMatchObject({ ok: false, customerId: 3 });
    expect(!route.ok && route.reason).toMatch(
      /names customer 3; the manifest has cvr 34580820 for customer 1/,
    );
  });

  test("with an empty manifest routes nowhere (nothing was asked for)", async () => {
    const route = await routeReport(
      { cvr: A.cvr, reportType: "Revision", manifest: [], submittedByUs: true },
      directory(A),
    );
    expect(route.ok).toBe(false);
  });
});

describe("a report of a batch made elsewhere (adopted, no manifest)", () => {
  test("goes to the customer its internalCustomerId names when that row has the cvr", async () => {
    const route = await routeReport(
      { cvr: A.cvr, reportType: "Revision", manifest: [], internalCustomerId: 1 },
      directory(A, B),
    );
    expect(route).toMatchObject({ ok: true, via: "internalCustomerId", customer: { customerId: 1 } });
  });

  test("not to the customer its internalCustomerId names when that one does not want the type", async () => {
    const route = await routeReport(
      { cvr: A.cvr, reportType: "ReelleEjere", manifest: [], internalCustomerId: 1 },
      directory(A),
    );
    expect(route.ok).toBe(false);
  });

  test("else to the one customer with the cvr who wants the type; to nobody who does not want it", async () => {
    const wants = await routeReport({ cvr: A.cvr, reportType: "Revision", manifest: [] }, directory(A));
    expect(wants).toMatchObject({ ok: true, via: "cvr", customer: { customerId: 1 } });
    const doesNot = await routeReport({ cvr: A.cvr, reportType: "ReelleEjere", manifest: [] }, directory(A));
    expect(doesNot).toEqual({
      ok: false,
      reason: `no customer with cvr ${A.cvr} wants ReelleEjere reports (customer 1 does not)`,
    });
  });
});
