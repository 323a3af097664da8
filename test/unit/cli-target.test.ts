/**
 * Finding a deployment from its CloudFormation outputs: the error paths (no stack, an
 * older stack without an output) that no local emulator can produce, with a stand-in
 * CloudFormation client.
 */
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { CliFailure } from "#cli/errors.ts";
import { STACK_OUTPUTS, stackOutputs } from "#cli/target.ts";

const client = (answer: () => unknown): Pick<CloudFormationClient, "send"> =>
  ({ send: async () => answer() }) as unknown as Pick<CloudFormationClient, "send">;

describe("stackOutputs", () => {
  it("reads the outputs by their exact keys", async () => {
    const outputs = STACK_OUTPUTS.stateless.map((key) => ({
      OutputKey: key,
      OutputValue: `value-of-${key}`,
    }));
    const values = await stackOutputs(
      client(() => ({
        Stacks: [{ Outputs: [{ OutputKey: "WebhookUrlOld", OutputValue: "x" }, ...outputs] }],
      })),
      "LassoReports-Stateless",
      STACK_OUTPUTS.stateless,
    );
    expect(values).toEqual({
      WebhookUrl: "value-of-WebhookUrl",
      SubmitBatchesFunctionName: "value-of-SubmitBatchesFunctionName",
    });
  });

  it("says which output a stack lacks", async () => {
    const promise = stackOutputs(
      client(() => ({ Stacks: [{ Outputs: [{ OutputKey: "WebhookUrl", OutputValue: "https://x" }] }] })),
      "LassoReports-Stateless",
      STACK_OUTPUTS.stateless,
    );
    await expect(promise).rejects.toThrow(CliFailure);
    await expect(promise).rejects.toThrow(/LassoReports-Stateless has no output SubmitBatchesFunctionName/);
  });

  it("says when the stack is not there", async () => {
    const promise = stackOutputs(
      client(() => {
        throw Object.assign(new Error("Stack with id LassoReports-Stateful does not exist"), {
          name: "ValidationError",
        });
      }),
      "LassoReports-Stateful",
      STACK_OUTPUTS.stateful,
    );
    await expect(promise).rejects.toThrow(/stack LassoReports-Stateful does not exist.*--stack/);
  });
});
