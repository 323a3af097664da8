/**
 * Property-based tests (fast-check) of the customer row parser: whatever a hand edit or a
 * file puts into a row, the answer is a usable customer or a reason, never an exception;
 * what our tools write is read back by a run as the very same customer; a file never
 * yields two customers of one id, and the one it yields is the first row's.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MAX_CUSTOMER_ID, MAX_EMAIL_LOCAL_PART } from "#shared/customer-fields.ts";
import { type CustomerRow, checkCustomerRows, customerToItem } from "#shared/customer-file.ts";
import { isExplicitlyDisabled, meantGroup, parseCustomerItem } from "#shared/customers.ts";
import { checkCvr } from "#shared/cvr.ts";
import { REPORT_TYPES } from "#shared/lasso/enums.ts";

const KEYS = [
  "customerId",
  "internalCustomerId",
  "CustomerID",
  "cvr",
  "CVR",
  "name",
  "emails",
  "email",
  "Emails",
  "reportTypes",
  "reportType",
  "group",
  "Group",
  "enabled",
  "format",
  "language",
  "note",
  "__proto__",
  "constructor",
];

const textLike = fc.oneof(
  fc.string(),
  fc.constantFrom("34580820", "34580821", "DK 3458 0820", "1234", " 2024 ", "A12", "0", "-1", "1.5", "1e3"),
  fc.constantFrom("Revision", "revision, FINANS", "Revisjon", "ReelleEjere;RevisionUdvidet", "3", ""),
  fc.constantFrom(
    "a@example.dk",
    "a@example.dk; b@example.dk",
    "mailto:c@example.dk",
    "ingen",
    `${"x".repeat(65)}@example.dk`,
  ),
  fc.constantFrom(
    "default",
    "default ",
    " nord",
    "true",
    "false",
    "ja",
    "nej",
    "maybe",
    "da",
    "EN",
    "fr",
    "{name}-{x}",
  ),
);

const scalar = fc.oneof(
  textLike,
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.integer({ min: 1, max: MAX_CUSTOMER_ID }),
  // What a client with wrapNumbers gives for a number beyond the safe range.
  fc.string().map((value) => ({ value })),
);

const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 5 }),
  fc.array(textLike, { maxLength: 5 }).map((list) => new Set(list)),
  fc.dictionary(fc.string(), scalar, { maxKeys: 3 }),
  fc.anything(),
);

const rawRow = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), value, { maxKeys: 12 });

/** A row that is often valid: the documented attributes with plausible values. */
const likelyFields = {
  customerId: fc.oneof(fc.integer({ min: -5, max: 50 }), fc.constantFrom("7", "A12", "07")),
  cvr: fc.oneof(fc.constantFrom("34580820", "34580821", "12345678", " 34580820"), fc.constant(34580820)),
  name: fc.string(),
  emails: fc.oneof(
    fc.array(fc.constantFrom("a@example.dk", "B@example.dk", "nope", `${"y".repeat(64)}@example.dk`), {
      maxLength: 3,
    }),
    fc.constant("a@example.dk; b@example.dk"),
  ),
  reportTypes: fc.array(fc.constantFrom("Revision", "finans", "REELLEEJERE", "Kvartal"), { maxLength: 3 }),
  group: fc.oneof(fc.constantFrom("default", "default ", "nord", " "), fc.integer({ min: 0, max: 9 })),
  enabled: fc.oneof(fc.boolean(), fc.constantFrom("ja", "nej", "maybe")),
  language: fc.constantFrom("da", "en", "English", "fr"),
};
/** Any subset of the documented attributes, with plausible values. */
const likelyRow = fc.record(likelyFields, { requiredKeys: [] });
/** All of them: valid often enough to exercise what is written and read back. */
const fullRow = fc.record(likelyFields);

const anyRow = fc.oneof(rawRow, likelyRow) as fc.Arbitrary<Record<string, unknown>>;
const origin = fc.constantFrom("table" as const, "file" as const);

