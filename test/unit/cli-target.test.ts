/**
 * Finding a deployment from its CloudFormation outputs: the error paths (no stack, an
 * older stack without an output) that no local emulator can produce, with a stand-in
 * CloudFormation client.
 */

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { CliFailure } from "#cli/errors.ts";
import { findSchedule, OPTIONAL_STATEFUL_OUTPUTS, STACK_OUTPUTS, stackOutputs } from "#cli/target.ts";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { loadDeployConfig } from "#lib/config/load.ts";

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

describe("stackOutputs: optional outputs", () => {
  it("reads SchedulesTableName when the stack has it and does without it when not (an older stack)", async () => {
    const base = STACK_OUTPUTS.stateful.map((key) => ({ OutputKey: key, OutputValue: `v-${key}` }));
    const newer = await stackOutputs(
      client(() => ({
        Stacks: [{ Outputs: [...base, { OutputKey: "SchedulesTableName", OutputValue: "sched" }] }],
      })),
      "LassoReports-Stateful",
      STACK_OUTPUTS.stateful,
      OPTIONAL_STATEFUL_OUTPUTS,
    );
    expect(newer.SchedulesTableName).toBe("sched");
    const older = await stackOutputs(
      client(() => ({ Stacks: [{ Outputs: base }] })),
      "LassoReports-Stateful",
      STACK_OUTPUTS.stateful,
      OPTIONAL_STATEFUL_OUTPUTS,
    );
    expect(older.SchedulesTableName).toBeUndefined();
    expect(older.CustomersTableName).toBe("v-CustomersTableName");
  });
});

describe("findSchedule", () => {
  const target = {
    label: "stack X",
    schedules: [],
    refusedSchedules: [{ name: "broken", reason: "timeZone: must be an IANA time zone" }],
  };
  it("names a stored schedule the schema refuses, with why, instead of 'no schedule'", () => {
    expect(() => findSchedule(target, "broken")).toThrow(/schedule "broken" in stack X is refused: timeZone/);
    expect(() => findSchedule(target, "absent")).toThrow(/no schedule "absent" in stack X \(known: none\)/);
  });
});

describe("the deploy config the CLI reads (as CDK does)", () => {
  it("LASSO_REPORTS_CONFIG names a JSON file kept elsewhere; without it, lib/config/deploy-config.ts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lasso-config-"));
    const file = join(dir, "config.json");
    await writeFile(file, JSON.stringify({ ...deployConfig, stackName: "KundeRapporter" }));
    expect(loadDeployConfig({ LASSO_REPORTS_CONFIG: file }).stackName).toBe("KundeRapporter");
    expect(loadDeployConfig({}).stackName).toBe("LassoReports");
    expect(() => loadDeployConfig({ LASSO_REPORTS_CONFIG: join(dir, "missing.json") })).toThrow(
      /LASSO_REPORTS_CONFIG=.*missing\.json: not a readable JSON file/,
    );
    await writeFile(file, JSON.stringify({ ...deployConfig, stackName: "" }));
    expect(() => loadDeployConfig({ LASSO_REPORTS_CONFIG: file })).toThrow(/config\.stackName/);
  });
});
