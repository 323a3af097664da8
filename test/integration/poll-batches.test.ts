/**
 * poll-batches against the real emulators (dynalite, local-aws-sqs) and the Lasso
 * simulator over HTTP, with webhooks switched off: the poller alone must deliver every
 * finished report to the report-ready queue exactly once.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, test } from "vitest";
import type { DoorbellConfig } from "#lambdas/deliver-report/doorbell.ts";
import { RetryLaterError } from "#lambdas/deliver-report/errors.ts";
import { deliverInPlace } from "#lambdas/deliver-report/ring-delivery.ts";
import { webhookHoldMs } from "#lambdas/poll-batches/poll.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import type { LassoReader, PollPorts } from "#shared/reconcile/ports.ts";
import { WEBHOOK_GRACE_BUSY_MS } from "#shared/reconcile/run.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { silentLog } from "#shared/runtime/log.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import { listOpenBatchesToPoll } from "#shared/state/batch-polling.ts";
import { putNewBatchRecord } from "#shared/state/batches.ts";
import { addHeld, readHeld } from "#shared/state/held-reports.ts";
import { batchKey, OPEN_BATCH_PARTITION, reportKey } from "#shared/state/keys.ts";
import type { BatchRecord } from "#shared/state/records.ts";
import { handOnReports, markHandedOn } from "#shared/state/report-handoff.ts";
import {
  delay,
  reportRecord,
  tally,
  totals,
  unknownCvrs,
  usePollWorlds,
  validCvrs,
  type World,
  world,
} from "#test/support/poll-world.ts";

usePollWorlds();

describe("poll-batches: the poller alone hands on every finished report", () => {
  test("a 120-item batch with Warning and Failed reports: one message per report, batch closed, Failed recorded for operators", async () => {
    const good = validCvrs(31_000_000, 117);
    const warning = [good[10], good[50]] as string[];
    const forcedFailed = good[70] as string;
    const unknown = unknownCvrs(39_000_000, 3);
    const cvrs = [...good, ...unknown];
    const w = await world({
      itemsPageSize: 25,
      reportDelayMs: 3,
      faults: {
        forceItemStatus: {
          [warning[0] as string]: "Warning",
          [warning[1] as string]: "Warning",
          [forcedFailed]: "Failed",
        },
      },
    });
    const { batch } = await w.submit({ cvrs });
    expect(batch.batchSize).toBe(120);

    // Polled while Lasso is still working, then until the batch closes.
    const summaries = await w.pollUntilClosed(batch.id);

    expect(w.sim.webhookDeliveries()).toEqual([]);
    const counts = tally(w.received);
    expect(w.received).toHaveLength(120);
    expect(counts.size).toBe(120);
    expect(new Set(w.received.map((m) => m.cvr))).toEqual(new Set(cvrs));
    const byStatus = (status: string) => w.received.filter((m) => m.itemStatus === status).map((m) => m.cvr);
    expect(byStatus("Warning").sort()).toEqual([...warning].sort());
    expect(byStatus("Failed").sort()).toEqual([forcedFailed, ...unknown].sort());
    for (const message of w.received) {
      expect(message).toMatchObject({ batchId: batch.id, source: "poll", reportType: "Revision" });
      expect(message.internalCustomerId).toBe(1000 + cvrs.indexOf(message.cvr));
      expect(message.pdfUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
      expect(message.fileName).toMatch(/\.pdf$/);
    }

    const record = await w.record(batch.id);
    expect(record.openPartition).toBeUndefined();
    expect(record).toMatchObject({
      status: "FinishedWithErrors",
      closeReason: "FinishedWithErrors",
      completionPercentage: 1,
      batchSize: 120,
      itemCounts: { Completed: 114, Warning: 2, Failed: 4 },
    });
    expect(record.closedAt).toBeDefined();
    expect(record.pollLeaseUntil).toBeUndefined();
    expect(record.failedItems?.map((n) => n.cvr).sort()).toEqual([forcedFailed, ...unknown].sort());
    expect(record.failedItems?.every((n) => (n.message ?? "").length > 0)).toBe(true);
    expect(record.alerts?.ReportFailed?.count).toBe(4);
    expect(record.alerts?.BatchFinishedWithErrors).toBeDefined();
    expect(record.alerts?.BatchStalled).toBeUndefined();

    // Each Failed report's record says so, with Lasso's reason, for operators.
    for (const cvr of [forcedFailed, ...unknown]) {
      const report = await reportRecord(w.table, `${batch.id}#${cvr}#Revision`);
      expect(report).toMatchObject({
        itemStatus: "Failed",
        handedOnSource: "poll",
        lassoBatchId: batch.id,
        cvr,
      });
      expect(report?.handedOnAt).toBeDefined();
      expect(report?.lassoMessage).toBeTruthy();
    }
    expect(totals(summaries, (s) => s.reportsHandedOn)).toBe(120);
    expect(totals(summaries, (s) => s.reportsFailed)).toBe(4);
    expect(totals(summaries, (s) => s.reportsWarning)).toBe(2);
    expect(totals(summaries, (s) => s.batchesFinishedWithErrors)).toBe(1);
    expect(totals(summaries, (s) => s.closed)).toBe(1);
    // Reads resume where the last one ended (120 items, 25 per page): each reading poll reads
    // the pages it has not read, plus the one it ended on last time; the closing one too.
    expect(summaries.at(-1)?.batches[0]).toMatchObject({ result: "closed", completeRead: true });
    const reading = summaries.filter((s) => s.pagesRead > 0).length;
    expect(totals(summaries, (s) => s.pagesRead)).toBeLessThanOrEqual(5 + reading - 1);
  });

  test("polling a finished batch again and again, or concurrently, adds no message", async () => {
    const w = await world({ itemsPageSize: 7 });
    const { batch, record: original } = await w.submit({ cvrs: validCvrs(32_000_000, 30) });
    await w.sim.settle();
    await w.pollUntilClosed(batch.id);
    expect(w.received).toHaveLength(30);

    // The batch reopened five times (as if it had never been reconciled): every poll reads
    // every page again, and the conditional hand-off marker lets nothing through.
    for (let round = 0; round < 5; round++) {
      await w.table.doc.send(new DeleteCommand({ TableName: w.table.tableName, Key: batchKey(batch.id) }));
      expect(await putNewBatchRecord(w.table, { ...original, version: 1 })).toBe(true);
      const summary = await w.poll();
      expect(summary).toMatchObject({
        reportsHandedOn: 0,
        reportsAlreadyHandedOn: 30,
        closed: 1,
        pagesRead: 5,
      });
      expect(await w.drain()).toEqual([]);
    }

    // A second finished batch polled by four polls at once: one of them holds the lease.
    const second = await w.submit({ cvrs: validCvrs(32_500_000, 30) });
    await w.sim.settle();
    const concurrent = await Promise.all([w.poll(), w.poll(), w.poll(), w.poll()]);
    await w.drain();
    expect(totals(concurrent, (s) => s.reportsHandedOn)).toBe(30);
    expect(totals(concurrent, (s) => s.pagesRead)).toBe(5);
    const mine = w.received.filter((m) => m.batchId === second.batch.id);
    expect(mine).toHaveLength(30);
    expect(tally(mine).size).toBe(30);
    expect((await w.record(second.batch.id)).openPartition).toBeUndefined();
  });
});

/**
 * A poll that dies midway: from the trigger on, every call of the "container" fails (SQS,
 * DynamoDB, Lasso), so it neither finishes its writes nor releases its lease. The re-run is
 * the next poll, minutes later (its clock moved past the lease).
 */
