/**
 * Command line of the Lasso simulator:  npm run lasso-sim -- --port 4010 --api-key KEY
 * Prints its base URL and API key on start; stops cleanly on SIGINT/SIGTERM.
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { chaosFaults } from "./faults.ts";
import { DEFAULT_API_KEY, startLassoSimulator } from "./server.ts";
import type { FaultOptions, LassoSimulatorOptions } from "./types.ts";

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError("must be a number >= 0");
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = nonNegativeNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("must be a whole number");
  return n;
}

function share(value: string): number {
  const n = nonNegativeNumber(value);
  if (n > 1) throw new InvalidArgumentError("must be between 0 and 1");
  return n;
}

interface CliOptions {
  port: number;
  host: string;
  apiKey: string;
  publicBaseUrl?: string;
  reportDelayMs: number;
  initializingMs?: number;
  pageSize: number;
  rateLimit: number;
  rateLimitWindowMs: number;
  webhooks: boolean;
  webhookRetryScale: number;
  webhookTimeoutMs: number;
  failedPdf: boolean;
  chaos?: number | true;
  seed?: number;
  apiErrorRate?: number;
  apiDelayRate?: number;
  apiDelayMs?: number;
  itemWarningRate?: number;
  itemFailedRate?: number;
  webhookDuplicateRate?: number;
  webhookDuplicateCount?: number;
  webhookDropRate?: number;
  webhookReorder?: boolean;
  verbose: boolean;
}

export function buildProgram(): Command {
  return new Command()
    .name("lasso-sim")
    .description(
      "Local simulator of the Lasso X Reporting API (batches, items, PDFs, zip download, webhooks, " +
        "rate limit, fault injection). Test hooks are served under /_sim (see local/lasso-sim/README.md).",
    )
    .option("-p, --port <port>", "port to listen on (0 = any free port)", nonNegativeInteger, 4010)
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("-k, --api-key <key>", "API key clients must send in lasso-api-key", DEFAULT_API_KEY)
    .option("--public-base-url <url>", "base URL used in pdfurl links (default: the server's own)")
    .option("--report-delay-ms <ms>", "time to produce one report", nonNegativeNumber, 250)
    .option(
      "--initializing-ms <ms>",
      "time a batch stays Initializing (default: half the report delay)",
      nonNegativeNumber,
    )
    .option("--page-size <n>", "items per page of GET /batches/{id}/items", nonNegativeInteger, 50)
    .option("--rate-limit <n>", "requests per window and API key (0 = unlimited)", nonNegativeInteger, 500)
    .option("--rate-limit-window-ms <ms>", "rate-limit window", nonNegativeNumber, 60_000)
    .option("--no-webhooks", "never send webhooks (clients must poll)")
    .option(
      "--webhook-retry-scale <factor>",
      "multiplies the provider's retry schedule (5 min, 30 min, 2 h, 6 h, 12 h) and the 24 h disable window",
      nonNegativeNumber,
      0.001,
    )
    .option("--webhook-timeout-ms <ms>", "timeout of one webhook request", nonNegativeNumber, 5000)
    .option("--no-failed-pdf", "Failed reports get no PDF (pdfurl null)")
    .addOption(
      new Option(
        "--chaos [seed]",
        "turn on moderate fault rates (5% API errors, 2% slow answers, 10% Warning, 5% Failed, 10% webhook duplicates and drops, reordering); seed default 1",
      ).argParser(nonNegativeInteger),
    )
    .option("--seed <n>", "seed of all fault injection", nonNegativeInteger)
    .option("--api-error-rate <share>", "share of API calls answered 500/503", share)
    .option("--api-delay-rate <share>", "share of API calls answered late", share)
    .option("--api-delay-ms <ms>", "how late (default 10000)", nonNegativeNumber)
    .option("--item-warning-rate <share>", "share of reports ending Warning", share)
    .option("--item-failed-rate <share>", "share of reports ending Failed", share)
    .option("--webhook-duplicate-rate <share>", "share of webhook deliveries sent more than once", share)
    .option(
      "--webhook-duplicate-count <n>",
      "extra copies of a duplicated delivery (default 1)",
      nonNegativeInteger,
    )
    .option("--webhook-drop-rate <share>", "share of webhook deliveries never sent", share)
    .option("--webhook-reorder", "deliver webhooks after a random extra delay (out of order)")
    .option("-v, --verbose", "log every request", false);
}

export function simulatorOptions(cli: CliOptions): LassoSimulatorOptions {
  const chaos = cli.chaos === undefined ? {} : chaosFaults(cli.chaos === true ? (cli.seed ?? 1) : cli.chaos);
  const explicit: FaultOptions = {
    ...(cli.seed === undefined ? {} : { seed: cli.seed }),
    ...(cli.apiErrorRate === undefined ? {} : { apiErrorRate: cli.apiErrorRate }),
    ...(cli.apiDelayRate === undefined ? {} : { apiDelayRate: cli.apiDelayRate }),
    ...(cli.apiDelayMs === undefined ? {} : { apiDelayMs: cli.apiDelayMs }),
    ...(cli.itemWarningRate === undefined ? {} : { itemWarningRate: cli.itemWarningRate }),
    ...(cli.itemFailedRate === undefined ? {} : { itemFailedRate: cli.itemFailedRate }),
    ...(cli.webhookDuplicateRate === undefined ? {} : { webhookDuplicateRate: cli.webhookDuplicateRate }),
    ...(cli.webhookDuplicateCount === undefined ? {} : { webhookDuplicateCount: cli.webhookDuplicateCount }),
    ...(cli.webhookDropRate === undefined ? {} : { webhookDropRate: cli.webhookDropRate }),
    ...(cli.webhookReorder === undefined ? {} : { webhookReorder: cli.webhookReorder }),
  };
  return {
    port: cli.port,
    host: cli.host,
    apiKey: cli.apiKey,
    ...(cli.publicBaseUrl === undefined ? {} : { publicBaseUrl: cli.publicBaseUrl }),
    reportDelayMs: cli.reportDelayMs,
    ...(cli.initializingMs === undefined ? {} : { initializingMs: cli.initializingMs }),
    itemsPageSize: Math.max(1, cli.pageSize),
    rateLimitPerMinute: cli.rateLimit,
    rateLimitWindowMs: cli.rateLimitWindowMs,
    webhooksEnabled: cli.webhooks,
    webhookRetryScale: cli.webhookRetryScale,
    webhookTimeoutMs: cli.webhookTimeoutMs,
    failedReportsHavePdf: cli.failedPdf,
    faults: { ...chaos, ...explicit },
    ...(cli.verbose ? { log: (line: string) => console.log(line) } : {}),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  program.parse([...argv]);
  const options = simulatorOptions(program.opts<CliOptions>());
  const sim = await startLassoSimulator(options);
  console.log(`Lasso simulator listening on ${sim.baseUrl}`);
  console.log(`API key (header lasso-api-key): ${sim.apiKey}`);
  console.log(`Reporting API: ${sim.baseUrl}/apps/reporting   test hooks: ${sim.baseUrl}/_sim`);
  if (options.faults !== undefined && Object.keys(options.faults).length > 0) {
    console.log(`Fault injection: ${JSON.stringify(options.faults)}`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the Lasso simulator`);
    void sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

const entry = process.argv[1];
const isMain = entry !== undefined && fileURLToPath(import.meta.url) === path.resolve(entry);
if (isMain) {
  main(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
