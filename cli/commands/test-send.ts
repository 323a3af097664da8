/** `test-send`: the mail a customer would get, sent to one address, marked and recorded as a test. */
import { type Command, Option } from "commander";
import { z } from "zod";
import { REPORT_TYPES, type ReportType, reportTypeName } from "#shared/lasso/enums.ts";
import { UsageError } from "../errors.ts";
import { failed, fields, ok } from "../output.ts";
import { testSend } from "../test-send.ts";
import { type CommandContext, positiveInt, seconds } from "./context.ts";

interface TestSendOptions {
  customer: number;
  type: ReportType;
  to: string;
  sample?: boolean;
  wait: boolean;
  timeout: number;
}

const HELP = `
Sends exactly the mail the customer would get for the report type (its
recipients, language, the firm's signature and footer) to --to only, marked as a
test in subject and body, naming the recipients it would have gone to. It
carries the customer's latest report of the type (fetched fresh from Lasso), or
a sample PDF (--sample, or when the customer has none yet). Recorded in the
delivery history as kind "test" (and archived); never counted as a delivery.`;

export function addTestSendCommand(program: Command, context: CommandContext): void {
  program
    .command("test-send")
    .description("send the mail a customer would get to one address, as a test")
    .addOption(
      new Option("--customer <id>", "the customer's id")
        .argParser(positiveInt("--customer"))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--type <type>", `the report type (${REPORT_TYPES.join(", ")})`)
        .argParser((value: string) => {
          const type = reportTypeName(value);
          if (type === undefined)
            throw new UsageError(`unknown report type ${value} (known: ${REPORT_TYPES.join(", ")})`);
          return type;
        })
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--to <address>", "the one address the test goes to")
        .argParser((value: string) => {
          if (!z.email().safeParse(value.trim()).success)
            throw new UsageError(`not an e-mail address: ${value}`);
          return value.trim();
        })
        .makeOptionMandatory(),
    )
    .option("--sample", "carry the sample PDF, not the customer's latest report")
    .option("--no-wait", "return once the test is on the queue")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for the send")
        .argParser(seconds)
        .default(120_000, "120"),
    )
    .addHelpText("after", HELP)
    .action(
      context.withTarget(async (target, _globals, _progress, options: TestSendOptions) => {
        const outcome = await testSend(
          {
            customerId: options.customer,
            reportType: options.type,
            to: options.to,
            ...(options.sample === true ? { sample: true } : {}),
            timeoutMs: options.wait ? options.timeout : 0,
          },
          {
            state: target.state,
            customers: { doc: target.customersDoc, tableName: target.customersTable },
            sqs: target.sqs,
            queueUrl: await target.queueUrl(),
          },
        );
        const shown = fields([
          ["customer", String(outcome.customerId)],
          ["report type", outcome.reportType],
          ["to", outcome.to],
          [
            "carries",
            outcome.batchId === "sample" ? "the sample PDF" : `the report of Lasso batch ${outcome.batchId}`,
          ],
          ...(outcome.delivery === undefined
            ? []
            : ([
                ["state", outcome.delivery.state],
                ["delivery id", outcome.delivery.deliveryId],
                ["SES message id", outcome.delivery.sesMessageId ?? "-"],
                ["archive", outcome.delivery.archive.messageKey],
              ] as [string, string][])),
        ]);
        if (!options.wait) return ok(outcome, `test send queued\n${shown}`);
        if (outcome.delivery === undefined)
          return failed(outcome, `no test send recorded within the timeout\n${shown}`);
        return ok(
          outcome,
          `test send ${outcome.delivery.state} (recorded as a test, not a delivery)\n${shown}`,
        );
      }),
    );
}
