/**
 * Where the deploy config comes from, for the CDK app (bin/app.ts) and the operator CLI
 * (cli/target.ts) alike: the JSON file LASSO_REPORTS_CONFIG names (a config kept outside
 * the repository, docs/deploy.md), or lib/config/deploy-config.ts.
 */
import { readFileSync } from "node:fs";
import { deployConfig } from "./deploy-config.ts";
import { ConfigError, type DeployConfig, parseDeployConfig } from "./schema.ts";

export const CONFIG_FILE_VARIABLE = "LASSO_REPORTS_CONFIG";

/** The config as written (not yet validated). */
export function deployConfigInput(env: NodeJS.ProcessEnv = process.env): unknown {
  const file = env[CONFIG_FILE_VARIABLE];
  if (file === undefined || file.trim() === "") return deployConfig;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(
      `${CONFIG_FILE_VARIABLE}=${file}: not a readable JSON file (${(error as Error).message})`,
    );
  }
}

/** The config, validated; a ConfigError names every bad field. */
export const loadDeployConfig = (env: NodeJS.ProcessEnv = process.env): DeployConfig =>
  parseDeployConfig(deployConfigInput(env));
