/**
 * A listener schedule across its whole life, through the production handlers as the
 * local runner wires them: the first firing covers every customer with one listener
 * batch; a stopped batch is closed by the poller and releases its customers; the next
 * firing covers them again with a new batch.
 */

import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, expect, test } from "vitest";
import { scheduleSchema } from "#lib/config/schema.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { getBatchRecord } from "#shared/state/batches.ts";

const schedule = scheduleSchema.parse({
  name: "owners-watch",
  cron: "cron(30 2 * * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "ReelleEjere",
  group: "watch",
  listener: { triggerNow: true },
});
const customers = demoCustomers(3, "watch", ["ReelleEjere"]);

let pipeline: LocalPipeline;
beforeAll(async () => {
  pipeline = await startLocalPipeline({ customers: customers.map((customer) => ({ ...customer })) });
});
afterAll(async () => {
  await pipeline?.stop();
});

async function pollUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    await pipeline.poll();
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`still waiting for ${what}`);
}

test("a stopped listener batch releases its customers, and the next firing covers them again", async () => {
  const { sim } = pipeline.stack;
  const doc = DynamoDBDocumentClient.from(pipeline.stack.dynamo);
  const state = { doc, tableName: pipeline.stack.resources.names.stateTable, retentionDays: 400 };

  await pipeline.fire(schedule, new Date("2026-11-01T01:30:00Z"));
  const [first] = sim.batches();
  expect(sim.batches()).toHaveLength(1);
  expect(first?.isListener).toBe(true);
  expect(first?.requestedItems.map((item) => item.cvr).sort()).toEqual(customers.map((c) => c.cvr).sort());
  const firstId = String(first?.id);

  // The same firing again, and a later one while the batch listens: nobody is covered twice.
  await pipeline.fire(schedule, new Date("2026-11-01T01:30:00Z"));
  await pipeline.fire(schedule, new Date("2026-11-02T01:30:00Z"));
  expect(sim.batches()).toHaveLength(1);

  await sim.settle();
  sim.stopListening(firstId);
  await pollUntil(
    async () => (await getBatchRecord(state, firstId))?.openPartition === undefined,
    "the close",
  );
  expect((await getBatchRecord(state, firstId))?.closeReason).toBe("ListeningStopped");

  await pipeline.fire(schedule, new Date("2026-11-03T01:30:00Z"));
  expect(sim.batches()).toHaveLength(2);
  const second = sim.batches().find((batch) => batch.id !== firstId);
  expect(second?.isListener).toBe(true);
  expect(second?.requestedItems.map((item) => item.cvr).sort()).toEqual(customers.map((c) => c.cvr).sort());
});
