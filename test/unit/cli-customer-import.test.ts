/**
 * The import's comparison with the stored row: what makes a re-import a no-op and an
 * update keep what people keep on a row.
 */
import { describe, expect, it } from "vitest";
import { compareCustomerItem, isCustomerAttribute } from "#cli/customer-import.ts";
import { customerToItem } from "#shared/customer-file.ts";

const item = customerToItem({
  customerId: 7,
  cvr: "34580820",
  name: "Ærø Bådeværft ApS",
  emails: ["a@x.dk", "b@x.dk"],
  emailsByType: {},
  cc: [],
  bcc: [],
  reportTypes: ["Revision", "Finans"],
  group: "nord",
  enabled: true,
  language: "da",
});

describe("compareCustomerItem", () => {
  it("creates a row that is not stored", () => {
    expect(compareCustomerItem(item, undefined)).toEqual({ kind: "create", item });
  });

  it("finds a stored row with the same values unchanged, whatever the order of its sets", () => {
    const stored = {
      ...item,
      emails: new Set(["b@x.dk", "a@x.dk"]),
      reportTypes: ["Finans", "Revision"],
      note: "ring før kl. 10",
    };
    expect(compareCustomerItem(item, stored)).toEqual({ kind: "unchanged" });
  });

  it("names the attributes that differ, types included", () => {
    const stored = { ...item, name: "Ærø Baadeværft ApS", enabled: "ja", format: "{cvr}" };
    expect(compareCustomerItem(item, stored)).toEqual({
      kind: "update",
      item,
      remove: ["format"],
      changed: ["enabled", "format", "name"],
    });
  });

  it("removes other spellings of the attributes it writes, and keeps attributes it does not know", () => {
    const { emails: _emails, ...rest } = item;
    const stored = { ...rest, Email: "a@x.dk; b@x.dk", note: "vigtig" };
    const change = compareCustomerItem(item, stored);
    expect(change).toMatchObject({ kind: "update", remove: ["Email"], changed: ["Email", "emails"] });
  });

  it("knows the table reader's spellings only", () => {
    expect(
      ["customerId", "internalCustomerId", "Email", "report_types", "LANGUAGE"].every(isCustomerAttribute),
    ).toBe(true);
    expect(["note", "navn", "id", "aktiv"].some(isCustomerAttribute)).toBe(false);
  });
});
