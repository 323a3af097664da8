import { describe, expect, it } from "vitest";
import { parseScheduledTime, validateCreateBatch } from "#local/lasso-sim/validation.ts";

const valid = {
  batchName: "My Batch",
  format: "{cvr}-{name}-{type}",
  type: "Revision",
  items: [{ cvr: 34580820, format: "1234-{cvr}-{name}", internalCustomerId: 1234 }],
};

function errorsOf(body: unknown): string[] {
  const result = validateCreateBatch(body);
  if (result.ok) throw new Error("expected the body to be rejected");
  return result.errors;
}

describe("lasso-sim batch validation", () => {
  it("accepts the contract's example and normalises it", () => {
    const result = validateCreateBatch({
      ...valid,
      notificationEmail: "mail@mail.com",
      notificationWebhookUrl: "https://myserver.com/reportwebhook",
      authConfig: null,
      errorAppend: "#error",
      scheduledTime: "2018-01-01 01:00:00",
      IsListener: false,
      TriggerNow: false,
    });
    expect(result).toEqual({
      ok: true,
      value: {
        batchName: "My Batch",
        type: "Revision",
        format: "{cvr}-{name}-{type}",
        items: [{ cvr: "34580820", format: "1234-{cvr}-{name}", internalCustomerId: 1234 }],
        scheduledTime: new Date(Date.UTC(2018, 0, 1, 1, 0, 0)),
        notificationEmail: "mail@mail.com",
        notificationWebhookUrl: "https://myserver.com/reportwebhook",
        authConfig: null,
        errorAppend: "#error",
        isListener: false,
        triggerNow: false,
      },
    });
  });

  it("accepts report types by name in any case and by number 0..3", () => {
    const types = ["revision", "FINANS", 2, "3"].map((type) => {
      const r = validateCreateBatch({ ...valid, type });
      return r.ok ? r.value.type : undefined;
    });
    expect(types).toEqual(["Revision", "Finans", "ReelleEjere", "RevisionUdvidet"]);
    expect(errorsOf({ ...valid, type: 4 })[0]).toMatch(/^type must be one of/);
    expect(errorsOf({ ...valid, type: "Audit" })[0]).toMatch(/^type must be one of/);
  });

  it("reports every missing required field", () => {
    expect(errorsOf({})).toEqual([
      "batchName is required",
      "type is required",
      "format is required",
      "items is required",
    ]);
    expect(errorsOf("nope")).toEqual(["The request body must be a JSON object"]);
  });

  it("rejects empty items, bad cvrs and non-integer internalCustomerId", () => {
    expect(errorsOf({ ...valid, items: [] })).toEqual(["items must contain at least one item"]);
    expect(errorsOf({ ...valid, items: [{ cvr: "1234567" }] })).toEqual([
      "items[0].cvr must be an 8-digit CVR number (first digit not 0)",
    ]);
    expect(errorsOf({ ...valid, items: [{ cvr: "DK34580820" }, { format: "x" }] })).toEqual([
      "items[0].cvr must be an 8-digit CVR number (first digit not 0)",
      "items[1].cvr is required",
    ]);
    expect(errorsOf({ ...valid, items: [{ cvr: 34580820, internalCustomerId: 12.5 }] })).toEqual([
      "items[0].internalCustomerId must be an integer",
    ]);
    expect(errorsOf({ ...valid, items: [{ cvr: 34580820, internalCustomerId: "abc" }] })).toEqual([
      "items[0].internalCustomerId must be an integer",
    ]);
  });

  it("accepts a cvr failing modulus 11 (the report fails later, as an unknown company)", () => {
    expect(validateCreateBatch({ ...valid, items: [{ cvr: 34580821 }] }).ok).toBe(true);
  });

  it("allows IsListener only for ReelleEjere, with either casing", () => {
    expect(errorsOf({ ...valid, IsListener: true })).toEqual([
      "IsListener is only allowed for listenable report types (ReelleEjere), not Revision",
    ]);
    const ok = validateCreateBatch({ ...valid, type: "ReelleEjere", isListener: true, triggerNow: true });
    expect(ok.ok && ok.value.isListener && ok.value.triggerNow).toBe(true);
    const upper = validateCreateBatch({ ...valid, type: 2, IsListener: true, TriggerNow: true });
    expect(upper.ok && upper.value.isListener && upper.value.triggerNow).toBe(true);
  });

  it("validates scheduledTime, webhook URL and authConfig", () => {
    expect(errorsOf({ ...valid, scheduledTime: "tomorrow" })).toEqual([
      'scheduledTime must be a UTC date-time "YYYY-MM-DD HH:mm:ss"',
    ]);
    expect(errorsOf({ ...valid, notificationWebhookUrl: "myserver/hook" })).toEqual([
      "notificationWebhookUrl must be an absolute http or https URL",
    ]);
    expect(errorsOf({ ...valid, authConfig: { Method: "Digest", Key: "k", Value: "v" } })).toEqual([
      "authConfig.Method must be one of Header, BasicAuth, Kerberos",
    ]);
    expect(errorsOf({ ...valid, authConfig: { Method: "Header", Key: "bad header", Value: "v" } })).toEqual([
      "authConfig.Key must be a valid HTTP header name",
    ]);
    expect(errorsOf({ ...valid, authConfig: { method: "BasicAuth", key: "user" } })).toEqual([
      "authConfig.Value must be a non-empty string",
    ]);
    const ok = validateCreateBatch({
      ...valid,
      authConfig: { METHOD: "basicauth", KEY: "user", VALUE: "pw" },
    });
    expect(ok.ok && ok.value.authConfig).toEqual({ method: "BasicAuth", key: "user", value: "pw" });
  });

  it("parses the contract's date-time form and ISO 8601, calendar-checked", () => {
    expect(parseScheduledTime("2024-02-29 23:59:59")?.toISOString()).toBe("2024-02-29T23:59:59.000Z");
    expect(parseScheduledTime("2024-05-01T10:00:00.5Z")?.toISOString()).toBe("2024-05-01T10:00:00.500Z");
    expect(parseScheduledTime("2024-05-01T12:00:00+02:00")?.toISOString()).toBe("2024-05-01T10:00:00.000Z");
    expect(parseScheduledTime("2023-02-29 10:00:00")).toBeUndefined();
    expect(parseScheduledTime("2024-05-01 24:00:00")).toBeUndefined();
    expect(parseScheduledTime("01-05-2024 10:00:00")).toBeUndefined();
  });
});
