import { describe, expect, test } from "vitest";
import { loadSubmitConfig } from "#lambdas/submit-batches/config.ts";
import type { CustomerSource } from "#lambdas/submit-batches/ports.ts";
import { selectCustomers } from "#lambdas/submit-batches/selection.ts";
import { ENV } from "#shared/env-names.ts";

const row = (customerId: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  customerId,
  cvr: "34580820",
  name: `Kunde ${customerId}`,
  emails: new Set([`k${customerId}@example.dk`]),
  reportTypes: new Set(["Revision"]),
  group: "g",
  ...extra,
});

/** Pages as DynamoDB returns them (the source is a port: no table needed for this logic). */
const pagesOf = (...pages: Record<string, unknown>[][]): CustomerSource => ({
  readGroup: async function* () {
    yield* pages;
  },
});

describe("selectCustomers", () => {
  test("counts every row once: selected, disabled, not wanting the type, skipped with reason", async () => {
    const source = pagesOf(
      [row(5), row(3, { enabled: false }), row(4, { reportTypes: "Finans" })],
      [row(1, { cvr: "1" }), row(2, { enabled: false, cvr: "1" }), row(6, { emails: "x@example.dk; nope" })],
    );
    const selection = await selectCustomers(source, { group: "g", reportType: "Revision" });
    expect(selection.selected.map((c) => c.customerId)).toEqual([5, 6]);
    expect(selection).toMatchObject({ customersRead: 6, disabled: 2, notWanted: 1 });
    expect(selection.skipped).toEqual([
      { customerId: 1, reason: 'cvr "1" must be 8 digits, the first not 0' },
    ]);
    expect(selection.warnings).toEqual([
      { customerId: 6, warning: 'invalid e-mail address(es) ignored: "nope"' },
    ]);
  });

  test("a row meant for the group but stored unnormalised is skipped with its reason; other groups are ignored", async () => {
    const source = pagesOf([
      row(1),
      row(2, { group: "g " }),
      row(3, { group: undefined, Group: "g" }),
      row(4, { group: "g-nord" }),
      row(5, { group: "g ", enabled: false }),
    ]);
    const selection = await selectCustomers(source, { group: "g", reportType: "Revision" });
    expect(selection.selected.map((c) => c.customerId)).toEqual([1]);
    expect(selection).toMatchObject({ customersRead: 4, disabled: 1 });
    expect(selection.skipped).toEqual([
      {
        customerId: 2,
        cvr: "34580820",
        reason: 'group "g " has surrounding spaces (a run of group "g" compares it exactly)',
      },
      {
        customerId: 3,
        cvr: "34580820",
        reason:
          'group is stored as attribute "Group": it must be named "group" (the byGroup index reads only that name)',
      },
    ]);
  });

  test("an unusable table key still names the skipped row", async () => {
    const selection = await selectCustomers(pagesOf([row(0), row(1.5)]), {
      group: "g",
      reportType: "Revision",
    });
    expect(selection.skipped.map((r) => r.customerId)).toEqual([0, 1.5]);
  });

  test("the default language applies to customers without one", async () => {
    const selection = await selectCustomers(
      pagesOf([row(1), row(2, { language: "da" })]),
      { group: "g", reportType: "Revision" },
      {
        defaultLanguage: "en",
      },
    );
    expect(selection.selected.map((c) => c.language)).toEqual(["en", "da"]);
  });
});

describe("loadSubmitConfig", () => {
  const env = {
    [ENV.customersTable]: "customers",
    [ENV.stateTable]: "state",
    [ENV.stateRetentionDays]: "400",
    [ENV.lassoBaseUrl]: "https://api.lassox.com",
    [ENV.lassoApiKeySecretId]: "lasso-key",
    [ENV.webhookSecretId]: "webhook",
    [ENV.webhookHeaderName]: "x-lasso-reports-secret",
    [ENV.webhookUrl]: "https://abc.lambda-url.eu-central-1.on.aws/",
  };

  test("reads the settings with their defaults", () => {
    expect(loadSubmitConfig(env)).toMatchObject({
      chunkSize: 1000,
      defaultLanguage: "da",
      lassoRequestTimeoutMs: 10_000,
    });
  });

  test("names the variable that is missing or wrong", () => {
    const { [ENV.webhookUrl]: _url, ...withoutUrl } = env;
    expect(() => loadSubmitConfig(withoutUrl)).toThrow("environment variable WEBHOOK_URL is required");
    expect(() => loadSubmitConfig({ ...env, [ENV.webhookHeaderName]: "bad header" })).toThrow(
      "WEBHOOK_HEADER_NAME must be an HTTP header name",
    );
    expect(() => loadSubmitConfig({ ...env, [ENV.chunkSize]: "0" })).toThrow("CHUNK_SIZE must be at least 1");
    expect(() => loadSubmitConfig({ ...env, [ENV.defaultLanguage]: "de" })).toThrow(
      "DEFAULT_LANGUAGE must be da or en",
    );
  });
});
