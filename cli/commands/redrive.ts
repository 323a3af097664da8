/** `redrive`: moves the report-ready dead-letter queue's messages back to the queue; says how many. */
import { type Command, Option } from "commander";
import { blocks, failed, ok, plural } from "../output.ts";
import { type RedriveOutcome, redriveDeadLetters } from "../queue-ops.ts";
import { type CommandContext, positiveInt } from "./context.ts";

export function addRedriveCommand(program: Command, context: CommandContext): void {
  program
    .command("redrive")
    .description("move the report-ready dead-letter queue's messages back to the queue; says how many")
    .addOption(new Option("--max <n>", "move at most this many").argParser(positiveInt("--max")))
    .addHelpText(
      "after",
      "\nSafe to repeat: the delivery skips a report that is already delivered. Fix the cause first (docs/operations.md).",
    )
    .action(
      context.withTarget(async (target, _globals, progress, options: { max?: number }) => {
        const outcome = await redriveDeadLetters(
          { sqs: target.sqs, queueUrl: await target.queueUrl(), dlqUrl: await target.dlqUrl() },
          { ...(options.max === undefined ? {} : { max: options.max }), progress },
        );
        const text = renderRedrive(outcome);
        return outcome.failed + outcome.notDeleted === 0 ? ok(outcome, text) : failed(outcome, text);
      }),
    );
}

export function renderRedrive(outcome: RedriveOutcome): string {
  return blocks(
    `Moved ${plural(outcome.moved, "message")} from the dead-letter queue back to the report-ready queue.`,
    outcome.before !== outcome.moved
      ? `The dead-letter queue counted about ${plural(outcome.before, "message")} before (SQS counts approximately).`
      : undefined,
    outcome.failed > 0
      ? `${outcome.failed} refused by the queue: still in the dead-letter queue.`
      : undefined,
    outcome.notDeleted > 0
      ? `${outcome.notDeleted} sent but not deleted from the dead-letter queue: they will show up there again (re-driving them again is safe).`
      : undefined,
  );
}