describe("parseCustomerItem: a customer or a reason, never an exception", () => {
  test("any row, from the table or a file", () => {
    fc.assert(
      fc.property(anyRow, origin, (raw, from) => {
        const result = parseCustomerItem(raw, { origin: from });
        if (!result.ok) {
          expect(typeof result.reason).toBe("string");
          expect(result.reason.length).toBeGreaterThan(0);
          return;
        }
        const { customer } = result;
        expect(Number.isSafeInteger(customer.customerId)).toBe(true);
        expect(customer.customerId).toBeGreaterThanOrEqual(1);
        expect(customer.customerId).toBeLessThanOrEqual(MAX_CUSTOMER_ID);
        expect(checkCvr(customer.cvr)).toMatchObject({ ok: true, cvr: customer.cvr });
        expect(customer.emails.length).toBeGreaterThan(0);
        for (const address of customer.emails) {
          expect(address.indexOf("@")).toBeGreaterThan(0);
          expect(address.lastIndexOf("@")).toBeLessThanOrEqual(MAX_EMAIL_LOCAL_PART);
        }
        expect(customer.reportTypes.length).toBeGreaterThan(0);
        for (const type of customer.reportTypes) expect(REPORT_TYPES).toContain(type);
        expect(customer.group).not.toBe("");
        expect(customer.group).toBe(customer.group.trim());
        expect(["da", "en"]).toContain(customer.language);
        expect(customer.name).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
        expect(Array.isArray(result.warnings)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test("isExplicitlyDisabled and meantGroup answer for any row", () => {
    fc.assert(
      fc.property(anyRow, (raw) => {
        expect(typeof isExplicitlyDisabled(raw)).toBe("boolean");
        const group = meantGroup(raw);
        if (group !== undefined) expect(group).toBe(group.trim());
      }),
      { numRuns: 1000 },
    );
  });

  test("a stored row whose group is not normalised is never a usable customer", () => {
    fc.assert(
      fc.property(likelyRow, fc.constantFrom(" ", "\t", "\u00a0"), (raw, space) => {
        const group = `${String(raw.group ?? "g").trim() || "g"}${space}`;
        expect(parseCustomerItem({ ...raw, group }, { origin: "table" }).ok).toBe(false);
      }),
    );
  });
});

describe("what our tools write is what a run reads", () => {
  test("customerToItem of a customer from a file parses back, as stored, to the same customer", () => {
    fc.assert(
      fc.property(fc.oneof(anyRow, fullRow), (raw) => {
        const fromFile = parseCustomerItem(raw, { origin: "file" });
        if (!fromFile.ok) return;
        const stored = parseCustomerItem(customerToItem(fromFile.customer), { origin: "table" });
        expect(stored).toMatchObject({ ok: true, customer: fromFile.customer });
      }),
      { numRuns: 2000 },
    );
  });
});

describe("checkCustomerRows: one row per id, the first", () => {
  test("no id is accepted twice; an accepted id is the first row that names it", () => {
    fc.assert(
      fc.property(fc.array(likelyRow, { maxLength: 30 }), (raws) => {
        const rows: CustomerRow[] = raws.map((raw, index) => ({ line: index + 2, raw }));
        const checked = checkCustomerRows(rows);
        expect(checked).toHaveLength(rows.length);
        const accepted = new Map<number, number>();
        const firstLine = new Map<number, number>();
        for (const row of checked) {
          const id = row.result.ok ? row.result.customer.customerId : row.result.customerId;
          if (id !== undefined && !firstLine.has(id)) firstLine.set(id, row.line);
          if (!row.result.ok) continue;
          const id2 = row.result.customer.customerId;
          expect(accepted.has(id2), `id ${id2} accepted twice`).toBe(false);
          accepted.set(id2, row.line);
        }
        for (const [id, line] of accepted) expect(line).toBe(firstLine.get(id));
      }),
      { numRuns: 500 },
    );
  });
});
