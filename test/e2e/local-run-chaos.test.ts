/**
 * End to end under chaos: the simulator answers some API calls with 500/503 or too late,
 * fails or warns some reports, and duplicates, drops and reorders webhooks. Still: every
 * report delivered or recorded as failed, and none twice.
 */

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_FIRM } from "#local/aws/demo-firm.ts";
import { chaosFaults } from "#local/lasso-sim/index.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } from "#local/pipeline/local-config.ts";
import { type LocalPipeline, type RunOutcome, runLocalPipeline } from "#local/pipeline/runner.ts";
import { demoRecipients, expectOneMailPerReport, finishedReports } from "#test/support/e2e.ts";

const customers = demoCustomers(50, DEMO_GROUP, DEMO_REPORT_TYPES);
const recipientsOf = demoRecipients(customers);

describe("npm start -- --chaos: 50 customers, two schedules, faults injected", () => {
  let outcome: RunOutcome & { pipeline: LocalPipeline };

  beforeAll(async () => {
    outcome = await runLocalPipeline({
      customers: customers.map((customer) => ({ ...customer })),
      schedules: LOCAL_SCHEDULES,
      sim: { faults: chaosFaults(7) },
      timeoutMs: 150_000,
    });
  }, 170_000);
  afterAll(async () => {
    await outcome?.pipeline.stop();
  });

  test("the run reports success despite the faults", () => {
    expect(outcome.problems).toEqual([]);
    expect(outcome.summary.deadLetters).toBe(0);
    expect(outcome.summary.reportsFinished).toBe(100);
  });

  test("the faults really happened", () => {
    const reports = finishedReports(outcome.pipeline.stack.sim);
    const webhooks = outcome.pipeline.stack.sim.webhookDeliveries();
    expect(reports.some((report) => report.status !== "Completed")).toBe(true);
    expect(webhooks.some((delivery) => delivery.outcome === "dropped")).toBe(true);
    expect(webhooks.some((delivery) => delivery.duplicate)).toBe(true);
  });

  test("every deliverable report went out exactly once; failed ones were recorded, not mailed", async () => {
    await expectOneMailPerReport(outcome.pipeline.stack.sim, outcome.mails, recipientsOf);
    const failed = finishedReports(outcome.pipeline.stack.sim).filter((report) => report.status === "Failed");
    expect(outcome.summary.reportsFailed).toBe(failed.length);
    expect(outcome.summary.mailsSent + outcome.summary.reportsFailed).toBe(100);
  });

  test("each customer with a failed report in a batch: one notice to its accountant (cc) or the operators, none to the client", () => {
    const failed = finishedReports(outcome.pipeline.stack.sim).filter((report) => report.status === "Failed");
    expect(failed.length).toBeGreaterThan(0);
    const expected = new Set(failed.map((report) => `${report.internalCustomerId}#${report.batchId}`));
    expect(outcome.notices).toHaveLength(expected.size);
    expect(outcome.summary.failureNotices).toBe(expected.size);
    for (const report of failed) {
      const customer = customers.find((candidate) => candidate.customerId === report.internalCustomerId);
      const to = customer?.cc === undefined ? [DEMO_FIRM.mail.operatorsEmail ?? ""] : [...customer.cc];
      const notice = outcome.notices.find(
        (mail) => mail.destination.to.join() === to.join() && mail.subject.includes(`(CVR ${report.cvr})`),
      );
      expect(notice, `notice of ${report.fileName}`).toBeDefined();
      expect(notice?.body.text).toContain(report.batchId);
      // The client got nothing about it.
      for (const address of customer?.emails ?? []) expect(notice?.destination.to).not.toContain(address);
    }
  });
});
