/**
 * `npm start`: the whole pipeline on this machine, on its embedded defaults, with no AWS
 * account and no network. See `npm start -- --help` and README.md.
 */
import { resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  CustomerFileError,
  checkCustomerRows,
  customerToItem,
  readCustomerFile,
} from "#shared/customer-file.ts";
import { chaosFaults } from "./lasso-sim/index.ts";
import type { LassoSimulatorOptions } from "./lasso-sim/types.ts";
import { demoCustomers } from "./pipeline/demo-customers.ts";
import {
  DEMO_GROUP,
  DEMO_REPORT_TYPES,
  LOCAL_SCHEDULES,
  schedulesForCustomers,
} from "./pipeline/local-config.ts";
import type { PipelineProgress } from "./pipeline/pipeline-status.ts";
import { type RunOutcome, runLocalPipeline, writeMailFiles } from "./pipeline/runner.ts";
import { SERVE_PORTS, serveLocalPipeline } from "./pipeline/serve.ts";

interface StartOptions {
  demo: number;
  customers?: string;
  out?: string;
  serve: boolean;
  chaos?: number | true;
  timeout?: number;
  lassoRate: number;
  quiet: boolean;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number of at least 1");
  return n;
};

const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number (0 or more)");
  return n;
};

const program = new Command("npm start --")
  .description(
    "Run the Lasso reporting pipeline locally: emulated AWS, the Lasso simulator, the real handlers.",
  )
  .addOption(
    new Option("--demo <n>", "number of generated demo customers").argParser(positiveInt).default(25),
  )
  .option(
    "--customers <file>",
    "load customers from a CSV or JSON file (the table's attribute names) instead of the demo",
  )
  .option("--out <dir>", "write every sent mail as an .eml file (with its PDF) into this folder")
  .option("--serve", `keep running on fixed ports after the run (${describePorts()})`, false)
  .addOption(
    new Option("--chaos [seed]", "turn on the simulator's fault injection (seeded)").argParser((value) =>
      positiveInt(value),
    ),
  )
  .addOption(
    new Option(
      "--timeout <seconds>",
      "give up after this long (default: 110, or more for large runs: Lasso's 500 calls a minute bound them)",
    ).argParser(positiveInt),
  )
  .addOption(
    new Option(
      "--lasso-rate <calls>",
      "the simulator's rate limit, calls a minute per API key (Lasso's is 500; 0: none, to measure the code's own speed); the functions' shared Lasso budget spends the same limit",
    )
      .argParser(wholeNumber)
      .default(500),
  )
  .option("--quiet", "print only the summary", false)
  .addHelpText(
    "after",
    `
The last line is machine-readable:
  SUMMARY {"customers":N,"batches":B,"reportsFinished":R,"mailsSent":M,"failureNotices":N,"reportsFailed":F,"unroutable":U,"duplicatesSkipped":D,"deadLetters":L,"elapsedMs":T}
Exit code 0 when every report was delivered or recorded as failed, exactly once; 1 otherwise.`,
  );

function describePorts(): string {
  return Object.entries(SERVE_PORTS)
    .map(([name, port]) => `${name} ${port}`)
    .join(", ");
}

/**
 * The customers of the run: the demo rows, or a file's rows checked exactly as
 * `customers import --skip-invalid` checks them (lambdas/shared/customer-file.ts). Only valid rows are
 * written, in the normalised form our tools write; an invalid row (a customerId "A12", no
 * customerId, a duplicate id) is never stored, so it can neither break the table write nor
 * replace the row it duplicates. Each is listed with its line and reason.
 */
async function loadCustomers(options: StartOptions): Promise<{
  items: Record<string, unknown>[];
  schedules: typeof LOCAL_SCHEDULES;
  invalid: string[];
}> {
  if (!options.customers) {
    return {
      items: demoCustomers(options.demo, DEMO_GROUP, DEMO_REPORT_TYPES).map((item) => ({ ...item })),
      schedules: LOCAL_SCHEDULES,
      invalid: [],
    };
  }
  let rows: Awaited<ReturnType<typeof readCustomerFile>>;
  try {
    rows = await readCustomerFile(options.customers);
  } catch (error) {
    if (error instanceof CustomerFileError)
      throw new CustomerFileError(`${options.customers}: ${error.message}`);
    throw error;
  }
  const checked = checkCustomerRows(rows);
  const invalid = checked.flatMap((row) => (row.result.ok ? [] : [`line ${row.line}: ${row.result.reason}`]));
  const valid = checked.flatMap((row) => (row.result.ok ? [row.result.customer] : []));
  const wanted = valid
    .filter((customer) => customer.enabled)
    .flatMap((customer) => customer.reportTypes.map((reportType) => ({ group: customer.group, reportType })));
  return { items: valid.map(customerToItem), schedules: schedulesForCustomers(wanted), invalid };
}

/**
 * Every report costs at least one Lasso call (its PDF) out of 500 a minute, so a large run
 * cannot finish in the two minutes a small one takes.
 */
function defaultTimeoutSeconds(customers: number, schedules: number): number {
  const reports = customers * schedules;
  return Math.max(110, Math.ceil(60 + (reports * 60) / 400));
}

