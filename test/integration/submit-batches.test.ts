/**
 * submit-batches against the real emulators (dynalite, Secrets Manager) and the Lasso
 * simulator over HTTP: selection from hand-edited rows, the dry run, idempotency (twice,
 * concurrently, through the handler) and listener coverage.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { describe, expect, test } from "vitest";
import { planSchedule } from "#lambdas/submit-batches/plan.ts";
import type { LassoBatchPort } from "#lambdas/submit-batches/ports.ts";
import { submitScheduledRun } from "#lambdas/submit-batches/submit-run.ts";
import { type ScheduleConfig, scheduleSchema } from "#lib/config/schema.ts";
import { LassoApiError } from "#shared/lasso/errors.ts";
import { getBatchManifest, getBatchRecord } from "#shared/state/batches.ts";
import { listChunks } from "#shared/state/chunks.ts";
import { listenerCoverageKey, runKey } from "#shared/state/keys.ts";
import { releaseListenerCoverage } from "#shared/state/listener-coverage.ts";
import { getRun } from "#shared/state/runs.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const pipeline = usePipeline();

const schedule = (input: Partial<ScheduleConfig> & { name: string }): ScheduleConfig =>
  scheduleSchema.parse({
    cron: "cron(0 6 1 * ? *)",
    timeZone: "Europe/Copenhagen",
    reportType: "Revision",
    group: "kunder",
    errorAppend: "#fejl",
    ...input,
  });

const settings = { chunkSize: 10, reserveMs: 1000 };

const batchesOf = (scheduleName: string) =>
  pipeline.current.sim.batches().filter((batch) => batch.name.startsWith(`${scheduleName} `));

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: string | number): AttributeValue => ({ N: String(value) });
const ss = (...values: string[]): AttributeValue => ({ SS: values });

/**
 * 25 rows of group "kunder" and "andre", as people leave them after editing by hand:
 * 14 to select (several written loosely), 2 disabled, 2 of another group, 2 not wanting
 * Revision, and 5 broken in different ways.
 */
function handEditedRows(): Record<string, AttributeValue>[] {
  const good = (i: number, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
    customerId: n(1000 + i),
    cvr: s(testCvr(i)),
    name: s(`Kunde ${i} ApS`),
    emails: ss(`kunde${i}@example.dk`),
    reportTypes: ss("Revision"),
    group: s("kunder"),
    ...extra,
  });
  const rows: Record<string, AttributeValue>[] = [];
  for (let i = 0; i < 14; i++) rows.push(good(i));
  // Written loosely, still meant and usable:
  rows[0] = good(0, {
    emails: { L: [s("a0@example.dk"), s("b0@example.dk; c0@example.dk")] },
    reportTypes: s("revision; finans"),
  });
  rows[1] = good(1, { enabled: s("true"), language: s("EN") });
  rows[2] = good(2, { format: s("{cvr}-særlig-{type}") });
  rows[3] = good(3, { Emails: s("d3@example.dk,e3@example.dk"), enabled: { BOOL: true } });
  rows.push(good(14, { enabled: { BOOL: false } }));
  rows.push(good(15, { enabled: { BOOL: false }, cvr: s("123") })); // off: its broken cvr is no concern
  rows.push(good(16, { group: s("andre") }));
  rows.push(good(17, { group: s("andre") }));
  rows.push(good(18, { reportTypes: ss("Finans") }));
  rows.push(good(19, { reportTypes: ss("ReelleEjere", "Finans") }));
  rows.push(good(20, { cvr: s("34580821") }));
  rows.push(good(21, { emails: ss("ingen", "bogholderi@") }));
  rows.push(good(22, { reportTypes: ss("Revision", "Revisjon") }));
  rows.push(good(23, { customerId: n("1023.5") }));
  rows.push(good(24, { customerId: n("99999999999999999999") }));
  return rows;
}

const expectedSelected = Array.from({ length: 14 }, (_, i) => ({ customerId: 1000 + i, cvr: testCvr(i) }));

