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
 * 6. Compose (mail/compose.ts) and send (SES).
 * 7. Record it delivered.
 *
 * Retryable trouble (DynamoDB, Lasso, the PDF host, SES throttling) releases the claim and
 * throws {@link RetryLaterError}: the queue retries, then dead-letters. The one window for
 * a duplicate e-mail is a crash (or a lost answer) after SES accepted and before the
 * `delivered` write; it is one DynamoDB write long.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Customer, Language } from "#shared/customers.ts";
import type { ItemStatus } from "#shared/lasso/enums.ts";
import { composeReportMail } from "#shared/mail/compose.ts";
import { MailSendError, type SendMail } from "#shared/mail/ses-mailer.ts";
import { type FetchedPdf, PdfFetchError } from "#shared/pdf/fetch.ts";
import { redactUrl } from "#shared/redact-links.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import { logTo } from "#shared/runtime/log.ts";
import type { Counter } from "#shared/runtime/metrics.ts";
import type { DeliveryStatus } from "#shared/state/records.ts";
import {
  claimReport,
  countDuplicateSkipped,
  type OutcomeRequest,
  recordOutcome,
  releaseClaim,
} from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { isSuppressed } from "#shared/state/suppression.ts";
import { RetryLaterError, UnidentifiableReportError } from "./errors.ts";
import {
  type BatchFacts,
  batchFacts,
  fetchWithFreshLink,
  type LassoReader,
  lookUpPdfUrl,
} from "./lasso-lookups.ts";
import { type CustomerDirectory, type Route, routeReport } from "./routing.ts";

export const DELIVERY_METRICS = {
  delivered: "ReportDelivered",
  /** A delivered mail that carried a link instead of the (too large) PDF. */
  sentAsLink: "ReportSentAsLink",
  duplicateSkipped: "DuplicateSkipped",
  unroutable: "ReportUnroutable",
  /** Recorded as failed (dimension `reason`): Lasso failed it, PDF refused, SES rejected. */
  failed: "DeliveryFailed",
  /** A recipient skipped because SES reported a bounce or complaint for it. */
  recipientSuppressed: "RecipientSuppressed",
  /** Dimension `reason` (pdf/fetch.ts PdfRefusalReason). */
  pdfRefused: "PdfRefused",
  /** An attempt that will be retried by the queue (dimension `reason`). */
  retried: "DeliveryRetried",
  /** A message that names no report we can identify: it goes to the DLQ. */
  unidentifiable: "ReportUnidentifiable",
} as const;

export interface DeliverReportConfig {
  sender: string;
  replyTo?: string;
  defaultLanguage: Language;
  /** Default: SES's 40 MB. */
  maxMessageBytes?: number;
}

export interface DeliverReportDeps {
  state: StateTable;
  customers: CustomerDirectory;
  lasso: () => Promise<LassoReader>;
  /** Fetches a report's PDF, giving up (retryably) in time for the invocation's deadline. */
  fetchPdf: (url: string, deadline: Date) => Promise<FetchedPdf>;
  sendMail: SendMail;
  clock: () => Date;
  metrics: Counter;
  logger: Logger;
  config: DeliverReportConfig;
  newClaimToken?: () => string;
}

export interface DeliveryContext {
  /** The invocation's deadline: our claim lasts until then (plus a little clock skew). */
  deadline: Date;
}

export type DeliveryOutcome =
  | {
      outcome: "delivered";
      identity: string;
      sesMessageId: string;
      recipients: string[];
      pdfDelivery: "attachment" | "link";
    }
  | { outcome: "skipped"; identity: string; status: DeliveryStatus | undefined }
  | { outcome: "unroutable"; identity: string; reason: string }
  | { outcome: "failed"; identity: string; reason: string };

const CLAIM_SKEW_MS = 5_000;

