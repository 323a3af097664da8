/**
 * The shared Lasso call budget under Lasso's limit: the whole local pipeline (npm start's
 * runner, the production handlers, the emulators, the simulator limited to `--lasso-rate`
 * calls a minute, 500 as Lasso) for N demo customers × 2 report types, with the budget on
 * (as deployed) and, as the baseline in the same run, off (the functions spend Lasso's
 * limit reactively: 429, retry-after). From the simulator's own rate limiter: calls let
 * through, 429 answers, the most calls let through in any 60 s. The floor is what the
 * limit allows: calls let through / rate a minute. Each variant runs in its own child
 * process (handler modules build their clients once), alternated, `--runs` times each.
 * `--layout split` (the default) runs the runner and the functions in a process of their
 * own beside the stack's, as bench/pipeline.bench.ts does; `one-process` as `npm start`.
 *
 *   npx tsx bench/lasso-budget.bench.ts [--customers 500] [--lasso-rate 500] [--runs 1] [--layout split]
 *
 * Ends with one line a script can read:
 *   lasso-budget: time/floor X.XX  calls-span/floor: Y.YY  reports: R  lasso-429-per-report: T  max-calls-in-60s: M  baseline-time/floor: B  baseline-429-per-report: S
 */
import { parseArgs } from "node:util";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { LocalStack } from "#local/aws/local-stack.ts";
import { runInFunctionsProcess } from "#local/pipeline/attached-stack.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import {
  DEMO_GROUP,
  DEMO_REPORT_TYPES,
  LOCAL_SCHEDULES,
  LOCAL_SETTINGS,
} from "#local/pipeline/local-config.ts";
import {
  type RunnerOptions,
  type RunOutcome,
  runLocalPipeline,
  startRunnerStack,
} from "#local/pipeline/runner.ts";
import { ENV } from "#shared/env-names.ts";
import { LASSO_BUDGET_KEY } from "#shared/lasso/call-budget.ts";
import { alternate, median, printResult, runChild } from "./pipeline-support.ts";

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "500" },
    "lasso-rate": { type: "string", default: "500" },
    runs: { type: "string", default: "1" },
    variant: { type: "string" },
    layout: { type: "string", default: "split" },
  },
});
if (values.layout !== "split" && values.layout !== "one-process")
  throw new Error(`--layout must be split or one-process, got ${values.layout}`);
const CUSTOMERS = Number(values.customers);
const RATE = Number(values["lasso-rate"]);
const RUNS = Number(values.runs);

interface VariantResult {
  variant: string;
  reports: number;
  mails: number;
  /** Messages that went to the dead-letter queue (a deferral too many, say). */
  deadLetters: number;
  /** From the first schedule's firing to the last report settled. */
  elapsedMs: number;
  accepted: number;
  refused: number;
  maxInWindow: number;
  /** From the first Lasso call let through to the last. */
  callSpanMs: number;
  /** From the first schedule's firing to the first call let through, and from the last to the end. */
  leadInMs: number;
  tailMs: number;
  /** Calls let through in each second from the first (the simulator's count). */
  acceptedPerSecond: number[];
  /** The budget item's count of leases (writes) and tokens handed out (0 without a budget). */
  leases: number;
  tokensTaken: number;
}

/** What a run leaves for the figures: its stack (still up), outcome, and when it fired and ended. */
interface Ran {
  stack: LocalStack;
  summary: RunOutcome["summary"];
  problems: string[];
  /** performance.now() of this process (the simulator's limiter's clock) when the schedules fired and when the run ended. */
  firedPerf: number;
  endedPerf: number;
}

async function runInOneProcess(options: RunnerOptions): Promise<Ran> {
  // The simulator's limiter counts on performance.now(): the same clock for lead-in and tail.
  let firedPerf = performance.now();
  const outcome = await runLocalPipeline({
    ...options,
    onStarted: () => {
      firedPerf = performance.now();
    },
  });
  return { ...outcome, stack: outcome.pipeline.stack, firedPerf, endedPerf: performance.now() };
}

async function runSplit(options: RunnerOptions): Promise<Ran> {
  const stack = await startRunnerStack({ ...options, customers: [] });
  const result = await runInFunctionsProcess(stack, {
    startedAt: Date.now(),
    customers: options.customers,
    schedules: options.schedules,
    pollIntervalMs: LOCAL_SETTINGS.pollIntervalMs,
    timeoutMs: options.timeoutMs ?? 900_000,
  });
  // The other process's times, on this process's performance clock.
  const perfOf = (epochMs: number) => performance.now() - (Date.now() - epochMs);
  return { ...result, stack, firedPerf: perfOf(result.firingAt), endedPerf: perfOf(result.endedAt) };
}

async function runVariant(variant: "budget" | "no-budget"): Promise<VariantResult> {
  const run = values.layout === "split" ? runSplit : runInOneProcess;
  const { stack, summary, problems, firedPerf, endedPerf } = await run({
    customers: demoCustomers(CUSTOMERS, DEMO_GROUP, DEMO_REPORT_TYPES) as unknown as Record<
      string,
      unknown
    >[],
    schedules: LOCAL_SCHEDULES,
    sim: { rateLimitPerMinute: RATE },
    ...(variant === "no-budget" ? { env: { [ENV.lassoCallsPerMinute]: "0" } } : {}),
    timeoutMs: 900_000,
  });
  const stats = stack.sim.rateStats();
  const { Item } = await DynamoDBDocumentClient.from(stack.dynamo).send(
    new GetCommand({
      TableName: stack.resources.names.lassoBudgetTable,
      Key: { pk: LASSO_BUDGET_KEY },
    }),
  );
  await stack.stop();
  if (problems.length > 0) throw new Error(`${variant}: ${problems.join("; ")}`);
  return {
    variant,
    reports: summary.reportsFinished,
    mails: summary.mailsSent,
    deadLetters: summary.deadLetters,
    elapsedMs: endedPerf - firedPerf,
    accepted: stats.accepted,
    refused: stats.refused,
    maxInWindow: stats.maxInWindow,
    callSpanMs: stats.lastAt - stats.firstAt,
    leadInMs: stats.firstAt - firedPerf,
    tailMs: endedPerf - stats.lastAt,
    acceptedPerSecond: stats.acceptedPerSecond,
    leases: typeof Item?.version === "number" ? Item.version : 0,
    tokensTaken: typeof Item?.taken === "number" ? Item.taken : 0,
  };
}

