/**
 * submit-batches under load and faults, against the real emulators and the simulator:
 * 2,500 customers in chunks of 1,000, injected 5xx/429 on the POST, an ambiguous POST
 * resolved by a later invocation, a batch Lasso refuses, and a deadline.
 */
import { describe, expect, test } from "vitest";
import type { LassoBatchPort } from "#lambdas/submit-batches/ports.ts";
import { submitScheduledRun } from "#lambdas/submit-batches/submit-run.ts";
import { type ScheduleConfig, scheduleSchema } from "#lib/config/schema.ts";
import { LassoApiError } from "#shared/lasso/errors.ts";
import { listChunks } from "#shared/state/chunks.ts";
import { runKey } from "#shared/state/keys.ts";
import { getRun } from "#shared/state/runs.ts";
import { customerItem, usePipeline } from "#test/support/pipeline.ts";

/** The simulator's request log: proves the injected faults were met. */
const requests: string[] = [];
const pipeline = usePipeline({ sim: { log: (line) => requests.push(line) } });

const postStatuses = (): number[] =>
  requests
    .filter((line) => line.startsWith("POST /apps/reporting/batches "))
    .map((line) => Number(/-> (\d{3})/.exec(line)?.[1]));

const schedule = (name: string, group: string): ScheduleConfig =>
  scheduleSchema.parse({
    name,
    cron: "cron(0 6 1 * ? *)",
    timeZone: "Europe/Copenhagen",
    reportType: "Finans",
    group,
  });

const batchesOf = (scheduleName: string) =>
  pipeline.current.sim.batches().filter((batch) => batch.name.startsWith(`${scheduleName} `));

/** Every requested cvr of the schedule's batches, and how often it was requested. */
function requestedCvrs(scheduleName: string): { total: number; distinct: number } {
  const cvrs = batchesOf(scheduleName).flatMap((batch) => batch.requestedItems.map((item) => item.cvr));
  return { total: cvrs.length, distinct: new Set(cvrs).size };
}

async function seed(group: string, from: number, count: number): Promise<void> {
  await pipeline.current.putCustomers(
    Array.from({ length: count }, (_, i) => customerItem(from + i, {}, { group, reportTypes: ["Finans"] })),
  );
}

describe("2,500 customers, chunks of 1,000, with 5xx and 429 injected on the POST", () => {
  test("gives 3 batches, every customer exactly once", async () => {
    const p = pipeline.current;
    await seed("stor", 10_000, 2500);
    requests.length = 0;
    p.sim.injectFault({ route: "createBatch", status: 503, times: 1 });
    p.sim.injectFault({ route: "createBatch", status: 429, times: 1 });
    // Lasso creates the batch but the answer is a 500: the client must find it, not post again.
    p.sim.injectFault({ route: "createBatch", status: 500, times: 1, mode: "afterAccept" });
    p.sim.injectFault({ route: "createBatch", status: 503, times: 1 });

    const result = await submitScheduledRun(
      p.submitPorts({
        lasso: p.lassoClient({
          retry: { retries: 8, minDelayMs: 10, maxDelayMs: 50 },
          // Three looks by token after an ambiguous POST, as in production, only closer together.
          settleLookup: { lookups: 3, delayMs: 20 },
        }),
      }),
      { schedule: schedule("stor", "stor"), scheduledTime: "2024-05-01T04:00:00Z" },
      { chunkSize: 1000, reserveMs: 1000 },
    );
    expect(result).toMatchObject({ outcome: "submitted", chunkCount: 3, batchesSubmittedNow: 3 });
    expect(batchesOf("stor").map((batch) => batch.requestedItems.length)).toEqual([1000, 1000, 500]);
    expect(requestedCvrs("stor")).toEqual({ total: 2500, distinct: 2500 });
    // Every fault was met: 503, 429, the ambiguous 500 (found by token), 503, then the rest.
    expect(postStatuses()).toEqual([503, 429, 500, 503, 200, 200]);
    // "Not there" is believed after three looks only: 3 after the first 503, 3 before the
    // POST after the 429 (the 503's batch could still turn up), 1 that finds the batch of
    // the ambiguous 500, 3 after chunk 2's 503.
    const lookups = requests.filter((line) => /^GET \/apps\/reporting\/batches -> /.test(line));
    expect(lookups).toHaveLength(10);
  });
});

