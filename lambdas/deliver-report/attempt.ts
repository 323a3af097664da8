/**
 * What one claimed delivery attempt is (the message, the batch's facts, the report's
 * identity, its ports) and the outcomes it can record without a mail: Lasso failed it,
 * unroutable, failed; and giving the claim back after a failure (deliver-report.ts).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { PutEvidence } from "#shared/archive/evidence-archive.ts";
import type { Customer, Language } from "#shared/customers.ts";
import type { MailLogo, MailProfile } from "#shared/mail/profile.ts";
import type { SendMail } from "#shared/mail/ses-mailer.ts";
import type { FetchedPdf } from "#shared/pdf/fetch.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import type { Counter } from "#shared/runtime/metrics.ts";
import type { BatchFactsCache, RoutingFactsReader } from "#shared/state/batch-facts-cache.ts";
import type { DeliveryStatus } from "#shared/state/records.ts";
import { type OutcomeRequest, releaseClaim } from "#shared/state/report-delivery.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { RetryLaterError } from "./errors.ts";
import type { BatchFacts, LassoReader } from "./lasso-lookups.ts";
import type { CustomerDirectory, Route } from "./routing.ts";

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

/** A report mail's recipients: To, Cc (in the headers) and Bcc (only in SES's Destination). */
export interface Recipients {
  to: string[];
  cc: string[];
  bcc: string[];
}

export interface DeliverReportConfig {
  /** The bare address SES sends from (FromEmailAddress). */
  sender: string;
  /** The firm: display name, reply-to, signature, footer, logo, redirect (mail/profile.ts). */
  profile: MailProfile;
  logo?: MailLogo;
  defaultLanguage: Language;
  /** Default: SES's 40 MB. */
  maxMessageBytes?: number;
  /** The evidence archive: its bucket, and how long it (and the delivery history) keeps a mail. */
  archive: { bucket: string; retentionDays: number };
}

export interface DeliverReportDeps {
  state: StateTable;
  customers: CustomerDirectory;
  lasso: () => Promise<LassoReader>;
  /** Fetches a report's PDF, giving up (retryably) in time for the invocation's deadline. */
  fetchPdf: (url: string, deadline: Date) => Promise<FetchedPdf>;
  sendMail: SendMail;
  /** Writes one object to the write-once evidence archive. */
  putEvidence: PutEvidence;
  /** The routing facts of batches already read by this container. */
  batchFacts?: BatchFactsCache<BatchFacts>;
  /** Reads a batch record's routing facts (shared with the container's webhook rings). */
  routingFacts?: RoutingFactsReader;
  clock: () => Date;
  metrics: Counter;
  logger: Logger;
  config: DeliverReportConfig;
  newClaimToken?: () => string;
}

export interface DeliveryContext {
  /** The invocation's deadline: our claim lasts until then (plus a little clock skew). */
  deadline: Date;
  /** Time a send must leave before the deadline for SES's answer and the writes after it. */
  sendReserveMs?: number;
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

/** What one claimed attempt knows, and writes its outcome with. */
export interface Attempt {
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

/** Step 3, Lasso's verdict: a Failed report is for operators, never mailed. */
export async function recordLassoFailed(
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

export async function recordUnroutable(
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
export async function recordFailed(
  attempt: Attempt,
  customer: Customer,
  reason: string,
): Promise<DeliveryOutcome> {
  await attempt.record({
    status: "failed",
    reason,
    customerId: customer.customerId,
    source: attempt.message.source,
  });
  return { outcome: "failed", identity: attempt.identity, reason };
}

/**
 * After a failure under the claim: the claim is given back (so the queue's retry can take
 * it at once) unless SES already accepted the mail. Returns the error to throw.
 */
export async function giveBack(attempt: Attempt, claimToken: string, error: unknown): Promise<unknown> {
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
