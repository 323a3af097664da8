/**
 * `lasso-reports`: the operators' command line (docs/operations-cli.md). commander parses;
 * each command works on a {@link Target} (a deployed stack, or the local pipeline with
 * `--local`) and returns a result printed as tables or, with `--json`, as JSON on stdout.
 * Progress goes to stderr. Exit codes: 0 ok, 1 failure, 2 usage. This file only assembles the
 * program; each command (its options, its run, its render) is a file in cli/commands/.
 */
import { Command, CommanderError, Option } from "commander";
import { type CliIo, commandContext, type GlobalOptions, timeZoneOption } from "./commands/context.ts";
import { addCustomersCommands } from "./commands/customers.ts";
import { addDeliveriesCommand } from "./commands/deliveries.ts";
import { addDlqCommands } from "./commands/dlq.ts";
import { addDownloadCommand } from "./commands/download.ts";
import { addFailuresCommand } from "./commands/failures.ts";
import { addPlanCommand } from "./commands/plan.ts";
import { addRedriveCommand } from "./commands/redrive.ts";
import { addResendCommand } from "./commands/resend.ts";
import { addRunCommand } from "./commands/run.ts";
import { addSchedulesCommands } from "./commands/schedules.ts";
import { addStatementCommand } from "./commands/statement.ts";
import { addStatusCommand } from "./commands/status.ts";
import { addSuppressionsCommands } from "./commands/suppressions.ts";
import { addTestSendCommand } from "./commands/test-send.ts";
import { addWebhookCommands } from "./commands/webhook-test.ts";
import { EXIT, type ExitCode, messageOf, UsageError } from "./errors.ts";
import type { CommandResult } from "./output.ts";

export type { CliIo } from "./commands/context.ts";

const EXAMPLES = `
Targets:
  (default)         the deployed stack named by stackName in the deploy config
                    (LASSO_REPORTS_CONFIG, else lib/config/deploy-config.ts)
  --stack NAME      another deployment (stacks NAME-Stateful, NAME-Stateless)
  --local           the local pipeline of \`npm start -- --serve\`
                    (.local/endpoints.json)
  --endpoints FILE  a local pipeline's endpoints file (implies --local)

Examples:
  lasso-reports --local customers import docs/sample-customers.csv --dry-run
  lasso-reports schedules list
  lasso-reports schedules set monthly-revision businessDay=1 at=07:00 cron=
  lasso-reports schedules pause owners-watch
  lasso-reports plan monthly-revision
  lasso-reports run monthly-revision
  lasso-reports status --batch 3f1c…
  lasso-reports deliveries --cvr 34580820 --json
  lasso-reports failures --since 2025-06-01
  lasso-reports dlq list
  lasso-reports statement --customer 4711 --month 2026-11 --out nov.pdf

Exit codes: 0 ok, 1 failure (nothing found, refused, AWS error), 2 usage.
Progress goes to stderr; with --json, stdout is JSON only.
Details: docs/operations-cli.md`;

/** Builds the program; each action stores its result in `sink`. */
export function buildProgram(io: CliIo, sink: { result?: CommandResult }): Command {
  const program = new Command("lasso-reports")
    .description("Operate the Lasso reporting pipeline: customers, runs, batches, deliveries.")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError("(add --help for usage)")
    .option("--json", "print results as JSON (for scripts)")
    .option("--local", "work on the local pipeline (npm start -- --serve)")
    .option("--endpoints <file>", "the local pipeline's endpoints file (implies --local)")
    .option("--stack <name>", "the deployment's stack name (default: stackName of the deploy config)")
    .option("--region <region>", "AWS region (default: the SDK's: AWS_REGION, profile)")
    .option("--profile <name>", "AWS profile (default: the SDK's: AWS_PROFILE)")
    .option("--quiet", "no progress output on stderr")
    .option("--wide", "tables as wide as their content (default: fitted to the terminal, long cells wrapped)")
    .addOption(
      new Option(
        "--time-zone <zone>",
        "show times in this IANA time zone (default: the deploy config's operators.timeZone, Europe/Copenhagen)",
      ).argParser(timeZoneOption),
    )
    .addHelpText("after", EXAMPLES);

  const context = commandContext(io, sink);
  addCustomersCommands(program, context);
  addSchedulesCommands(program, context);
  addPlanCommand(program, context);
  addRunCommand(program, context);
  addStatusCommand(program, context);
  addDeliveriesCommand(program, context);
  addFailuresCommand(program, context);
  addStatementCommand(program, context);
  addDownloadCommand(program, context);
  addResendCommand(program, context);
  addTestSendCommand(program, context);
  addRedriveCommand(program, context);
  addDlqCommands(program, context);
  addSuppressionsCommands(program, context);
  addWebhookCommands(program, context);

  return program;
}

/** Exit code of commander's own errors: help and version are fine, the rest is usage. */
function commanderExit(error: CommanderError): ExitCode {
  return error.code === "commander.helpDisplayed" || error.code === "commander.version"
    ? EXIT.ok
    : EXIT.usage;
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<ExitCode> {
  const sink: { result?: CommandResult } = {};
  const program = buildProgram(io, sink);
  let json = false;
  try {
    await program.parseAsync([...argv], { from: "user" });
    json = program.opts<GlobalOptions>().json === true;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error);
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n(add --help for usage)\n`);
      return EXIT.usage;
    }
    io.stderr.write(`error: ${messageOf(error)}\n`);
    return EXIT.failure;
  }
  const result = sink.result;
  if (result === undefined) return EXIT.ok;
  if (result.raw !== undefined) io.stdout.write(result.raw);
  else if (json) io.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
  else io.stdout.write(`${result.text}\n`);
  return result.exitCode;
}
