/** `resend`: mails a report again (recorded as a resend), also one that was unroutable once its row is fixed. */
import { type Command, Option } from "commander";
import { blocks, cell, failed, localTime, ok } from "../output.ts";
import { type ResendOutcome, resendReport } from "../queue-ops.ts";
import { type CommandContext, positiveInt, seconds } from "./context.ts";

interface ResendOptions {
  batch: string;
  customer: number;
  reportId?: string;
  wait: boolean;
  timeout: number;
}

export function addResendCommand(program: Command, context: CommandContext): void {
  program
    .command("resend")
    .description(
      "mail a report again (recorded as a resend): also for one that was unroutable once its row is fixed",
    )
    .requiredOption("--batch <id>", "Lasso's batch id")
    .requiredOption("--customer <id>", "the customer's id", positiveInt("--customer"))
    .option("--report-id <id>", "a listener batch's report (several per customer)")
    .option("--no-wait", "return once the message is on the queue")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for the delivery")
        .argParser(seconds)
        .default(120_000, "120"),
    )
    .action(
      context.withTarget(async (target, _globals, progress, options: ResendOptions) => {
        const outcome = await resendReport(
          { state: target.state, sqs: target.sqs, queueUrl: await target.queueUrl() },
          {
            lassoBatchId: options.batch.trim(),
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
