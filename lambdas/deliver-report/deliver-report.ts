/**
 * The deliver-report use case: one report-ready message from Lasso's item list (the
 * poller, a webhook's ring) or an operator's re-send in; the report mailed once to its
 * customer, or an outcome on record (failed, unroutable) with a reason and a metric.
 *
 * 1. Identify (lasso-lookups.ts): the batch's facts from its record, else from Lasso.
 * 2. Claim the report record (state/report-delivery.ts). Already delivered, recorded, or
 *    being delivered by someone else: acknowledged and skipped (one e-mail, whoever sent).
 * 3. Route (routing.ts). Failed reports are recorded for operators, not mailed.
 * 4. Recipients: those SES has not reported as bounced or complaining.
 * 5. Fetch the PDF (pdf/fetch.ts; a refused link is looked up afresh in Lasso's list).
 * 6. Compose (mail/compose.ts) and send (SES): send.ts.
 * 7. Record it delivered (the outcomes without a mail, and the give-back: attempt.ts).
 *
 * Retryable trouble (DynamoDB, Lasso, the PDF host, SES throttling) releases the claim and
 * throws {@link RetryLaterError}: the queue retries, then dead-letters. The one window for
 * a duplicate e-mail is a crash (or a lost answer) after SES accepted and before the
 * `delivered` write; it is one DynamoDB write long.
 */
import { randomUUID } from "node:crypto";
import { type Customer, recipientsFor } from "#shared/customers.ts";
import { type FetchedPdf, PdfFetchError } from "#shared/pdf/fetch.ts";
import { redactUrl } from "#shared/redact-links.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import { logTo } from "#shared/runtime/log.ts";
import { claimReport, countDuplicateSkipped, recordOutcome } from "#shared/state/report-delivery.ts";
import { normaliseEmailAddress, suppressedAmong } from "#shared/state/suppression.ts";
import {
  type Attempt,
  DELIVERY_METRICS,
  type DeliverReportDeps,
  type DeliveryContext,
  type DeliveryOutcome,
  giveBack,
  type Recipients,
  recordFailed,
  recordLassoFailed,
  recordUnroutable,
} from "./attempt.ts";
import { RetryLaterError, UnidentifiableReportError } from "./errors.ts";
import { withFailureNotice } from "./failure-notice.ts";
import { type BatchFacts, batchFacts, fetchWithFreshLink, lookUpPdfUrl } from "./lasso-lookups.ts";
import { routeReport } from "./routing.ts";
import { sendAndRecord } from "./send.ts";
import { deliverTest } from "./test-send.ts";

const CLAIM_SKEW_MS = 5_000;

export async function deliverReport(
  message: ReportReadyMessage,
  deps: DeliverReportDeps,
  context: DeliveryContext,
): Promise<DeliveryOutcome> {
  if (message.source === "webhook") {
    // A webhook's message is a doorbell (doorbell.ts): what is mailed comes from Lasso's API.
    throw new UnidentifiableReportError("a webhook's message is a doorbell, not a report to deliver");
  }
  deps.logger.appendKeys({ batchId: message.batchId, cvr: message.cvr, source: message.source });
  // An operator's test send: to one address, recorded as a test, never a delivery.
  if (message.source === "test") return deliverTest(message, deps, context);
  const facts = await batchFacts(message, deps);
  const identity = identify(message, facts);
  deps.logger.appendKeys({ reportIdentity: identity, reportType: facts.reportType });

  const claimToken = (deps.newClaimToken ?? randomUUID)();
  const resendKey = message.source === "resend" ? message.seenAt : undefined;
  const claimed = await claim(message, facts, identity, claimToken, resendKey, deps, context);
  if ("skipped" in claimed) return claimed.skipped;

  const attempt: Attempt = {
    message,
    facts,
    identity,
    deps,
    context,
    number: claimed.number,
    record: async (request) => {
      const result = await recordOutcome(deps.state, {
        ...request,
        identity,
        claimToken,
        now: deps.clock(),
        ...(resendKey === undefined ? {} : { resendKey }),
      });
      if (result === "already-recorded") {
        deps.logger.warn("another delivery recorded an outcome first", { outcome: request.status });
      }
    },
  };
  try {
    return await deliverClaimed(attempt);
  } catch (error) {
    throw await giveBack(attempt, claimToken, error);
  }
}

/** Step 1: the report's identity, the same one the hand-off computed. */
function identify(message: ReportReadyMessage, facts: BatchFacts): string {
  try {
    return reportIdentity(
      {
        batchId: message.batchId,
        cvr: message.cvr,
        reportType: facts.reportType,
        reportId: message.reportId,
      },
      { isListener: facts.isListener },
    );
  } catch (error) {
    throw new UnidentifiableReportError((error as Error).message);
  }
}

/** Step 2: the claim, with the attempt's number; else why the report is skipped. */
async function claim(
  message: ReportReadyMessage,
  facts: BatchFacts,
  identity: string,
  claimToken: string,
  resendKey: string | undefined,
  deps: DeliverReportDeps,
  context: DeliveryContext,
): Promise<{ number: number } | { skipped: DeliveryOutcome }> {
  const claimed = await claimReport(deps.state, {
    identity,
    lassoBatchId: message.batchId,
    cvr: message.cvr,
    reportType: facts.reportType,
    ...(message.reportId === undefined ? {} : { reportId: message.reportId }),
    itemStatus: message.itemStatus,
    ...(message.fileName === undefined ? {} : { fileName: message.fileName }),
    source: message.source,
    // An operator's re-send overrides an earlier outcome, once per resend message.
    ...(resendKey === undefined ? {} : { resendKey }),
    claimToken,
    now: deps.clock(),
    claimUntil: new Date(context.deadline.getTime() + CLAIM_SKEW_MS),
  });
  if (claimed.claimed) return { number: claimed.attempt };
  const status = claimed.record?.deliveryStatus;
  deps.metrics.count(DELIVERY_METRICS.duplicateSkipped);
  await countDuplicateSkipped(deps.state, identity, deps.clock());
  deps.logger.info("report already delivered, recorded or being delivered: skipped", {
    deliveryStatus: status,
    ...(claimed.record?.customerId === undefined ? {} : { customerId: claimed.record.customerId }),
  });
  return { skipped: { outcome: "skipped", identity, status } };
}

