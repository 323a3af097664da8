/**
 * Step 6b and 7b of a delivery, the evidence (docs/evidence.md): before the mail goes to
 * SES, its exact bytes, the PDF and the delivery record are in the write-once archive and
 * the record is in the delivery history (state `archived`); after SES accepted it, the
 * record gets SES's message id (`sent`) and the archive a `sent.json` beside the message.
 *
 * Order, and what a crash leaves: archive → history record → SES → `sent`. A crash (or a
 * failed write) before SES leaves archived objects and perhaps an `archived` record for a
 * mail that never went out; the queue's retry makes a new delivery (new id, new objects).
 * A crash after SES accepted and before `sent` leaves an `archived` record for a mail that
 * did go out: the one duplicate window the report record already has (docs/delivery.md).
 * So no mail leaves without its evidence, and evidence never causes a second mail.
 */

import { sha256Hex } from "#shared/archive/evidence-archive.ts";
import type { Customer } from "#shared/customers.ts";
import type { ComposedMail } from "#shared/mail/compose.ts";
import {
  archivedDeliveryRecord,
  archiveLocation,
  type DeliveryRecord,
  markDeliveryRejected,
  markDeliverySent,
  newDeliveryId,
  putArchivedDelivery,
} from "#shared/state/delivery-history.ts";
import type { Attempt } from "./attempt.ts";

const json = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/** Archives the mail about to be sent and creates its history record; throws when either fails. */
export async function archiveBeforeSend(
  attempt: Attempt,
  customer: Customer,
  mail: ComposedMail,
  sent: { recipients: string[]; pdf: Uint8Array },
): Promise<DeliveryRecord> {
  const { deps, message, facts } = attempt;
  const now = deps.clock();
  const deliveryId = newDeliveryId(now);
  const archive = archiveLocation(deps.config.archive.bucket, customer.customerId, deliveryId);
  const record = archivedDeliveryRecord(
    {
      deliveryId,
      kind: message.source === "resend" ? "resend" : message.source === "test" ? "test" : "first",
      identity: attempt.identity,
      lassoBatchId: message.batchId,
      ...(message.reportId === undefined ? {} : { reportId: message.reportId }),
      reportType: facts.reportType,
      cvr: message.cvr,
      companyName: message.companyName ?? customer.name,
      customerId: customer.customerId,
      customerName: customer.name,
      recipients: sent.recipients,
      source: message.source,
      fileName: mail.fileName,
      pdfDelivery: mail.pdfDelivery,
      messageSha256: sha256Hex(mail.raw),
      messageBytes: mail.raw.length,
      pdfSha256: sha256Hex(sent.pdf),
      pdfBytes: sent.pdf.length,
      archive,
    },
    now,
    deps.config.archive.retentionDays,
  );
  await Promise.all([
    deps.putEvidence({ key: archive.messageKey, body: mail.raw, contentType: "message/rfc822" }),
    deps.putEvidence({ key: archive.pdfKey, body: sent.pdf, contentType: "application/pdf" }),
    deps.putEvidence({ key: archive.recordKey, body: json(record), contentType: "application/json" }),
  ]);
  if (!(await putArchivedDelivery(deps.state, record))) {
    throw new Error(`delivery ${deliveryId} is in the history already`);
  }
  return record;
}

/**
 * After SES accepted: the message id on the history record and in the archive. The mail is
 * out, so a failure here is logged, never thrown: the report record (written next) names
 * this delivery and its message id too.
 */
export async function noteSent(
  attempt: Attempt,
  record: DeliveryRecord,
  sesMessageId: string,
): Promise<void> {
  const { deps } = attempt;
  const at = deps.clock();
  const key = { customerId: record.customerId, deliveryId: record.deliveryId };
  const results = await Promise.allSettled([
    markDeliverySent(deps.state, key, { sesMessageId, at }),
    deps.putEvidence({
      key: `${record.archive.prefix}sent.json`,
      body: json({ deliveryId: record.deliveryId, sesMessageId, sentAt: at.toISOString() }),
      contentType: "application/json",
    }),
  ]);
  for (const result of results) {
    if (result.status === "rejected") {
      deps.logger.error("mail sent, but its evidence could not be completed", {
        deliveryId: record.deliveryId,
        sesMessageId,
        error: result.reason,
      });
    }
  }
}

/** SES refused the message for good: the history says so (the mail never went out). */
export async function noteRejected(attempt: Attempt, record: DeliveryRecord, reason: string): Promise<void> {
  const { deps } = attempt;
  await markDeliveryRejected(
    deps.state,
    { customerId: record.customerId, deliveryId: record.deliveryId },
    { reason, at: deps.clock() },
  ).catch((error: unknown) => {
    deps.logger.error("could not mark the delivery rejected in its history", {
      deliveryId: record.deliveryId,
      error,
    });
  });
}