function crashPorts(w: World, trigger: { sqsSend?: number; lassoPage?: number; markerWrite?: number }) {
  const state = { dead: false, sends: 0, pages: 0, markers: 0 };
  const dying = new Error("the container died");
  const sqsClient = new SQSClient({});
  sqsClient.middlewareStack.add(
    (next) => async (args) => {
      if (!state.dead && trigger.sqsSend !== undefined && ++state.sends === trigger.sqsSend)
        state.dead = true;
      if (state.dead) throw dying;
      return next(args);
    },
    { step: "initialize", name: "crashSqs" },
  );
  const dynamoClient = new DynamoDBClient({});
  dynamoClient.middlewareStack.add(
    (next) => async (args) => {
      // At this step the document client's input is still native JS.
      // A marker is a write (put or update) of a report record.
      const input = args.input as {
        Key?: { pk?: unknown };
        Item?: { pk?: unknown };
        UpdateExpression?: string;
      };
      const pk = input.Item?.pk ?? (input.UpdateExpression === undefined ? undefined : input.Key?.pk);
      const isMarker = typeof pk === "string" && pk.startsWith("REPORT#");
      if (
        !state.dead &&
        isMarker &&
        trigger.markerWrite !== undefined &&
        ++state.markers === trigger.markerWrite
      ) {
        state.dead = true;
      }
      if (state.dead) throw dying;
      return next(args);
    },
    { step: "initialize", name: "crashDynamo" },
  );
  const lasso: LassoReader = {
    getBatch: async (id) => {
      if (state.dead) throw dying;
      return w.lasso.getBatch(id);
    },
    listItems: async (id, options) => {
      if (!state.dead && trigger.lassoPage !== undefined && ++state.pages === trigger.lassoPage)
        state.dead = true;
      if (state.dead) throw dying;
      return w.lasso.listItems(id, options);
    },
  };
  const ports: Partial<PollPorts> = {
    lasso,
    queue: { sqs: sqsClient, queueUrl: w.queue.queueUrl },
    table: {
      doc: DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: w.table.tableName,
      retentionDays: w.table.retentionDays,
    },
  };
  return { ports, state };
}