if (values.variant !== undefined) {
  const result = await runVariant(values.variant === "budget" ? "budget" : "no-budget");
  printResult(result);
  process.exit(0);
}

function child(variant: string): VariantResult {
  return runChild<VariantResult>(new URL(import.meta.url).pathname, [
    "--variant",
    variant,
    "--customers",
    String(CUSTOMERS),
    "--lasso-rate",
    String(RATE),
    "--layout",
    String(values.layout),
  ]);
}

const results = alternate(RUNS, ["budget", "no-budget"] as const, (variant) => {
  const result = child(variant);
  if (result.mails !== result.reports)
    throw new Error(`${variant}: ${result.mails} mails for ${result.reports} reports`);
  return result;
});

/**
 * What Lasso's sliding window allows at best after the run's own start: call j + rate
 * comes 60 s after call j at the earliest, so the last call comes at the earliest
 * q × 60 s after call r (N = q × rate + r), whichever client paces the calls. The first
 * window's calls go at the pipeline's own pace (no limit holds them back yet), so this
 * is the span no budget can beat. From the per-second counts, each second's calls spread
 * evenly over it.
 */
function echoFloorMs(r: VariantResult): number {
  const stamps = r.acceptedPerSecond.flatMap((n, second) =>
    Array.from({ length: n }, (_, k) => (second + (k + 0.5) / n) * 1000),
  );
  if (stamps.length === 0) return 0;
  const q = Math.floor((stamps.length - 1) / RATE);
  const first = stamps[0] ?? 0;
  return (stamps[stamps.length - 1 - q * RATE] ?? first) - first + q * 60_000;
}

/** The limit's floor for this many calls: calls / rate a minute. */
const floorMs = (r: VariantResult): number => (r.accepted / RATE) * 60_000;
const summary = (variant: "budget" | "no-budget") => {
  const runs = results[variant];
  return {
    reports: median(runs.map((r) => r.reports)),
    deadLetters: Math.max(...runs.map((r) => r.deadLetters)),
    calls: median(runs.map((r) => r.accepted)),
    refusedPerReport: median(runs.map((r) => r.refused / r.reports)),
    maxInWindow: Math.max(...runs.map((r) => r.maxInWindow)),
    elapsedS: median(runs.map((r) => r.elapsedMs)) / 1000,
    floorS: median(runs.map(floorMs)) / 1000,
    ratio: median(runs.map((r) => r.elapsedMs / floorMs(r))),
    /** The Lasso calls' own span against the floor: the pacing, without start-up and tail. */
    callSpanRatio: median(runs.map((r) => r.callSpanMs / floorMs(r))),
    /** The best span Lasso's window allows after this run's start (see echoFloorMs), against the floor. */
    echoFloorRatio: median(runs.map((r) => echoFloorMs(r) / floorMs(r))),
    leadInS: median(runs.map((r) => r.leadInMs)) / 1000,
    tailS: median(runs.map((r) => r.tailMs)) / 1000,
    /** Seconds of the calls' span in which fewer than half the limit's pace went through: time the limit was not the brake. */
    slowSeconds: median(runs.map((r) => r.acceptedPerSecond.filter((n) => n < RATE / 120).length)),
    writesPerCall: median(runs.map((r) => r.leases / r.accepted)),
    droppedPerCall: median(runs.map((r) => Math.max(0, r.tokensTaken - r.accepted - r.refused) / r.accepted)),
  };
};
const budget = summary("budget");
const baseline = summary("no-budget");

console.log(
  `Whole local pipeline, ${CUSTOMERS} customers × 2 report types, simulator limit ${RATE} calls a minute, layout ${values.layout}, medians of ${RUNS} run(s) each:`,
);
console.table({ "shared budget": budget, "baseline: no budget (429s)": baseline });
// Where each run spent the limit: calls let through per 10 s from the first call.
for (const variant of ["budget", "no-budget"] as const) {
  results[variant].forEach((r, i) => {
    const per10: number[] = [];
    r.acceptedPerSecond.forEach((n, s) => {
      per10[Math.floor(s / 10)] = (per10[Math.floor(s / 10)] ?? 0) + n;
    });
    console.log(`${variant} run ${i + 1}, calls per 10 s: ${per10.join(" ")}`);
  });
}
console.log(
  `lasso-budget: time/floor ${budget.ratio.toFixed(2)}  calls-span/floor: ${budget.callSpanRatio.toFixed(2)}  reports: ${budget.reports}  lasso-429-per-report: ${budget.refusedPerReport.toFixed(3)}  max-calls-in-60s: ${budget.maxInWindow}  baseline-time/floor: ${baseline.ratio.toFixed(2)}  baseline-429-per-report: ${baseline.refusedPerReport.toFixed(3)}`,
);