const expectedSkipped = [
  { customerId: 1020, reason: "cvr 34580821 fails the modulus-11 check digit (a typo?)" },
  { customerId: 1021, cvr: testCvr(21), reason: 'no valid e-mail address ("ingen", "bogholderi@")' },
  {
    customerId: 1022,
    cvr: testCvr(22),
    reason: 'unknown report type(s) "Revisjon" (known: Revision, Finans, ReelleEjere, RevisionUdvidet)',
  },
  // The unusable table key still names the row (selection.ts: skippedRow).
  { customerId: 1023.5, cvr: testCvr(23), reason: 'customerId "1023.5" is not a whole number' },
  {
    cvr: testCvr(24),
    reason: "customerId 99999999999999999999 must be between 1 and 2147483647 (Lasso's int32)",
  },
];

const sortById = <T extends { customerId?: number; cvr?: string }>(rows: T[]): T[] =>
  [...rows].sort(
    (a, b) => (a.customerId ?? 0) - (b.customerId ?? 0) || (a.cvr ?? "").localeCompare(b.cvr ?? ""),
  );

describe("a run over 25 hand-edited customers", () => {
  const monthly = schedule({ name: "monthly-revision" });
  const scheduledTime = "2024-05-01T04:00:00Z";

  test("the dry run shows batches and skipped rows without calling Lasso or writing state", async () => {
    const p = pipeline.current;
    await p.putRawCustomers(handEditedRows());
    const plan = await planSchedule(
      { customers: p.submitPorts().customers },
      { schedule: monthly, scheduledTime },
      settings,
    );
    expect(plan.chunks.map((chunk) => chunk.manifest.length)).toEqual([10, 4]);
    expect(
      plan.chunks.flatMap((chunk) => chunk.manifest.map(({ customerId, cvr }) => ({ customerId, cvr }))),
    ).toEqual(expectedSelected);
    expect(sortById(plan.skipped)).toEqual(sortById(expectedSkipped));
    expect(plan.counts).toEqual({
      customersRead: 23,
      selected: 14,
      disabled: 2,
      notWanted: 2,
      alreadyCovered: 0,
      skipped: 5,
      warnings: 0,
    });
    expect(plan.chunks[0]?.batchName).toMatch(/^monthly-revision 2024-05-01 \(1\/2\) \[lr-[0-9a-f]{16}\]$/);
    expect(p.sim.batches()).toHaveLength(0);
    expect(await getRun(p.state, runKey(monthly.name, plan.scheduledTime))).toBeUndefined();
  });

  test("submits exactly the selected customers, records the skipped rows, and the simulator holds the batches", async () => {
    const p = pipeline.current;
    const result = await submitScheduledRun(p.submitPorts(), { schedule: monthly, scheduledTime }, settings);
    expect(result.outcome).toBe("submitted");
    expect(result.batchesSubmittedNow).toBe(2);
    expect(sortById(result.skipped)).toEqual(sortById(expectedSkipped));

    const batches = batchesOf("monthly-revision");
    expect(batches).toHaveLength(2);
    const items = batches.flatMap((batch) =>
      batch.requestedItems.map((item) => ({ customerId: item.internalCustomerId, cvr: item.cvr })),
    );
    expect(sortById(items.map((item) => ({ customerId: item.customerId ?? 0, cvr: item.cvr })))).toEqual(
      expectedSelected,
    );
    for (const batch of batches) {
      expect(batch.type).toBe(0); // Revision
      expect(batch.notificationWebHookUrl).toBe(p.webhookUrl);
      expect(batch.authConfig).toEqual({
        method: "Header",
        key: p.webhookHeaderName,
        value: p.webhookSecret,
      });
      expect(batch.errorAppend).toBe("#fejl");
      expect(batch.format).toBe(monthly.format);
      expect(batch.isListener).toBe(false);
    }
    const special = batches.flatMap((b) => b.requestedItems).find((item) => item.internalCustomerId === 1002);
    expect(special?.format).toBe("{cvr}-særlig-{type}");

    const run = await getRun(p.state, runKey(monthly.name, result.scheduledTime));
    expect(run).toMatchObject({
      status: "submitted",
      schedule: "monthly-revision",
      scheduledTime: "2024-05-01T04:00:00.000Z",
      reportType: "Revision",
      group: "kunder",
      chunkCount: 2,
      batchesSubmitted: 2,
      batchesRejected: 0,
      counts: { selected: 14, skipped: 5, disabled: 2, notWanted: 2, customersRead: 23 },
      runsPartition: "RUN",
    });
    expect(run?.leaseOwner).toBeUndefined();
    expect(sortById(run?.skippedRows ?? [])).toEqual(sortById(expectedSkipped));

    // Every batch record is open for the poller, and its manifest is an item beside it.
    const chunks = await listChunks(p.state, result.runPk, run?.planId ?? "");
    expect(chunks.map((chunk) => chunk.status)).toEqual(["submitted", "submitted"]);
    for (const chunk of chunks) {
      const record = await getBatchRecord(p.state, chunk.lassoBatchId ?? "");
      const simBatch = batches.find((batch) => batch.id === chunk.lassoBatchId);
      expect(record).toMatchObject({
        openPartition: "OPEN",
        version: 1,
        isListener: false,
        reportType: "Revision",
        runPk: result.runPk,
        schedule: "monthly-revision",
        chunkIndex: chunk.chunkIndex,
        name: simBatch?.name,
        customerCount: simBatch?.requestedItems.length,
      });
      expect(record).not.toHaveProperty("manifest");
      expect(await getBatchManifest(p.state, chunk.lassoBatchId ?? "")).toEqual(
        simBatch?.requestedItems.map((item) => ({ customerId: item.internalCustomerId, cvr: item.cvr })),
      );
    }
  });

  test("the same (schedule, scheduled time) again submits nothing and says so", async () => {
    const p = pipeline.current;
    // Written differently, the same instant: the same run.
    const again = await submitScheduledRun(
      p.submitPorts(),
      { schedule: monthly, scheduledTime: "2024-05-01T06:00:00+02:00" },
      settings,
    );
    expect(again.outcome).toBe("already-submitted");
    expect(again.batchesSubmittedNow).toBe(0);
    expect(batchesOf("monthly-revision")).toHaveLength(2);
  });
});

