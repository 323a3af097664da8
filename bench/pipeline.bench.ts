/**
 * The whole pipeline against the physical loop, for N demo customers and both demo report
 * types (2 N reports):
 * - pipeline: `npm start`'s runner (runLocalPipeline) with the production handlers, the
 *   emulators and the Lasso simulator (webhooks on, as npm start);
 * - physical: the same stack (startRunnerStack) and the same batches submitted straight to
 *   the simulator, then, for each report as it finishes, only one PDF download and one SES
 *   send, as many at once as the pipeline's deliveries (no pipeline logic): the floor the
 *   emulators and the simulator set.
 * Each variant runs in a fresh process, alternated, `--runs` times; medians. Lasso calls are
 * counted by route from the simulator's request log, queue messages by what deliver-report
 * handled, DynamoDB read units as consumed capacity (metered at the emulator:
 * local/aws/dynamo-capacity.ts; the handlers' apart from the runner's own).
 *
 * `--layout split` (the default): the pipeline's functions and the runner run in a process
 * of their own, the stack (emulators, simulator) in the variant's process, as on Lambda the
 * functions do not share a CPU or a heap with the services they call
 * (local/pipeline/attached-stack.ts); the pipeline's CPU and peak RSS are its process's, the
 * stack's are printed beside them. The physical loop's work is one download and one send per
 * report: it runs in the stack's process either way. `--layout one-process`: everything in
 * one process, as `npm start` runs (the figures before 2026-12-02).
 *
 *   npx tsx bench/pipeline.bench.ts N [--lasso-rate 0] [--runs 2] [--poll-ms 1500] [--layout split]
 *
 * Ends with one line: `pipeline/physical: X.XX  reports: R  rss-mb: M  lasso-extra-per-report: E  lasso-429-per-report: T`.
 */
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { parseArgs } from "node:util";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { DEMO_SENDER } from "#local/aws/demo-firm.ts";
import type { ReadCapacityMeter } from "#local/aws/dynamo-capacity.ts";
import { runInFunctionsProcess } from "#local/pipeline/attached-stack.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import {
  DEMO_GROUP,
  DEMO_REPORT_TYPES,
  LOCAL_SCHEDULES,
  LOCAL_SETTINGS,
} from "#local/pipeline/local-config.ts";
import { type RunOutcome, runLocalPipeline, startRunnerStack } from "#local/pipeline/runner.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { sesMailer } from "#shared/mail/ses-mailer.ts";
import { alternate, median, printResult, routeOf, runChild, statusOf } from "./pipeline-support.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "lasso-rate": { type: "string", default: "0" },
    runs: { type: "string", default: "2" },
    "poll-ms": { type: "string", default: String(LOCAL_SETTINGS.pollIntervalMs) },
    variant: { type: "string" },
    layout: { type: "string", default: "split" },
  },
});
if (values.layout !== "split" && values.layout !== "one-process")
  throw new Error(`--layout must be split or one-process, got ${values.layout}`);
const SPLIT = values.layout === "split";
const CUSTOMERS = Number(positionals[0] ?? "100");
const RATE = Number(values["lasso-rate"]);
const RUNS = Number(values.runs);
const POLL_MS = Number(values["poll-ms"]);
const TIMEOUT_MS = 3_600_000;

interface VariantResult {
  variant: "pipeline" | "physical";
  reports: number;
  elapsedMs: number;
  /** The pipeline's process (the functions' in the split layout), or the physical loop's. */
  rssMb: number;
  cpuMs: number;
  /** The split layout's stack process (emulators, simulator): its peak RSS and CPU. */
  stack?: { rssMb: number; cpuMs: number };
  calls: Record<string, number>;
  refused: number;
  /** Most Lasso requests answered (not 429) in any 60 s. */
  maxPerMinute: number;
  /** Queue messages deliver-report handled and deleted (pipeline only): what was sent to the queue. */
  messages: number;
  /** Receives that ended without deleting (a ring brought back later, a retry). */
  returned: number;
  /** DynamoDB requests by operation (the emulator runs in this process). */
  dynamo: Record<string, number>;
  /** DynamoDB read units consumed, by caller ("pipeline": the handlers; "runner"), then operation. */
  readUnits: Record<string, Record<string, number>>;
}

