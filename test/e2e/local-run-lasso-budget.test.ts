/**
 * End to end under a tight Lasso limit: the local runner with the simulator limited to 60
 * calls a minute, and the functions spending the shared budget of that limit (as `npm
 * start -- --lasso-rate 60` does). More calls than the limit allows in a minute are
 * needed, so without the budget Lasso would refuse some; with it Lasso refuses (almost)
 * none, no minute of the simulator's sees more than 60 calls, and no report is lost or
 * sent twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } from "#local/pipeline/local-config.ts";
import { type LocalPipeline, type RunOutcome, runLocalPipeline } from "#local/pipeline/runner.ts";
import { demoRecipients, expectOneMailPerReport } from "#test/support/e2e.ts";

const LIMIT = 60;
const customers = demoCustomers(30, DEMO_GROUP, DEMO_REPORT_TYPES);

describe("the pipeline under a limit of 60 Lasso calls a minute", () => {
  let outcome: RunOutcome & { pipeline: LocalPipeline };

  beforeAll(async () => {
    outcome = await runLocalPipeline({
      customers: customers.map((customer) => ({ ...customer })),
      schedules: LOCAL_SCHEDULES,
      sim: { rateLimitPerMinute: LIMIT },
      timeoutMs: 280_000,
    });
  }, 300_000);
  afterAll(async () => {
    await outcome?.pipeline.stop();
  });

  test("more calls than one minute allows, yet no window over the limit and (almost) no 429", () => {
    const stats = outcome.pipeline.stack.sim.rateStats();
    expect(stats.accepted).toBeGreaterThan(LIMIT);
    expect(stats.maxInWindow).toBeLessThanOrEqual(LIMIT);
    expect(stats.refused).toBeLessThanOrEqual(Math.ceil(0.05 * outcome.summary.reportsFinished));
  });

  test("nothing lost, nothing twice, nothing dead", async () => {
    expect(outcome.problems).toEqual([]);
    expect(outcome.summary).toMatchObject({ reportsFinished: 60, mailsSent: 60, deadLetters: 0 });
    await expectOneMailPerReport(outcome.pipeline.stack.sim, outcome.mails, demoRecipients(customers));
  });
});
