/**
 * `lasso-reports`: the operators' command line (docs/operations-cli.md). commander parses;
 * each command works on a {@link Target} (a deployed stack, or the local pipeline with
 * `--local`) and returns a result printed as tables or, with `--json`, as JSON on stdout.
 * Progress goes to stderr. Exit codes: 0 ok, 1 failure, 2 usage.
 */
import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CustomerFileError, checkCustomerRows, readCustomerFile } from "#shared/customer-file.ts";
import { REPORT_TYPES, reportTypeName } from "#shared/lasso/enums.ts";
import { deleteCustomers } from "./customer-delete.ts";
import { importCustomers } from "./customer-import.ts";
import {
  customersToCsv,
  customersToJson,
  listCustomers,
  readCustomerItems,
  validateCustomers,
} from "./customer-views.ts";
import { CliFailure, EXIT, type ExitCode, messageOf, UsageError } from "./errors.ts";
import { type CommandResult, failed, ok } from "./output.ts";
import { tryReadPdfHosts } from "./pdf-hosts.ts";
import { type ProgressFactory, type ProgressStream, progressFactory } from "./progress.ts";
import { redriveDeadLetters, resendReport } from "./queue-ops.ts";
import {
  renderBatch,
  renderCustomerList,
  renderDelete,
  renderDeliveries,
  renderImport,
  renderPlan,
  renderRedrive,
  renderResend,
  renderRun,
  renderStatus,
  renderValidation,
  renderWebhookTest,
} from "./render.ts";
import { fireRun, planRun, resolveScheduledTime, selectForSchedule } from "./runs.ts";
import { readBatchView, readDeliveries, readStatus } from "./state-views.ts";
import { findSchedule, openTarget, type Target, type TargetOptions } from "./target.ts";
import { testWebhook, WEBHOOK_TEST_CVR } from "./webhook-test.ts";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: ProgressStream;
  /** Where confirmations are read from (default: process.stdin); EOF answers no. */
  stdin?: NodeJS.ReadableStream;
}

/** Asks `question` on stderr and reads one answer line; only yes/ja (y/j) is a yes. */
async function askYes(io: CliIo, question: string): Promise<boolean> {
  const input = io.stdin ?? process.stdin;
  const reader = createInterface({ input, output: io.stderr, terminal: false });
  io.stderr.write(`${question} [y/N] `);
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      reader.once("line", resolve);
      reader.once("close", () => resolve(undefined));
    });
    return /^\s*(y|yes|j|ja)\s*$/i.test(answer ?? "");
  } finally {
    reader.close();
  }
}

const listForPrompt = (rows: readonly { customerId: number; cvr?: string; name?: string }[]): string =>
  rows
    .slice(0, 20)
    .map((row) => `  ${row.customerId}  ${row.cvr ?? ""}  ${row.name ?? ""}`.trimEnd())
    .concat(rows.length > 20 ? [`  … and ${rows.length - 20} more`] : [])
    .join("\n");

interface GlobalOptions extends TargetOptions {
  json?: boolean;
  quiet?: boolean;
}

