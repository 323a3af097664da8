/**
 * `webhook test`: asks Lasso to send its dummy webhook (the webhook-test endpoint, POST
 * with our auth config: header name and the webhook secret's current value) to our
 * webhook URL, then shows whether it arrived.
 *
 * How arrival is seen, without any test-only code in the functions: the dummy report names
 * a fresh batch id of our choosing, which Lasso does not know. receive-webhook
 * authenticates and enqueues the doorbell; deliver-report asks Lasso about the batch, is
 * told it does not exist, and records the webhook as unverified
 * (`UNVERIFIED#<batchId>` / `HINT#<cvr>#Revision`), mailing nobody. The CLI waits for that
 * record: it proves the whole way in (Lasso → Function URL → auth → SQS → delivery → Lasso
 * API) worked.
 *
 * Side effect, on purpose visible: one `WebhookUnverified` (the alarm may fire once), and
 * the record stays in the state table until its TTL, as evidence.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { findCustomersByCvr } from "#shared/customer-reads.ts";
import type { LassoClient } from "#shared/lasso/client.ts";
import { isRecord } from "#shared/lasso/normalise.ts";
import { lassoIdForCvr } from "#shared/lasso/schemas.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { getUnverifiedRecord } from "#shared/state/unverified.ts";
import { webhookAuthConfig } from "#shared/webhook-credentials.ts";
import { UsageError } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";
import type { WebhookInfo } from "./target.ts";

/** Fails the modulus-11 check: no valid customer row can have it (belt and braces: the dummy batch is unknown to Lasso, so nothing of it is mailed anyway). */
export const WEBHOOK_TEST_CVR = "12345678";
const TEST_REPORT_TYPE = "Revision";

export interface WebhookTestRecord {
  state: "unverified";
  lassoBatchId: string;
  cvr: string;
  reason: string;
  hints: number;
  lastSeenAt: string;
}

/** How Lasso is asked to call: with the header secret, with BasicAuth, or unauthenticated (GET). */
export type WebhookTestAuth = "header" | "basic" | "none";

export interface WebhookTestReport {
  auth: WebhookTestAuth;
  webhookUrl: string;
  batchId: string;
  cvr: string;
  /** Lasso's answer to the webhook-test call. */
  lasso: { status: number; body: unknown };
  /** True when the dummy report reached the delivery (its unverified record exists). */
  arrived: boolean;
  /** The status our webhook answered Lasso, when Lasso says (the simulator does). */
  webhookStatus?: number;
  /** What the delivery recorded: the webhook, not believed, with its reason. */
  record?: WebhookTestRecord;
  waitedMs: number;
}

export async function testWebhook(
  ports: {
    lasso: LassoClient;
    webhook: WebhookInfo;
    state: StateTable;
    customers: { doc: DynamoDBDocumentClient; tableName: string };
  },
  options: {
    cvr?: string;
    auth?: WebhookTestAuth;
    timeoutMs: number;
    pollMs?: number;
    progress: ProgressFactory;
  },
): Promise<WebhookTestReport> {
  const auth = options.auth ?? "header";
  const cvr = options.cvr ?? WEBHOOK_TEST_CVR;
  if (!/^\d{8}$/.test(cvr)) throw new UsageError(`--cvr "${cvr}" must be 8 digits`);
  // A usable row with this CVR (even one switched off: it may be switched on) would get the dummy.
  const owners = (await findCustomersByCvr(ports.customers.doc, ports.customers.tableName, cvr)).flatMap(
    (owner) => (owner.ok ? [owner.customer.customerId] : []),
  );
  if (owners.length > 0) {
    const ids = owners;
    throw new UsageError(
      `cvr ${cvr} belongs to customer(s) ${ids.join(", ")}: the dummy report would be mailed to them; choose a CVR no customer has`,
    );
  }
  const batchId = randomUUID();
  const started = Date.now();
  const answer = await ports.lasso.testWebhook({
    url: ports.webhook.url,
    lassoId: lassoIdForCvr(cvr),
    batchId,
    reportType: TEST_REPORT_TYPE,
    // No auth config: Lasso's GET variant, which calls the webhook unauthenticated.
    ...(auth === "none"
      ? {}
      : { authConfig: webhookAuthConfig(auth === "basic" ? "BasicAuth" : "Header", ports.webhook) }),
  });
  const webhookStatus =
    isRecord(answer.body) && typeof answer.body.statusCode === "number" ? answer.body.statusCode : undefined;
  const report: WebhookTestReport = {
    auth,
    webhookUrl: ports.webhook.url,
    batchId,
    cvr,
    lasso: { status: answer.status, body: answer.body },
    arrived: false,
    ...(webhookStatus === undefined ? {} : { webhookStatus }),
    waitedMs: 0,
  };
  // Lasso says it could not deliver (the simulator answers `success: false`): nothing will arrive.
  if (isRecord(answer.body) && answer.body.success === false) return report;

  const bar = options.progress("waiting for the webhook");
  const deadline = started + options.timeoutMs;
  try {
    while (Date.now() < deadline) {
      const record = await getUnverifiedRecord(ports.state, batchId, { cvr, reportType: TEST_REPORT_TYPE });
      if (record !== undefined) {
        report.arrived = true;
        report.record = {
          state: "unverified",
          lassoBatchId: record.lassoBatchId,
          cvr,
          reason: record.reason,
          hints: record.hints,
          lastSeenAt: record.lastSeenAt,
        };
        return report;
      }
      bar.tick();
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    }
  } finally {
    report.waitedMs = Date.now() - started;
    bar.done();
  }
  return report;
}
