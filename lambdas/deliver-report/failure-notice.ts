/**
 * A failed report's notice to the firm: when a report of a known customer is not mailed
 * (Lasso failed it, it is unroutable, its PDF was refused, SES rejected the mail), the
 * customer's responsible accountant (its `cc` and `bcc` addresses) or else the operators'
 * address (deploy config `mail.operatorsEmail`, default `alertEmail`) gets one short mail
 * naming the company, the report and the reason; the client none. One per customer and
 * Lasso batch: the first failure claims it with a conditional write, later ones of the
 * same batch are counted in the record only (`lasso-reports failures` lists them all).
 *
 * A notice never decides a report's outcome: the outcome is recorded first, and a notice
 * that cannot be sent is logged (and its claim given back for the next failure to try).
 */
import type { Customer, CustomerParseResult } from "#shared/customers.ts";
import { buildMessage, destinationOf, headerSafe, redirected } from "#shared/mail/compose.ts";
import { renderFailureNotice } from "#shared/mail/templates.ts";
import {
  claimFailureNotice,
  markFailureNoticeSent,
  releaseFailureNotice,
} from "#shared/state/failure-notices.ts";
import type { Attempt, DeliveryOutcome } from "./attempt.ts";

export const FAILURE_NOTICE_METRICS = {
  sent: "FailureNoticeSent",
  /** A failed report whose customer+batch already had its notice. */
  skipped: "FailureNoticeSkipped",
  failed: "FailureNoticeFailed",
} as const;

/** Who hears of a customer's failed report: its accountant (cc, bcc), else the operators. */
export function noticeRecipients(customer: Customer | undefined, operators: string | undefined): string[] {
  const accountants = customer === undefined ? [] : [...new Set([...customer.cc, ...customer.bcc])];
  if (accountants.length > 0) return accountants;
  return operators === undefined ? [] : [operators];
}

const usableRow = (result: CustomerParseResult | undefined): Customer | undefined =>
  result?.ok === true ? result.customer : undefined;

export async function sendFailureNotice(
  attempt: Attempt,
  customerId: number | undefined,
  reason: string,
  known?: Customer,
): Promise<void> {
  if (customerId === undefined) return; // No customer to name: the alarms and `failures` tell operators.
  const { deps, message, facts } = attempt;
  try {
    const customer = known ?? usableRow(await deps.customers.get(customerId));
    const to = noticeRecipients(customer, deps.config.profile.operators);
    if (to.length === 0) {
      deps.logger.warn("failed report: nobody to notify (no cc/bcc, no operators' address)", { customerId });
      return;
    }
    const claimed = await claimFailureNotice(
      deps.state,
      { customerId, lassoBatchId: message.batchId, identity: attempt.identity, reason },
      deps.clock(),
    );
    if (!claimed) {
      deps.metrics.count(FAILURE_NOTICE_METRICS.skipped);
      return;
    }
    const routed = redirected(
      { from: deps.config.profile.from, replyTo: deps.config.profile.replyTo, to },
      deps.config.profile.redirectAllTo,
    );
    const rendered = renderFailureNotice(
      {
        language: customer?.language ?? deps.config.defaultLanguage,
        reportType: facts.reportType,
        companyName: headerSafe(message.companyName ?? customer?.name ?? `CVR ${message.cvr}`),
        cvr: message.cvr,
        customerId,
        customerName: customer?.name ?? `(customer ${customerId})`,
        batchId: message.batchId,
        reason,
      },
      deps.config.profile,
      { logo: deps.config.logo, marks: routed.marks },
    );
    const raw = await buildMessage(routed.envelope, rendered, deps.config.logo);
    let sent: { messageId: string };
    try {
      sent = await deps.sendMail({
        from: deps.config.sender,
        destination: destinationOf(routed.envelope),
        raw,
        tags: { customer: String(customerId), batch: message.batchId, kind: "failure-notice" },
      });
    } catch (error) {
      await releaseFailureNotice(deps.state, customerId, message.batchId).catch(() => undefined);
      throw error;
    }
    await markFailureNoticeSent(deps.state, customerId, message.batchId, sent.messageId, deps.clock());
    deps.metrics.count(FAILURE_NOTICE_METRICS.sent);
    deps.logger.info("failure notice sent", { customerId, recipients: to.length });
  } catch (error) {
    deps.metrics.count(FAILURE_NOTICE_METRICS.failed);
    deps.logger.error("the failure notice could not be sent", { customerId, error });
  }
}

/** The outcome, after a failed or unroutable one has told the firm (once per customer and batch). */
export async function withFailureNotice(
  attempt: Attempt,
  outcome: DeliveryOutcome,
  customerId: number | undefined,
  customer?: Customer,
): Promise<DeliveryOutcome> {
  if (outcome.outcome === "failed" || outcome.outcome === "unroutable") {
    await sendFailureNotice(attempt, customerId, outcome.reason, customer);
  }
  return outcome;
}