describe("concurrent and repeated invocations", () => {
  test("three concurrent invocations of one firing create each batch once", async () => {
    const p = pipeline.current;
    await p.putCustomers(
      Array.from({ length: 30 }, (_, i) => customerItem(100 + i, {}, { group: "samtidig" })),
    );
    const racing = schedule({ name: "race", group: "samtidig" });
    const results = await Promise.all(
      [1, 2, 3].map((i) =>
        submitScheduledRun(
          p.submitPorts({ invocationId: `racer-${i}` }),
          { schedule: racing, scheduledTime: "2024-06-01T04:00:00Z" },
          settings,
        ),
      ),
    );
    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes.filter((o) => o === "submitted")).toHaveLength(1);
    expect(
      outcomes.every((o) => ["submitted", "in-progress-elsewhere", "already-submitted"].includes(o)),
    ).toBe(true);
    const batches = batchesOf("race");
    expect(batches).toHaveLength(3);
    const cvrs = batches.flatMap((batch) => batch.requestedItems.map((item) => item.cvr));
    expect(new Set(cvrs).size).toBe(30);
    expect(cvrs).toHaveLength(30);
  });

  test("through the Lambda handler: secrets and config from the environment, a repeat is a no-op", async () => {
    const p = pipeline.current;
    await p.putCustomers(
      Array.from({ length: 3 }, (_, i) => customerItem(200 + i, {}, { group: "handler" })),
    );
    const { handler } = await import("#lambdas/submit-batches/handler.ts");
    const event = {
      schedule: { ...schedule({ name: "via-handler", group: "handler" }) },
      scheduledTime: "2024-07-01T04:00:00Z",
    };
    const context = (awsRequestId: string): Context => ({
      awsRequestId,
      functionName: "submit-batches",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:eu-central-1:000000000000:function:submit-batches",
      memoryLimitInMB: "512",
      logGroupName: "/aws/lambda/submit-batches",
      logStreamName: "local",
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 300_000,
      done: () => {},
      fail: () => {},
      succeed: () => {},
    });
    const first = await handler(event, context("request-1"));
    expect(first).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 1, skippedRows: 0 });
    const second = await handler(event, context("request-2"));
    expect(second).toMatchObject({ outcome: "already-submitted", batchesSubmittedNow: 0 });
    const batches = batchesOf("via-handler");
    expect(batches).toHaveLength(1);
    expect(batches[0]?.authConfig).toEqual({
      method: "Header",
      key: p.webhookHeaderName,
      value: p.webhookSecret,
    });
    expect(batches[0]?.requestedItems.map((item) => item.internalCustomerId)).toEqual([1200, 1201, 1202]);

    // Another invocation holds a live lease on a run: this one sends nothing and fails, so
    // Lambda retries it later to confirm the run finished.
    const busyTime = "2024-07-02T04:00:00.000Z";
    const now = new Date().toISOString();
    await p.doc.send(
      new PutCommand({
        TableName: p.state.tableName,
        Item: {
          ...runKey("via-handler", busyTime),
          recordType: "run",
          runsPartition: "RUN",
          runId: "other",
          schedule: "via-handler",
          scheduledTime: busyTime,
          reportType: "Revision",
          group: "handler",
          isListener: false,
          status: "planning",
          batchesSubmitted: 0,
          batchesRejected: 0,
          leaseOwner: "someone-else",
          leaseUntil: new Date(Date.now() + 600_000).toISOString(),
          invocations: 1,
          createdAt: now,
          updatedAt: now,
          expiresAt: 2_000_000_000,
        },
      }),
    );
    await expect(handler({ ...event, scheduledTime: busyTime }, context("request-3"))).rejects.toMatchObject({
      name: "RunBusyError",
    });
    expect(batchesOf("via-handler")).toHaveLength(1);

    await expect(handler({ schedule: { name: "x" }, scheduledTime: "soon" }, context("bad"))).rejects.toThrow(
      /invalid submit-batches event: .*schedule\.cron: a schedule needs cron .*scheduledTime: must be an ISO 8601 date-time/,
    );
  });
});