describe("resumable runs", () => {
  test("an ambiguous POST left unresolved is resolved by the next invocation's token lookup, not posted again", async () => {
    const p = pipeline.current;
    await seed("tvivl", 20_000, 30);
    const fireAt = { schedule: schedule("tvivl", "tvivl"), scheduledTime: "2024-05-01T04:00:00Z" };
    const fastClient = p.lassoClient({ retry: { retries: 2, minDelayMs: 5, maxDelayMs: 10 } });
    // Chunk 1 is created but answered 500, and the lookup of its token keeps failing.
    p.sim.injectFault({ route: "createBatch", status: 500, times: 1, mode: "afterAccept" });
    p.sim.injectFault({ route: "listBatches", status: 503, times: 20 });

    const first = await submitScheduledRun(p.submitPorts({ lasso: fastClient }), fireAt, {
      chunkSize: 10,
      reserveMs: 1000,
    });
    expect(first.outcome).toBe("incomplete");
    expect(first.batchesSubmittedNow).toBe(0);
    expect(first.chunks[0]).toMatchObject({ status: "submitting" });
    expect(first.chunks[0]?.error).toMatch(/503/);
    expect(batchesOf("tvivl")).toHaveLength(1); // Lasso has it; we could not tell yet
    const stored = await getRun(p.state, runKey("tvivl", first.scheduledTime));
    expect(stored).toMatchObject({ status: "incomplete", chunksRemaining: 3 });
    expect(stored?.leaseOwner).toBeUndefined();

    p.sim.clearFaults();
    const second = await submitScheduledRun(p.submitPorts({ lasso: fastClient }), fireAt, {
      chunkSize: 10,
      reserveMs: 1000,
    });
    expect(second).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 3 });
    expect(batchesOf("tvivl")).toHaveLength(3);
    expect(requestedCvrs("tvivl")).toEqual({ total: 30, distinct: 30 });
    expect(second.chunks.map((chunk) => chunk.lassoBatchId)).toEqual(
      batchesOf("tvivl").map((batch) => batch.id),
    );
  });

  test("batch 3 of 5 refused: recorded, the others submitted; a re-invocation sends only batch 3", async () => {
    const p = pipeline.current;
    await seed("afvist", 30_000, 50);
    const fireAt = { schedule: schedule("afvist", "afvist"), scheduledTime: "2024-05-01T04:00:00Z" };
    const real = p.lassoClient();
    // The simulator cannot refuse one batch of a run with a 4xx; this port stands in for Lasso doing so.
    const refusingThird: LassoBatchPort = {
      createBatch: async (request, options) => {
        if (request.batchName.includes("(3/5)")) {
          throw new LassoApiError({
            operation: "createBatch",
            request: "POST /apps/reporting/batches",
            status: 400,
            errorCode: 10,
            serverMessage: "items[4].cvr: the company cannot be reported on",
          });
        }
        return real.createBatch(request, options);
      },
      findBatchByToken: (token) => real.findBatchByToken(token),
    };
    const first = await submitScheduledRun(p.submitPorts({ lasso: refusingThird }), fireAt, {
      chunkSize: 10,
      reserveMs: 1000,
    });
    expect(first).toMatchObject({ outcome: "partial", batchesSubmittedNow: 4, batchesRejectedNow: 1 });
    expect(first.chunks.map((chunk) => chunk.status)).toEqual([
      "submitted",
      "submitted",
      "rejected",
      "submitted",
      "submitted",
    ]);
    expect(first.chunks[2]?.error).toContain("the company cannot be reported on");
    const stored = await getRun(p.state, runKey("afvist", first.scheduledTime));
    expect(stored).toMatchObject({ status: "partial", batchesSubmitted: 4, batchesRejected: 1 });
    expect(stored?.lastError).toContain("HTTP 400");
    const before = batchesOf("afvist").map((batch) => batch.id);
    expect(before).toHaveLength(4);

    const second = await submitScheduledRun(p.submitPorts(), fireAt, { chunkSize: 10, reserveMs: 1000 });
    expect(second).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 1, batchesRejectedNow: 0 });
    const after = batchesOf("afvist");
    expect(after).toHaveLength(5);
    expect(after.map((batch) => batch.id).slice(0, 4)).toEqual(before);
    expect(after[4]?.name).toContain("(3/5)");
    expect(requestedCvrs("afvist")).toEqual({ total: 50, distinct: 50 });
  });

  test("stops cleanly before the deadline, and the next invocation finishes the run", async () => {
    const p = pipeline.current;
    await seed("frist", 40_000, 40);
    const fireAt = { schedule: schedule("frist", "frist"), scheduledTime: "2024-05-01T04:00:00Z" };
    // Time runs short once two batches are in: less than the reserve is left.
    const deadline = { remainingMs: () => (batchesOf("frist").length < 2 ? 60_000 : 500) };
    const first = await submitScheduledRun(p.submitPorts({ deadline }), fireAt, {
      chunkSize: 10,
      reserveMs: 1000,
    });
    expect(first).toMatchObject({
      outcome: "incomplete",
      stoppedForDeadline: true,
      batchesSubmittedNow: 2,
      chunksRemaining: 2,
    });
    expect(batchesOf("frist")).toHaveLength(2);
    const stored = await getRun(p.state, runKey("frist", first.scheduledTime));
    expect(stored).toMatchObject({ status: "incomplete", batchesSubmitted: 2, chunksRemaining: 2 });
    expect(stored?.leaseOwner).toBeUndefined();

    const second = await submitScheduledRun(p.submitPorts(), fireAt, { chunkSize: 10, reserveMs: 1000 });
    expect(second).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 2, planned: false });
    expect(batchesOf("frist")).toHaveLength(4);
    expect(requestedCvrs("frist")).toEqual({ total: 40, distinct: 40 });
    const chunks = await listChunks(p.state, second.runPk, stored?.planId ?? "");
    expect(chunks.every((chunk) => chunk.status === "submitted" && chunk.attempts === 1)).toBe(true);
  });
});