describe("poll-batches: a poll that crashes midway", () => {
  const later = (): Date => new Date(Date.now() + 10 * 60_000);

  test.each([
    { where: "before sending page 3 to SQS", trigger: { sqsSend: 3 } },
    { where: "when reading page 3 from Lasso", trigger: { lassoPage: 3 } },
  ])("dying $where: the re-run adds no duplicate and misses nothing", async ({ trigger }) => {
    const w = await world({ itemsPageSize: 10 });
    const { batch } = await w.submit({ cvrs: validCvrs(33_000_000, 60) });
    await w.sim.settle();

    const crash = crashPorts(w, trigger);
    const crashed = await w.poll({}, crash.ports);
    expect(crash.state.dead).toBe(true);
    expect(crashed.batches[0]?.result).toBe("error");
    expect(await w.drain()).toHaveLength(20);
    const held = await w.record(batch.id);
    expect(held.openPartition).toBe(OPEN_BATCH_PARTITION);
    expect(held.pollLeaseUntil).toBeDefined();

    // The lease of the dead poll blocks a poll right away ...
    const blocked = await w.poll();
    expect(blocked.batches[0]).toMatchObject({ result: "skipped" });
    // ... and lapses by the next scheduled poll.
    const rerun = await w.poll({}, { clock: later });
    expect(rerun.batches[0]).toMatchObject({ result: "closed", handedOn: 40, alreadyHandedOn: 20 });
    await w.drain();
    expect(w.received).toHaveLength(60);
    expect(tally(w.received).size).toBe(60);
  });

  test("dying between SQS's acceptance and the markers: only the reports in flight come twice (the documented window)", async () => {
    const w = await world({ itemsPageSize: 10 });
    const { batch } = await w.submit({ cvrs: validCvrs(33_500_000, 60) });
    await w.sim.settle();

    // Markers are written 10 at a time after each page's send: the 26th write dies, so page 3
    // is on the queue with 5 of its 10 markers written.
    const crash = crashPorts(w, { markerWrite: 26 });
    await w.poll({}, crash.ports);
    expect(crash.state.dead).toBe(true);
    expect(await w.drain()).toHaveLength(30);

    const rerun = await w.poll({}, { clock: later });
    expect(rerun.batches[0]).toMatchObject({ result: "closed", handedOn: 35, alreadyHandedOn: 25 });
    await w.drain();
    const counts = tally(w.received);
    expect(counts.size).toBe(60);
    const twice = [...counts.values()].filter((n) => n === 2);
    expect(twice).toHaveLength(5);
    expect([...counts.values()].every((n) => n <= 2)).toBe(true);
    expect((await w.record(batch.id)).openPartition).toBeUndefined();
  });
});

describe("poll-batches: scheduled and listener batches", () => {
  test("a batch scheduled in the future stays open and untouched until it runs", async () => {
    const w = await world({ itemsPageSize: 20 });
    const { batch } = await w.submit({
      cvrs: validCvrs(34_000_000, 25),
      scheduledTime: new Date(Date.now() + 24 * 3600_000),
    });
    for (let i = 0; i < 3; i++) {
      const summary = await w.poll({ stalledAfterMs: 60_000 });
      expect(summary.batches[0]).toMatchObject({
        result: "open",
        status: "Scheduled",
        items: "scheduled",
        pages: 0,
      });
      expect(summary.batchesStalled).toBe(0);
    }
    expect(await w.drain()).toEqual([]);
    expect(w.requests.filter((line) => line.includes(`/batches/${batch.id}/items`))).toEqual([]);
    const waiting = await w.record(batch.id);
    expect(waiting).toMatchObject({ openPartition: OPEN_BATCH_PARTITION, status: "Scheduled" });
    expect(waiting.scheduledTime).toBeDefined();
    expect(waiting.itemsReadAtCompletion).toBeUndefined();
    expect(waiting.alerts ?? {}).toEqual({});

    w.sim.runNow(batch.id);
    await w.pollUntilClosed(batch.id);
    expect(w.received).toHaveLength(25);
    expect(tally(w.received).size).toBe(25);
  });

  test("a listener batch hands on every new report while Listening and closes after ListeningStopped", async () => {
    const w = await world({ itemsPageSize: 3 });
    const cvrs = validCvrs(35_000_000, 4);
    const { batch } = await w.submit({ cvrs, type: "ReelleEjere", listener: true });
    await w.sim.settle();

    let summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({
      result: "open",
      status: "Listening",
      items: "listening",
      handedOn: 4,
    });
    expect(await w.drain()).toHaveLength(4);

    // Changes at two companies: three new reports, each its own identity (Lasso's report id).
    const changed = [
      w.sim.triggerChange(batch.id, cvrs[0] as string),
      w.sim.triggerChange(batch.id, cvrs[0] as string),
      w.sim.triggerChange(batch.id, cvrs[2] as string),
    ];
    await w.sim.settle();
    summary = await w.poll();
    // Each read resumes on the page the last one ended on (page 2 of 3 items a page).
    expect(summary.batches[0]).toMatchObject({ result: "open", handedOn: 3, alreadyHandedOn: 1, pages: 2 });
    const fresh = await w.drain();
    expect(fresh.map((m) => m.reportId).sort()).toEqual([...changed].sort());
    summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({ result: "open", handedOn: 0, alreadyHandedOn: 1, pages: 1 });
    expect((await w.record(batch.id)).openPartition).toBe(OPEN_BATCH_PARTITION);

    // A change just before the stop: its report finishes after it, and is not lost.
    const last = w.sim.triggerChange(batch.id, cvrs[3] as string);
    w.sim.stopListening(batch.id);
    await w.sim.settle();
    summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({ result: "open", status: "ListeningStopped", handedOn: 1 });
    // The closing read goes over the whole list from page 1 (8 reports, 3 pages).
    summary = await w.poll();
    expect(summary.batches[0]).toMatchObject({
      result: "closed",
      closeReason: "ListeningStopped",
      handedOn: 0,
      pages: 3,
    });
    await w.drain();

    expect(w.received.map((m) => m.reportId)).toContain(last);
    expect(w.received).toHaveLength(8);
    expect(tally(w.received, true).size).toBe(8);
    expect(w.received.every((m) => m.reportType === "ReelleEjere")).toBe(true);
  });
});

