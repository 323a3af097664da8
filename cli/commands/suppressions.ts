/** `suppressions list | lift ADDRESS`: the addresses SES reported as bounced or complaining. */
import type { Command } from "commander";
import { blocks, localTime, ok, plural, table } from "../output.ts";
import { type LiftOutcome, liftSuppression, listSuppressions, type SuppressionRow } from "../suppressions.ts";
import type { CommandContext } from "./context.ts";

export function addSuppressionsCommands(program: Command, context: CommandContext): void {
  const suppressions = program
    .command("suppressions")
    .description("addresses SES reported as bounced or complaining, which the delivery skips: list, lift");

  suppressions
    .command("list")
    .description("every suppressed address: why, when, and the mail that bounced")
    .action(
      context.withTarget(async (target, _globals, progress) => {
        const rows = await listSuppressions(target.state, progress);
        return ok({ suppressions: rows }, renderSuppressions(rows));
      }),
    );

  suppressions
    .command("lift")
    .description("mail an address again: its suppression removed (and SES's, on a deployment)")
    .argument("<address>", "the e-mail address")
    .addHelpText(
      "after",
      "\nFix the customer's emails first if the address was wrong; lift it when the\nmailbox is right again.",
    )
    .action(
      context.withTarget(async (target, _globals, _progress, address: string) => {
        const outcome = await liftSuppression(
          {
            state: target.state,
            ...(target.sesSuppressions === undefined ? {} : { ses: target.sesSuppressions }),
          },
          address,
        );
        return ok(outcome, renderLift(outcome));
      }),
    );
}

export function renderSuppressions(rows: readonly SuppressionRow[]): string {
  if (rows.length === 0) return "No suppressed addresses.";
  return blocks(
    `${plural(rows.length, "suppressed address", "suppressed addresses")} (the delivery skips them):`,
    table(
      ["address", "reason", "when", "detail", "mail"],
      rows.map((row) => [
        row.email,
        row.reason,
        localTime(row.eventAt),
        row.detail,
        [
          row.customerId && `customer ${row.customerId}`,
          row.lassoBatchId && `batch ${row.lassoBatchId}`,
          row.reportType,
        ]
          .filter((part) => part !== undefined && part !== "")
          .join("\n"),
      ]),
    ),
    "Lift one with: suppressions lift ADDRESS (docs/operations.md#mailbounced).",
  );
}

export function renderLift(outcome: LiftOutcome): string {
  const ses = {
    removed: "taken off SES's account-level suppression list too",
    "not-listed": "it was not on SES's account-level suppression list",
    "no-list": "the local SES emulator keeps no account-level list",
  }[outcome.ses];
  return outcome.lifted === undefined
    ? `${outcome.email} was not suppressed by the pipeline (${ses}).`
    : `Lifted the suppression of ${outcome.email} (${outcome.lifted.reason} ${localTime(outcome.lifted.eventAt)}): the next delivery mails it again; ${ses}.`;
}
