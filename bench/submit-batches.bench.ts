/**
 * How long submit-batches takes for 10,000 customers against the local emulators and the
 * Lasso simulator (docs/submission.md records the figures).
 *
 *   npx tsx bench/submit-batches.bench.ts [customers=10000] [chunkSize=1000]
 *
 * The customers table holds the target group and an equally large other group, so the
 * comparison of reading by the `byGroup` index and by a full scan is fair.
 */
import { performance } from "node:perf_hooks";
import { planSchedule } from "#lambdas/submit-batches/plan.ts";
import { submitScheduledRun } from "#lambdas/submit-batches/submit-run.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { queryCustomersOfGroup, readCustomersOfGroup, scanCustomers } from "#shared/customer-reads.ts";
import { parseCustomerItem } from "#shared/customers.ts";
import { customerItem, startPipeline } from "#test/support/pipeline.ts";

const customers = Number(process.argv[2] ?? 10_000);
const chunkSize = Number(process.argv[3] ?? 1000);

const rows: [string, string][] = [];
async function measure<T>(
  label: string,
  work: () => Promise<T>,
  describe?: (value: T) => string,
): Promise<T> {
  const start = performance.now();
  const value = await work();
  const ms = performance.now() - start;
  rows.push([label, `${ms.toFixed(0).padStart(7)} ms${describe ? `  ${describe(value)}` : ""}`]);
  return value;
}

const pipeline = await startPipeline({ sim: { reportDelayMs: 1000, rateLimitPerMinute: 500 } });
try {
  const settings = { chunkSize, reserveMs: 120_000 };
  const schedule = (name: string, group: string, listener: boolean) =>
    scheduleSchema.parse({
      name,
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "ReelleEjere",
      group,
      ...(listener ? { listener: { triggerNow: false } } : {}),
    });

  await measure(`seed ${customers} + ${customers} other-group customers`, async () => {
    await pipeline.putCustomers(
      Array.from({ length: customers }, (_, i) =>
        customerItem(i, {}, { group: "bench", reportTypes: ["ReelleEjere"] }),
      ),
    );
    await pipeline.putCustomers(
      Array.from({ length: customers }, (_, i) =>
        customerItem(customers + i, {}, { group: "other", reportTypes: ["ReelleEjere"] }),
      ),
    );
  });

  const countParsed = async (
    pages: AsyncIterable<Record<string, unknown>[]>,
    group?: string,
  ): Promise<number> => {
    let selected = 0;
    for await (const page of pages) {
      for (const raw of page) {
        const parsed = parseCustomerItem(raw);
        if (parsed.ok && (group === undefined || parsed.customer.group === group)) selected++;
      }
    }
    return selected;
  };
  await measure(
    "read + parse the group: byGroup index query",
    () => countParsed(queryCustomersOfGroup(pipeline.customersDoc, pipeline.customersTable, "bench")),
    (n) => `${n} customers`,
  );
  await measure(
    "read + parse the group as a run does: index + stray scan",
    () => countParsed(readCustomersOfGroup(pipeline.customersDoc, pipeline.customersTable, "bench")),
    (n) => `${n} customers`,
  );
  await measure(
    "read + parse the group: full table scan",
    () => countParsed(scanCustomers(pipeline.customersDoc, pipeline.customersTable), "bench"),
    (n) => `${n} customers`,
  );

  await measure(
    "plan (dry run): select + chunk",
    () =>
      planSchedule(
        { customers: pipeline.submitPorts().customers },
        { schedule: schedule("bench-plan", "bench", false), scheduledTime: "2024-05-01T04:00:00Z" },
        settings,
      ),
    (plan) => `${plan.chunks.length} chunks`,
  );

  const batchesBefore = pipeline.sim.batches().length;
  const run = await measure(
    "run: select + plan + store + submit",
    () =>
      submitScheduledRun(
        pipeline.submitPorts(),
        { schedule: schedule("bench-run", "bench", false), scheduledTime: "2024-05-01T04:00:00Z" },
        settings,
      ),
    (result) => `${result.outcome}, ${result.batchesSubmittedNow} batches`,
  );
  if (pipeline.sim.batches().length - batchesBefore !== run.chunkCount)
    throw new Error("batch count mismatch");

  await measure(
    "repeat of the same firing (no-op)",
    () =>
      submitScheduledRun(
        pipeline.submitPorts(),
        { schedule: schedule("bench-run", "bench", false), scheduledTime: "2024-05-01T04:00:00Z" },
        settings,
      ),
    (result) => result.outcome,
  );

  await measure(
    "listener run, first (claims every customer)",
    () =>
      submitScheduledRun(
        pipeline.submitPorts(),
        { schedule: schedule("bench-listen", "bench", true), scheduledTime: "2024-05-01T04:00:00Z" },
        settings,
      ),
    (result) => `${result.outcome}, ${result.batchesSubmittedNow} batches`,
  );
  await measure(
    "listener run, next firing (everyone covered)",
    () =>
      submitScheduledRun(
        pipeline.submitPorts(),
        { schedule: schedule("bench-listen", "bench", true), scheduledTime: "2024-05-02T04:00:00Z" },
        settings,
      ),
    (result) => `${result.outcome}, ${result.counts?.alreadyCovered} already covered`,
  );

  console.log(
    `\nsubmit-batches, ${customers} customers, chunk size ${chunkSize} (dynalite + Lasso simulator)\n`,
  );
  for (const [label, value] of rows) console.log(`${label.padEnd(48)} ${value}`);
} finally {
  await pipeline.stop();
}
