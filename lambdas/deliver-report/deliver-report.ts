/**
 * The deliver-report use case: one report-ready message in; the report mailed once to its
 * customer, or an outcome on record (failed, unroutable) with a reason and a metric.
 *
 * 1. Identify: the report type and listener flag from the batch record, else from the
 *    message (a non-listenable type cannot be a listener batch), else from Lasso's getBatch.
 * 2. Claim the report record (state/report-delivery.ts). Already delivered, recorded, or
 *    being delivered by someone else: acknowledged and skipped (one e-mail, whoever sent).
 * 3. Route (routing.ts). Failed reports are recorded for operators, not mailed.
 * 4. Fetch the PDF (pdf-fetch.ts), compose (mail/compose.ts), send (SES), record delivered.
 *
 * Retryable trouble (DynamoDB, Lasso, the PDF host, SES throttling) releases the claim and
 * throws {@link RetryLaterError}: the queue retries, then dead-letters. The one window for
 * a duplicate e-mail is a crash (or a lost answer) after SES accepted and before the
 * `delivered` write; it is one DynamoDB write long.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Language } from "#shared/customers.ts";
import type { LassoClient } from "#shared/lasso/client.ts";
import { LISTENABLE_REPORT_TYPES, type ReportType } from "#shared/lasso/enums.ts";
import { isNotFound, LassoApiError, LassoNetworkError } from "#shared/lasso/errors.ts";
import { composeReportMail } from "#shared/mail/compose.ts";
import { MailSendError, type SendMail } from "#shared/mail/ses-mailer.ts";
import { type FetchedPdf, PdfFetchError } from "#shared/pdf/fetch.ts";
import { redactUrl } from "#shared/redact-links.ts";
import { type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import type { Counter } from "#shared/runtime/metrics.ts";
import { getBatchRecord } from "#shared/state/batches.ts";
import type { DeliveryStatus, ManifestEntry } from "#shared/state/records.ts";
import {
  claimReport,
  countDuplicateSkipped,
  type OutcomeRequest,
  recordOutcome,
  releaseClaim,
} from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { isSuppressed } from "#shared/state/suppression.ts";
import { type CustomerDirectory, routeReport } from "./routing.ts";

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
  /** Dimension `reason` (pdf-fetch.ts PdfRefusalReason). */
  pdfRefused: "PdfRefused",
  /** An attempt that will be retried by the queue (dimension `reason`). */
  retried: "DeliveryRetried",
  /** A message that names no report we can identify: it goes to the DLQ. */
  unidentifiable: "ReportUnidentifiable",
} as const;

/** The parts of the Lasso client the delivery uses: look-ups, and a ring's reconciliation. */
export type LassoReader = Pick<LassoClient, "getBatch" | "iterateItems" | "listItems">;

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

/** Try again later: the message is reported as a batch item failure. */
export class RetryLaterError extends Error {
  override readonly name = "RetryLaterError";
  readonly reason: string;
  /** How long the other side asked us to wait (`retry-after`), when it said. */
  readonly retryAfterMs?: number;