/** Counts the DynamoDB requests this process's emulator serves, by operation (X-Amz-Target). */
function dynamoCounter(): () => Record<string, number> {
  const counts: Record<string, number> = {};
  subscribe("http.server.request.start", (message) => {
    const target = (message as { request: IncomingMessage }).request.headers["x-amz-target"];
    if (typeof target !== "string" || !target.startsWith("DynamoDB_")) return;
    const operation = target.split(".")[1] ?? target;
    counts[operation] = (counts[operation] ?? 0) + 1;
  });
  return () => counts;
}

/** Counts the simulator's requests by route, its 429 answers, and when each answered request came. */
function requestCounter() {
  const calls: Record<string, number> = {};
  const answeredAt: number[] = [];
  let refused = 0;
  return {
    log: (line: string): void => {
      const route = routeOf(line);
      calls[route] = (calls[route] ?? 0) + 1;
      if (statusOf(line) === 429) refused++;
      else answeredAt.push(Date.now());
    },
    result: () => {
      let max = 0;
      for (let start = 0, end = 0; end < answeredAt.length; end++) {
        while ((answeredAt[end] ?? 0) - (answeredAt[start] ?? 0) >= 60_000) start++;
        max = Math.max(max, end - start + 1);
      }
      return { calls, refused, maxPerMinute: max };
    },
  };
}

const customers = (): Record<string, unknown>[] =>
  demoCustomers(CUSTOMERS, DEMO_GROUP, DEMO_REPORT_TYPES) as unknown as Record<string, unknown>[];

const usage = (started: number, cpu: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(cpu);
  return {
    elapsedMs: Date.now() - started,
    rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuMs: Math.round((used.user + used.system) / 1000),
  };
};

/** Starts measuring a variant: its time, CPU and peak RSS, Lasso and DynamoDB requests. */
function startMeasuring() {
  const counter = requestCounter();
  const dynamo = dynamoCounter();
  const started = Date.now();
  const cpu = process.cpuUsage();
  return {
    log: counter.log,
    started,
    finish: () => ({ ...usage(started, cpu), ...counter.result(), dynamo: dynamo() }),
  };
}

/** The pipeline's outcome, checked: lost, duplicated or unsent reports fail the benchmark. */
function checkOutcome(summary: RunOutcome["summary"], problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`pipeline: ${problems.join("; ")}`);
  if (summary.mailsSent + summary.reportsFailed + summary.unroutable < summary.reportsFinished)
    throw new Error(`pipeline: ${summary.mailsSent} mails for ${summary.reportsFinished} reports`);
}

/** The split layout: the stack here, the functions and the runner in a child process. */
async function runPipelineSplit(): Promise<VariantResult> {
  const measuring = startMeasuring();
  const stack = await startRunnerStack({
    customers: [],
    sim: { rateLimitPerMinute: RATE, log: measuring.log },
  });
  const meter = stack.aws.meterDynamoReads?.();
  // In one process the runner slims the SES store's older mails as it goes; here the store's process does.
  const compacting = setInterval(
    () => stack.aws.sentMails.compact?.(LOCAL_SETTINGS.sentMailsKeptWhole),
    1000,
  );
  const result = await runInFunctionsProcess(stack, {
    startedAt: measuring.started,
    customers: customers(),
    schedules: LOCAL_SCHEDULES,
    pollIntervalMs: POLL_MS,
    timeoutMs: TIMEOUT_MS,
  });
  clearInterval(compacting);
  const measured = measuring.finish();
  const readUnits = structuredClone(meter?.units() ?? {});
  meter?.stop();
  await stack.stop();
  checkOutcome(result.summary, result.problems);
  return {
    variant: "pipeline",
    reports: result.summary.reportsFinished,
    ...measured,
    rssMb: result.rssMb,
    cpuMs: result.cpuMs,
    stack: { rssMb: measured.rssMb, cpuMs: measured.cpuMs },
    messages: result.messages,
    returned: result.returned,
    readUnits,
  };
}

/** The one-process layout: the runner, its stack and the functions, as `npm start` runs. */
async function runPipelineInOneProcess(): Promise<VariantResult> {
  const measuring = startMeasuring();
  let meter: ReadCapacityMeter | undefined;
  const outcome = await runLocalPipeline({
    customers: customers(),
    schedules: LOCAL_SCHEDULES,
    sim: { rateLimitPerMinute: RATE, log: measuring.log },
    timeoutMs: TIMEOUT_MS,
    pollIntervalMs: POLL_MS,
    onStarted: (pipeline) => {
      meter = pipeline.stack.aws.meterDynamoReads?.();
    },
  });
  const measured = measuring.finish();
  const readUnits = structuredClone(meter?.units() ?? {});
  meter?.stop();
  const { succeeded: messages, failed: returned } = outcome.pipeline.deliveries.stats;
  await outcome.pipeline.stop();
  checkOutcome(outcome.summary, outcome.problems);
  return {
    variant: "pipeline",
    reports: outcome.summary.reportsFinished,
    ...measured,
    messages,
    returned,
    readUnits,
  };
}

