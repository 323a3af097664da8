/**
 * The room rules (.dependency-cruiser.cjs) hold today, and they bite: a probe file that
 * breaks one rule at a time makes `npm run deps` fail with that rule's name. The probes
 * are written into the tree (the rules are about paths) and always removed.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, test } from "vitest";

const ROOMS = ["lambdas", "lib", "bin", "cli", "local", "bench"];

function cruise(): { code: number | null; out: string } {
  const run = spawnSync(
    process.execPath,
    [
      "node_modules/dependency-cruiser/bin/dependency-cruise.mjs",
      "--config",
      ".dependency-cruiser.cjs",
      ...ROOMS,
    ],
    { encoding: "utf8" },
  );
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

describe("the room rules", () => {
  test("hold for the tree as it is", () => {
    const { code, out } = cruise();
    expect(out).toContain("no dependency violations found");
    expect(code).toBe(0);
  });

  test.each([
    ["functions-stand-alone", "lambdas/deliver-report/zz-rule-probe.ts", 'import "#lib/config/schema.ts";'],
    ["use-cases-without-sdk", "lambdas/deliver-report/zz-rule-probe.ts", 'import "@aws-sdk/client-sqs";'],
    ["no-cdk-in-functions", "lambdas/shared/zz-rule-probe.ts", 'import "aws-cdk-lib";'],
    [
      "one-function-one-folder",
      "lambdas/deliver-report/zz-rule-probe.ts",
      'import "#lambdas/poll-batches/poll.ts";',
    ],
    [
      "shared-below-functions",
      "lambdas/shared/zz-rule-probe.ts",
      'import "#lambdas/deliver-report/routing.ts";',
    ],
    ["cli-not-local", "cli/zz-rule-probe.ts", 'import "#local/lasso-sim/prng.ts";'],
    ["cdk-app-not-operators", "lib/zz-rule-probe.ts", 'import "#cli/errors.ts";'],
    ["nothing-imports-tests", "local/zz-rule-probe.ts", 'import "#test/support/pipeline.ts";'],
  ])("%s: a file that breaks it fails the check", (rule, file, source) => {
    writeFileSync(file, `${source}\n`);
    try {
      const { code, out } = cruise();
      expect(code).not.toBe(0);
      expect(out).toContain(`error ${rule}: ${file}`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("no-circular: two files that import each other fail the check", () => {
    const a = "lambdas/shared/zz-rule-probe-a.ts";
    const b = "lambdas/shared/zz-rule-probe-b.ts";
    writeFileSync(a, 'import { b } from "./zz-rule-probe-b.ts";\nexport const a = () => b;\n');
    writeFileSync(b, 'import { a } from "./zz-rule-probe-a.ts";\nexport const b = () => a;\n');
    try {
      const { code, out } = cruise();
      expect(code).not.toBe(0);
      expect(out).toContain("error no-circular:");
    } finally {
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    }
  });
});