function simOptions(options: StartOptions): LassoSimulatorOptions {
  const rate = { rateLimitPerMinute: options.lassoRate };
  if (options.chaos === undefined) return rate;
  const seed = options.chaos === true ? 1 : options.chaos;
  return { ...rate, faults: chaosFaults(seed) };
}

function progressLine(progress: PipelineProgress): string {
  return (
    `batches ${progress.batches} (${progress.openBatches} open) · reports expected ${progress.expectedReports}` +
    // Messages, not reports: a report's webhook ring and its hand-off are two messages.
    ` · messages delivered to deliver-report ${progress.messagesHandled} · on the queue ${progress.queueDepth}`
  );
}

/** Where the sent mails can be seen once the run is over (a link only while it stays up). */
function whereMails(options: StartOptions, written: number | undefined): string {
  if (options.out !== undefined) {
    return `Mails: ${written ?? 0} .eml files (PDF attached) in ${resolve(options.out)}; open them in a mail program.`;
  }
  if (options.serve)
    return `Mails: in the SES viewer, http://127.0.0.1:${SERVE_PORTS.ses}/, while this runs.`;
  return "Mails: not kept (the emulators stopped with the run): give --out DIR to write them as .eml files, or --serve to browse them.";
}

function printSummary(outcome: RunOutcome, where: string): void {
  const { summary, problems } = outcome;
  console.log("");
  console.log(
    `Customers ${summary.customers}, batches ${summary.batches}, reports finished ${summary.reportsFinished}.`,
  );
  console.log(
    `Mails sent ${summary.mailsSent}; failed reports ${summary.reportsFailed} (not mailed to customers; ` +
      `${summary.failureNotices} failure notice${summary.failureNotices === 1 ? "" : "s"} to the accountants or operators); ` +
      `unroutable ${summary.unroutable}; duplicates skipped ${summary.duplicatesSkipped}; dead letters ${summary.deadLetters}.`,
  );
  for (const problem of problems) console.log(`PROBLEM: ${problem}`);
  console.log(where);
  console.log(`SUMMARY ${JSON.stringify(summary)}`);
}

async function main(): Promise<number> {
  const options = program.parse().opts<StartOptions>();
  const say = (line: string): void => {
    if (!options.quiet) console.log(line);
  };
  const { items, schedules, invalid } = await loadCustomers(options);
  // Printed even with --quiet: a row that gets no report must never go unmentioned.
  for (const line of invalid) console.log(`skipped row, ${line}`);
  if (invalid.length > 0)
    console.log(`${invalid.length} rows of ${options.customers} skipped (not written).`);
  say(
    `Local pipeline: ${items.length} customers, schedules ${schedules.map((s) => `${s.name} (${s.reportType})`).join(", ")}` +
      (options.chaos === undefined ? "" : `, chaos seed ${options.chaos === true ? 1 : options.chaos}`),
  );
  let lastLine = "";
  let lastPrinted = 0;
  const outcome = await runLocalPipeline({
    customers: items,
    schedules,
    sim: simOptions(options),
    timeoutMs: (options.timeout ?? defaultTimeoutSeconds(items.length, schedules.length)) * 1000,
    ...(options.serve ? { ports: SERVE_PORTS_OPTION } : {}),
    log: (line) => say(`  ${line}`),
    onStarted: (pipeline) => {
      say(`  DynamoDB  ${pipeline.stack.aws.endpoints.dynamodb}`);
      say(`  SQS       ${pipeline.stack.aws.endpoints.sqs}`);
      say(
        `  SES       ${pipeline.stack.aws.endpoints.ses}  ${options.serve ? `(sent mails: ${pipeline.stack.aws.sentMailsPage})` : "(stops with the run: --serve keeps it up)"}`,
      );
      say(`  Lasso sim ${pipeline.stack.sim.baseUrl}`);
      say(`  Webhook   ${pipeline.webhook.url}`);
    },
    onProgress: (status) => {
      const line = progressLine(status);
      if (line !== lastLine && Date.now() - lastPrinted > 1000) {
        say(`  ${line}`);
        lastLine = line;
        lastPrinted = Date.now();
      }
    },
  });
  const written = options.out === undefined ? undefined : await writeMailFiles(outcome.pipeline, options.out);
  printSummary(outcome, whereMails(options, written));
  const exitCode = outcome.problems.length === 0 ? 0 : 1;
  if (options.serve) {
    await serveLocalPipeline(outcome.pipeline, schedules, say);
    return exitCode;
  }
  await outcome.pipeline.stop();
  return exitCode;
}

const SERVE_PORTS_OPTION = {
  aws: {
    dynamodb: SERVE_PORTS.dynamodb,
    sqs: SERVE_PORTS.sqs,
    ses: SERVE_PORTS.ses,
    secretsManager: SERVE_PORTS.secretsManager,
    moto: SERVE_PORTS.moto,
  },
  sim: SERVE_PORTS.lasso,
  webhook: SERVE_PORTS.webhook,
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CustomerFileError || (error as NodeJS.ErrnoException).code === "ENOENT") {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
      return;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
