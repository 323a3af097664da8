/**
 * `npm run lint:templates`: the synthesized CloudFormation templates through cfn-lint, an
 * independent checker, against the regions docs/deploy.md names plus us-east-1: the stacks
 * are region-agnostic, and a property one region's schema refuses fails the deploy there.
 * W3005 (a DependsOn that a GetAtt already implies) is CDK's own doing, not ours.
 * Synthesizes first unless `--no-synth` (CI runs it right after `npm test`'s synth).
 * Needs Python's cfn-lint; not part of `npm test`.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

export const LINTED_REGIONS = ["eu-central-1", "eu-west-1", "eu-north-1", "us-east-1"] as const;

const version = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
if (version.error !== undefined || version.status !== 0) {
  console.error("npm run lint:templates needs cfn-lint on the PATH (pip install cfn-lint)");
  process.exit(1);
}
console.log(version.stdout.trim());
if (!process.argv.includes("--no-synth")) {
  const synth = spawnSync("npx", ["cdk", "synth", "--quiet"], { stdio: "inherit" });
  if (synth.status !== 0) process.exit(synth.status ?? 1);
}
const templates = readdirSync("cdk.out")
  .filter((name) => name.endsWith(".template.json"))
  .map((name) => `cdk.out/${name}`);
if (templates.length === 0) {
  console.error("no templates in cdk.out/: run npm run synth first");
  process.exit(1);
}
const lint = spawnSync(
  "cfn-lint",
  [
    "--non-zero-exit-code",
    "error",
    "--ignore-checks",
    "W3005",
    "--regions",
    ...LINTED_REGIONS,
    "--",
    ...templates,
  ],
  { stdio: "inherit" },
);
if (lint.status === 0)
  console.log(`cfn-lint: ${templates.length} templates valid in ${LINTED_REGIONS.join(", ")}`);
process.exit(lint.status ?? 1);