/** What one claimed attempt knows, and writes its outcome with. */
interface Attempt {
  message: ReportReadyMessage;
  facts: BatchFacts;
  identity: string;
  deps: DeliverReportDeps;
  context: DeliveryContext;
  /** Writes this attempt's outcome on the report record. */
  record(request: Omit<OutcomeRequest, "identity" | "claimToken" | "now" | "resendKey">): Promise<void>;
  /** How many times a delivery claimed the report, this one included. */
  number: number;
  /** Set once SES accepted the mail: from then on the claim is never given back. */
  sent?: { messageId: string };
}

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
  if (itemStatus === "Failed") return recordLassoFailed(attempt, route, customerId);
  if (!route.ok) return recordUnroutable(attempt, route.reason, customerId);
  const customer = route.customer;
  deps.logger.appendKeys({ customerId: customer.customerId, routedVia: route.via });

  const { recipients, suppressed } = await unsuppressed(customer, deps);
  if (recipients.length === 0) {
    const reason = `every recipient of customer ${customer.customerId} is suppressed (bounce or complaint): ${suppressed.join(", ")}`;
    deps.logger.error("report is unroutable: every recipient is suppressed", {
      suppressed: suppressed.length,
    });
    return recordUnroutable(attempt, reason, customer.customerId);
  }
  const fetched = await fetchReportPdf(attempt, customer);
  if (!fetched.ok) return fetched.outcome;
  return sendAndRecord(attempt, customer, { itemStatus, recipients, suppressed }, fetched);
}

/** Step 3, Lasso's verdict: a Failed report is for operators, never mailed. */
async function recordLassoFailed(
  attempt: Attempt,
  route: Route,
  customerId: number | undefined,
): Promise<DeliveryOutcome> {
  const { message, deps } = attempt;
  const reason = `Lasso could not produce the report: ${message.errorMessage ?? "no reason given"}${
    route.ok ? "" : ` (also unroutable: ${route.reason})`
  }`;
  await attempt.record({
    status: "failed",
    reason,
    ...(customerId === undefined ? {} : { customerId }),
    ...(message.fileName === undefined ? {} : { fileName: message.fileName }),
    source: message.source,
  });
  deps.metrics.count(DELIVERY_METRICS.failed, { reason: "lasso-failed" });
  deps.logger.warn("report failed at Lasso: recorded for operators, not mailed", {
    reason,
    fileName: message.fileName,
  });
  return { outcome: "failed", identity: attempt.identity, reason };
}

async function recordUnroutable(
  attempt: Attempt,
  reason: string,
  customerId: number | undefined,
): Promise<DeliveryOutcome> {
  await attempt.record({
    status: "unroutable",
    reason,
    ...(customerId === undefined ? {} : { customerId }),
    source: attempt.message.source,
  });
  attempt.deps.metrics.count(DELIVERY_METRICS.unroutable);
  attempt.deps.logger.error("report is unroutable: recorded, not mailed", { reason });
  return { outcome: "unroutable", identity: attempt.identity, reason };
}

/** Records the report as failed; the caller counts `DeliveryFailed` with its reason. */
async function recordFailed(attempt: Attempt, customer: Customer, reason: string): Promise<DeliveryOutcome> {
  await attempt.record({
    status: "failed",
    reason,
    customerId: customer.customerId,
    source: attempt.message.source,
  });
  return { outcome: "failed", identity: attempt.identity, reason };
}

