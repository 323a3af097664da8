/**
 * How the CLI tells operators where a report is, when a watched run is done, which
 * reports may be re-sent, and what a run's scheduled time is.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "#cli/errors.ts";
import { resendMessage, resendRefusal } from "#cli/queue-ops.ts";
import { isRunSettled, resolveScheduledTime } from "#cli/runs.ts";
import { reportView } from "#cli/state-views.ts";
import { reportReadyMessageSchema } from "#shared/report-ready.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { RunRecord } from "#shared/state/runs.ts";

const NOW = new Date("2025-05-01T10:00:00.000Z");

const record = (overrides: Partial<ReportRecord> = {}): ReportRecord => ({
  pk: "REPORT#b1#34580820#Revision",
  sk: "REPORT",
  recordType: "report",
  identity: "b1#34580820#Revision",
  lassoBatchId: "b1",
  cvr: "34580820",
  reportType: "Revision",
  itemStatus: "Completed",
  createdAt: "2025-05-01T09:00:00.000Z",
  updatedAt: "2025-05-01T09:30:00.000Z",
  expiresAt: 0,
  ...overrides,
});

describe("reportView", () => {
  it("shows a delivered report with whom, when and the SES message id", () => {
    const view = reportView(
      record({
        deliveryStatus: "delivered",
        customerId: 7,
        recipients: ["a@x.dk"],
        deliveredAt: "2025-05-01T09:31:00.000Z",
        sesMessageId: "ses-1",
        source: "webhook",
      }),
      NOW,
    );
    expect(view).toMatchObject({
      state: "delivered",
      customerId: 7,
      recipients: ["a@x.dk"],
      deliveredAt: "2025-05-01T09:31:00.000Z",
      sesMessageId: "ses-1",
      source: "webhook",
    });
  });

  it("tells a live claim (being delivered) from a lapsed one (waiting for the queue's retry)", () => {
    expect(
      reportView(record({ deliveryStatus: "claimed", claimUntil: "2025-05-01T10:05:00.000Z" }), NOW).state,
    ).toBe("delivering");
    expect(
      reportView(record({ deliveryStatus: "claimed", claimUntil: "2025-05-01T09:35:00.000Z" }), NOW).state,
    ).toBe("waiting");
  });

  it("shows failed and unroutable reports with their reason, and a queued one as waiting", () => {
    expect(
      reportView(record({ deliveryStatus: "unroutable", reason: "no customer with cvr" }), NOW),
    ).toMatchObject({
      state: "unroutable",
      reason: "no customer with cvr",
    });
    expect(reportView(record({ handedOnAt: "2025-05-01T09:30:00.000Z" }), NOW)).toMatchObject({
      state: "waiting",
      detail: expect.stringContaining("queued for delivery at 2025-05-01T09:30:00.000Z"),
    });
    expect(reportView(record({ seenAt: "2025-05-01T09:31:00.000Z" }), NOW)).toMatchObject({
      state: "waiting",
      detail: expect.stringMatching(/seen at 2025-05-01T09:31:00.000Z: waiting for its webhook/),
    });
  });
});

describe("resend", () => {
  it("refuses what cannot or need not be re-sent", () => {
    expect(resendRefusal(record({ itemStatus: "Failed", deliveryStatus: "failed" }), NOW)).toMatch(/no PDF/);
    expect(resendRefusal(record(), NOW)).toMatch(/not been delivered yet/);
    expect(
      resendRefusal(record({ deliveryStatus: "claimed", claimUntil: "2025-05-01T10:05:00.000Z" }), NOW),
    ).toMatch(/right now/);
    expect(resendRefusal(record({ deliveryStatus: "delivered" }), NOW)).toBeUndefined();
    expect(resendRefusal(record({ deliveryStatus: "unroutable" }), NOW)).toBeUndefined();
  });

  it("builds a valid report-ready message with source resend and a fresh resend key", () => {
    const message = resendMessage(record({ reportId: "r1", fileName: "a.pdf" }), 7, NOW);
    expect(reportReadyMessageSchema.parse(message)).toEqual({
      version: 1,
      batchId: "b1",
      cvr: "34580820",
      reportType: "Revision",
      itemStatus: "Completed",
      internalCustomerId: 7,
      reportId: "r1",
      fileName: "a.pdf",
      source: "resend",
      seenAt: NOW.toISOString(),
    });
  });
});

describe("runs", () => {
  const run = (overrides: Partial<RunRecord>): RunRecord =>
    ({ status: "submitting", invocations: 1, ...overrides }) as RunRecord;

  it("waits for the invocation it started, and for the lease to be given back", () => {
    expect(isRunSettled(undefined, 0, NOW)).toBe(false);
    expect(isRunSettled(run({ status: "submitting" }), 0, NOW)).toBe(false);
    expect(isRunSettled(run({ status: "incomplete", invocations: 1 }), 1, NOW)).toBe(false);
    expect(isRunSettled(run({ status: "incomplete", invocations: 2 }), 1, NOW)).toBe(true);
    expect(
      isRunSettled(
        run({ status: "partial", invocations: 2, leaseOwner: "x", leaseUntil: "2025-05-01T10:01:00.000Z" }),
        1,
        NOW,
      ),
    ).toBe(false);
    expect(isRunSettled(run({ status: "submitted", invocations: 1 }), 1, NOW)).toBe(true);
  });

  it("keys a run on now to the second, or on the time given", () => {
    expect(resolveScheduledTime(undefined, new Date("2025-05-01T10:00:01.789Z"))).toBe(
      "2025-05-01T10:00:01.000Z",
    );
    expect(resolveScheduledTime("2025-05-01T06:00:00+02:00", NOW)).toBe("2025-05-01T04:00:00.000Z");
    expect(() => resolveScheduledTime("første maj", NOW)).toThrow(UsageError);
  });
});
