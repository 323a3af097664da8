/** `dlq list | show ID | delete ID… | redrive [ID…]`: looking inside the report-ready dead-letter queue. */
import { type Command, Option } from "commander";
import {
  actOnDeadLetters,
  type DeadLetter,
  type DlqActionOutcome,
  type DlqPorts,
  listDeadLetters,
} from "../dlq.ts";
import { CliFailure } from "../errors.ts";
import { blocks, failed, fields, localTime, ok, plural, table } from "../output.ts";
import type { Target } from "../target.ts";
import { askYes, type CommandContext, positiveInt } from "./context.ts";

const ports = async (target: Target): Promise<DlqPorts> => ({
  sqs: target.sqs,
  queueUrl: await target.queueUrl(),
  dlqUrl: await target.dlqUrl(),
});

const HELP = `
A message lands in the dead-letter queue when deliver-report failed on it
maxReceiveCount times (docs/operations.md#dead-letters). list and show read
the messages without taking them (they stay where they are); show never prints
a PDF link, only its host. Fix the cause first, then redrive (all, or the ids
given); delete drops messages for good (asks first).`;

export function addDlqCommands(program: Command, context: CommandContext): void {
  const dlq = program
    .command("dlq")
    .description("the report-ready dead-letter queue: list, show, delete, redrive its messages")
    .addHelpText("after", HELP);

  dlq
    .command("list")
    .description("every dead letter: which report, since when, how often received")
    .addOption(new Option("--max <n>", "read at most this many").argParser(positiveInt("--max")))
    .action(
      context.withTarget(async (target, _globals, progress, options: { max?: number }) => {
        const letters = await listDeadLetters(await ports(target), {
          ...(options.max === undefined ? {} : { max: options.max }),
          progress,
        });
        return ok({ deadLetters: letters }, renderDeadLetters(letters));
      }),
    );

  dlq
    .command("show")
    .description("one dead letter: the report it names, its attributes (never its PDF link)")
    .argument("<messageId>", "the message id (dlq list)")
    .action(
      context.withTarget(async (target, _globals, progress, messageId: string) => {
        const letter = (await listDeadLetters(await ports(target), { progress })).find(
          (candidate) => candidate.messageId === messageId.trim(),
        );
        if (letter === undefined) throw new CliFailure(`no message ${messageId} in the dead-letter queue`);
        return ok(letter, renderDeadLetter(letter));
      }),
    );

  dlq
    .command("delete")
    .description("delete dead letters for good (asks first; --yes for scripts)")
    .argument("<messageId...>", "the message ids (dlq list)")
    .option("--yes", "delete without asking")
    .action(
      context.withTarget(
        async (target, _globals, progress, messageIds: string[], options: { yes?: boolean }) => {
          const ids = messageIds.map((id) => id.trim());
          const question = `Delete ${ids.length === 1 ? "this dead letter" : `these ${ids.length} dead letters`} for good (${ids.join(", ")})?`;
          if (options.yes !== true && !(await askYes(context.io, question))) {
            return failed(
              { done: [], notFound: [], failed: [], confirmed: false },
              "Not confirmed: nothing deleted (give --yes in scripts).",
            );
          }
          const outcome = await actOnDeadLetters(await ports(target), "delete", ids, { progress });
          return actionResult(outcome, "Deleted");
        },
      ),
    );

  dlq
    .command("redrive")
    .description("move dead letters back to the report-ready queue: the ids given, or all")
    .argument("[messageId...]", "the message ids (dlq list); none: every message")
    .action(
      context.withTarget(async (target, _globals, progress, messageIds: string[]) => {
        const outcome = await actOnDeadLetters(
          await ports(target),
          "redrive",
          messageIds.map((id) => id.trim()),
          { progress },
        );
        return actionResult(outcome, "Moved back to the report-ready queue");
      }),
    );
}

function actionResult(outcome: DlqActionOutcome, verb: string) {
  const text = blocks(
    `${verb}: ${plural(outcome.done.length, "message")}${outcome.done.length === 0 ? "" : ` (${outcome.done.join(", ")})`}.`,
    outcome.notFound.length === 0
      ? undefined
      : `Not in the dead-letter queue: ${outcome.notFound.join(", ")}.`,
    outcome.failed.length === 0
      ? undefined
      : `Still in the dead-letter queue:\n${table(
          ["message id", "why"],
          outcome.failed.map((entry) => [entry.messageId, entry.reason]),
        )}`,
  );
  return outcome.notFound.length + outcome.failed.length === 0 ? ok(outcome, text) : failed(outcome, text);
}

const what = (letter: DeadLetter): string =>
  letter.unreadable === undefined
    ? `${letter.reportType ?? "?"} for cvr ${letter.cvr ?? "?"}${letter.customerId === undefined ? "" : ` (customer ${letter.customerId})`}`
    : `unreadable: ${letter.unreadable}`;

export function renderDeadLetters(letters: readonly DeadLetter[]): string {
  if (letters.length === 0) return "The dead-letter queue is empty.";
  return blocks(
    `${plural(letters.length, "message")} in the dead-letter queue:`,
    table(
      ["message id", "report", "batch", "source", "sent", "receives"],
      letters.map((letter) => [
        letter.messageId,
        what(letter),
        letter.batchId,
        letter.source,
        localTime(letter.sentAt),
        letter.receiveCount,
      ]),
      { keep: [0] },
    ),
    "Details: dlq show ID. Fix the cause (docs/operations.md#dead-letters), then dlq redrive.",
  );
}

export function renderDeadLetter(letter: DeadLetter): string {
  return fields([
    ["message id", letter.messageId],
    ["report", what(letter)],
    ["lasso batch", letter.batchId],
    ["item status", letter.itemStatus],
    ["source", letter.source],
    ["seen", localTime(letter.seenAt)],
    ["sent", localTime(letter.sentAt)],
    ["receives", letter.receiveCount],
    [
      "pdf host",
      letter.pdfHost === undefined ? undefined : `${letter.pdfHost} (the link itself is not shown)`,
    ],
  ]);
}