describe("poll-batches: Lasso's errors and rate limit", () => {
  test("5xx and 429 injected on the items endpoint delay but never lose or duplicate a message", async () => {
    let listCalls = 0;
    let w: World | undefined;
    w = await world({ itemsPageSize: 10 }, (line) => {
      // After the first items page of the first poll: more failures than one call's retries.
      if (/\/items/.test(line) && ++listCalls === 1) {
        w?.sim.injectFault({ route: "listItems", status: 429, times: 5 });
        w?.sim.injectFault({ route: "listItems", status: 503, times: 5 });
        w?.sim.injectFault({ route: "listItems", status: 500, times: 2 });
      }
    });
    const { batch } = await w.submit({ cvrs: validCvrs(36_000_000, 50) });
    await w.sim.settle();

    // 429s beyond the client's retries pause the poll for Lasso's retry-after and it goes on;
    // the 503s after them fail the read, which the next polls finish.
    const first = await w.poll();
    expect(first.rateLimitHits).toBe(1);
    expect(first.rateLimitPausedMs).toBeGreaterThanOrEqual(900);
    expect(first.stoppedBy).toBeUndefined();
    expect(first.batches[0]).toMatchObject({ result: "error", handedOn: 10, completeRead: false });
    expect(first.errors).toBe(1);
    expect(first.batches[0]?.detail).toMatch(/503/);
    expect((await w.record(batch.id)).lastPollError).toMatch(/503/);
    await w.drain();
    const rest = await w.pollUntilClosed(batch.id);
    expect(rest.at(-1)?.batches[0]).toMatchObject({ result: "closed", alreadyHandedOn: 10, handedOn: 40 });
    expect(w.received).toHaveLength(50);
    expect(tally(w.received).size).toBe(50);
    const record = await w.record(batch.id);
    expect(record.lastPollError).toBeUndefined();
    expect(record.closeReason).toBe("Finished");
  });

  test("Lasso's own rate limit: a poll that cannot afford the pause stops, one that can waits and finishes every batch", async () => {
    // 5 requests per second: three batches of 4 requests each (status + 3 pages) do not fit.
    const w = await world({ itemsPageSize: 10, rateLimitPerMinute: 5, rateLimitWindowMs: 1000 });
    const batches = [];
    for (let i = 0; i < 3; i++) {
      batches.push((await w.submit({ cvrs: validCvrs(37_000_000 + i * 100_000, 30) })).batch);
    }
    await w.sim.settle();
    await delay(1100);

    // Less time left than Lasso's retry-after (1 s): the poll stops, nothing is lost.
    const short = await w.poll({ concurrency: 3, deadline: { remainingMs: () => 500 } });
    expect(short.stoppedBy).toBe("rateLimited");
    expect(short.closed).toBeLessThan(3);
    await w.drain();
    const afterShort = w.received.length;
    await delay(1100);

    // Time enough: the poll waits out each window, one call at a time, and closes all three.
    const long = await w.poll({ concurrency: 3 });
    await w.drain();
    expect(long.stoppedBy).toBeUndefined();
    expect(long.rateLimitHits).toBeGreaterThan(0);
    expect(long.closed + short.closed).toBe(3);
    expect(long.reportsHandedOn).toBe(90 - afterShort);
    expect(w.received).toHaveLength(90);
    expect(tally(w.received).size).toBe(90);
  });
});

describe("poll-batches: a rejected API key", () => {
  test("stops the poll at the first 401, touching no batch", async () => {
    const w = await world();
    const { batch } = await w.submit({ cvrs: validCvrs(42_000_000, 3) });
    await w.sim.settle();
    const wrongKey = new LassoClient({
      baseUrl: w.sim.baseUrl,
      apiKey: "not-the-key",
      retry: { retries: 0 },
    });
    const summary = await w.poll({ concurrency: 1 }, { lasso: wrongKey });
    expect(summary).toMatchObject({ stoppedBy: "unauthorized", reportsHandedOn: 0, errors: 0 });
    expect(summary.batches[0]).toMatchObject({ result: "deferred" });
    expect(await w.record(batch.id)).toMatchObject({ version: 1, openPartition: OPEN_BATCH_PARTITION });
    expect(await w.drain()).toEqual([]);
  });
});

