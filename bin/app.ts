/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`). Edit lib/config/deploy-config.ts, or
 * point LASSO_REPORTS_CONFIG at a JSON file of the same shape kept elsewhere, then
 * `npx cdk deploy --all`; docs/deploy.md has the steps. The mail templates (templates/mail/)
 * are checked first: `npm run build:mail` compiles them for deliver-report.
 */
import { buildApp } from "../lib/app.ts";
import { deployConfigInput } from "../lib/config/load.ts";
import { ConfigError } from "../lib/config/schema.ts";
import { checkMailTemplates, MailTemplateError, TEMPLATE_DIR } from "../lib/mail-templates/compile.ts";

try {
  // The mail templates compile (no unknown variable) and deliver-report bundles their
  // current compilation. LASSO_REPORTS_MAIL_TEMPLATES: another template folder to check.
  await checkMailTemplates(process.env.LASSO_REPORTS_MAIL_TEMPLATES || TEMPLATE_DIR);
  buildApp(deployConfigInput()).app.synth();
} catch (error) {
  if (error instanceof ConfigError || error instanceof MailTemplateError) {
    // The message lists every bad field by its path; a stack trace would only hide it.
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
