/** `npm run build:mail`: compiles templates/mail/ into lambdas/shared/mail/templates.generated.js. */
import { writeFileSync } from "node:fs";
import { compileMailTemplates, GENERATED_FILE, MailTemplateError } from "./compile.ts";

try {
  writeFileSync(GENERATED_FILE, await compileMailTemplates());
  console.log(`wrote ${GENERATED_FILE}`);
} catch (error) {
  if (!(error instanceof MailTemplateError)) throw error;
  console.error(error.message);
  process.exit(1);
}