describe("a run of some customers only (the operator's run SCHEDULE --customer ID…)", () => {
  test("submits only them, as a run of its own keyed on them, and a repeat submits nothing", async () => {
    const p = pipeline.current;
    await p.putCustomers(Array.from({ length: 5 }, (_, i) => customerItem(300 + i, {}, { group: "nogle" })));
    const some = schedule({ name: "nogle", group: "nogle" });
    const scheduledTime = "2024-07-01T04:00:00.000Z";
    const whole = await submitScheduledRun(p.submitPorts(), { schedule: some, scheduledTime }, settings);
    expect(whole.outcome).toBe("submitted");

    // The same second, two customers only (given unsorted, one twice): a run of its own.
    const input = { schedule: some, scheduledTime, customerIds: [1303, 1301, 1303] };
    const first = await submitScheduledRun(p.submitPorts(), input, settings);
    expect(first).toMatchObject({
      outcome: "submitted",
      runPk: `RUN#nogle#${scheduledTime}#customers=1301,1303`,
      batchesSubmittedNow: 1,
      counts: { customersRead: 2, selected: 2 },
    });
    const run = await getRun(p.state, runKey("nogle", scheduledTime, [1301, 1303]));
    expect(run).toMatchObject({ customerIds: [1301, 1303], status: "submitted" });
    const batches = batchesOf("nogle");
    expect(batches).toHaveLength(2);
    const targeted = batches.find((batch) => batch.requestedItems.length === 2);
    expect(targeted?.requestedItems.map((item) => item.internalCustomerId)).toEqual([1301, 1303]);
    // Its batch name's token is its own: the whole run's batch of the same second is not mistaken for it.
    expect(new Set(batches.map((batch) => batch.name)).size).toBe(2);

    const again = await submitScheduledRun(p.submitPorts(), input, settings);
    expect(again.outcome).toBe("already-submitted");
    expect(batchesOf("nogle")).toHaveLength(2);
  });
});

