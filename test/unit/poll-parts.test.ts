import { describe, expect, test } from "vitest";
import { readPollBatchesConfig, reserveMsFor } from "#lambdas/poll-batches/config.ts";
import { POLL_ALARM_METRICS, pollMetrics } from "#lambdas/poll-batches/metrics.ts";
import { type PollSummary, pollOrder, runBounded } from "#lambdas/poll-batches/poll.ts";
import { MissingConfigError } from "#shared/env.ts";
import type { LassoItem } from "#shared/lasso/schemas.ts";
import { holdsToSettle } from "#shared/reconcile/held.ts";
import { handOffEntryForItem, manifestCustomers } from "#shared/reconcile/items.ts";
import { reportReadyMessageSchema } from "#shared/report-ready.ts";
import { earliestOf } from "#shared/state/held-reports.ts";
import type { BatchRecord } from "#shared/state/records.ts";

const SEEN = new Date("2026-03-02T12:00:00.000Z");
const batch = { lassoBatchId: "b-1", reportType: "Revision" as const, isListener: false };
const item = (over: Partial<LassoItem> = {}): LassoItem => ({
  id: "item-1",
  cvr: "34580820",
  status: "Completed",
  printType: "Revision",
  pdfUrl: "https://files.lassox.com/x.pdf",
  fileName: "1234_34580820-x.pdf",
  ...over,
});

describe("handOffEntryForItem", () => {
  test("a finished item becomes a valid report-ready message with its identity", () => {
    const made = handOffEntryForItem(batch, false, new Map([["34580820", 7]]), item(), SEEN);
    expect(made.ok).toBe(true);
    if (!made.ok) return;
    expect(made.entry.identity).toBe("b-1#34580820#Revision");
    expect(reportReadyMessageSchema.parse(made.entry.message)).toEqual({
      version: 1,
      batchId: "b-1",
      cvr: "34580820",
      reportType: "Revision",
      itemStatus: "Completed",
      internalCustomerId: 7,
      reportId: "item-1",
      pdfUrl: "https://files.lassox.com/x.pdf",
      fileName: "1234_34580820-x.pdf",
      source: "poll",
      seenAt: SEEN.toISOString(),
    });
  });

  test("Lasso's internalCustomerId wins over the manifest; long texts are cut to the schema", () => {
    const made = handOffEntryForItem(
      batch,
      false,
      new Map([["34580820", 7]]),
      item({
        internalCustomerId: 99,
        status: "Failed",
        errorMessage: "x".repeat(5000),
        name: "n".repeat(900),
      }),
      SEEN,
    );
    if (!made.ok) throw new Error(made.reason);
    expect(made.entry.message.internalCustomerId).toBe(99);
    expect(made.entry.message.errorMessage).toHaveLength(2000);
    expect(made.entry.message.companyName).toHaveLength(500);
    expect(reportReadyMessageSchema.safeParse(made.entry.message).success).toBe(true);
  });

  test("a listener batch's reports are told apart by Lasso's report id; without one it cannot be identified", () => {
    const listener = { ...batch, reportType: "ReelleEjere" as const, isListener: true };
    const made = handOffEntryForItem(
      listener,
      true,
      new Map(),
      item({ printType: "ReelleEjere", id: "r-9" }),
      SEEN,
    );
    expect(made.ok && made.entry.identity).toBe("b-1#34580820#ReelleEjere#r-9");
    const { id: _dropped, ...withoutId } = item({ printType: "ReelleEjere" });
    const bad = handOffEntryForItem(listener, true, new Map(), withoutId, SEEN);
    expect(bad).toMatchObject({ ok: false });
    expect(!bad.ok && bad.reason).toMatch(/no report id/);
  });

  test("an item of another type than the batch is not handed on: it names no report we asked for", () => {
    const made = handOffEntryForItem(batch, false, new Map(), item({ printType: "Finans" }), SEEN);
    expect(made).toMatchObject({ ok: false });
    expect(!made.ok && made.reason).toMatch(/Finans report in a Revision batch/);
  });

  test("the manifest routes a cvr only when it appears there once", () => {
    const customers = manifestCustomers([
      { customerId: 1, cvr: "11111111" },
      { customerId: 2, cvr: "22222222" },
      { customerId: 3, cvr: "22222222" },
    ]);
    expect([...customers]).toEqual([["11111111", 1]]);
  });
});

describe("holdsToSettle", () => {
  const now = new Date("2026-12-01T10:00:00.000Z");
  const settledAt = "2026-12-01T09:58:00.000Z";
  test("a running batch's held set is read once its earliest hold can be over, not before", () => {
    const record = { heldFrom: "2026-12-01T09:59:30.000Z", heldSettledAt: settledAt };
    expect(holdsToSettle(record, undefined, false, 60_000, now)).toBe(false);
    expect(
      holdsToSettle({ ...record, heldFrom: "2026-12-01T09:59:00.000Z" }, undefined, false, 60_000, now),
    ).toBe(true);
    // A hold this poll's read added counts as one on record.
    expect(holdsToSettle({ ...record, heldFrom: null }, "2026-12-01T09:58:59.000Z", false, 60_000, now)).toBe(
      true,
    );
    expect(holdsToSettle({ heldFrom: null, heldSettledAt: settledAt }, undefined, false, 60_000, now)).toBe(
      false,
    );
  });
  test("read whatever is held: when the batch may close, before any settle, and at the latest every 15 minutes", () => {
    const nothing = { heldFrom: null, heldSettledAt: settledAt };
    expect(holdsToSettle(nothing, undefined, true, 60_000, now)).toBe(true);
    expect(holdsToSettle({ heldFrom: null }, undefined, false, 60_000, now)).toBe(true);
    expect(
      holdsToSettle({ ...nothing, heldSettledAt: "2026-12-01T09:45:00.000Z" }, undefined, false, 60_000, now),
    ).toBe(true);
    expect(
      holdsToSettle({ ...nothing, heldSettledAt: "2026-12-01T09:45:01.000Z" }, undefined, false, 60_000, now),
    ).toBe(false);
  });
  test("earliestOf ignores what is not known", () => {
    expect(earliestOf([undefined, "2026-12-01T10:00:02Z", "2026-12-01T10:00:01Z"])).toBe(
      "2026-12-01T10:00:01Z",
    );
    expect(earliestOf([undefined])).toBeUndefined();
  });
});

