/**
 * End to end, in the benchmark's split layout: the stack (emulators, simulator) in this
 * process, the runner and the production functions in a process of their own, attached to
 * it by its description (local/pipeline/attached-stack.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { LocalStack } from "#local/aws/local-stack.ts";
import { type FunctionsResult, runInFunctionsProcess } from "#local/pipeline/attached-stack.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } from "#local/pipeline/local-config.ts";
import { startRunnerStack } from "#local/pipeline/runner.ts";
import { demoRecipients, expectOneMailPerReport } from "#test/support/e2e.ts";

const customers = demoCustomers(10, DEMO_GROUP, DEMO_REPORT_TYPES);

describe("the functions in a process of their own, the stack in this one", () => {
  let stack: LocalStack;
  let result: FunctionsResult;
  let readUnits: Record<string, Record<string, number>>;

  beforeAll(async () => {
    stack = await startRunnerStack({ customers: [] });
    const meter = stack.aws.meterDynamoReads?.();
    result = await runInFunctionsProcess(stack, {
      startedAt: Date.now(),
      customers: customers.map((customer) => ({ ...customer })),
      schedules: LOCAL_SCHEDULES,
      pollIntervalMs: 1500,
      timeoutMs: 100_000,
    });
    readUnits = structuredClone(meter?.units() ?? {});
    meter?.stop();
  }, 150_000);
  afterAll(async () => {
    await stack?.stop();
  });

  test("the run reports success from the other process, with that process's own figures", () => {
    expect(result.problems).toEqual([]);
    expect(result.summary).toMatchObject({
      customers: 10,
      batches: 2,
      reportsFinished: 20,
      mailsSent: 20,
      reportsFailed: 0,
      unroutable: 0,
      deadLetters: 0,
    });
    expect(result.messages).toBeGreaterThanOrEqual(20);
    expect(result.rssMb).toBeGreaterThan(0);
    expect(result.cpuMs).toBeGreaterThan(0);
  });

  test("the mails went through this process's SES: one per report, to its customer, with its PDF", async () => {
    const mails = await stack.aws.sentMails.read();
    expect(mails).toHaveLength(20);
    await expectOneMailPerReport(stack.sim, mails, demoRecipients(customers));
  });

  test("the other process's reads reach this process's DynamoDB, the runner's counted apart", () => {
    // The meter sits in dynalite: the node backend has it, moto (conformance) has none.
    expect(stack.aws.meterDynamoReads !== undefined).toBe(stack.aws.backend === "node");
    if (stack.aws.meterDynamoReads === undefined) return;
    const total = (units: Record<string, number> | undefined) =>
      Object.values(units ?? {}).reduce((sum, n) => sum + n, 0);
    expect(total(readUnits.pipeline)).toBeGreaterThan(0);
    expect(total(readUnits.runner)).toBeGreaterThan(0);
  });
});
