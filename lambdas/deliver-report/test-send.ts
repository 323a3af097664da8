/**
 * A test send (`lasso-reports test-send`, a report-ready message with source `test`): the
 * mail a customer would get for a report type, composed by the same code with the same
 * profile and templates, but sent to the one address `testTo`, marked as a test in subject
 * and body, naming the recipients it would have gone to. It carries the customer's latest
 * report (from Lasso's item list, by the batch the CLI names), or the sample PDF.
 *
 * Recorded as a test: archived and in the delivery history like every mail (kind `test`),
 * so it is evidence of what was tried; no report record is claimed or changed, so it is
 * never a delivery (`deliveries` and statements leave tests out).
 */
import { recipientsFor } from "#shared/customers.ts";
import { composeReportMail, redirected } from "#shared/mail/compose.ts";
import { type ReportReadyMessage, reportIdentity, SAMPLE_BATCH_ID } from "#shared/report-ready.ts";
import { logTo } from "#shared/runtime/log.ts";
import type { Attempt, DeliverReportDeps, DeliveryContext, DeliveryOutcome } from "./attempt.ts";
import { UnidentifiableReportError } from "./errors.ts";
import { archiveBeforeSend, noteSent } from "./evidence.ts";
import { type BatchFacts, batchFacts, fetchWithFreshLink, lookUpPdfUrl } from "./lasso-lookups.ts";
import { SAMPLE_PDF_FILE_NAME, samplePdf } from "./sample-pdf.ts";
import { deliveryTags } from "./send.ts";

export async function deliverTest(
  message: ReportReadyMessage,
  deps: DeliverReportDeps,
  context: DeliveryContext,
): Promise<DeliveryOutcome> {
  const testTo = message.testTo;
  const customerId = message.internalCustomerId;
  if (testTo === undefined || customerId === undefined || message.reportType === undefined) {
    throw new UnidentifiableReportError("a test send names its customer, report type and address");
  }
  const sample = message.batchId === SAMPLE_BATCH_ID;
  const facts: BatchFacts = sample
    ? { reportType: message.reportType, isListener: false, submittedByUs: false }
    : await batchFacts(message, deps);
  const identity = `test#${reportIdentity(
    { batchId: message.batchId, cvr: message.cvr, reportType: facts.reportType, reportId: message.reportId },
    { isListener: false },
  )}`;
  const row = await deps.customers.get(customerId);
  if (row === undefined || !row.ok) {
    const reason = row === undefined ? "no such customer" : row.reason;
    deps.logger.error("test send: the customer's row is unusable", { customerId, reason });
    return { outcome: "failed", identity, reason: `customer ${customerId}: ${reason}` };
  }
  const customer = row.customer;

  let pdf: Buffer;
  let pdfUrl = "";
  if (sample) pdf = samplePdf();
  else {
    const listed = message.pdfUrl ?? (await lookUpPdfUrl(message, deps.lasso));
    if (listed === undefined)
      return { outcome: "failed", identity, reason: "Lasso's item list has no pdf link" };
    const fetched = await fetchWithFreshLink(
      listed,
      message,
      { ...deps, logger: logTo(deps.logger) },
      context.deadline,
    );
    pdf = fetched.pdf.bytes;
    pdfUrl = fetched.pdfUrl;
  }
  const real = recipientsFor(customer, facts.reportType);
  // The customer's envelope, sent to the test address only: the body names the real recipients.
  const { marks } = redirected(
    { from: deps.config.profile.from, replyTo: deps.config.profile.replyTo, ...real },
    testTo,
    { isTest: true },
  );
  const mail = await composeReportMail({
    envelope: { from: deps.config.profile.from, replyTo: deps.config.profile.replyTo, to: [testTo] },
    content: {
      language: customer.language,
      reportType: facts.reportType,
      itemStatus: message.itemStatus === "Warning" ? "Warning" : "Completed",
      companyName: message.companyName ?? customer.name,
      cvr: message.cvr,
      customerId: customer.customerId,
      customerName: customer.name,
      ...(message.errorMessage === undefined || message.itemStatus !== "Warning"
        ? {}
        : { warning: message.errorMessage }),
    },
    fileName: sample ? SAMPLE_PDF_FILE_NAME : (message.fileName ?? ""),
    pdf,
    pdfUrl,
    // Exactly the deployment's profile, except that it goes to the test address whatever redirectAllTo says.
    dress: { profile: { ...deps.config.profile, redirectAllTo: undefined }, logo: deps.config.logo, marks },
    ...(deps.config.maxMessageBytes === undefined ? {} : { maxMessageBytes: deps.config.maxMessageBytes }),
  });
  const attempt: Attempt = {
    message,
    facts,
    identity,
    deps,
    context,
    number: 1,
    record: async () => {
      throw new Error("a test send records no report outcome");
    },
  };
  const evidence = await archiveBeforeSend(attempt, customer, mail, { recipients: [testTo], pdf });
  const sent = await deps.sendMail({
    from: deps.config.sender,
    destination: mail.destination,
    raw: mail.raw,
    tags: deliveryTags(attempt, customer.customerId, evidence.deliveryId),
  });
  await noteSent(attempt, evidence, sent.messageId);
  deps.logger.info("test send delivered", { deliveryId: evidence.deliveryId, sesMessageId: sent.messageId });
  return {
    outcome: "delivered",
    identity,
    sesMessageId: sent.messageId,
    recipients: [testTo],
    pdfDelivery: mail.pdfDelivery,
  };
}
