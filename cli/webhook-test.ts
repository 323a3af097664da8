/**
 * `webhook test`: asks Lasso to send its dummy webhook (the webhook-test endpoint, POST
 * with our auth config: header name and the webhook secret's current value) to our
 * webhook URL, then shows whether it arrived.
 *
 * How arrival is seen, without any test-only code in the functions: the dummy report names
 * a fresh batch id of our choosing, so the pipeline treats it like any report of a batch it
 * does not know. receive-webhook authenticates and enqueues it; deliver-report claims it,
 * which writes the report record `REPORT#<batchId>#<cvr>#Revision`, and records it as
 * unroutable, because the test CVR (12345678 by default) fails the modulus-11 check, so no
 * customer row can have it and nobody is mailed. The CLI waits for that record: it proves
 * the whole way in (Lasso → Function URL → auth → SQS → delivery) worked.
 *
 * Side effect, on purpose visible: one `ReportUnroutable` (alarm `ReportUnroutable` may
 * fire once), and the record stays in the state table until its TTL, as evidence.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { findCustomersByCvr } from "#shared/customers.ts";
import type { LassoClient } from "#shared/lasso/client.ts";
import { isRecord } from "#shared/lasso/normalise.ts";
import { lassoIdForCvr } from "#shared/lasso/schemas.ts";
import { reportIdentity } from "#shared/report-ready.ts";
import { getReportRecord } from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { UsageError } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";
import { type ReportView, reportView } from "./state-views.ts";
import type { WebhookInfo } from "./target.ts";

/** Fails the modulus-11 check: no valid customer row can have it, so the dummy is mailed to nobody. */
export const WEBHOOK_TEST_CVR = "12345678";
/** Not listenable: the delivery identifies it without asking Lasso about the (dummy) batch. */
const TEST_REPORT_TYPE = "Revision";

export interface WebhookTestReport {
  webhookUrl: string;
  batchId: string;
  cvr: string;
  /** Lasso's answer to the webhook-test call. */
  lasso: { status: number; body: unknown };
  /** True when the dummy report reached the delivery (its report record exists). */
  arrived: boolean;
  /** The report record as the delivery left it. */
  record?: ReportView;
  waitedMs: number;
}

export async function testWebhook(
  ports: {
    lasso: LassoClient;
    webhook: WebhookInfo;
    state: StateTable;
    customers: { doc: DynamoDBDocumentClient; tableName: string };
  },
  options: { cvr?: string; timeoutMs: number; pollMs?: number; progress: ProgressFactory },
): Promise<WebhookTestReport> {
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
    authConfig: { Method: "Header", Key: ports.webhook.headerName, Value: ports.webhook.secret },
  });
  const report: WebhookTestReport = {
    webhookUrl: ports.webhook.url,
    batchId,
    cvr,
    lasso: { status: answer.status, body: answer.body },
    arrived: false,
    waitedMs: 0,
  };
  // Lasso says it could not deliver (the simulator answers `success: false`): nothing will arrive.
  if (isRecord(answer.body) && answer.body.success === false) return report;

  // Lasso may echo the id in another letter case.
  const identities = [...new Set([batchId, batchId.toUpperCase()])].map((id) =>
    reportIdentity({ batchId: id, cvr, reportType: TEST_REPORT_TYPE }, { isListener: false }),
  );
  const bar = options.progress("waiting for the webhook");
  const deadline = started + options.timeoutMs;
  try {
    while (Date.now() < deadline) {
      for (const identity of identities) {
        const record = await getReportRecord(ports.state, identity);
        if (
          record !== undefined &&
          record.deliveryStatus !== undefined &&
          record.deliveryStatus !== "claimed"
        ) {
          report.arrived = true;
          report.record = reportView(record, new Date());
          return report;
        }
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