describe("listener schedules", () => {
  test("keep every customer covered once: a second run covers only the newcomers", async () => {
    const p = pipeline.current;
    const watch = schedule({
      name: "owners-watch",
      reportType: "ReelleEjere",
      group: "ejere",
      listener: { triggerNow: true },
    });
    const owners = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) =>
        customerItem(300 + from + i, {}, { group: "ejere", reportTypes: ["ReelleEjere"] }),
      );
    await p.putCustomers(owners(0, 5));

    const first = await submitScheduledRun(
      p.submitPorts(),
      { schedule: watch, scheduledTime: "2024-05-01T00:30:00Z" },
      settings,
    );
    expect(first).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 1 });
    expect(batchesOf("owners-watch")).toHaveLength(1);
    const [listener] = batchesOf("owners-watch");
    expect(listener?.isListener).toBe(true);
    expect(listener?.triggerNow).toBe(true);
    expect(listener?.requestedItems.map((item) => item.internalCustomerId)).toEqual([
      1300, 1301, 1302, 1303, 1304,
    ]);

    await p.putCustomers(owners(5, 2));
    const second = await submitScheduledRun(
      p.submitPorts(),
      { schedule: watch, scheduledTime: "2024-05-02T00:30:00Z" },
      settings,
    );
    expect(second).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 1 });
    expect(second.counts).toMatchObject({ selected: 2, alreadyCovered: 5 });
    const batches = batchesOf("owners-watch");
    expect(batches).toHaveLength(2);
    expect(batches[1]?.requestedItems.map((item) => item.internalCustomerId)).toEqual([1305, 1306]);

    // Nothing new: no batch at all, and each coverage record names its chunk.
    const third = await submitScheduledRun(
      p.submitPorts(),
      { schedule: watch, scheduledTime: "2024-05-03T00:30:00Z" },
      settings,
    );
    expect(third).toMatchObject({
      outcome: "submitted",
      chunkCount: 0,
      counts: { selected: 0, alreadyCovered: 7 },
    });
    expect(batchesOf("owners-watch")).toHaveLength(2);
    const coverage = await p.doc.send(
      new GetCommand({ TableName: p.state.tableName, Key: listenerCoverageKey("ReelleEjere", 1305) }),
    );
    expect(coverage.Item).toMatchObject({ runPk: second.runPk, chunkIndex: 1, cvr: testCvr(305) });

    // The dry run agrees: everyone is covered.
    const plan = await planSchedule(
      { customers: p.submitPorts().customers, state: p.state },
      { schedule: watch, scheduledTime: "2024-05-04T00:30:00Z" },
      settings,
    );
    expect(plan.chunks).toHaveLength(0);
    expect(plan.alreadyCovered.map((c) => c.customerId)).toEqual([1300, 1301, 1302, 1303, 1304, 1305, 1306]);
  });

  test("a listener batch Lasso refused is taken over by the next firing, and a stopped one is covered again", async () => {
    const p = pipeline.current;
    const watch = schedule({
      name: "owners-retry",
      reportType: "ReelleEjere",
      group: "ejere2",
      listener: { triggerNow: false },
    });
    await p.putCustomers(
      Array.from({ length: 3 }, (_, i) =>
        customerItem(400 + i, {}, { group: "ejere2", reportTypes: ["ReelleEjere"] }),
      ),
    );
    const real = p.lassoClient();
    const refusing: LassoBatchPort = {
      createBatch: async () => {
        throw new LassoApiError({
          operation: "createBatch",
          request: "POST /apps/reporting/batches",
          status: 400,
        });
      },
      findBatchByToken: (token) => real.findBatchByToken(token),
    };
    const first = { schedule: watch, scheduledTime: "2024-05-01T00:30:00Z" };
    const refused = await submitScheduledRun(p.submitPorts({ lasso: refusing }), first, settings);
    expect(refused).toMatchObject({ outcome: "partial", batchesRejectedNow: 1 });

    // The next firing takes the refused customers over instead of leaving them uncovered.
    const next = await submitScheduledRun(
      p.submitPorts(),
      { schedule: watch, scheduledTime: "2024-05-02T00:30:00Z" },
      settings,
    );
    expect(next).toMatchObject({
      outcome: "submitted",
      batchesSubmittedNow: 1,
      counts: { selected: 3, alreadyCovered: 0 },
    });
    // The refused run, re-invoked, must not send its chunk any more: it was superseded.
    const again = await submitScheduledRun(p.submitPorts(), first, settings);
    expect(again).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 0 });
    expect(again.chunks.map((chunk) => chunk.status)).toEqual(["superseded"]);
    expect(batchesOf("owners-retry")).toHaveLength(1);

    // The poller releases the coverage of a batch that stopped listening: the next run covers again.
    const [chunk] = next.chunks;
    const record = await getBatchRecord(p.state, chunk?.lassoBatchId ?? "");
    if (record === undefined) throw new Error("batch record missing");
    const listening = { ...record, manifest: await getBatchManifest(p.state, record.lassoBatchId) };
    expect(await releaseListenerCoverage(p.state, listening)).toBe(3);
    const third = await submitScheduledRun(
      p.submitPorts(),
      { schedule: watch, scheduledTime: "2024-05-03T00:30:00Z" },
      settings,
    );
    expect(third).toMatchObject({ batchesSubmittedNow: 1, counts: { selected: 3, alreadyCovered: 0 } });
    expect(batchesOf("owners-retry")).toHaveLength(2);
    // Released coverage that a newer batch holds is left alone.
    expect(await releaseListenerCoverage(p.state, listening)).toBe(0);
  });
});

