/**
 * A functions process (forked by `runInFunctionsProcess`, attached-stack.ts): waits for its
 * FunctionsRun, runs the runner and the production functions on the stack it describes,
 * and sends back a FunctionsResult with its own peak RSS and CPU.
 */
import type { FunctionsResult, FunctionsRun } from "./attached-stack.ts";
import { attachStack } from "./attached-stack.ts";
import { runLocalPipeline } from "./runner.ts";

const run = await new Promise<FunctionsRun>((resolve) =>
  process.once("message", (message) => resolve(message as FunctionsRun)),
);
const cpu = process.cpuUsage();
let firingAt = Date.now();
const outcome = await runLocalPipeline(
  {
    customers: run.customers,
    schedules: run.schedules,
    timeoutMs: run.timeoutMs,
    pollIntervalMs: run.pollIntervalMs,
    onStarted: () => {
      firingAt = Date.now();
    },
  },
  { stack: attachStack(run.stack), startedAt: run.startedAt },
);
const endedAt = Date.now();
const used = process.cpuUsage(cpu);
const { succeeded: messages, failed: returned } = outcome.pipeline.deliveries.stats;
await outcome.pipeline.stop();
const result: FunctionsResult = {
  summary: outcome.summary,
  problems: outcome.problems,
  messages,
  returned,
  rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  cpuMs: Math.round((used.user + used.system) / 1000),
  firingAt,
  endedAt,
};
await new Promise<void>((resolve, reject) => {
  if (process.send === undefined) reject(new Error("a functions process needs an IPC channel"));
  else process.send({ functions: result }, (error: Error | null) => (error ? reject(error) : resolve()));
});
process.exit(0);
