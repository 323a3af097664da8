/** `webhook test`: has Lasso send its dummy webhook to our webhook, and shows whether it arrived. */
import { type Command, Option } from "commander";
import { blocks, failed, fields, ok } from "../output.ts";
import { testWebhook, WEBHOOK_TEST_CVR, type WebhookTestReport } from "../webhook-test.ts";
import { type CommandContext, seconds } from "./context.ts";

const HELP = `
The dummy report names a fresh batch id and a CVR no customer has: the
delivery records it as unverified (one WebhookUnverified, alarm included) and
mails nobody. That record is how its arrival is seen. --basic-auth has Lasso
authenticate with BasicAuth (as a schedule with webhookAuth BasicAuth does);
--unauthenticated uses Lasso's GET variant, without any auth: the webhook must
refuse it (exit 0 when it did, 1 when it let the dummy in).`;

interface WebhookTestOptions {
  cvr: string;
  basicAuth?: boolean;
  unauthenticated?: boolean;
  timeout: number;
}

export function addWebhookCommands(program: Command, context: CommandContext): void {
  const webhook = program.command("webhook").description("the webhook Lasso calls for every finished report");
  webhook
    .command("test")
    .description(
      "have Lasso send its dummy webhook (with our auth header) to our webhook; show whether it arrived",
    )
    .option("--cvr <cvr>", "the dummy report's CVR (must belong to no customer)", WEBHOOK_TEST_CVR)
    .addOption(
      new Option("--basic-auth", "Lasso authenticates with BasicAuth instead of the header").conflicts(
        "unauthenticated",
      ),
    )
    .option("--unauthenticated", "Lasso calls without authentication (GET): the webhook must refuse it")
    .addOption(
      new Option("--timeout <seconds>", "how long to wait for it").argParser(seconds).default(60_000, "60"),
    )
    .addHelpText("after", HELP)
    .action(
      context.withTarget(async (target, _globals, progress, options: WebhookTestOptions) => {
        const auth =
          options.unauthenticated === true ? "none" : options.basicAuth === true ? "basic" : "header";
        const report = await testWebhook(
          {
            lasso: await target.lasso(),
            webhook: await target.webhook(),
            state: target.state,
            customers: { doc: target.customersDoc, tableName: target.customersTable },
          },
          { cvr: options.cvr, auth, timeoutMs: options.timeout, progress },
        );
        const text = renderWebhookTest(report);
        // Unauthenticated, arriving is the failure: the door let an unauthenticated call in.
        return report.arrived === (auth !== "none") ? ok(report, text) : failed(report, text);
      }),
    );
}

export function renderWebhookTest(report: WebhookTestReport): string {
  const lassoSays =
    typeof report.lasso.body === "string" ? report.lasso.body : JSON.stringify(report.lasso.body ?? "");
  return blocks(
    fields([
      ["webhook", report.webhookUrl],
      [
        "auth",
        { header: "the header secret", basic: "BasicAuth", none: "none (Lasso's GET variant)" }[report.auth],
      ],
      ["dummy batch", report.batchId],
      ["dummy cvr", report.cvr],
      ["Lasso answered", `${report.lasso.status} ${lassoSays}`],
    ]),
    report.auth === "none"
      ? report.arrived
        ? "ARRIVED WITHOUT AUTHENTICATION: the webhook let an unauthenticated call in. Check receive-webhook's configuration now."
        : `REFUSED, as it must be: the unauthenticated call did not get in${report.webhookStatus === undefined ? "" : ` (the webhook answered ${report.webhookStatus})`}.`
      : report.arrived
        ? `ARRIVED: the webhook accepted the dummy report and the delivery recorded it (${report.record?.state ?? "?"}${
            report.record?.reason ? `: ${report.record.reason}` : ""
          }) after ${Math.round(report.waitedMs / 100) / 10} s. Nobody was mailed.`
        : `NOT ARRIVED within ${Math.round(report.waitedMs / 1000)} s: check the receive-webhook function's logs (401: the secret; nothing: the URL) and Lasso's answer above.`,
  );
}