describe("runBounded", () => {
  test("never more than the limit at once, in order, and stops starting when told", async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const started = await runBounded(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      3,
      () => seen.length < 7,
      async (value, index) => {
        expect(value).toBe(index);
        seen.push(value);
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
      },
    );
    expect(peak).toBe(3);
    expect(started).toBe(7);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe("pollOrder", () => {
  test("never-polled first, then the longest ago; ties by batch id", () => {
    const r = (id: string, lastPolledAt?: string) =>
      ({ lassoBatchId: id, ...(lastPolledAt ? { lastPolledAt } : {}) }) as BatchRecord;
    const ordered = pollOrder([
      r("d", "2026-03-02T12:05:00.000Z"),
      r("c"),
      r("b", "2026-03-02T12:00:00.000Z"),
      r("a"),
    ]);
    expect(ordered.map((x) => x.lassoBatchId)).toEqual(["a", "c", "b", "d"]);
  });
});

describe("pollMetrics", () => {
  test("every metric, zeros included; the stop reasons as 0/1", () => {
    const summary = {
      openBatches: 4,
      notStarted: 1,
      closed: 2,
      open: 0,
      deferred: 1,
      skipped: 0,
      conflicts: 0,
      errors: 1,
      pagesRead: 9,
      reportsHandedOn: 30,
      reportsFailed: 2,
      reportsWarning: 1,
      reportsAlreadyHandedOn: 5,
      reportsRaced: 0,
      reportsNotHandedOn: 0,
      reportsUnmarked: 0,
      reportsHeld: 4,
      reportsSentAfterHold: 2,
      batchesStalled: 1,
      batchesUnknownToLasso: 0,
      batchesFinishedWithErrors: 1,
      batchesIncomplete: 0,
      rateLimitHits: 3,
      rateLimitPausedMs: 2000,
      stoppedBy: "rateLimited",
      batches: [],
    } satisfies PollSummary;
    const metrics = pollMetrics(summary);
    expect(metrics).toMatchObject({
      ReportsHandedOn: 30,
      ReportFailed: 2,
      BatchStalled: 1,
      BatchFinishedWithErrors: 1,
      BatchPollErrors: 1,
      BatchesDeferred: 2,
      LassoRateLimited: 3,
      PollCutShort: 1,
      LassoUnauthorized: 0,
      BatchUnknownToLasso: 0,
      ReportsHeldForRing: 4,
      ReportsSentAfterHold: 2,
    });
    for (const name of Object.values(POLL_ALARM_METRICS)) expect(metrics[name]).toBeTypeOf("number");
  });
});

describe("readPollBatchesConfig", () => {
  const env = {
    STATE_TABLE_NAME: "state",
    REPORT_READY_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/1/q",
    LASSO_BASE_URL: "https://api.lassox.com",
    LASSO_API_KEY_SECRET_ID: "lasso-key",
    STALLED_AFTER_MINUTES: "360",
    STATE_RETENTION_DAYS: "400",
  };
  test("reads the settings, with defaults only where a default is safe", () => {
    const config = readPollBatchesConfig(env);
    expect(config).toEqual({
      stateTableName: "state",
      reportReadyQueueUrl: env.REPORT_READY_QUEUE_URL,
      lassoBaseUrl: "https://api.lassox.com",
      lassoApiKeySecretId: "lasso-key",
      lassoRequestTimeoutMs: 10_000,
      stalledAfterMinutes: 360,
      stateRetentionDays: 400,
      concurrency: 4,
      webhookGraceMs: 120_000,
    });
    expect(reserveMsFor(config)).toBe(30_000);
    expect(readPollBatchesConfig({ ...env, WEBHOOK_GRACE_MS: "0" }).webhookGraceMs).toBe(0);
  });
  test("names what is missing or wrong", () => {
    const { STALLED_AFTER_MINUTES: _gone, ...missing } = env;
    expect(() => readPollBatchesConfig(missing)).toThrow(
      new MissingConfigError("environment variable STALLED_AFTER_MINUTES is required"),
    );
    expect(() => readPollBatchesConfig({ ...env, LASSO_BASE_URL: "api.lassox.com" })).toThrow(
      /LASSO_BASE_URL must be a URL/,
    );
    expect(() => readPollBatchesConfig({ ...env, POLL_CONCURRENCY: "0" })).toThrow(
      /POLL_CONCURRENCY must be at least 1/,
    );
  });
});