const positiveInt =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${what} must be a whole number of at least 1`);
    }
    return n;
  };

const seconds = (value: string): number => positiveInt("seconds")(value) * 1000;

function reportTypeOption(value: string): string {
  const type = reportTypeName(value);
  if (type === undefined) throw new InvalidArgumentError(`must be one of ${REPORT_TYPES.join(", ")}`);
  return type;
}

const EXAMPLES = `
Targets:
  (default)            the deployed stack named by stackName in lib/config/deploy-config.ts
  --stack NAME         another deployment (its stacks NAME-Stateful and NAME-Stateless)
  --local              the local pipeline of \`npm start -- --serve\` (.local/endpoints.json)
  --endpoints FILE     a local pipeline's endpoints file (implies --local)

Examples:
  lasso-reports --local customers import docs/sample-customers.csv --dry-run
  lasso-reports plan monthly-revision
  lasso-reports run monthly-revision
  lasso-reports status --batch 3f1c…
  lasso-reports deliveries --cvr 34580820 --json

Exit codes: 0 ok, 1 failure (nothing found, refused, AWS error), 2 usage (bad command line).
Progress goes to stderr; with --json, stdout is JSON only. Details: docs/operations-cli.md`;

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
    .addHelpText("after", EXAMPLES);

  const globalsOf = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();
  const progressOf = (globals: GlobalOptions): ProgressFactory =>
    progressFactory({ stream: io.stderr, enabled: globals.quiet !== true });

  /** Runs `work` on the target named by the global options, then closes its clients. */
  const withTarget =
    <A extends unknown[]>(
      work: (
        target: Target,
        globals: GlobalOptions,
        progress: ProgressFactory,
        ...args: A
      ) => Promise<CommandResult>,
    ) =>
    async (...args: [...A, Command]): Promise<void> => {
      const command = args.at(-1) as Command;
      const globals = globalsOf(command);
      const target = await openTarget(globals);
      try {
        sink.result = await work(target, globals, progressOf(globals), ...(args.slice(0, -1) as A));
      } finally {
        target.destroy();
      }
    };

  // ---- customers -------------------------------------------------------------------
  const customers = program
    .command("customers")
    .description("the customer table: import a spreadsheet, export, list, validate, delete");

  customers
    .command("import")
    .description(
      "import customers from a CSV (comma or semicolon; UTF-8, UTF-8 with BOM or Windows-1252) or JSON file",
    )
    .argument("<file>", "the spreadsheet (.csv) or .json file; header row with the table's attribute names")
    .option("--dry-run", "check and compare only: write nothing")
    .option("--skip-invalid", "write the valid rows even when some rows are invalid")
    .option("--allow-cvr-change", "let a row give a stored customerId another cvr (another company)")
    .option("--prune", "also delete stored customers the file does not name (asks first)")
    .option("--yes", "with --prune: delete without asking (scripts)")
    .addHelpText(
      "after",
      `
Every row is checked first; an invalid row is printed with its line number and reason and,
without --skip-invalid, nothing is written. Valid rows are compared with the stored ones:
created, updated or unchanged (unchanged rows are not written, so a re-import is a no-op).
Other attributes of a stored row (notes kept there) are left as they are.
A row that gives a stored customerId another cvr is another company: the import writes
nothing (exit 1) unless --allow-cvr-change. With --prune, the stored customers the file
does not name are deleted; --dry-run lists them first. An invalid row still names its
customerId: that stored customer is kept.
Headers (any case; Danish welcome): customerId|kundenr, cvr, name|navn, emails|email|modtagere,
reportTypes|rapporttyper, group|gruppe, enabled|aktiv, format, language|sprog.
Example: docs/sample-customers.csv`,
    )
    .action(
      withTarget(
        async (
          target,
          _globals,
          progress,
          file: string,
          options: {
            dryRun?: boolean;
            skipInvalid?: boolean;
            allowCvrChange?: boolean;
            prune?: boolean;
            yes?: boolean;
          },
        ) => {
          let rows: Awaited<ReturnType<typeof readCustomerFile>>;
          try {
            rows = await readCustomerFile(file);
          } catch (error) {
            if (error instanceof CustomerFileError || (error as NodeJS.ErrnoException).code === "ENOENT") {
              throw new CliFailure(`${file}: ${messageOf(error)}`);
            }
            throw error;
          }
          const report = await importCustomers(
            { doc: target.customersDoc, tableName: target.customersTable },
            file,
            checkCustomerRows(rows, { defaultLanguage: target.defaultLanguage }),
            {
              dryRun: options.dryRun === true,
              skipInvalid: options.skipInvalid === true,
              allowCvrChange: options.allowCvrChange === true,
              prune: options.prune === true,
              confirmPrune: async (pruned) =>
                options.yes === true ||
                askYes(
                  io,
                  `Delete these ${pruned.length} customer(s), which ${file} does not name?\n${listForPrompt(pruned)}\n`,
                ),
              progress,
            },
          );
          return report.refused === undefined
            ? ok(report, renderImport(report))
            : failed(report, renderImport(report));
        },
      ),
    );

  customers
    .command("export")
    .description(
      "export every customer row as a spreadsheet (CSV) or JSON that `customers import` reads back",
    )
    .addOption(new Option("--format <format>", "csv or json").choices(["csv", "json"]).default("csv"))
    .addOption(new Option("--delimiter <char>", "CSV separator").choices([";", ","]).default(";"))
    .option("--out <file>", "write to this file (CSV with a UTF-8 BOM, for Excel) instead of stdout")
    .action(
      withTarget(
        async (
          target,
          _globals,
          progress,
          options: { format: "csv" | "json"; delimiter: ";" | ","; out?: string },
        ) => {
          const items = await readCustomerItems(
            { doc: target.customersDoc, tableName: target.customersTable },
            progress,
          );
          const content =
            options.format === "json" ? customersToJson(items) : customersToCsv(items, options.delimiter);
          if (options.out === undefined) return { ...ok({ customers: items.length }, ""), raw: content };
          await writeFile(options.out, options.format === "csv" ? `\uFEFF${content}` : content);
          return ok(
            { customers: items.length, file: options.out, format: options.format },
            `Wrote ${items.length} customers to ${options.out}.`,
          );
        },
      ),
    );

  customers
    .command("list")
    .description("list customers, with the reason a run would skip an invalid row")
    .option("--group <group>", "only this group (exact; the table's byGroup index)")
    .option(
      "--type <reportType>",
      `only usable customers that want this report type (${REPORT_TYPES.join(", ")})`,
      reportTypeOption,
    )
    .action(
      withTarget(async (target, _globals, progress, options: { group?: string; type?: string }) => {
        const items = await readCustomerItems(
          { doc: target.customersDoc, tableName: target.customersTable },
          progress,
          options.group,
        );
        const rows = listCustomers(
          items,
          options.type === undefined ? {} : { reportType: reportTypeName(options.type) },
          { defaultLanguage: target.defaultLanguage },
        );
        return ok(rows, renderCustomerList(rows));
      }),
    );

  customers
    .command("validate")
    .description(
      "check every row as a run would; list the rows a run would skip, why, and which schedules skip them (exit 1 if any)",
    )
    .action(
      withTarget(async (target, _globals, progress) => {
        const items = await readCustomerItems(
          { doc: target.customersDoc, tableName: target.customersTable },
          progress,
        );
        const selections = [];
        for (const schedule of target.schedules.filter((s) => s.enabled)) {
          selections.push({ schedule: schedule.name, selection: await selectForSchedule(target, schedule) });
        }
        const report = validateCustomers(items, target.schedules, selections, {
          defaultLanguage: target.defaultLanguage,
        });
        const text = renderValidation(report);
        return report.skipped.length === 0 ? ok(report, text) : failed(report, text);
      }),
    );

  customers
    .command("delete")
    .description("delete customers by id (asks first; --yes for scripts)")
    .argument("<customerId...>", "the customers' ids", (value: string, previous: number[] = []) => [
      ...previous,
      positiveInt("customerId")(value),
    ])
    .option("--yes", "delete without asking")
    .addHelpText(
      "after",
      "\nLists the customers first (id, cvr, name). Ids that have no customer are named; the exit code is then 1.",
    )
    .action(
      withTarget(async (target, _globals, _progress, ids: number[], options: { yes?: boolean }) => {
        const report = await deleteCustomers(
          { doc: target.customersDoc, tableName: target.customersTable },
          ids,
          async (found) =>
            options.yes === true ||
            askYes(io, `Delete these ${found.length} customer(s)?\n${listForPrompt(found)}\n`),
        );
        const text = renderDelete(report);
        return report.refused === undefined && report.notFound.length === 0
          ? ok(report, text)
          : failed(report, text);
      }),
    );

  // ---- plan / run ------------------------------------------------------------------
  program
    .command("plan")
    .description("dry run of a schedule: which customers go into which batches, which are skipped and why")
    .argument("<schedule>", "the schedule's name (deploy config; locally the runner's schedules)")
    .option("--scheduled-time <iso>", "plan the firing at this time (default: now)")
    .addHelpText(
      "after",
      "\nReads the customer table (and listener coverage); writes nothing, calls no Lasso.",
    )
    .action(
      withTarget(async (target, _globals, _progress, name: string, options: { scheduledTime?: string }) => {
        const schedule = findSchedule(target, name);
        const plan = await planRun(target, schedule, resolveScheduledTime(options.scheduledTime, new Date()));
        return ok(plan, renderPlan(plan));
      }),
    );

  program
    .command("run")
    .description("fire a schedule now, as the scheduler would, with a scheduled time of its own (printed)")
    .argument("<schedule>", "the schedule's name")
    .option(
      "--scheduled-time <iso>",
      "the run's key: default now; give an earlier run's time to finish that run (only what is missing is submitted)",
    )
    .option("--no-wait", "deployed: return once Lambda accepted the invocation")
    .addOption(
      new Option("--timeout <seconds>", "deployed: how long to watch the run")
        .argParser(seconds)
        .default(600_000, "600"),
    )
    .addHelpText(
      "after",
      `
Deployed: invokes the submit-batches function asynchronously with the scheduler's event
{ schedule, scheduledTime } and watches the run record. Local: runs the same use case in this
process against the local endpoints.`,
    )
    .action(
      withTarget(
        async (
          target,
          _globals,
          progress,
          name: string,
          options: { scheduledTime?: string; wait: boolean; timeout: number },
        ) => {
          const schedule = findSchedule(target, name);
          const report = await fireRun(
            target,
            schedule,
            resolveScheduledTime(options.scheduledTime, new Date()),
            {
              wait: options.wait,
              timeoutMs: options.timeout,
              progress,
            },
          );
          const good = ["submitted", "already-submitted", "invoked"].includes(report.outcome);
          return good ? ok(report, renderRun(report)) : failed(report, renderRun(report));
        },
      ),
    );

  // ---- status / deliveries -----------------------------------------------------------
  program
    .command("status")
    .description("recent runs and open batches with progress; with --batch, where each report of a batch is")
    .option(
      "--batch <id>",
      "one batch (Lasso's batch id): each report waiting, delivered, failed or unroutable, and the hosts Lasso's PDF links point to",
    )
    .addOption(
      new Option("--limit <n>", "how many recent runs").argParser(positiveInt("--limit")).default(10),
    )
    .action(
      withTarget(async (target, _globals, progress, options: { batch?: string; limit: number }) => {
        if (options.batch !== undefined) {
          const view = await readBatchView(target.state, options.batch.trim(), progress, new Date());
          // Lasso's item list: where its PDF links point (host names only), for pdfHosts.
          const pdfHosts = await tryReadPdfHosts(target.lasso, view.batch.lassoBatchId, target.pdfHosts);
          return ok({ ...view, pdfHosts }, renderBatch(view, pdfHosts));
        }
        const status = await readStatus(target.state, options.limit);
        return ok(status, renderStatus(status));
      }),
    );

  program
    .command("deliveries")
    .description("what a customer received: when, from which batch, to whom, with SES message ids")
    .addOption(
      new Option("--customer <id>", "the customer's id")
        .argParser(positiveInt("--customer"))
        .conflicts("cvr"),
    )
    .option("--cvr <cvr>", "every customer with this CVR")
    .hook("preAction", (command) => {
      const options = command.opts<{ customer?: number; cvr?: string }>();
      if (options.customer === undefined && options.cvr === undefined) {
        throw new UsageError("give --customer ID or --cvr CVR");
      }
    })
    .addOption(
      new Option("--limit <n>", "at most this many reports").argParser(positiveInt("--limit")).default(50),
    )
    .action(
      withTarget(
        async (target, _globals, _progress, options: { customer?: number; cvr?: string; limit: number }) => {
          const report = await readDeliveries(
            target.state,
            { doc: target.customersDoc, tableName: target.customersTable },
            options.customer === undefined
              ? { cvr: options.cvr as string }
              : { customerId: options.customer },
            options.limit,
            new Date(),
          );
          return ok(report, renderDeliveries(report));
        },
      ),
    );

  // ---- resend / redrive ------------------------------------------------------------
  program
    .command("resend")
    .description(
      "mail a report again (recorded as a resend): also for one that was unroutable once its row is fixed",
    )
    .requiredOption("--batch <id>", "Lasso's batch id")
    .requiredOption("--customer <id>", "the customer's id", positiveInt("--customer"))
    .option("--report-id <id>", "a listener batch's report (several per customer)")
    .option("--no-wait", "return once the message is on the queue")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for the delivery")
        .argParser(seconds)
        .default(120_000, "120"),
    )
    .action(
      withTarget(
        async (
          target,
          _globals,
          progress,
          options: { batch: string; customer: number; reportId?: string; wait: boolean; timeout: number },
        ) => {
          const outcome = await resendReport(
            { state: target.state, sqs: target.sqs, queueUrl: await target.queueUrl() },
            {
              lassoBatchId: options.batch.trim(),
              customerId: options.customer,
              ...(options.reportId === undefined ? {} : { reportId: options.reportId }),
            },
            { wait: options.wait, timeoutMs: options.timeout, progress },
          );
          const good = !options.wait || (outcome.settled && outcome.after?.state === "delivered");
          return good ? ok(outcome, renderResend(outcome)) : failed(outcome, renderResend(outcome));
        },
      ),
    );

  program
    .command("redrive")
    .description("move the report-ready dead-letter queue's messages back to the queue; says how many")
    .addOption(new Option("--max <n>", "move at most this many").argParser(positiveInt("--max")))
    .addHelpText(
      "after",
      "\nSafe to repeat: the delivery skips a report that is already delivered. Fix the cause first (docs/operations.md).",
    )
    .action(
      withTarget(async (target, _globals, progress, options: { max?: number }) => {
        const outcome = await redriveDeadLetters(
          { sqs: target.sqs, queueUrl: await target.queueUrl(), dlqUrl: await target.dlqUrl() },
          { ...(options.max === undefined ? {} : { max: options.max }), progress },
        );
        const text = renderRedrive(outcome);
        return outcome.failed + outcome.notDeleted === 0 ? ok(outcome, text) : failed(outcome, text);
      }),
    );

  // ---- webhook test ------------------------------------------------------------------
  const webhook = program.command("webhook").description("the webhook Lasso calls for every finished report");
  webhook
    .command("test")
    .description(
      "have Lasso send its dummy webhook (with our auth header) to our webhook; show whether it arrived",
    )
    .option("--cvr <cvr>", "the dummy report's CVR (must belong to no customer)", WEBHOOK_TEST_CVR)
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for it").argParser(seconds).default(60_000, "60"),
    )
    .addHelpText(
      "after",
      `
The dummy report names a fresh batch id and a CVR no customer has: the delivery records it as
unroutable (one ReportUnroutable, alarm included) and mails nobody. That record is how its
arrival is seen.`,
    )
    .action(
      withTarget(async (target, _globals, progress, options: { cvr: string; timeout: number }) => {
        const report = await testWebhook(
          {
            lasso: await target.lasso(),
            webhook: await target.webhook(),
            state: target.state,
            customers: { doc: target.customersDoc, tableName: target.customersTable },
          },
          { cvr: options.cvr, timeoutMs: options.timeout, progress },
        );
        const text = renderWebhookTest(report);
        return report.arrived ? ok(report, text) : failed(report, text);
      }),
    );

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