describe("poll-batches: what needs a human", () => {
  test("a batch Lasso does not know is alarmed, then closed after three polls", async () => {
    const w = await world();
    const id = randomUUID();
    const now = new Date().toISOString();
    await putNewBatchRecord(w.table, {
      ...batchKey(id),
      recordType: "batch",
      lassoBatchId: id,
      name: "gone",
      reportType: "Revision",
      isListener: false,
      manifest: [],
      status: "Executing",
      lastProgressAt: now,
      openPartition: OPEN_BATCH_PARTITION,
      version: 1,
      createdAt: now,
      updatedAt: now,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await w.poll());
    expect(results.map((s) => s.batchesUnknownToLasso)).toEqual([1, 1, 1]);
    expect(results.map((s) => s.batches[0]?.result)).toEqual(["open", "open", "closed"]);
    const record = await w.record(id);
    expect(record).toMatchObject({ closeReason: "unknownToLasso", unknownPolls: 3 });
    expect(record.alerts?.BatchUnknownToLasso?.count).toBe(3);
    expect((await w.poll()).openBatches).toBe(0);
  });

  test("a batch that makes no progress past its scheduled time is alarmed as stalled, and the alarm clears", async () => {
    // The simulator's clock stands still: its batch stays Scheduled however late it gets.
    const simNow = new Date();
    const w = await world({ now: () => simNow });
    const { batch } = await w.submit({
      cvrs: validCvrs(38_000_000, 3),
      scheduledTime: new Date(simNow.getTime() + 60_000),
    });
    const at = (minutes: number) => () => new Date(simNow.getTime() + minutes * 60_000);

    const early = await w.poll({ stalledAfterMs: 30 * 60_000 }, { clock: at(20) });
    expect(early.batchesStalled).toBe(0);
    const late = await w.poll({ stalledAfterMs: 30 * 60_000 }, { clock: at(45) });
    expect(late.batchesStalled).toBe(1);
    expect(late.batches[0]).toMatchObject({ result: "open", stalled: true });
    const stalled = await w.record(batch.id);
    expect(stalled.alerts?.BatchStalled?.clearedAt).toBeUndefined();
    expect(stalled.alerts?.BatchStalled?.detail).toMatch(/Scheduled/);

    w.sim.runNow(batch.id);
    await w.sim.settle();
    const resumed = await w.poll({ stalledAfterMs: 30 * 60_000 }, { clock: at(50) });
    expect(resumed.batchesStalled).toBe(0);
    expect(resumed.batches[0]).toMatchObject({ result: "closed", handedOn: 3 });
    const done = await w.record(batch.id);
    expect(done.alerts?.BatchStalled?.clearedAt).toBeDefined();
  });
});

describe("poll-batches: many open batches within the deadline", () => {
  test("bounded concurrency; a poll cut short by its deadline leaves the rest for the next poll", async () => {
    const w = await world({ itemsPageSize: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await w.submit({ cvrs: validCvrs(40_000_000 + i * 50_000, 12) })).batch.id);
    await w.sim.settle();
    // The poller lists the open set without the records' manifests: it reads each record itself.
    const listed = await listOpenBatchesToPoll(w.table);
    expect(listed.map((entry) => entry.lassoBatchId).sort()).toEqual([...ids].sort());
    for (const entry of listed) {
      expect(
        Object.keys(entry).every((key) => ["recordType", "lassoBatchId", "lastPolledAt"].includes(key)),
      ).toBe(true);
    }

    let inFlight = 0;
    let maxInFlight = 0;
    const counting: LassoReader = {
      getBatch: async (id) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await delay(15);
          return await w.lasso.getBatch(id);
        } finally {
          inFlight--;
        }
      },
      listItems: (id, options) => w.lasso.listItems(id, options),
    };
    // A deadline that runs out after five batches have been started.
    let starts = 0;
    const first = await w.poll(
      {
        concurrency: 3,
        reserveMs: 1000,
        deadline: { remainingMs: () => (starts < 5 ? 10_000 : 0) },
      },
      {
        lasso: {
          getBatch: (id) => {
            starts++;
            return counting.getBatch(id);
          },
          listItems: counting.listItems,
        },
      },
    );
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(first.stoppedBy).toBe("deadline");
    expect(first.openBatches).toBe(12);
    expect(first.batches.length + first.notStarted).toBe(12);
    expect(first.notStarted).toBeGreaterThan(0);
    // Batches cut short inside (their pages stopped by the deadline) are left open too.
    expect(first.closed).toBeLessThan(12);

    const second = await w.poll({ concurrency: 3 }, { lasso: counting });
    expect(second.stoppedBy).toBeUndefined();
    await w.drain();
    expect(w.received).toHaveLength(12 * 12);
    expect(tally(w.received).size).toBe(12 * 12);
    expect(await Promise.all(ids.map(async (id) => (await w.record(id)).openPartition))).toEqual(
      ids.map(() => undefined),
    );
  });
});

