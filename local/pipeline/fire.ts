/**
 * `npm run fire -- SCHEDULE [options]`: fires one schedule of a running `npm start -- --serve`
 * now. It is `lasso-reports --local run SCHEDULE [options]` (the same run, the same output,
 * the same exit codes), so the two never drift apart.
 */
import { runCli } from "#cli/main.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.exitCode = await runCli(["--local", "run", ...process.argv.slice(2)]);
