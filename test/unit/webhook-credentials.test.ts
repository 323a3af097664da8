/**
 * The auth config Lasso is given per schedule (`webhookAuth`), the schedule's
 * `notificationEmail`, and the BasicAuth user's checks in the deploy config and submit-batches.
 */
import { describe, expect, it } from "vitest";
import { loadSubmitConfig } from "#lambdas/submit-batches/config.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { ENV } from "#shared/env-names.ts";
import { webhookAuthConfig } from "#shared/webhook-credentials.ts";

const base = {
  name: "s",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "g",
};

describe("webhookAuthConfig", () => {
  const credentials = { headerName: "x-secret", basicUser: "lasso-reports", secret: "s3cret" };

  it("Header: the header with the secret; BasicAuth: our user, the secret as password", () => {
    expect(webhookAuthConfig("Header", credentials)).toEqual({
      Method: "Header",
      Key: "x-secret",
      Value: "s3cret",
    });
    expect(webhookAuthConfig("BasicAuth", credentials)).toEqual({
      Method: "BasicAuth",
      Key: "lasso-reports",
      Value: "s3cret",
    });
  });

  it("BasicAuth without a user is refused, not sent half-made", () => {
    expect(() => webhookAuthConfig("BasicAuth", { headerName: "x-secret", secret: "s3cret" })).toThrow(
      /webhook\.basicUser/,
    );
  });
});

describe("schedule options", () => {
  it("webhookAuth defaults to Header and takes BasicAuth; Kerberos is refused", () => {
    expect(scheduleSchema.parse(base).webhookAuth).toBe("Header");
    expect(scheduleSchema.parse({ ...base, webhookAuth: "BasicAuth" }).webhookAuth).toBe("BasicAuth");
    expect(scheduleSchema.safeParse({ ...base, webhookAuth: "Kerberos" }).success).toBe(false);
  });

  it("notificationEmail must be an address", () => {
    expect(scheduleSchema.parse({ ...base, notificationEmail: "arkiv@example.dk" }).notificationEmail).toBe(
      "arkiv@example.dk",
    );
    expect(scheduleSchema.safeParse({ ...base, notificationEmail: "arkiv" }).success).toBe(false);
  });
});

describe("submit-batches' WEBHOOK_BASIC_USER", () => {
  const env = {
    [ENV.customersTable]: "c",
    [ENV.stateTable]: "s",
    [ENV.stateRetentionDays]: "400",
    [ENV.lassoBaseUrl]: "https://api.lassox.com",
    [ENV.lassoApiKeySecretId]: "k",
    [ENV.webhookSecretId]: "w",
    [ENV.webhookHeaderName]: "x-secret",
    [ENV.webhookUrl]: "https://example.lambda-url.eu-central-1.on.aws/",
  };

  it("is read when set and refused with a colon (it would end the user name)", () => {
    expect(loadSubmitConfig({ ...env, [ENV.webhookBasicUser]: "lasso-reports" }).webhookBasicUser).toBe(
      "lasso-reports",
    );
    expect(loadSubmitConfig(env).webhookBasicUser).toBeUndefined();
    expect(() => loadSubmitConfig({ ...env, [ENV.webhookBasicUser]: "a:b" })).toThrow(/WEBHOOK_BASIC_USER/);
  });
});