describe("a business-day rule (Scheduler fires its candidate cron; submit-batches keeps the rule's days)", () => {
  const firstBankDay = schedule({
    name: "bankdag",
    group: "bankdag",
    cron: undefined,
    businessDay: 1,
    at: "07:00",
  });

  test("a candidate on a holiday submits nothing and writes no run; the rule's day submits; an operator's run goes any day", async () => {
    const p = pipeline.current;
    await p.putCustomers(
      Array.from({ length: 2 }, (_, i) => customerItem(400 + i, {}, { group: "bankdag" })),
    );
    // 07:00 on 2027-01-01 in Copenhagen: Nytårsdag, a candidate of cron(0 7 1-10 * ? *).
    const holiday = "2027-01-01T06:00:00.000Z";
    const skipped = await submitScheduledRun(
      p.submitPorts(),
      { schedule: firstBankDay, scheduledTime: holiday },
      settings,
    );
    expect(skipped).toMatchObject({ outcome: "not-a-business-day", batchesSubmittedNow: 0, chunkCount: 0 });
    expect(await getRun(p.state, runKey("bankdag", holiday))).toBeUndefined();
    // A business day that is not the first of the month: also not a firing.
    const second = "2027-01-05T06:00:00.000Z";
    expect(
      (await submitScheduledRun(p.submitPorts(), { schedule: firstBankDay, scheduledTime: second }, settings))
        .outcome,
    ).toBe("not-a-business-day");
    expect(batchesOf("bankdag")).toHaveLength(0);

    // Monday 2027-01-04: the first business day.
    const real = "2027-01-04T06:00:00.000Z";
    const submitted = await submitScheduledRun(
      p.submitPorts(),
      { schedule: firstBankDay, scheduledTime: real },
      settings,
    );
    expect(submitted).toMatchObject({ outcome: "submitted", batchesSubmittedNow: 1 });
    expect(await getRun(p.state, runKey("bankdag", real))).toMatchObject({ status: "submitted" });
    expect(batchesOf("bankdag")).toHaveLength(1);

    // `lasso-reports run` on the holiday: the operator means it.
    const byOperator = await submitScheduledRun(
      p.submitPorts(),
      { schedule: firstBankDay, scheduledTime: holiday, firedBy: "operator" },
      settings,
    );
    expect(byOperator.outcome).toBe("submitted");
    expect(batchesOf("bankdag")).toHaveLength(2);
  });
});