/** Steps 3 to 7, under the claim. */
async function deliverClaimed(attempt: Attempt): Promise<DeliveryOutcome> {
  const { message, facts, deps } = attempt;
  const route = await routeReport(
    {
      cvr: message.cvr,
      reportType: facts.reportType,
      internalCustomerId: message.internalCustomerId,
      manifest: facts.manifest,
      submittedByUs: facts.submittedByUs,
    },
    deps.customers,
  );
  const customerId = route.ok ? route.customer.customerId : route.customerId;
  if (customerId !== undefined) deps.logger.appendKeys({ customerId });
  const itemStatus = message.itemStatus;
  if (itemStatus === "Failed") {
    const known = route.ok ? route.customer : undefined;
    return withFailureNotice(attempt, await recordLassoFailed(attempt, route, customerId), customerId, known);
  }
  if (!route.ok) {
    return withFailureNotice(attempt, await recordUnroutable(attempt, route.reason, customerId), customerId);
  }
  const customer = route.customer;
  deps.logger.appendKeys({ customerId: customer.customerId, routedVia: route.via });

  const { recipients, suppressed } = await unsuppressed(recipientsFor(customer, facts.reportType), deps);
  if (recipients.to.length === 0) {
    const reason = `every recipient of customer ${customer.customerId} is suppressed (bounce or complaint): ${suppressed.join(", ")}`;
    deps.logger.error("report is unroutable: every recipient is suppressed", {
      suppressed: suppressed.length,
    });
    const outcome = await recordUnroutable(attempt, reason, customer.customerId);
    return withFailureNotice(attempt, outcome, customer.customerId, customer);
  }
  const fetched = await fetchReportPdf(attempt, customer);
  if (!fetched.ok) return withFailureNotice(attempt, fetched.outcome, customer.customerId, customer);
  return sendAndRecord(attempt, customer, { itemStatus, recipients, suppressed }, fetched);
}

/** Step 4: addresses SES reported as bounced or complaining are skipped until an operator lifts it. */
async function unsuppressed(
  wanted: Recipients,
  deps: DeliverReportDeps,
): Promise<{ recipients: Recipients; suppressed: string[] }> {
  const skipped = await suppressedAmong(deps.state, [...wanted.to, ...wanted.cc, ...wanted.bcc]);
  const suppressed: string[] = [];
  const keep = (addresses: string[]) => {
    const kept: string[] = [];
    for (const address of addresses) {
      (skipped.has(normaliseEmailAddress(address)) ? suppressed : kept).push(address);
    }
    return kept;
  };
  const recipients = { to: keep(wanted.to), cc: keep(wanted.cc), bcc: keep(wanted.bcc) };
  if (suppressed.length > 0) {
    deps.metrics.count(DELIVERY_METRICS.recipientSuppressed, undefined, suppressed.length);
    deps.logger.warn("suppressed recipients skipped", {
      suppressed: suppressed.length,
      remaining: recipients.to.length + recipients.cc.length + recipients.bcc.length,
    });
  }
  return { recipients, suppressed };
}

/** Step 5: the PDF, or the recorded reason there is none to send. */
async function fetchReportPdf(
  attempt: Attempt,
  customer: Customer,
): Promise<{ ok: true; pdf: FetchedPdf; pdfUrl: string } | { ok: false; outcome: DeliveryOutcome }> {
  const { message, deps, context } = attempt;
  const pdfUrl = message.pdfUrl ?? (await lookUpPdfUrl(message, deps.lasso));
  if (pdfUrl === undefined) {
    const reason = "neither the message nor Lasso's item list has a pdf link";
    deps.logger.error("report has no pdf link: recorded as failed", { reason });
    deps.metrics.count(DELIVERY_METRICS.failed, { reason: "no-pdf-link" });
    return { ok: false, outcome: await recordFailed(attempt, customer, reason) };
  }
  try {
    // The link that served the PDF: a refused one was replaced by Lasso's fresh one, which a
    // link-mode mail must carry.
    const fetched = await fetchWithFreshLink(
      pdfUrl,
      message,
      { ...deps, logger: logTo(deps.logger) },
      context.deadline,
    );
    return { ok: true, ...fetched };
  } catch (error) {
    if (!(error instanceof PdfFetchError)) throw error;
    if (error.retryable) {
      throw new RetryLaterError(`pdf-${error.reason}`, error.message, {
        cause: error,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
    }
    const reason = `pdf refused (${error.reason}): ${error.message}`;
    deps.metrics.count(DELIVERY_METRICS.pdfRefused, { reason: error.reason });
    deps.logger.error("pdf refused: recorded as failed", { reason, pdfHost: redactUrl(pdfUrl) });
    deps.metrics.count(DELIVERY_METRICS.failed, { reason: "pdf-refused" });
    return { ok: false, outcome: await recordFailed(attempt, customer, reason) };
  }
}