describe("report hand-off (shared with the webhook path)", () => {
  const entry = (batchId: string, cvr: string, source: "poll" | "webhook" = "poll") => ({
    identity: `${batchId}#${cvr}#Revision`,
    reportType: "Revision" as const,
    message: {
      version: 1 as const,
      batchId,
      cvr,
      reportType: "Revision" as const,
      itemStatus: "Completed" as const,
      fileName: `${cvr}.pdf`,
      source,
      seenAt: new Date().toISOString(),
    },
  });

  /** An open batch of ours, whose one report (cvr 34580820) a read saw and held for its ring at `now`. */
  const putBatchWithHeldReport = async (
    w: Awaited<ReturnType<typeof world>>,
    id: string,
    now: Date,
    fields: Pick<BatchRecord, "name" | "status"> & Partial<BatchRecord>,
  ) => {
    await putNewBatchRecord(w.table, {
      ...batchKey(id),
      recordType: "batch",
      lassoBatchId: id,
      reportType: "Revision",
      isListener: false,
      manifest: [{ cvr: "34580820", customerId: 1 }],
      lastProgressAt: now.toISOString(),
      openPartition: OPEN_BATCH_PARTITION,
      version: 1,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      ...fields,
    });
    const held = entry(id, "34580820");
    const seen = await handOnReports({ table: w.table, queue: w.queue }, [held], now, 3_600_000);
    expect(seen.held).toHaveLength(1);
    await addHeld(w.table, id, [{ identity: held.identity, seenAt: now.toISOString() }], now);
  };

  test("a report marked by another sender between the check and the mark is counted as raced, not handed on twice", async () => {
    const w = await world();
    const batchId = randomUUID();
    const entries = ["34580820", "12345674", "30000003"].map((cvr) => entry(batchId, cvr));
    // The webhook path hands the second report on while the poller is sending.
    const racing = new SQSClient({});
    racing.middlewareStack.add(
      (next) => async (args) => {
        await markHandedOn(w.table, entry(batchId, "12345674", "webhook"), new Date());
        return next(args);
      },
      { step: "initialize", name: "webhookRace" },
    );
    const result = await handOnReports(
      { table: w.table, queue: { sqs: racing, queueUrl: w.queue.queueUrl } },
      entries,
      new Date(),
    );
    expect(result.handedOn.map((e) => e.message.cvr)).toEqual(["34580820", "30000003"]);
    expect(result.raced.map((e) => e.message.cvr)).toEqual(["12345674"]);
    expect((await reportRecord(w.table, `${batchId}#12345674#Revision`))?.handedOnSource).toBe("webhook");
    expect(await w.drain()).toHaveLength(3);

    // Seen again (by either path): nothing is sent.
    const again = await handOnReports({ table: w.table, queue: w.queue }, entries, new Date());
    expect(again.alreadyHandedOn).toHaveLength(3);
    expect(await w.drain()).toEqual([]);
  });

  test("the marker does not overwrite what the delivery already wrote on the report record", async () => {
    const w = await world();
    const batchId = randomUUID();
    const first = entry(batchId, "34580820");
    await w.table.doc.send(
      new PutCommand({
        TableName: w.table.tableName,
        Item: {
          ...reportKey(first.identity),
          recordType: "report",
          identity: first.identity,
          lassoBatchId: batchId,
          cvr: "34580820",
          reportType: "Revision",
          itemStatus: "Completed",
          fileName: "as-delivered.pdf",
          deliveryStatus: "delivered",
          createdAt: "2026-01-01T00:00:00.000Z",
          updatedAt: "2026-01-01T00:00:00.000Z",
          expiresAt: 1,
        },
      }),
    );
    expect(await markHandedOn(w.table, first, new Date())).toBe(true);
    expect(await markHandedOn(w.table, first, new Date())).toBe(false);
    const record = await reportRecord(w.table, first.identity);
    expect(record).toMatchObject({
      deliveryStatus: "delivered",
      fileName: "as-delivered.pdf",
      handedOnSource: "poll",
    });
    expect(record?.createdAt).toBe("2026-01-01T00:00:00.000Z");
    expect(record?.handedOnAt).toBeDefined();
  });

  test("with a hold, a report is first seen (Lasso's facts on its record), sent only when its hold is over and no delivery is on record", async () => {
    const w = await world();
    const batchId = randomUUID();
    const [rung, claimed, lost] = ["34580820", "12345674", "30000003"].map((cvr) => entry(batchId, cvr)) as [
      ReturnType<typeof entry>,
      ReturnType<typeof entry>,
      ReturnType<typeof entry>,
    ];
    const t0 = new Date("2026-12-01T08:00:00.000Z");
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    const ports = { table: w.table, queue: w.queue };
    const hold = 60_000;

    const first = await handOnReports(ports, [rung, claimed, lost], t0, hold);
    expect(first.held).toHaveLength(3);
    expect(first.handedOn).toEqual([]);
    expect(await w.drain()).toEqual([]);
    expect(await reportRecord(w.table, lost.identity)).toMatchObject({
      seenAt: t0.toISOString(),
      ready: { batchId, cvr: "30000003", fileName: "30000003.pdf", source: "poll" },
    });

    // The rings come: one delivers (an outcome on record), one is still delivering (a claim
    // live until 08:05), the third never comes.
    const setStatus = (identity: string, status: string, claimUntil?: Date) =>
      w.table.doc.send(
        new UpdateCommand({
          TableName: w.table.tableName,
          Key: reportKey(identity),
          UpdateExpression: claimUntil === undefined ? "SET #s = :s" : "SET #s = :s, #u = :u",
          ExpressionAttributeNames: { "#s": "deliveryStatus", ...(claimUntil ? { "#u": "claimUntil" } : {}) },
          ExpressionAttributeValues: {
            ":s": status,
            ...(claimUntil ? { ":u": claimUntil.toISOString() } : {}),
          },
        }),
      );
    await setStatus(rung.identity, "delivered");
    await setStatus(claimed.identity, "claimed", at(300));

    // Within the hold nothing is sent; a second read keeps the first sighting's time.
    const within = await handOnReports(ports, [rung, claimed, lost], at(30), hold);
    expect(within.alreadyHandedOn.map((e) => e.message.cvr).sort()).toEqual(["12345674", "34580820"]);
    expect(within.held.map((e) => e.message.cvr)).toEqual(["30000003"]);
    expect((await reportRecord(w.table, lost.identity))?.seenAt).toBe(t0.toISOString());

    // The hold is over: the lost ring's report is sent, once.
    const after = await handOnReports(ports, [rung, claimed, lost], at(61), hold);
    expect(after.handedOn.map((e) => e.message.cvr)).toEqual(["30000003"]);
    expect((await w.drain()).map((m) => m.cvr)).toEqual(["30000003"]);
    expect((await handOnReports(ports, [lost], at(62), hold)).alreadyHandedOn).toHaveLength(1);

    // A claim past its time is no delivery (the attempt crashed): the report is sent.
    const late = await handOnReports(ports, [claimed], at(301), hold);
    expect(late.handedOn.map((e) => e.message.cvr)).toEqual(["12345674"]);
    expect(await w.drain()).toHaveLength(1);
  });

  test("a ring's delivery in place that fails on the ring's last receive hands the report on as a message of its own", async () => {
    const w = await world();
    const ringed = entry(randomUUID(), "34580820");
    const metrics = new RecordingCounter();
    const deps = {
      state: w.table,
      queue: w.queue,
      clock: () => new Date(),
      metrics,
      logger: silentLog,
      config: { ringMaxReceives: 3 } as DoorbellConfig,
    };
    const failing = async (): Promise<never> => {
      throw new RetryLaterError("pdf-throttled", "Lasso said 429", { retryAfterMs: 5_000 });
    };
    const deadline = new Date(Date.now() + 60_000);
    // Receives before the last: the error stands, the queue brings the ring back.
    await expect(deliverInPlace(ringed, deps, { deadline, receiveCount: 2 }, failing)).rejects.toThrow(
      RetryLaterError,
    );
    expect(await w.drain()).toEqual([]);
    // The last: the report goes on the queue, with the queue's whole retry budget.
    const outcome = await deliverInPlace(ringed, deps, { deadline, receiveCount: 3 }, failing);
    expect(outcome).toMatchObject({ outcome: "read", handedOn: 1 });
    expect((await w.drain()).map((m) => m.cvr)).toEqual(["34580820"]);
    expect((await reportRecord(w.table, ringed.identity))?.handedOnAt).toBeDefined();
    // Another error than a retry-later one is not the ring's to absorb.
    const broken = async (): Promise<never> => {
      throw new Error("bug");
    };
    await expect(deliverInPlace(ringed, deps, { deadline, receiveCount: 3 }, broken)).rejects.toThrow("bug");
  });

  test("without a hold (no webhook rings for the batch) a report is sent at once and nothing is seen", async () => {
    const w = await world();
    const one = entry(randomUUID(), "34580820");
    const result = await handOnReports({ table: w.table, queue: w.queue }, [one], new Date(), 0);
    expect(result.handedOn).toHaveLength(1);
    expect(result.held).toEqual([]);
    const record = await reportRecord(w.table, one.identity);
    expect(record?.handedOnAt).toBeDefined();
    expect(record?.seenAt).toBeUndefined();
  });

  test("a batch Lasso stops knowing sends what it held for rings before it closes", async () => {
    const w = await world();
    const id = randomUUID();
    const now = new Date();
    await putBatchWithHeldReport(w, id, now, { name: "gone", status: "Executing" });
    // An earlier read held a report for its ring, which never came.
    const held = entry(id, "34580820");

    const results = [];
    for (let i = 0; i < 3; i++) results.push(await w.poll({ webhookGraceMs: 3_600_000 }));
    expect(results.map((s) => s.batches[0]?.result)).toEqual(["open", "open", "closed"]);
    expect(results.map((s) => s.reportsSentAfterHold)).toEqual([0, 0, 1]);
    expect((await w.drain()).map((m) => m.cvr)).toEqual(["34580820"]);
    expect(await readHeld(w.table, id)).toEqual([]);
    expect((await reportRecord(w.table, held.identity))?.ready).toBeUndefined();
  });

  test("a batch whose closing read is done waits for its held reports without asking Lasso, then closes", async () => {
    const w = await world();
    const id = randomUUID(); // unknown to the simulator: any Lasso call would answer 404
    const now = new Date();
    await putBatchWithHeldReport(w, id, now, {
      name: "done, waiting for rings",
      status: "Finished",
      closeWhenSettled: "Finished",
    });
    const held = entry(id, "34580820");

    const waiting = await w.poll({ webhookGraceMs: 3_600_000 });
    expect(waiting.batchesUnknownToLasso).toBe(0);
    expect(waiting.batches[0]).toMatchObject({ result: "open", held: 1, pages: 0 });
    // Its ring delivers it, and takes it out of the held set: the next poll closes the batch
    // with the reason the read decided.
    const delivered = await deliverInPlace(
      { identity: held.identity, message: held.message, seenAt: now.toISOString() },
      {
        state: w.table,
        queue: w.queue,
        clock: () => new Date(),
        metrics: new RecordingCounter(),
        logger: silentLog,
        config: { ringMaxReceives: 3 } as DoorbellConfig,
      },
      { deadline: new Date(Date.now() + 60_000), receiveCount: 1 },
      async () => {
        await w.table.doc.send(
          new UpdateCommand({
            TableName: w.table.tableName,
            Key: reportKey(held.identity),
            UpdateExpression: "SET deliveryStatus = :delivered",
            ExpressionAttributeValues: { ":delivered": "delivered" },
          }),
        );
        return "mailed";
      },
    );
    expect(delivered).toBe("mailed");
    expect(await readHeld(w.table, id)).toEqual([]);
    const closing = await w.poll({ webhookGraceMs: 3_600_000 });
    expect(closing.batchesUnknownToLasso).toBe(0);
    expect(closing.batches[0]).toMatchObject({ result: "closed", closeReason: "Finished", held: 0 });
    expect(await w.record(id)).toMatchObject({ closeReason: "Finished" });
    expect(await w.drain()).toEqual([]);
  });

  test("the held set is read only once a hold can be over, at the latest every 15 minutes", async () => {
    // One report every 800 ms, in order: the batch runs for eight seconds, these polls take two.
    const w = await world({ reportDelayMs: 800 });
    const { batch } = await w.submit({ cvrs: validCvrs(36_000_000, 10) });
    let heldReads = 0;
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        // The client's own command, its key marshalled: `sk` is { S: "HELD" }.
        const key = JSON.stringify((args.input as { Key?: unknown }).Key ?? {});
        if (context.commandName === "GetItemCommand" && key.includes('"HELD"')) heldReads++;
        return next(args);
      },
      { step: "initialize", name: "countHeldReads" },
    );
    const table = { ...w.table, doc };
    const pollCounting = async (clock?: () => Date, webhookGraceMs = 60_000) => {
      const before = heldReads;
      const summary = await w.poll({ webhookGraceMs }, { table, ...(clock ? { clock } : {}) });
      return { summary, heldReads: heldReads - before };
    };
    await delay(2_000);

    // No settle on record yet: the set is read.
    const first = await pollCounting();
    expect(first.summary.batches[0]).toMatchObject({ result: "open", status: "Executing" });
    expect(first.heldReads).toBe(1);
    expect(first.summary.reportsHeld).toBeGreaterThan(0);
    const heldFrom = (await w.record(batch.id)).heldFrom;
    expect(heldFrom).toEqual(expect.any(String));

    // Within the hold, the batch still running: nothing in the set can go, and it is not read.
    const second = await pollCounting();
    expect(second.summary.batches[0]).toMatchObject({ result: "open", status: "Executing" });
    expect(second.heldReads).toBe(0);
    expect(await w.drain()).toEqual([]);
    expect((await w.record(batch.id)).heldFrom).toBe(heldFrom);

    // The hold is over (no ring came): the set is read, and what it held is sent.
    const third = await pollCounting(() => new Date(Date.now() + 61_000));
    expect(third.heldReads).toBe(1);
    expect(third.summary.reportsSentAfterHold).toBeGreaterThanOrEqual(first.summary.reportsHeld);
    expect((await w.drain()).length).toBe(third.summary.reportsSentAfterHold);
    expect((await w.record(batch.id)).heldFrom).not.toBe(heldFrom);

    // With holds of an hour, nothing can be due; the set is still read 15 minutes after the last settle.
    const later = (ms: number) => () => new Date(Date.now() + 61_000 + ms);
    expect((await pollCounting(later(14 * 60_000), 3_600_000)).heldReads).toBe(0);
    expect((await pollCounting(later(15 * 60_000 + 1_000), 3_600_000)).heldReads).toBe(1);
    expect((await pollCounting(later(15 * 60_000 + 2_000), 3_600_000)).heldReads).toBe(0);
  });

  test("the hold for rings: the grace while the report-ready queue is empty, 15 minutes while it holds messages", async () => {
    const w = await world();
    const ports = w.ports();
    expect(await webhookHoldMs(ports, 0)).toBe(0);
    expect(await webhookHoldMs(ports, 120_000)).toBe(120_000);
    await sendReportReady(w.queue, [entry(randomUUID(), "34580820").message]);
    expect(await webhookHoldMs(ports, 120_000)).toBe(WEBHOOK_GRACE_BUSY_MS);
    await w.drain();
    // A depth that cannot be read counts as empty: an early send costs a message, not a mail.
    const broken = { ...ports, queue: { sqs: w.queue.sqs, queueUrl: `${w.queue.queueUrl}-missing` } };
    expect(await webhookHoldMs(broken, 120_000)).toBe(120_000);
  });
});
