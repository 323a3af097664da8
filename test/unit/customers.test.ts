import { describe, expect, test } from "vitest";
import { customerToItem } from "#shared/customer-file.ts";
import {
  CUSTOMERS_TRANSLATE_CONFIG,
  isExplicitlyDisabled,
  meantGroup,
  parseCustomerItem,
  recipientsFor,
} from "#shared/customers.ts";

const valid = {
  customerId: 1234,
  cvr: "34580820",
  name: "Nørregaard Revision ApS",
  emails: new Set(["bogholderi@example.dk"]),
  reportTypes: new Set(["Revision"]),
  group: "default",
};

function reasonOf(raw: Record<string, unknown>): string {
  const result = parseCustomerItem(raw);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.customer)}`);
  return result.reason;
}

describe("parseCustomerItem: tolerant of hand edits", () => {
  test("a documented item parses, with enabled and language defaulted", () => {
    const result = parseCustomerItem(valid);
    expect(result).toEqual({
      ok: true,
      warnings: [],
      customer: {
        customerId: 1234,
        cvr: "34580820",
        name: "Nørregaard Revision ApS",
        emails: ["bogholderi@example.dk"],
        emailsByType: {},
        cc: [],
        bcc: [],
        reportTypes: ["Revision"],
        group: "default",
        enabled: true,
        language: "da",
      },
    });
  });

  test("per-type recipients, cc and bcc: flat attributes, routed per report type", () => {
    const result = parseCustomerItem({
      ...valid,
      reportTypes: new Set(["Revision", "Finans", "ReelleEjere"]),
      emails_Finans: new Set(["bogholder@kunde.dk"]),
      EMAILS_REELLEEJERE: "compliance@kunde.dk; jura@kunde.dk",
      cc: new Set(["revisor@firma.dk"]),
      bcc: "arkiv@firma.dk",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const customer = result.customer;
    expect(customer.emailsByType).toEqual({
      Finans: ["bogholder@kunde.dk"],
      ReelleEjere: ["compliance@kunde.dk", "jura@kunde.dk"],
    });
    expect(recipientsFor(customer, "Revision")).toEqual({
      to: ["bogholderi@example.dk"],
      cc: ["revisor@firma.dk"],
      bcc: ["arkiv@firma.dk"],
    });
    expect(recipientsFor(customer, "Finans").to).toEqual(["bogholder@kunde.dk"]);
    expect(recipientsFor(customer, "ReelleEjere").to).toEqual(["compliance@kunde.dk", "jura@kunde.dk"]);
    // Written back as the same flat attributes.
    expect(customerToItem(customer)).toMatchObject({
      emails_Finans: new Set(["bogholder@kunde.dk"]),
      emails_ReelleEjere: new Set(["compliance@kunde.dk", "jura@kunde.dk"]),
      cc: new Set(["revisor@firma.dk"]),
      bcc: new Set(["arkiv@firma.dk"]),
    });
  });

  test("an address in cc that is also a To recipient is not copied twice", () => {
    const result = parseCustomerItem({ ...valid, cc: "Bogholderi@example.dk, revisor@firma.dk" });
    expect(result.ok && recipientsFor(result.customer, "Revision")).toEqual({
      to: ["bogholderi@example.dk"],
      cc: ["revisor@firma.dk"],
      bcc: [],
    });
  });

  test("a cc without a valid address, a misspelt per-type attribute and an unwanted type are named", () => {
    const broken = parseCustomerItem({ ...valid, cc: "revisor(at)firma.dk" });
    expect(broken).toMatchObject({
      ok: false,
      reason: 'cc: no valid e-mail address ("revisor(at)firma.dk")',
    });
    const warned = parseCustomerItem({
      ...valid,
      emails_Revisjon: "a@kunde.dk",
      emails_Finans: "b@kunde.dk",
    });
    expect(warned.ok).toBe(true);
    expect(warned.ok && warned.warnings).toEqual([
      "emails_Finans is set, but the customer does not want Finans reports",
      expect.stringContaining('attribute "emails_Revisjon" names no report type'),
    ]);
  });

  test("a cvr stored as a number, or with spaces and a DK prefix, becomes 8 digits of text", () => {
    for (const cvr of [34580820, "DK 3458 0820", " 34580820 "]) {
      const result = parseCustomerItem({ ...valid, cvr });
      expect(result.ok && result.customer.cvr).toBe("34580820");
    }
  });

  test("recipients as a list or a comma/semicolon-separated string; duplicates dropped", () => {
    const fromList = parseCustomerItem({ ...valid, emails: ["a@example.dk", "b@example.dk; c@example.dk"] });
    expect(fromList.ok && fromList.customer.emails).toEqual(["a@example.dk", "b@example.dk", "c@example.dk"]);
    const fromText = parseCustomerItem({
      ...valid,
      emails: "a@example.dk;A@Example.dk , mailto:b@example.dk",
    });
    expect(fromText.ok && fromText.customer.emails).toEqual(["a@example.dk", "b@example.dk"]);
  });

  test("report type names in any letter case, as a set, list or separated string", () => {
    const result = parseCustomerItem({ ...valid, reportTypes: "revision; REELLEEJERE,Finans" });
    expect(result.ok && result.customer.reportTypes).toEqual(["Revision", "ReelleEjere", "Finans"]);
    const fromSet = parseCustomerItem({ ...valid, reportTypes: new Set(["revisionudvidet"]) });
    expect(fromSet.ok && fromSet.customer.reportTypes).toEqual(["RevisionUdvidet"]);
  });

  test("attribute names in another letter case are read", () => {
    const result = parseCustomerItem({
      customerId: 7,
      CVR: "34580820",
      Name: "X ApS",
      Emails: "x@example.dk",
      ReportTypes: "Finans",
      group: "g",
    });
    expect(result.ok && result.customer).toMatchObject({
      customerId: 7,
      group: "g",
      reportTypes: ["Finans"],
    });
  });

  test("enabled given as text, and language given in words or upper case", () => {
    expect(parseCustomerItem({ ...valid, enabled: "false" })).toMatchObject({
      ok: true,
      customer: { enabled: false },
    });
    expect(parseCustomerItem({ ...valid, language: "EN" })).toMatchObject({
      ok: true,
      customer: { language: "en" },
    });
    expect(parseCustomerItem({ ...valid, language: "Dansk" })).toMatchObject({
      ok: true,
      customer: { language: "da" },
    });
    expect(parseCustomerItem(valid, { defaultLanguage: "en" })).toMatchObject({
      ok: true,
      customer: { language: "en" },
    });
  });

  test("a customerId read as text (an unsafe number wrapped by the client) is judged by its digits", () => {
    expect(parseCustomerItem({ ...valid, customerId: "42" })).toMatchObject({
      ok: true,
      customer: { customerId: 42 },
    });
    expect(parseCustomerItem({ ...valid, customerId: { value: "43" } })).toMatchObject({
      ok: true,
      customer: { customerId: 43 },
    });
  });

  test("usable rows with minor problems carry warnings", () => {
    const result = parseCustomerItem({
      ...valid,
      name: undefined,
      emails: ["good@example.dk", "not-an-address"],
      format: "{cvr}-{navn}",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.customer.name).toBe("CVR 34580820");
    expect(result.customer.emails).toEqual(["good@example.dk"]);
    expect(result.customer.format).toBe("{cvr}-{navn}");
    expect(result.warnings).toEqual([
      "name is missing; the CVR is used instead",
      'invalid e-mail address(es) ignored: "not-an-address"',
      "format has unknown variable(s) {navn}; Lasso knows {name}, {balanceday}, {cvr}, {type}, {rundate}",
    ]);
  });

  test("control characters and line breaks never survive in a name (it reaches mail headers)", () => {
    const result = parseCustomerItem({ ...valid, name: "Evil\r\nBcc: x@example.dk\u0000 ApS" });
    expect(result.ok && result.customer.name).toBe("Evil Bcc: x@example.dk ApS");
  });
});

describe("parseCustomerItem: strict about meaning", () => {
  test("a cvr that is not 8 digits", () => {
    expect(reasonOf({ ...valid, cvr: "1234567" })).toBe('cvr "1234567" must be 8 digits, the first not 0');
    expect(reasonOf({ ...valid, cvr: "04580820" })).toBe('cvr "04580820" must be 8 digits, the first not 0');
  });

  test("a cvr failing the modulus-11 check digit is refused, not sent to fail at Lasso", () => {
    expect(reasonOf({ ...valid, cvr: "34580821" })).toBe(
      "cvr 34580821 fails the modulus-11 check digit (a typo?)",
    );
  });

  test("no valid e-mail address", () => {
    expect(reasonOf({ ...valid, emails: ["nobody", "also@"] })).toBe(
      'no valid e-mail address ("nobody", "also@")',
    );
    expect(reasonOf({ ...valid, emails: "" })).toBe("emails is empty (no recipient)");
    expect(reasonOf({ ...valid, emails: undefined })).toBe("emails is missing (no recipient)");
  });

  test("an unknown report type (even next to a known one), or a number", () => {
    expect(reasonOf({ ...valid, reportTypes: new Set(["Revision", "Revisjon"]) })).toBe(
      'unknown report type(s) "Revisjon" (known: Revision, Finans, ReelleEjere, RevisionUdvidet)',
    );
    expect(reasonOf({ ...valid, reportTypes: "0" })).toContain('unknown report type(s) "0"');
  });

  test("a customerId that is not a whole number in Lasso's int32 range", () => {
    expect(reasonOf({ ...valid, customerId: 12.5 })).toBe('customerId "12.5" is not a whole number');
    expect(reasonOf({ ...valid, customerId: "99999999999999999999" })).toBe(
      "customerId 99999999999999999999 must be between 1 and 2147483647 (Lasso's int32)",
    );
    expect(reasonOf({ ...valid, customerId: 0 })).toContain("must be between 1 and 2147483647");
  });

  test("an unreadable enabled flag or an unknown language refuses the row", () => {
    expect(reasonOf({ ...valid, enabled: "maybe" })).toBe(
      'enabled must be ja/nej, yes/no, true/false or 1/0, got "maybe"',
    );
    expect(reasonOf({ ...valid, language: "fr" })).toBe('language must be "da" or "en", got "fr"');
  });

  test("every problem of a row is named at once, with what can still be identified", () => {
    const result = parseCustomerItem({ customerId: 99, cvr: "34580820", emails: "x", group: "g" });
    expect(result).toEqual({
      ok: false,
      customerId: 99,
      cvr: "34580820",
      reason: 'no valid e-mail address ("x"); reportTypes is missing',
    });
  });
});

describe("isExplicitlyDisabled", () => {
  test("only a readable false disables a row", () => {
    expect(isExplicitlyDisabled({ enabled: false })).toBe(true);
    expect(isExplicitlyDisabled({ Enabled: "nej" })).toBe(true);
    expect(isExplicitlyDisabled({})).toBe(false);
    expect(isExplicitlyDisabled({ enabled: "maybe" })).toBe(false);
  });
});

describe("CUSTOMERS_TRANSLATE_CONFIG", () => {
  test("numbers beyond the safe integer range come back as text instead of failing the read", () => {
    const wrap = CUSTOMERS_TRANSLATE_CONFIG.unmarshallOptions?.wrapNumbers;
    if (typeof wrap !== "function") throw new Error("wrapNumbers must be a function");
    expect(wrap("99999999999999999999")).toBe("99999999999999999999");
    expect(wrap("1234")).toBe(1234);
    expect(wrap("12.5")).toBe(12.5);
  });
});

describe("the group, which the byGroup index compares exactly", () => {
  test("a stored group with surrounding spaces is refused with the reason, not read as trimmed", () => {
    expect(reasonOf({ ...valid, group: "default " })).toBe(
      'group "default " has surrounding spaces (a run of group "default" compares it exactly)',
    );
    expect(reasonOf({ ...valid, group: "\tdefault" })).toMatch(/^group "\\tdefault" has surrounding spaces/);
  });

  test("a stored group under another attribute spelling is refused: the index reads only `group`", () => {
    expect(reasonOf({ ...valid, group: undefined, Group: "default" })).toBe(
      'group is stored as attribute "Group": it must be named "group" (the byGroup index reads only that name)',
    );
  });

  test("a row from a file (origin file) is normalised instead: our tools write the trimmed group", () => {
    const result = parseCustomerItem({ ...valid, group: "  default " }, { origin: "file" });
    expect(result.ok && result.customer.group).toBe("default");
  });

  test("meantGroup: the trimmed group under any spelling, or undefined", () => {
    expect(meantGroup({ group: " nord " })).toBe("nord");
    expect(meantGroup({ Group: "nord" })).toBe("nord");
    expect(meantGroup({ group: "" })).toBeUndefined();
    expect(meantGroup({})).toBeUndefined();
  });
});

describe("e-mail addresses", () => {
  test("a local part over 64 characters (RFC 5321) is no recipient; 64 is fine", () => {
    const long = `${"a".repeat(65)}@example.dk`;
    const limit = `${"a".repeat(64)}@example.dk`;
    expect(reasonOf({ ...valid, emails: long })).toBe(
      `no valid e-mail address ("${long.slice(0, 80)}" (local part over 64 characters))`,
    );
    const mixed = parseCustomerItem({ ...valid, emails: [limit, long] });
    expect(mixed.ok && mixed.customer.emails).toEqual([limit]);
    expect(mixed.ok && mixed.warnings).toEqual([
      `invalid e-mail address(es) ignored: "${long}" (local part over 64 characters)`,
    ]);
  });
});
