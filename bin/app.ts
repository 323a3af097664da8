/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`). Edit lib/config/deploy-config.ts, or
 * point LASSO_REPORTS_CONFIG at a JSON file of the same shape kept elsewhere, then
 * `npx cdk deploy --all`; docs/deploy.md has the steps. The mail templates (templates/mail/)
 * are checked first: `npm run build:mail` compiles them for deliver-report.
 */
import { readFileSync } from "node:fs";
import { buildApp } from "../lib/app.ts";
import { deployConfig } from "../lib/config/deploy-config.ts";
import { ConfigError } from "../lib/config/schema.ts";
import { checkMailTemplates, MailTemplateError, TEMPLATE_DIR } from "../lib/mail-templates/compile.ts";

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
  // The mail templates compile (no unknown variable) and deliver-report bundles their
  // current compilation. LASSO_REPORTS_MAIL_TEMPLATES: another template folder to check.
  await checkMailTemplates(process.env.LASSO_REPORTS_MAIL_TEMPLATES || TEMPLATE_DIR);
  buildApp(configInput()).app.synth();
} catch (error) {
  if (error instanceof ConfigError || error instanceof MailTemplateError) {
    // The message lists every bad field by its path; a stack trace would only hide it.
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