/** Step 4: addresses SES reported as bounced or complaining are skipped until an operator lifts it. */
async function unsuppressed(
  customer: Customer,
  deps: DeliverReportDeps,
): Promise<{ recipients: string[]; suppressed: string[] }> {
  const recipients: string[] = [];
  const suppressed: string[] = [];
  for (const address of customer.emails) {
    ((await isSuppressed(deps.state, address)) ? suppressed : recipients).push(address);
  }
  if (suppressed.length > 0) {
    deps.metrics.count(DELIVERY_METRICS.recipientSuppressed, undefined, suppressed.length);
    deps.logger.warn("suppressed recipients skipped", {
      suppressed: suppressed.length,
      remaining: recipients.length,
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
    return {
      ok: true,
      pdf: await fetchWithFreshLink(
        pdfUrl,
        message,
        { ...deps, logger: logTo(deps.logger) },
        context.deadline,
      ),
      pdfUrl,
    };
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

/** Steps 6 and 7: compose, send through SES, record delivered. */
async function sendAndRecord(
  attempt: Attempt,
  customer: Customer,
  to: { itemStatus: Exclude<ItemStatus, "Failed">; recipients: string[]; suppressed: string[] },
  fetched: { pdf: FetchedPdf; pdfUrl: string },
): Promise<DeliveryOutcome> {
  const { message, facts, deps } = attempt;
  const { recipients, suppressed } = to;
  const { pdf } = fetched;
  const mail = await composeFor(attempt, customer, to, fetched);

  let sent: { messageId: string };
  try {
    sent = await deps.sendMail({
      from: deps.config.sender,
      to: recipients,
      raw: mail.raw,
      tags: {
        customer: String(customer.customerId),
        batch: message.batchId,
        reportType: facts.reportType,
        source: message.source,
      },
    });
  } catch (error) {
    if (!(error instanceof MailSendError)) throw error;
    if (error.retryable) throw new RetryLaterError(`ses-${error.code}`, error.message, { cause: error });
    const reason = `SES rejected the message: ${error.message}`;
    deps.logger.error("SES rejected the report mail: recorded as failed", { reason });
    deps.metrics.count(DELIVERY_METRICS.failed, { reason: "ses-rejected" });
    return recordFailed(attempt, customer, reason);
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
    source: message.source,
    fileName: mail.fileName,
    pdfDelivery: mail.pdfDelivery,
    ...(notes.length > 0 ? { reason: notes.join("; ") } : {}),
  });
  deps.metrics.count(DELIVERY_METRICS.delivered);
  if (mail.pdfDelivery === "link") deps.metrics.count(DELIVERY_METRICS.sentAsLink);
  deps.logger.info("report delivered", {
    sesMessageId: sent.messageId,
    recipients: recipients.length,
    pdfBytes: pdf.bytes.length,
    pdfDelivery: mail.pdfDelivery,
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
  to: { itemStatus: Exclude<ItemStatus, "Failed">; recipients: string[] },
  fetched: { pdf: FetchedPdf; pdfUrl: string },
) {
  const { message, facts, deps } = attempt;
  const warning = to.itemStatus === "Warning" ? message.errorMessage : undefined;
  return composeReportMail({
    envelope: {
      from: deps.config.sender,
      ...(deps.config.replyTo === undefined ? {} : { replyTo: deps.config.replyTo }),
      to: to.recipients,
    },
    content: {
      language: customer.language,
      reportType: facts.reportType,
      itemStatus: to.itemStatus,
      companyName: message.companyName ?? customer.name,
      cvr: message.cvr,
      ...(warning === undefined ? {} : { warning }),
    },
    fileName: message.fileName ?? "",
    pdf: fetched.pdf.bytes,
    pdfUrl: fetched.pdfUrl,
    ...(deps.config.maxMessageBytes === undefined ? {} : { maxMessageBytes: deps.config.maxMessageBytes }),
  });
}

/**
 * After a failure under the claim: the claim is given back (so the queue's retry can take
 * it at once) unless SES already accepted the mail. Returns the error to throw.
 */
async function giveBack(attempt: Attempt, claimToken: string, error: unknown): Promise<unknown> {
  const { deps, identity } = attempt;
  if (attempt.sent !== undefined) {
    // SES accepted: giving the claim back would send it again. The claim runs out at the
    // deadline; until a retry re-sends, the log below names the mail that went out.
    deps.logger.error("mail sent but its delivery could not be recorded", {
      sesMessageId: attempt.sent.messageId,
      error,
    });
    return error;
  }
  const released = await releaseClaim(
    deps.state,
    identity,
    claimToken,
    deps.clock(),
    error instanceof Error ? error.message : String(error),
  ).catch((releaseError: unknown) => {
    deps.logger.error("could not release the claim; it expires at the deadline", { error: releaseError });
    return false;
  });
  if (!(error instanceof RetryLaterError)) return error;
  deps.metrics.count(DELIVERY_METRICS.retried, { reason: error.reason });
  deps.logger.warn("delivery will be retried", { reason: error.reason, error: error.message, released });
  // A claim we could not give back stays live until its deadline: a message brought back
  // sooner (retry-after) would find it and be skipped. The visibility timeout, longer than
  // any claim, is the safe retry then.
  if (!released && error.retryAfterMs !== undefined) {
    return new RetryLaterError(error.reason, error.message, { cause: error });
  }
  return error;
}
