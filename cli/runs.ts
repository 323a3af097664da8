/**
 * `plan` and `run`: a schedule's dry run, and firing it now.
 *
 * - `plan` is submit-batches' own `planSchedule` (reads customers, and coverage for listener
 *   schedules; writes nothing, calls no Lasso).
 * - `run` fires the schedule with a scheduled time of its own (now, to the second, unless
 *   `--scheduled-time` names a firing to finish): that time is the run's idempotency key,
 *   printed so the same run can be finished later. Deployed: submit-batches is invoked
 *   asynchronously with exactly the scheduler's event `{ schedule, scheduledTime }`, then the
 *   run record is watched until the invocation is done. Local: the CLI runs the same use
 *   case (`submitScheduledRun`) itself against the local endpoints, because the local
 *   runner's control endpoint fires with a time of its own choosing.
 */
import { randomUUID } from "node:crypto";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { LASSO_CALL_BUDGET_MS } from "#lambdas/submit-batches/config.ts";
import { canonicalScheduledTime, planSchedule, type SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import type { CustomerSource } from "#lambdas/submit-batches/ports.ts";
import type { SubmitOutcome } from "#lambdas/submit-batches/run-result.ts";
import { type Selection, selectCustomers } from "#lambdas/submit-batches/selection.ts";
import { submitScheduledRun } from "#lambdas/submit-batches/submit-run.ts";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { readCustomersOfGroup } from "#shared/customer-reads.ts";
import type { Log } from "#shared/runtime/log.ts";
import { MAX_RUN_CUSTOMERS, runKey } from "#shared/state/keys.ts";
import { getRun, type RunRecord } from "#shared/state/runs.ts";
import { webhookAuthConfig } from "#shared/webhook-credentials.ts";
import { CliFailure, UsageError } from "./errors.ts";
import type { Progress, ProgressFactory } from "./progress.ts";
import { periodStart } from "./schedule-period.ts";
import { type RunView, readRunView, runsCreatedSince } from "./status-view.ts";
import type { Target } from "./target.ts";

/** `--scheduled-time`, or now to the second (readable, and a double Enter is the same run). */
export function resolveScheduledTime(given: string | undefined, now: Date): string {
  if (given === undefined) return canonicalScheduledTime(new Date(Math.floor(now.getTime() / 1000) * 1000));
  try {
    return canonicalScheduledTime(given);
  } catch {
    throw new UsageError(
      `--scheduled-time "${given}" is not a date-time (ISO 8601, e.g. 2025-05-01T04:00:00Z)`,
    );
  }
}

const customerSource = (target: Target): CustomerSource => ({
  readGroup: (group) => readCustomersOfGroup(target.customersDoc, target.customersTable, group),
});

/** submit-batches' own selection for `schedule` (what its run would select and skip). */
export function selectForSchedule(target: Target, schedule: ScheduleConfig): Promise<Selection> {
  return selectCustomers(
    customerSource(target),
    { group: schedule.group, reportType: schedule.reportType },
    { defaultLanguage: target.defaultLanguage },
  );
}

export function planRun(
  target: Target,
  schedule: ScheduleConfig,
  scheduledTime: string,
): Promise<SchedulePlan> {
  return planSchedule(
    { customers: customerSource(target), state: target.state },
    { schedule, scheduledTime },
    { chunkSize: target.chunkSize, defaultLanguage: target.defaultLanguage },
  );
}

export interface RunReport {
  schedule: string;
  scheduledTime: string;
  runPk: string;
  /** A run of these customers only (`--customer`). */
  customerIds?: number[];
  /** How the schedule was fired. */
  via: "in-process" | "lambda";
  /** The use case's answer (in-process), or what the watched run record says (lambda). */
  outcome: SubmitOutcome | "invoked" | "still-running";
  run?: RunView;
}

/** Statuses after which nobody works on the run until the next invocation. */
const RESTING = new Set(["submitted", "partial", "incomplete"]);

export function isRunSettled(run: RunRecord | undefined, invocationsBefore: number, now: Date): boolean {
  if (run === undefined || !RESTING.has(run.status)) return false;
  if (run.leaseOwner !== undefined && (run.leaseUntil ?? "") >= now.toISOString()) return false;
  return run.invocations > invocationsBefore || run.status === "submitted";
}

interface FireOptions {
  /** Only these customers: a run of its own, keyed on them too. */
  customerIds?: readonly number[];
  wait: boolean;
  timeoutMs: number;
  pollMs?: number;
  progress: ProgressFactory;
}

type RunBase = Pick<RunReport, "schedule" | "scheduledTime" | "runPk" | "customerIds">;

/** A disabled schedule submits nothing: firing it is a usage error. */
export function assertEnabled(schedule: ScheduleConfig): void {
  if (!schedule.enabled) {
    throw new UsageError(`schedule ${schedule.name} is disabled (enabled: false): it submits nothing`);
  }
}

export async function fireRun(
  target: Target,
  schedule: ScheduleConfig,
  scheduledTime: string,
  options: FireOptions,
): Promise<RunReport> {
  assertEnabled(schedule);
  const customerIds = sortedIds(options.customerIds);
  const key = runKey(schedule.name, scheduledTime, customerIds);
  const base: RunBase = {
    schedule: schedule.name,
    scheduledTime,
    runPk: key.pk,
    ...(customerIds === undefined ? {} : { customerIds }),
  };
  return target.submitter.kind === "in-process"
    ? fireInProcess(target, target.submitter.invocationPrefix, schedule, base, key, options.progress)
    : fireLambda(target, target.submitter, schedule, base, key, options);
}

type RunKey = ReturnType<typeof runKey>;

/** Each id once, ascending; undefined for none (a whole run). */
const sortedIds = (ids: readonly number[] | undefined): number[] | undefined =>
  ids === undefined || ids.length === 0 ? undefined : [...new Set(ids)].sort((a, b) => a - b);

// ---------------------------------------------------------------------------------------
// before firing: the customers asked for, and a run already made this period
// ---------------------------------------------------------------------------------------

/**
 * Refuses `--customer` ids the schedule's run would not mail (not of its group, switched
 * off, not wanting its report type, or a row it skips), each with the reason.
 */
export async function checkCustomersOfRun(
  target: Target,
  schedule: ScheduleConfig,
  customerIds: readonly number[],
): Promise<void> {
  if (customerIds.length > MAX_RUN_CUSTOMERS) {
    throw new UsageError(`--customer takes at most ${MAX_RUN_CUSTOMERS} ids (a whole run: leave it out)`);
  }
  const selection = await selectForSchedule(target, schedule);
  const selected = new Set(selection.selected.map((customer) => customer.customerId));
  const problems = customerIds
    .filter((id) => !selected.has(id))
    .map((id) => {
      const skipped = selection.skipped.find((row) => row.customerId === id);
      return skipped === undefined
        ? `customer ${id}: not one ${schedule.name} mails (no such customer, another group than ${schedule.group}, switched off, or it does not want ${schedule.reportType}; see \`customers list\`)`
        : `customer ${id}: skipped by ${schedule.name}: ${skipped.reason}`;
    });
  if (problems.length > 0) throw new CliFailure(`nothing run:\n  ${problems.join("\n  ")}`);
}

/**
 * The run this firing would repeat: for a whole run, a whole run of the schedule whose
 * scheduled time is in the current period (since its latest firing); for a run of some
 * customers, a run of this period that already took one of them. Undefined: none.
 */
export async function earlierRunThisPeriod(
  target: Target,
  schedule: ScheduleConfig,
  now: Date,
  customerIds?: readonly number[],
): Promise<{ periodStart: string; run: RunRecord } | undefined> {
  const start = periodStart(schedule, now);
  if (start === undefined) return undefined;
  const since = start.toISOString();
  const wanted = new Set(customerIds ?? []);
  const earlier = (await runsCreatedSince(target.state, since, schedule.name)).find(
    (run) =>
      run.scheduledTime >= since &&
      (wanted.size === 0
        ? run.customerIds === undefined
        : (run.customerIds ?? []).some((id) => wanted.has(id))),
  );
  return earlier === undefined ? undefined : { periodStart: since, run: earlier };
}
type LambdaSubmitter = Extract<Target["submitter"], { kind: "lambda" }>;

/** The use case logs each step; the bar follows the two that count. */
function progressLog(bar: Progress): Log {
  return {
    info: (message, attributes) => {
      if (message === "run planned" && typeof attributes?.chunks === "number")
        bar.setTotal(attributes.chunks);
      if (message === "batch submitted") bar.tick();
    },
    warn: () => {},
    error: () => {},
  };
}

/** Local: the CLI runs submit-batches' use case itself. */
async function fireInProcess(
  target: Target,
  invocationPrefix: string,
  schedule: ScheduleConfig,
  base: RunBase,
  key: RunKey,
  progress: ProgressFactory,
): Promise<RunReport> {
  const { scheduledTime } = base;
  const webhook = await target.webhook();
  const bar = progress("submitting batches");
  let outcome: SubmitOutcome;
  try {
    const result = await submitScheduledRun(
      {
        state: target.state,
        customers: customerSource(target),
        lasso: await target.lasso(),
        webhook: {
          url: webhook.url,
          auth: async (method) => webhookAuthConfig(method, webhook),
        },
        clock: () => new Date(),
        log: progressLog(bar),
        invocationId: `${invocationPrefix}-${randomUUID()}`,
      },
      {
        schedule,
        scheduledTime,
        ...(base.customerIds === undefined ? {} : { customerIds: base.customerIds }),
        // An operator's run goes whatever the day (a business-day rule's guard is for the scheduler).
        firedBy: "operator",
      },
      {
        chunkSize: target.chunkSize,
        reserveMs: LASSO_CALL_BUDGET_MS + 25_000,
        defaultLanguage: target.defaultLanguage,
      },
    );
    outcome = result.outcome;
  } finally {
    bar.done();
  }
  const run = await getRun(target.state, key);
  return {
    ...base,
    via: "in-process",
    outcome,
    ...(run === undefined ? {} : { run: await readRunView(target.state, run) }),
  };
}

/** Deployed: invoke submit-batches asynchronously as the scheduler does, then (with wait) watch the run. */
async function fireLambda(
  target: Target,
  submitter: LambdaSubmitter,
  schedule: ScheduleConfig,
  base: RunBase,
  key: RunKey,
  options: FireOptions,
): Promise<RunReport> {
  const before = await getRun(target.state, key);
  if (before?.status === "submitted") {
    return {
      ...base,
      via: "lambda",
      outcome: "already-submitted",
      run: await readRunView(target.state, before),
    };
  }
  const answer = await submitter.lambda.send(
    new InvokeCommand({
      FunctionName: submitter.functionName,
      InvocationType: "Event",
      Payload: new TextEncoder().encode(
        JSON.stringify({
          schedule,
          scheduledTime: base.scheduledTime,
          ...(base.customerIds === undefined ? {} : { customerIds: base.customerIds }),
          firedBy: "operator",
        }),
      ),
    }),
  );
  if (answer.StatusCode !== 202) {
    throw new CliFailure(
      `Lambda did not accept the invocation of ${submitter.functionName} (status ${answer.StatusCode})`,
    );
  }
  if (!options.wait) return { ...base, via: "lambda", outcome: "invoked" };

  const invocationsBefore = before?.invocations ?? 0;
  const run = await watchRun(target, key, invocationsBefore, options);
  const settled = isRunSettled(run, invocationsBefore, new Date());
  return {
    ...base,
    via: "lambda",
    outcome: settled && run !== undefined ? run.status : "still-running",
    ...(run === undefined ? {} : { run: await readRunView(target.state, run) }),
  };
}

/** Polls the run record until the invocation settles or the timeout passes; the bar shows batches submitted. */
async function watchRun(
  target: Target,
  key: RunKey,
  invocationsBefore: number,
  options: FireOptions,
): Promise<RunRecord | undefined> {
  const bar = options.progress("submitting batches");
  const deadline = Date.now() + options.timeoutMs;
  let run: RunRecord | undefined;
  let shown = 0;
  try {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
      run = await getRun(target.state, key);
      if (run?.chunkCount !== undefined) bar.setTotal(run.chunkCount);
      const submitted = run?.batchesSubmitted ?? 0;
      if (submitted > shown) {
        bar.tick(submitted - shown);
        shown = submitted;
      }
      if (isRunSettled(run, invocationsBefore, new Date())) break;
    }
  } finally {
    bar.done();
  }
  return run;
}
