/**
 * What the doorbell costs in Lasso calls: the whole local pipeline (npm start's runner,
 * the production handlers, the emulators, the simulator with its 500-a-minute limit off)
 * for N demo customers and both demo report types, run with the simulator's webhooks on
 * (each webhook rings: deliver-report reads its batch at once) and, as the baseline in the
 * same run, with webhooks off (the poller alone). Every Lasso request is counted by route
 * from the simulator's request log. Each variant runs in its own child process (the
 * handlers are modules with clients built once), alternated, `--runs` times each; medians.
 *
 * `--poll-ms` is the poller's interval (npm start: 1500; a deployment polls every 5 minutes,
 * 20 times its 15 s ring interval: `--poll-ms 20000` against the local 1 s ring interval
 * keeps that ratio).
 *
 *   npx tsx bench/pipeline-lasso-calls.bench.ts [--customers 100] [--runs 2] [--poll-ms 1500]
 */
import { parseArgs } from "node:util";
import { alternate, median, printResult, routeOf, runChild } from "./pipeline-support.ts";

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "100" },
    runs: { type: "string", default: "2" },
    "poll-ms": { type: "string", default: "1500" },
    variant: { type: "string" },
  },
});
const CUSTOMERS = Number(values.customers);
const RUNS = Number(values.runs);
const POLL_MS = Number(values["poll-ms"]);

interface VariantResult {
  variant: string;
  reports: number;
  mails: number;
  elapsedMs: number;
  calls: Record<string, number>;
}

async function runVariant(variant: "webhooks" | "poll-only"): Promise<VariantResult> {
  const { runLocalPipeline } = await import("#local/pipeline/runner.ts");
  const { demoCustomers } = await import("#local/pipeline/demo-customers.ts");
  const { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } = await import("#local/pipeline/local-config.ts");
  const calls: Record<string, number> = {};
  const outcome = await runLocalPipeline({
    customers: demoCustomers(CUSTOMERS, DEMO_GROUP, DEMO_REPORT_TYPES) as unknown as Record<
      string,
      unknown
    >[],
    schedules: LOCAL_SCHEDULES,
    sim: {
      rateLimitPerMinute: 0,
      webhooksEnabled: variant === "webhooks",
      log: (line) => {
        const route = routeOf(line);
        calls[route] = (calls[route] ?? 0) + 1;
      },
    },
    timeoutMs: 300_000,
    pollIntervalMs: POLL_MS,
  });
  await outcome.pipeline.stack.stop();
  if (outcome.problems.length > 0) throw new Error(`${variant}: ${outcome.problems.join("; ")}`);
  return {
    variant,
    reports: outcome.summary.reportsFinished,
    mails: outcome.summary.mailsSent,
    elapsedMs: outcome.summary.elapsedMs,
    calls,
  };
}

if (values.variant !== undefined) {
  const result = await runVariant(values.variant === "webhooks" ? "webhooks" : "poll-only");
  printResult(result);
  process.exit(0);
}

function child(variant: string): VariantResult {
  return runChild<VariantResult>(new URL(import.meta.url).pathname, [
    "--variant",
    variant,
    "--customers",
    String(CUSTOMERS),
    "--poll-ms",
    String(POLL_MS),
  ]);
}

const results = alternate(RUNS, ["webhooks", "poll-only"] as const, (variant) => {
  const result = child(variant);
  if (result.mails !== result.reports)
    throw new Error(`${variant}: ${result.mails} mails for ${result.reports} reports`);
  return result;
});

const perReport = (r: VariantResult, pick: (calls: Record<string, number>) => number): number =>
  pick(r.calls) / r.reports;
const beyondPdf = (calls: Record<string, number>): number =>
  Object.entries(calls)
    .filter(([route]) => route !== "pdf")
    .reduce((sum, [, n]) => sum + n, 0);

console.log(
  `Whole local pipeline, ${CUSTOMERS} customers × 2 report types, poll every ${POLL_MS} ms, medians of ${RUNS} runs each:`,
);
const rows: Record<string, number> = {};
for (const variant of ["webhooks", "poll-only"] as const) {
  const runs = results[variant];
  const calls = median(runs.map((r) => perReport(r, beyondPdf)));
  const items = median(runs.map((r) => perReport(r, (c) => c.listItems ?? 0)));
  const batches = median(runs.map((r) => perReport(r, (c) => c.getBatch ?? 0)));
  const pdf = median(runs.map((r) => perReport(r, (c) => c.pdf ?? 0)));
  const seconds = median(runs.map((r) => r.elapsedMs)) / 1000;
  rows[variant] = calls;
  console.log(
    `  ${variant.padEnd(9)}: Lasso calls per report beyond the PDF ${calls.toFixed(3)} (items pages ${items.toFixed(3)}, getBatch ${batches.toFixed(3)}), PDF ${pdf.toFixed(2)}, ${seconds.toFixed(1)} s`,
  );
}
const webhooks = rows.webhooks ?? 0;
const pollOnly = rows["poll-only"] ?? 1;
console.log(
  `  the doorbell's extra Lasso calls per report: ${(webhooks - pollOnly).toFixed(3)} (${(webhooks / pollOnly).toFixed(2)}× the poller alone)`,
);