  constructor(reason: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** Lasso's `retry-after` of a 429, as RetryLaterError options. */
function retryAfterOf(error: unknown): { retryAfterMs?: number } {
  return error instanceof LassoApiError && error.retryAfterMs !== undefined
    ? { retryAfterMs: error.retryAfterMs }
    : {};
}

/** The message names no report we can identify (no batch anywhere, listener report without id). */
export class UnidentifiableReportError extends Error {
  override readonly name = "UnidentifiableReportError";
}

const CLAIM_SKEW_MS = 5_000;

interface BatchFacts {
  reportType: ReportType;
  isListener: boolean;
  manifest?: ManifestEntry[];
  /** One of our runs made the batch: its manifest is the whole truth of who is in it. */
  submittedByUs: boolean;
}

function isRetryableLasso(error: unknown): boolean {
  return error instanceof LassoNetworkError || (error instanceof LassoApiError && error.retryable);
}

async function batchFacts(message: ReportReadyMessage, deps: DeliverReportDeps): Promise<BatchFacts> {
  const record = await getBatchRecord(deps.state, message.batchId);
  if (record !== undefined) {
    return {
      reportType: record.reportType,
      isListener: record.isListener,
      manifest: record.manifest,
      // Every record but an adopted one was written by a submission, with its manifest.
      submittedByUs: record.adoptedAt === undefined,
    };
  }
  if (message.reportType !== undefined && !LISTENABLE_REPORT_TYPES.has(message.reportType)) {
    return { reportType: message.reportType, isListener: false, submittedByUs: false };
  }
  try {
    const batch = await (await deps.lasso()).getBatch(message.batchId);
    const reportType = batch.type ?? message.reportType;
    if (reportType === undefined) {
      throw new UnidentifiableReportError(`batch ${message.batchId} has no report type, nor has the report`);
    }
    return { reportType, isListener: batch.isListener, submittedByUs: false };
  } catch (error) {
    if (error instanceof UnidentifiableReportError) throw error;
    if (isNotFound(error)) {
      throw new UnidentifiableReportError(`batch ${message.batchId} is unknown here and to Lasso`);
    }
    if (isRetryableLasso(error)) {
      throw new RetryLaterError("lasso", `Lasso getBatch failed: ${(error as Error).message}`, {
        cause: error,
        ...retryAfterOf(error),
      });
    }
    throw error;
  }
}

/** The pdf link of a report that came without one, from Lasso's item list. */
async function lookUpPdfUrl(
  message: ReportReadyMessage,
  deps: DeliverReportDeps,
): Promise<string | undefined> {
  try {
    const lasso = await deps.lasso();
    for await (const item of lasso.iterateItems(message.batchId, { status: message.itemStatus })) {
      const same = message.reportId !== undefined ? item.id === message.reportId : item.cvr === message.cvr;
      if (same && item.pdfUrl !== undefined) return item.pdfUrl;
    }
    return undefined;
  } catch (error) {
    if (isRetryableLasso(error)) {
      throw new RetryLaterError("lasso", `Lasso listItems failed: ${(error as Error).message}`, {
        cause: error,
        ...retryAfterOf(error),
      });
    }
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A PDF host's answer that a link is not (or no longer, or not yet) good: ask Lasso again. */
const GONE_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 410]);

/**
 * Fetches the report's PDF. A link the host refuses as gone or forbidden (an expired
 * capability, a file not uploaded yet) is not a verdict on the report: Lasso's item list is
 * asked for the report's current link, and a new one is fetched once. The same link again,
 * or none, is retried later (the queue's receives bound it; then the DLQ and its alarm).
 */
async function fetchWithFreshLink(
  pdfUrl: string,
  message: ReportReadyMessage,
  deps: DeliverReportDeps,
  context: DeliveryContext,
): Promise<FetchedPdf> {
  const gone = (error: unknown): error is PdfFetchError =>
    error instanceof PdfFetchError && error.status !== undefined && GONE_STATUSES.has(error.status);
  try {
    return await deps.fetchPdf(pdfUrl, context.deadline);
  } catch (error) {
    if (!gone(error)) throw error;
    const fresh = await lookUpPdfUrl(message, deps);
    if (fresh === undefined || fresh === pdfUrl) {
      throw new RetryLaterError(
        "pdf-gone",
        `${error.message}; Lasso lists no other link for the report yet`,
        {
          cause: error,
        },
      );
    }
    deps.logger.info("the pdf link was refused; fetching the fresh link from Lasso's item list", {
      status: error.status,
    });
    try {
      return await deps.fetchPdf(fresh, context.deadline);
    } catch (freshError) {
      if (!gone(freshError)) throw freshError;
      throw new RetryLaterError("pdf-gone", `the fresh link too: ${freshError.message}`, {
        cause: freshError,
      });
    }
  }
}

export async function deliverReport(
  message: ReportReadyMessage,
  deps: DeliverReportDeps,
  context: DeliveryContext,
): Promise<DeliveryOutcome> {
  const { logger, metrics } = deps;
  if (message.source === "webhook") {
    // A webhook's message is a doorbell (doorbell.ts): what is mailed comes from Lasso's API.
    throw new UnidentifiableReportError("a webhook's message is a doorbell, not a report to deliver");
  }
  logger.appendKeys({ batchId: message.batchId, cvr: message.cvr, source: message.source });

  const facts = await batchFacts(message, deps);
  let identity: string;
  try {
    identity = reportIdentity(
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
  logger.appendKeys({ reportIdentity: identity, reportType: facts.reportType });

  const claimToken = (deps.newClaimToken ?? randomUUID)();
  const resendKey = message.source === "resend" ? message.seenAt : undefined;
  const claim = await claimReport(deps.state, {
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
  if (!claim.claimed) {
    const status = claim.record?.deliveryStatus;
    metrics.count(DELIVERY_METRICS.duplicateSkipped);
    await countDuplicateSkipped(deps.state, identity, deps.clock());
    logger.info("report already delivered, recorded or being delivered: skipped", {
      deliveryStatus: status,
      ...(claim.record?.customerId === undefined ? {} : { customerId: claim.record.customerId }),
    });
    return { outcome: "skipped", identity, status };
  }

  let sent: { messageId: string } | undefined;
  const outcome = async (request: Omit<OutcomeRequest, "identity" | "claimToken" | "now" | "resendKey">) => {
    const result = await recordOutcome(deps.state, {
      ...request,
      identity,
      claimToken,
      now: deps.clock(),
      ...(resendKey === undefined ? {} : { resendKey }),
    });
    if (result === "already-recorded") {
      logger.warn("another delivery recorded an outcome first", { outcome: request.status });
    }
  };

  try {
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
    if (customerId !== undefined) logger.appendKeys({ customerId });

    if (message.itemStatus === "Failed") {
      const reason = `Lasso could not produce the report: ${message.errorMessage ?? "no reason given"}${
        route.ok ? "" : ` (also unroutable: ${route.reason})`
      }`;
      await outcome({
        status: "failed",
        reason,
        ...(customerId === undefined ? {} : { customerId }),
        ...(message.fileName === undefined ? {} : { fileName: message.fileName }),
        source: message.source,
      });
      metrics.count(DELIVERY_METRICS.failed, { reason: "lasso-failed" });
      logger.warn("report failed at Lasso: recorded for operators, not mailed", {
        reason,
        fileName: message.fileName,
      });
      return { outcome: "failed", identity, reason };
    }

    if (!route.ok) {
      await outcome({
        status: "unroutable",
        reason: route.reason,
        ...(customerId === undefined ? {} : { customerId }),
        source: message.source,
      });
      metrics.count(DELIVERY_METRICS.unroutable);
      logger.error("report is unroutable: recorded, not mailed", { reason: route.reason });
      return { outcome: "unroutable", identity, reason: route.reason };
    }
    const customer = route.customer;
    logger.appendKeys({ customerId: customer.customerId, routedVia: route.via });

    // Addresses SES reported as bounced or complaining are skipped until an operator lifts it.
    const recipients: string[] = [];
    const suppressed: string[] = [];
    for (const address of customer.emails) {
      ((await isSuppressed(deps.state, address)) ? suppressed : recipients).push(address);
    }
    if (suppressed.length > 0) {
      metrics.count(DELIVERY_METRICS.recipientSuppressed, undefined, suppressed.length);
      logger.warn("suppressed recipients skipped", {
        suppressed: suppressed.length,
        remaining: recipients.length,
      });
    }
    if (recipients.length === 0) {
      const reason = `every recipient of customer ${customer.customerId} is suppressed (bounce or complaint): ${suppressed.join(", ")}`;
      await outcome({
        status: "unroutable",
        reason,
        customerId: customer.customerId,
        source: message.source,
      });
      metrics.count(DELIVERY_METRICS.unroutable);
      logger.error("report is unroutable: every recipient is suppressed", { suppressed: suppressed.length });
      return { outcome: "unroutable", identity, reason };
    }
    const suppressedNote =
      suppressed.length > 0 ? `suppressed recipients skipped: ${suppressed.join(", ")}` : undefined;

    const pdfUrl = message.pdfUrl ?? (await lookUpPdfUrl(message, deps));
    if (pdfUrl === undefined) {
      const reason = "neither the message nor Lasso's item list has a pdf link";
      await outcome({ status: "failed", reason, customerId: customer.customerId, source: message.source });
      metrics.count(DELIVERY_METRICS.failed, { reason: "no-pdf-link" });
      logger.error("report has no pdf link: recorded as failed", { reason });
      return { outcome: "failed", identity, reason };
    }

    let pdf: FetchedPdf;
    try {
      pdf = await fetchWithFreshLink(pdfUrl, message, deps, context);
    } catch (error) {
      if (!(error instanceof PdfFetchError)) throw error;
      if (error.retryable) {
        throw new RetryLaterError(`pdf-${error.reason}`, error.message, {
          cause: error,
          ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        });
      }
      const reason = `pdf refused (${error.reason}): ${error.message}`;
      await outcome({ status: "failed", reason, customerId: customer.customerId, source: message.source });
      metrics.count(DELIVERY_METRICS.pdfRefused, { reason: error.reason });
      metrics.count(DELIVERY_METRICS.failed, { reason: "pdf-refused" });
      logger.error("pdf refused: recorded as failed", { reason, pdfHost: redactUrl(pdfUrl) });
      return { outcome: "failed", identity, reason };
    }

    const warning = message.itemStatus === "Warning" ? message.errorMessage : undefined;
    const mail = await composeReportMail({
      envelope: {
        from: deps.config.sender,
        ...(deps.config.replyTo === undefined ? {} : { replyTo: deps.config.replyTo }),
        to: recipients,
      },
      content: {
        language: customer.language,
        reportType: facts.reportType,
        itemStatus: message.itemStatus,
        companyName: message.companyName ?? customer.name,
        cvr: message.cvr,
        ...(warning === undefined ? {} : { warning }),
      },
      fileName: message.fileName ?? "",
      pdf: pdf.bytes,
      pdfUrl,
      ...(deps.config.maxMessageBytes === undefined ? {} : { maxMessageBytes: deps.config.maxMessageBytes }),
    });

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
      await outcome({ status: "failed", reason, customerId: customer.customerId, source: message.source });
      metrics.count(DELIVERY_METRICS.failed, { reason: "ses-rejected" });
      logger.error("SES rejected the report mail: recorded as failed", { reason });
      return { outcome: "failed", identity, reason };
    }

    const notes = [
      mail.pdfDelivery === "link"
        ? `the PDF (${pdf.bytes.length} bytes) is too large for SES: the mail carries a link instead`
        : undefined,
      suppressedNote,
    ].filter((note) => note !== undefined);
    const linkReason = notes.length > 0 ? notes.join("; ") : undefined;
    await outcome({
      status: "delivered",
      customerId: customer.customerId,
      recipients,
      sesMessageId: sent.messageId,
      source: message.source,
      fileName: mail.fileName,
      pdfDelivery: mail.pdfDelivery,
      ...(linkReason === undefined ? {} : { reason: linkReason }),
    });
    metrics.count(DELIVERY_METRICS.delivered);
    if (mail.pdfDelivery === "link") metrics.count(DELIVERY_METRICS.sentAsLink);
    logger.info("report delivered", {
      sesMessageId: sent.messageId,
      recipients: recipients.length,
      pdfBytes: pdf.bytes.length,
      pdfDelivery: mail.pdfDelivery,
      attempt: claim.attempt,
    });
    return {
      outcome: "delivered",
      identity,
      sesMessageId: sent.messageId,
      recipients,
      pdfDelivery: mail.pdfDelivery,
    };
  } catch (error) {
    if (sent !== undefined) {
      // SES accepted: giving the claim back would send it again. The claim runs out at the
      // deadline; until a retry re-sends, the log below names the mail that went out.
      logger.error("mail sent but its delivery could not be recorded", {
        sesMessageId: sent.messageId,
        error,
      });
      throw error;
    }
    const released = await releaseClaim(
      deps.state,
      identity,
      claimToken,
      deps.clock(),
      error instanceof Error ? error.message : String(error),
    ).catch((releaseError: unknown) => {
      logger.error("could not release the claim; it expires at the deadline", { error: releaseError });
      return false;
    });
    if (error instanceof RetryLaterError) {
      metrics.count(DELIVERY_METRICS.retried, { reason: error.reason });
      logger.warn("delivery will be retried", { reason: error.reason, error: error.message, released });
      // A claim we could not give back stays live until its deadline: a message brought
      // back sooner (retry-after) would find it and be skipped. The visibility timeout,
      // longer than any claim, is the safe retry then.
      if (!released && error.retryAfterMs !== undefined) {
        throw new RetryLaterError(error.reason, error.message, { cause: error });
      }
    }
    throw error;
  }
}
