/** `resend`: mails a report again (recorded as a resend), also one that was unroutable once its row is fixed. */
import { type Command, Option } from "commander";
import {
  type BatchResendOutcome,
  planBatchResend,
  type ResendChoice,
  type ResendPlan,
  resendBatch,
} from "../bulk-resend.ts";
import { UsageError } from "../errors.ts";
import { blocks, type CommandResult, cell, failed, localTime, ok, plural, table } from "../output.ts";
import type { ProgressFactory } from "../progress.ts";
import { type ResendOutcome, resendReport } from "../queue-ops.ts";
import type { Target } from "../target.ts";
import { askYes, type CommandContext, positiveInt, seconds } from "./context.ts";

interface ResendOptions {
  batch: string;
  customer?: number;
  reportId?: string;
  failed?: boolean;
  all?: boolean;
  yes?: boolean;
  wait: boolean;
  timeout: number;
}

const HELP = `
One report: --customer ID (a listener batch: also --report-id). Many: --failed
re-sends the batch's reports recorded failed or unroutable (fix the cause
first), --all every report of the batch that can be re-sent; both list them
and ask first (--yes for scripts), then show a progress bar while the
deliveries take them. Lasso-failed reports (no PDF) and reports not delivered
yet are never re-sent.`;

export function addResendCommand(program: Command, context: CommandContext): void {
  program
    .command("resend")
    .description(
      "mail a report again (recorded as a resend): also for one that was unroutable once its row is fixed",
    )
    .requiredOption("--batch <id>", "Lasso's batch id")
    .addOption(
      new Option("--customer <id>", "the customer's id")
        .argParser(positiveInt("--customer"))
        .conflicts(["failed", "all"]),
    )
    .option("--report-id <id>", "a listener batch's report (several per customer)")
    .addOption(
      new Option("--failed", "every report of the batch recorded failed or unroutable").conflicts("all"),
    )
    .option("--all", "every report of the batch that can be re-sent")
    .option("--yes", "with --failed or --all: re-send without asking (scripts)")
    .option("--no-wait", "return once the messages are on the queue")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for the delivery")
        .argParser(seconds)
        .default(120_000, "120"),
    )
    .hook("preAction", (command) => {
      const options = command.opts<ResendOptions>();
      if (options.customer === undefined && options.failed !== true && options.all !== true) {
        throw new UsageError("give --customer ID, --failed or --all");
      }
      if (options.reportId !== undefined && options.customer === undefined) {
        throw new UsageError("--report-id goes with --customer");
      }
    })
    .addHelpText("after", HELP)
    .action(
      context.withTarget(async (target, _globals, progress, options: ResendOptions) => {
        const lassoBatchId = options.batch.trim();
        if (options.customer === undefined) {
          return resendMany(target, lassoBatchId, options.all === true ? "all" : "failed", options, {
            progress,
            ask: (question) => askYes(context.io, question),
            say: (text) => context.io.stderr.write(text),
          });
        }
        const outcome = await resendReport(
          { state: target.state, sqs: target.sqs, queueUrl: await target.queueUrl() },
          {
            lassoBatchId,
            customerId: options.customer,
            ...(options.reportId === undefined ? {} : { reportId: options.reportId }),
          },
          { wait: options.wait, timeoutMs: options.timeout, progress },
        );
        const good = !options.wait || (outcome.settled && outcome.after?.state === "delivered");
        return good ? ok(outcome, renderResend(outcome)) : failed(outcome, renderResend(outcome));
      }),
    );
}

/** `--failed` / `--all`: the reports chosen, the operator's yes, the re-sends and their outcome. */
async function resendMany(
  target: Target,
  lassoBatchId: string,
  choice: ResendChoice,
  options: ResendOptions,
  io: { progress: ProgressFactory; ask: (question: string) => Promise<boolean>; say: (text: string) => void },
): Promise<CommandResult> {
  const plan = await planBatchResend(target.state, lassoBatchId, choice, new Date(), io.progress);
  const refusedText = renderRefused(plan.refused);
  if (plan.chosen.length === 0) {
    return failed(
      { lassoBatchId, choice, chosen: [], refused: plan.refused },
      blocks(
        `Nothing to re-send in batch ${lassoBatchId} (${choice === "all" ? "--all" : "--failed"}).`,
        refusedText,
      ),
    );
  }
  if (options.yes !== true) {
    const list = plan.chosen
      .slice(0, 20)
      .map(({ record, customerId }) => `  ${customerId}  ${record.cvr}  ${record.deliveryStatus ?? ""}`)
      .concat(plan.chosen.length > 20 ? [`  … and ${plan.chosen.length - 20} more`] : [])
      .join("\n");
    io.say(`${list}\n`);
    const these = plan.chosen.length === 1 ? "this report" : `these ${plan.chosen.length} reports`;
    const yes = await io.ask(`Re-send ${these} of batch ${lassoBatchId}?`);
    if (!yes) {
      return failed(
        { lassoBatchId, choice, chosen: plan.chosen.length, sent: 0 },
        "Not confirmed: nothing re-sent (give --yes in scripts).",
      );
    }
  }
  const queueUrl = await target.queueUrl();
  const outcome = await resendBatch({ state: target.state, sqs: target.sqs, queueUrl }, plan, {
    wait: options.wait,
    timeoutMs: options.timeout,
    progress: io.progress,
  });
  const text = renderBatchResend(outcome, options.wait);
  const good =
    !options.wait || (outcome.settled && outcome.reports.every((r) => r.after?.state === "delivered"));
  return good ? ok(outcome, text) : failed(outcome, text);
}

function renderRefused(refused: ResendPlan["refused"]): string | undefined {
  return refused.length === 0
    ? undefined
    : `Not re-sent:\n${table(
        ["customerId", "cvr", "state", "why"],
        refused.map(({ view, reason }) => [view.customerId, view.cvr, view.state, reason]),
      )}`;
}

export function renderBatchResend(outcome: BatchResendOutcome, waited: boolean): string {
  const delivered = outcome.reports.filter((report) => report.after?.state === "delivered").length;
  return blocks(
    `Re-send of ${plural(outcome.reports.length, "report")} of batch ${outcome.lassoBatchId} queued (resend key ${outcome.resendKey}).`,
    waited
      ? table(
          ["customerId", "cvr", "before", "now", "SES message id", "reason"],
          outcome.reports.map((report) => [
            report.customerId,
            report.before.cvr,
            report.before.state,
            report.after?.state ?? "not taken yet",
            report.after?.sesMessageId,
            report.after?.reason,
          ]),
        )
      : undefined,
    waited
      ? `${delivered} of ${outcome.reports.length} delivered again${outcome.settled ? "" : "; the rest not taken before the timeout: see `lasso-reports status --batch` in a moment"}.`
      : "Not waited for: see `lasso-reports status --batch` in a moment.",
    renderRefused(outcome.refused),
  );
}

export function renderResend(outcome: ResendOutcome): string {
  const after = outcome.after;
  return blocks(
    `Re-send of ${outcome.identity} queued (resend key ${outcome.resendKey}).`,
    after === undefined
      ? "Not yet taken by the delivery: see `lasso-reports status --batch` in a moment."
      : after.state === "delivered" && after.source === "resend"
        ? `Delivered again to ${cell(after.recipients)} at ${localTime(after.deliveredAt) ?? ""} (SES message id ${after.sesMessageId ?? ""}).`
        : `The delivery recorded it as ${after.state}${after.reason ? `: ${after.reason}` : ""}.`,
  );
}