/** The same batches, then one PDF download and one SES send per finished report, nothing else. */
async function runPhysical(): Promise<VariantResult> {
  const measuring = startMeasuring();
  const { started } = measuring;
  const stack = await startRunnerStack({
    customers: [],
    sim: { rateLimitPerMinute: RATE, webhooksEnabled: false, log: measuring.log },
  });
  const lasso = new LassoClient({ baseUrl: stack.sim.baseUrl, apiKey: stack.sim.apiKey });
  const send = sesMailer(new SESv2Client({}));
  const all = customers();
  let expected = 0;
  for (const schedule of LOCAL_SCHEDULES) {
    for (let start = 0; start < all.length; start += LOCAL_SETTINGS.chunkSize) {
      const chunk = all.slice(start, start + LOCAL_SETTINGS.chunkSize);
      const token = `phys${schedule.reportType}${start}`;
      await lasso.createBatch(
        {
          batchName: `physical ${token}`,
          type: schedule.reportType,
          format: schedule.format,
          errorAppend: schedule.errorAppend,
          items: chunk.map((c) => ({ cvr: String(c.cvr), internalCustomerId: Number(c.customerId) })),
        },
        { uniqueToken: token },
      );
      expected += chunk.length;
    }
  }
  const queue: { pdfUrl: string; fileName: string }[] = [];
  const seen = new Set<string>();
  let sent = 0;
  const deliver = async (report: { pdfUrl: string; fileName: string }): Promise<void> => {
    for (;;) {
      const answer = await fetch(report.pdfUrl);
      if (answer.status === 429) {
        await new Promise((resolve) =>
          setTimeout(resolve, 1000 * Number(answer.headers.get("retry-after") ?? 1)),
        );
        continue;
      }
      const pdf = Buffer.from(await answer.arrayBuffer());
      const raw = [
        `From: ${DEMO_SENDER}`,
        "To: kunde@kunde.example.dk",
        `Subject: ${report.fileName}`,
        "MIME-Version: 1.0",
        `Content-Type: application/pdf; name="${report.fileName}"`,
        "Content-Transfer-Encoding: base64",
        "",
        pdf.toString("base64").replace(/.{76}/g, "$&\r\n"),
      ].join("\r\n");
      await send({
        from: DEMO_SENDER,
        destination: { to: ["kunde@kunde.example.dk"] },
        raw: Buffer.from(raw),
        tags: {},
      });
      sent++;
      return;
    }
  };
  const workers = LOCAL_SETTINGS.deliveryConcurrency * LOCAL_SETTINGS.deliveryBatchSize;
  let running = 0;
  while (sent < expected) {
    for (const batch of stack.sim.batches()) {
      for (const item of batch.items) {
        if (seen.has(item.id) || item.pdfurl === null) continue;
        seen.add(item.id);
        queue.push({ pdfUrl: item.pdfurl, fileName: item.fileName });
      }
    }
    while (running < workers && queue.length > 0) {
      const report = queue.shift();
      if (report === undefined) break;
      running++;
      void deliver(report).finally(() => {
        running--;
      });
    }
    if (Date.now() - started > TIMEOUT_MS)
      throw new Error(`physical: ${sent} of ${expected} after the timeout`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const measured = measuring.finish();
  await stack.stop();
  return { variant: "physical", reports: sent, ...measured, messages: 0, returned: 0, readUnits: {} };
}

if (values.variant !== undefined) {
  const runPipeline = SPLIT ? runPipelineSplit : runPipelineInOneProcess;
  printResult(values.variant === "physical" ? await runPhysical() : await runPipeline());
  process.exit(0);
}

const child = (variant: string): VariantResult =>
  runChild<VariantResult>(new URL(import.meta.url).pathname, [
    String(CUSTOMERS),
    "--variant",
    variant,
    "--lasso-rate",
    String(RATE),
    "--poll-ms",
    String(POLL_MS),
    "--layout",
    String(values.layout),
  ]);

const stackPart = (r: VariantResult): string =>
  r.stack === undefined
    ? ""
    : ` (the stack's process: CPU ${(r.stack.cpuMs / r.reports).toFixed(1)} ms/report, peak RSS ${r.stack.rssMb} MB)`;

const results = alternate(RUNS, ["pipeline", "physical"] as const, (variant, i) => {
  const result = child(variant);
  console.log(
    `  ${variant.padEnd(8)} run ${i + 1}: ${(result.elapsedMs / 1000).toFixed(1)} s, CPU ${(result.cpuMs / result.reports).toFixed(1)} ms/report, peak RSS ${result.rssMb} MB${stackPart(result)}, ${result.reports} reports, most Lasso calls in 60 s ${result.maxPerMinute}`,
  );
  return result;
});

const pipe = results.pipeline;
const perReport = (r: VariantResult, n: number): number => n / r.reports;
const beyondPdf = (r: VariantResult): number =>
  Object.entries(r.calls)
    .filter(([route]) => route !== "pdf")
    .reduce((sum, [, n]) => sum + n, 0);
const ratio = median(pipe.map((r) => r.elapsedMs)) / median(results.physical.map((r) => r.elapsedMs));
const reports = median(pipe.map((r) => r.reports));
const rss = Math.max(...pipe.map((r) => r.rssMb));
if (SPLIT)
  console.log(
    `  peak RSS: the pipeline's process ${rss} MB, the stack's ${Math.max(...pipe.map((r) => r.stack?.rssMb ?? 0))} MB`,
  );
const extra = median(pipe.map((r) => perReport(r, beyondPdf(r))));
const refused = median(pipe.map((r) => perReport(r, r.refused)));
const routes = [...new Set(pipe.flatMap((r) => Object.keys(r.calls)))].sort();
console.log(
  `Pipeline vs physical loop, ${CUSTOMERS} customers × 2 report types, Lasso limit ${RATE === 0 ? "off" : `${RATE}/min`}, layout ${values.layout}, medians of ${RUNS} runs each:`,
);
console.log(
  `  Lasso calls per report by route: ${routes.map((route) => `${route} ${median(pipe.map((r) => perReport(r, r.calls[route] ?? 0))).toFixed(3)}`).join(", ")}`,
);
console.log(
  `  queue messages per report ${median(pipe.map((r) => perReport(r, r.messages))).toFixed(2)} (and ${median(pipe.map((r) => perReport(r, r.returned))).toFixed(2)} receives brought back later); CPU per report ${median(pipe.map((r) => r.cpuMs / r.reports)).toFixed(1)} ms${SPLIT ? ` (the stack's process ${median(pipe.map((r) => (r.stack?.cpuMs ?? 0) / r.reports)).toFixed(1)} ms)` : ""}, physical ${median(results.physical.map((r) => r.cpuMs / r.reports)).toFixed(1)} ms (stack and loop)`,
);
const operations = [...new Set(pipe.flatMap((r) => Object.keys(r.dynamo)))].sort();
console.log(
  `  DynamoDB requests per report (the runner's end-of-run scans included): ${operations.map((op) => `${op} ${median(pipe.map((r) => perReport(r, r.dynamo[op] ?? 0))).toFixed(2)}`).join(", ")}`,
);
const unitsOf = (r: VariantResult, caller: string): Record<string, number> => r.readUnits[caller] ?? {};
const totalOf = (units: Record<string, number>): number =>
  Object.values(units).reduce((sum, n) => sum + n, 0);
const readLine = (caller: string): string => {
  const ops = [...new Set(pipe.flatMap((r) => Object.keys(unitsOf(r, caller))))].sort();
  const total = median(pipe.map((r) => perReport(r, totalOf(unitsOf(r, caller)))));
  return `${total.toFixed(2)} (${ops.map((op) => `${op} ${median(pipe.map((r) => perReport(r, unitsOf(r, caller)[op] ?? 0))).toFixed(2)}`).join(", ")})`;
};
console.log(
  `  dynamodb read units per report (consumed capacity): handlers ${readLine("pipeline")}; the runner's own progress and end-of-run reads ${readLine("runner")}`,
);
console.log(
  `pipeline/physical: ${ratio.toFixed(2)}  reports: ${reports}  rss-mb: ${rss}  lasso-extra-per-report: ${extra.toFixed(3)}  lasso-429-per-report: ${refused.toFixed(3)}`,
);
