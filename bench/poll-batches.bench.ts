/**
 * Throughput of one poll: 50 finished open batches × 200 items (items page 50), reconciled
 * against the Lasso simulator over HTTP, with the local emulators (dynalite, local-aws-sqs)
 * for state and queue. The baseline (concurrency 1) is measured in the same run, on the
 * same data, so the ratio is what the bounded concurrency buys. Lasso calls get an added
 * round-trip latency (default 25 ms; real Lasso is farther away than loopback).
 *
 *   npx tsx bench/poll-batches.bench.ts [--batches 50] [--items 200] [--latency-ms 25] [--concurrency 8]
 *
 * The simulator's rate limit is off here: the benchmark measures our side, not Lasso's
 * budget (500 requests a minute would cap any poll at ~8 requests a second).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { pollOpenBatches } from "#lambdas/poll-batches/poll.ts";
import { startLocalAws } from "#local/aws/local-aws.ts";
import { provisionLocalResources } from "#local/aws/provision.ts";
import { startLassoSimulator } from "#local/lasso-sim/index.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { silentLog } from "#shared/runtime/log.ts";
import { putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey, OPEN_BATCH_PARTITION } from "#shared/state/keys.ts";

const { values } = parseArgs({
  options: {
    batches: { type: "string", default: "50" },
    items: { type: "string", default: "200" },
    "latency-ms": { type: "string", default: "25" },
    concurrency: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
  },
});
const BATCHES = Number(values.batches);
const ITEMS = Number(values.items);
const LATENCY_MS = Number(values["latency-ms"]);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const localAws = await startLocalAws();
Object.assign(process.env, localAws.env);
const sim = await startLassoSimulator({
  reportDelayMs: 0,
  initializingMs: 1,
  itemsPageSize: 50,
  webhooksEnabled: false,
  rateLimitPerMinute: 0,
});
let lassoRequests = 0;
const lasso = new LassoClient({
  baseUrl: sim.baseUrl,
  apiKey: sim.apiKey,
  fetch: async (input, init) => {
    lassoRequests++;
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    return fetch(input, init);
  },
});

try {
  const cvrs: string[] = [];
  for (let n = 20_000_000; cvrs.length < BATCHES * ITEMS; n++)
    if (hasValidCvrChecksum(String(n))) cvrs.push(String(n));
  const created: { batch: LassoBatch; items: { cvr: string; internalCustomerId: number }[] }[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const token = `bench${randomUUID().slice(0, 8)}`;
    const items = cvrs
      .slice(b * ITEMS, (b + 1) * ITEMS)
      .map((cvr, i) => ({ cvr, internalCustomerId: b * ITEMS + i }));
    created.push({
      items,
      batch: await lasso.createBatch(
        { batchName: `bench ${token}`, type: "Revision", format: "{cvr}-{name}", items },
        { uniqueToken: token },
      ),
    });
  }
  await sim.settle();

  const dynamo = new DynamoDBClient({});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient({});

  const runOnce = async (concurrency: number, label: string) => {
    const resources = await provisionLocalResources({ dynamo, sqs }, { prefix: `bench-${label}` });
    const table = { doc, tableName: resources.names.stateTable, retentionDays: 30 };
    const now = new Date().toISOString();
    for (const { batch, items } of created) {
      await putNewBatchRecord(table, {
        ...batchKey(batch.id),
        recordType: "batch",
        lassoBatchId: batch.id,
        name: batch.name,
        reportType: "Revision",
        isListener: false,
        manifest: items.map((item) => ({ customerId: item.internalCustomerId, cvr: item.cvr })),
        status: "Executing",
        lastProgressAt: now,
        openPartition: OPEN_BATCH_PARTITION,
        version: 1,
        createdAt: now,
        updatedAt: now,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      });
    }
    const requestsBefore = lassoRequests;
    const started = performance.now();
    const summary = await pollOpenBatches(
      {
        table,
        queue: { sqs, queueUrl: resources.reportReadyQueueUrl },
        lasso,
        clock: () => new Date(),
        log: silentLog,
      },
      {
        deadline: { remainingMs: () => 600_000 },
        concurrency,
        reserveMs: 0,
        stalledAfterMs: 3600_000,
        webhookGraceMs: 0,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: resources.reportReadyQueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages"],
      }),
    );
    if (summary.closed !== BATCHES || summary.reportsHandedOn !== BATCHES * ITEMS) {
      throw new Error(`${label}: closed ${summary.closed}, handed on ${summary.reportsHandedOn}`);
    }
    return {
      label,
      concurrency,
      seconds,
      batchesPerSecond: BATCHES / seconds,
      reportsPerSecond: summary.reportsHandedOn / seconds,
      lassoRequests: lassoRequests - requestsBefore,
      queued: Attributes?.ApproximateNumberOfMessages,
    };
  };

  // Alternating rounds, so that a busy machine slows both alike; the ratio is of the medians.
  const results = [];
  for (let round = 1; round <= ROUNDS; round++) {
    results.push(await runOnce(1, `baseline-${round}`));
    results.push(await runOnce(CONCURRENCY, `bounded-${round}`));
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  console.log(
    `poll-batches: ${BATCHES} finished batches × ${ITEMS} items, items page 50, +${LATENCY_MS} ms per Lasso call; ` +
      `${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]?.toFixed(1)} at the end`,
  );
  console.table(
    results.map((r) => ({
      run: r.label,
      concurrency: r.concurrency,
      seconds: r.seconds.toFixed(2),
      "batches/s": r.batchesPerSecond.toFixed(1),
      "reports/s": r.reportsPerSecond.toFixed(0),
      "Lasso requests": r.lassoRequests,
      "messages queued": r.queued,
    })),
  );
  const baseline = median(results.filter((r) => r.concurrency === 1).map((r) => r.seconds));
  const bounded = median(results.filter((r) => r.concurrency === CONCURRENCY).map((r) => r.seconds));
  console.log(`speed-up of concurrency ${CONCURRENCY} over 1 (medians): ${(baseline / bounded).toFixed(2)}×`);
} finally {
  await sim.close();
  await localAws.stop();
}
