/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`). Edit lib/config/deploy-config.ts, or
 * point LASSO_REPORTS_CONFIG at a JSON file of the same shape kept elsewhere, then
 * `npx cdk deploy --all`; docs/deploy.md has the steps.
 */
import { readFileSync } from "node:fs";
import { buildApp } from "../lib/app.ts";
import { deployConfig } from "../lib/config/deploy-config.ts";
import { ConfigError } from "../lib/config/schema.ts";

function configInput(): unknown {
  const file = process.env.LASSO_REPORTS_CONFIG;
  if (file === undefined || file.trim() === "") return deployConfig;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `LASSO_REPORTS_CONFIG=${file}: not a readable JSON file (${(error as Error).message})`,
    );
  }
}

try {
  buildApp(configInput()).app.synth();
} catch (error) {
  if (error instanceof ConfigError) {
    // The message lists every bad field by its path; a stack trace would only hide it.
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
