/**
 * Steps 6 and 7 of a delivery: compose the mail, archive it (evidence.ts), send it through
 * SES, record it delivered.
 */
import type { Customer } from "#shared/customers.ts";
import type { ItemStatus } from "#shared/lasso/enums.ts";
import { composeReportMail } from "#shared/mail/compose.ts";
import { MailSendError } from "#shared/mail/ses-mailer.ts";
import type { FetchedPdf } from "#shared/pdf/fetch.ts";
import type { Recipients } from "./attempt.ts";
import { type Attempt, DELIVERY_METRICS, type DeliveryOutcome, recordFailed } from "./attempt.ts";
import { RetryLaterError } from "./errors.ts";
import { archiveBeforeSend, noteRejected, noteSent } from "./evidence.ts";
import { withFailureNotice } from "./failure-notice.ts";

/** Steps 6 and 7: compose, send through SES, record delivered. */
export async function sendAndRecord(
  attempt: Attempt,
  customer: Customer,
  to: { itemStatus: Exclude<ItemStatus, "Failed">; recipients: Recipients; suppressed: string[] },
  fetched: { pdf: FetchedPdf; pdfUrl: string },
): Promise<DeliveryOutcome> {
  const { message, deps } = attempt;
  const { suppressed } = to;
  const { pdf } = fetched;
  const mail = await composeFor(attempt, customer, to, fetched);
  // Who SES hands it to (To, Cc and Bcc; the redirect address alone under mail.redirectAllTo).
  const recipients = [...mail.destination.to, ...mail.destination.cc, ...mail.destination.bcc];
  const evidence = await archiveBeforeSend(attempt, customer, mail, { recipients, pdf: pdf.bytes }).catch(
    (error: unknown) => {
      // Nothing went out: the queue's retry archives and sends anew.
      throw new RetryLaterError(
        "archive-unavailable",
        error instanceof Error ? error.message : String(error),
        {
          cause: error,
        },
      );
    },
  );

  // What is left of the invocation must cover the send and the writes after it: a mail
  // whose outcome could not be recorded in time would go out again with the retry.
  if (attempt.context.deadline.getTime() - deps.clock().getTime() < (attempt.context.sendReserveMs ?? 0)) {
    throw new RetryLaterError("deadline", "too little time left to send and record the mail");
  }
  let sent: { messageId: string };
  try {
    sent = await deps.sendMail({
      from: deps.config.sender,
      destination: mail.destination,
      raw: mail.raw,
      tags: deliveryTags(attempt, customer.customerId, evidence.deliveryId),
    });
  } catch (error) {
    if (!(error instanceof MailSendError)) throw error;
    if (error.retryable) {
      // SES answered with a refusal: this mail did not go out (a retry makes a new one). A
      // lost answer (no response) leaves the record archived: SES may have taken it.
      if (error.answered) await noteRejected(attempt, evidence, `SES refused it for now: ${error.message}`);
      throw new RetryLaterError(`ses-${error.code}`, error.message, { cause: error });
    }
    const reason = `SES rejected the message: ${error.message}`;
    deps.logger.error("SES rejected the report mail: recorded as failed", { reason });
    deps.metrics.count(DELIVERY_METRICS.failed, { reason: "ses-rejected" });
    await noteRejected(attempt, evidence, reason);
    return withFailureNotice(
      attempt,
      await recordFailed(attempt, customer, reason),
      customer.customerId,
      customer,
    );
  }
  attempt.sent = sent;

  const notes = [
    mail.pdfDelivery === "link"
      ? `the PDF (${pdf.bytes.length} bytes) is too large for SES: the mail carries a link instead`
      : undefined,
    suppressed.length > 0 ? `suppressed recipients skipped: ${suppressed.join(", ")}` : undefined,
  ].filter((note) => note !== undefined);
  await attempt.record({
    status: "delivered",
    customerId: customer.customerId,
    recipients,
    sesMessageId: sent.messageId,
    deliveryId: evidence.deliveryId,
    source: message.source,
    fileName: mail.fileName,
    pdfDelivery: mail.pdfDelivery,
    ...(notes.length > 0 ? { reason: notes.join("; ") } : {}),
  });
  // The report is on record as delivered first: the duplicate window stays one write wide.
  // The evidence's last steps come after, best effort (evidence.ts).
  await noteSent(attempt, evidence, sent.messageId);
  deps.metrics.count(DELIVERY_METRICS.delivered);
  if (mail.pdfDelivery === "link") deps.metrics.count(DELIVERY_METRICS.sentAsLink);
  deps.logger.info("report delivered", {
    sesMessageId: sent.messageId,
    recipients: recipients.length,
    pdfBytes: pdf.bytes.length,
    pdfDelivery: mail.pdfDelivery,
    deliveryId: evidence.deliveryId,
    attempt: attempt.number,
  });
  return {
    outcome: "delivered",
    identity: attempt.identity,
    sesMessageId: sent.messageId,
    recipients,
    pdfDelivery: mail.pdfDelivery,
  };
}

/** Step 6a: the MIME message in the customer's language, the PDF attached (or linked when too large). */
function composeFor(
  attempt: Attempt,
  customer: Customer,
  to: { itemStatus: Exclude<ItemStatus, "Failed">; recipients: Recipients },
  fetched: { pdf: FetchedPdf; pdfUrl: string },
) {
  const { message, facts, deps } = attempt;
  const warning = to.itemStatus === "Warning" ? message.errorMessage : undefined;
  return composeReportMail({
    envelope: {
      from: deps.config.profile.from,
      replyTo: deps.config.profile.replyTo,
      ...to.recipients,
    },
    content: {
      language: customer.language,
      reportType: facts.reportType,
      itemStatus: to.itemStatus,
      companyName: message.companyName ?? customer.name,
      cvr: message.cvr,
      customerId: customer.customerId,
      customerName: customer.name,
      ...(warning === undefined ? {} : { warning }),
    },
    dress: { profile: deps.config.profile, logo: deps.config.logo },
    fileName: message.fileName ?? "",
    pdf: fetched.pdf.bytes,
    pdfUrl: fetched.pdfUrl,
    ...(deps.config.maxMessageBytes === undefined ? {} : { maxMessageBytes: deps.config.maxMessageBytes }),
  });
}

/** SES's message tags of a mail of the delivery history: record-ses-event finds its record by them. */
export function deliveryTags(
  attempt: Attempt,
  customerId: number,
  deliveryId: string,
): Record<string, string> {
  return {
    customer: String(customerId),
    delivery: deliveryId,
    batch: attempt.message.batchId,
    reportType: attempt.facts.reportType,
    source: attempt.message.source,
  };
}
