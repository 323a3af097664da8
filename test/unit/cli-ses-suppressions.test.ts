/**
 * `suppressions lift` on a deployment also takes the address off SES's account-level list:
 * the error paths of that call (an address SES does not list; SES refusing).
 */
import { NotFoundException, type SESv2Client } from "@aws-sdk/client-sesv2";
import { describe, expect, it } from "vitest";
import { CliFailure } from "#cli/errors.ts";
import { sesSuppressionList } from "#cli/target.ts";

const failingWith = (error: Error): Pick<SESv2Client, "send"> => ({
  send: async () => {
    throw error;
  },
});

describe("SES's account-level suppression list", () => {
  it("an address SES does not list is no error: it was not listed", async () => {
    const list = sesSuppressionList(
      failingWith(new NotFoundException({ message: "not on the list", $metadata: {} })),
    );
    await expect(list.remove("kunde@example.dk")).resolves.toBe(false);
  });

  it("any other refusal is a failure that names the address", async () => {
    const list = sesSuppressionList(failingWith(new Error("AccessDenied: ses:DeleteSuppressedDestination")));
    await expect(list.remove("kunde@example.dk")).rejects.toThrow(CliFailure);
    await expect(list.remove("kunde@example.dk")).rejects.toThrow(/kunde@example\.dk.*AccessDenied/);
  });
});
