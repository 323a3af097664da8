/**
 * The use case: record what an SES event means. Every outcome per recipient (delivered,
 * delayed, bounced, complained, rejected) is appended to the mail's delivery record, the
 * proof of delivery (docs/evidence.md); hard-bounced and complaining addresses also
 * become suppressions in the state table (deliver-report skips them and says so); every
 * event is counted, so the alarms reach a human who can fix the customer's row.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Counter } from "#shared/runtime/metrics.ts";
import { type AppendOutcome, appendRecipientEvents } from "#shared/state/delivery-history.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { recordSuppression } from "#shared/state/suppression.ts";
import { parseSesEventDetail, planSesEvent, type SesEventPlan } from "./ses-event.ts";

export const SES_EVENT_METRICS = {
  /** Recipients of permanent bounces (now suppressed). */
  bounced: "MailBounced",
  /** Recipients of transient bounces (not suppressed). */
  softBounced: "MailSoftBounced",
  /** Recipients who marked a report mail as spam (now suppressed). */
  complained: "MailComplained",
  /** Mails SES refused to send. */
  rejected: "MailRejected",
  /** Recipients whose mail server accepted a report mail. */
  delivered: "MailDelivered",
  /** Recipients whose delivery SES is still retrying. */
  delayed: "MailDelayed",
  /**
   * Events not attached to a delivery record (dimension `reason`: untagged, a mail sent
   * before deliveries were tagged; missing, no record has the tags' key).
   */
  unmatched: "SesEventUnmatched",
} as const;

/** What happened to the event on the delivery record. */
export type HistoryOutcome = AppendOutcome | "untagged";

export interface RecordedSesEvent extends SesEventPlan {
  history: HistoryOutcome;
}

export interface RecordSesEventDeps {
  table: StateTable;
  metrics: Counter;
  logger: Pick<Logger, "info" | "warn">;
  clock: () => Date;
}

export async function recordSesEvent(detail: unknown, deps: RecordSesEventDeps): Promise<RecordedSesEvent> {
  const now = deps.clock();
  const plan = planSesEvent(parseSesEventDetail(detail), now);
  // One write per address; a retry of the whole event rewrites the same items.
  for (const entry of plan.suppress) await recordSuppression(deps.table, entry, now);

  const context = {
    sesMessageId: plan.sesMessageId,
    recipients: plan.recipients,
    detail: plan.detail,
    ...(plan.mailTags === undefined ? {} : { mailTags: plan.mailTags }),
  };
  const history = await recordInHistory(plan, deps, now, context);
  switch (plan.kind) {
    case "delivery":
      deps.metrics.count(SES_EVENT_METRICS.delivered, undefined, plan.recipients.length);
      break;
    case "delay":
      deps.metrics.count(SES_EVENT_METRICS.delayed, undefined, plan.recipients.length);
      deps.logger.info("delivery delayed: SES keeps trying", context);
      break;
    case "bounce":
      deps.metrics.count(SES_EVENT_METRICS.bounced, undefined, plan.recipients.length);
      deps.logger.warn("permanent bounce: addresses suppressed", context);
      break;
    case "soft-bounce":
      deps.metrics.count(SES_EVENT_METRICS.softBounced, undefined, plan.recipients.length);
      deps.logger.info("transient bounce: addresses not suppressed", context);
      break;
    case "complaint":
      deps.metrics.count(SES_EVENT_METRICS.complained, undefined, plan.recipients.length);
      deps.logger.warn("complaint: addresses suppressed", context);
      break;
    case "not-spam":
      deps.logger.info("not-spam feedback: nothing suppressed", context);
      break;
    case "reject":
      deps.metrics.count(SES_EVENT_METRICS.rejected);
      deps.logger.warn("SES rejected a report mail", context);
      break;
  }
  return { ...plan, history };
}

/**
 * Appends the event to its delivery record. A mail without the tags (sent before they
 * existed) or whose record is not there is logged and counted, never retried: no retry
 * would make it match.
 */
async function recordInHistory(
  plan: SesEventPlan,
  deps: RecordSesEventDeps,
  now: Date,
  context: Record<string, unknown>,
): Promise<HistoryOutcome> {
  if (plan.delivery === undefined) {
    deps.metrics.count(SES_EVENT_METRICS.unmatched, { reason: "untagged" });
    deps.logger.info("SES event of a mail without delivery tags: not in the delivery history", context);
    return "untagged";
  }
  const outcome = await appendRecipientEvents(deps.table, plan.delivery, {
    eventId: plan.eventId,
    events: plan.recipientEvents,
    at: now,
  });
  const where = { ...context, ...plan.delivery, eventId: plan.eventId };
  switch (outcome) {
    case "appended":
      deps.logger.info(`${plan.kind}: recorded on the delivery`, where);
      break;
    case "duplicate":
      deps.logger.info("SES event already recorded on the delivery: nothing changed", where);
      break;
    case "missing":
      deps.metrics.count(SES_EVENT_METRICS.unmatched, { reason: "missing" });
      deps.logger.warn("SES event names a delivery record that does not exist", where);
      break;
  }
  return outcome;
}
