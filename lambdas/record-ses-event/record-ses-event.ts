/**
 * The use case: record what an SES event means. Hard-bounced and complaining addresses
 * become suppressions in the state table (deliver-report skips them and says so); every
 * event is counted, so the alarms reach a human who can fix the customer's row.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Counter } from "#shared/runtime/metrics.ts";
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
} as const;

export interface RecordSesEventDeps {
  table: StateTable;
  metrics: Counter;
  logger: Pick<Logger, "info" | "warn">;
  clock: () => Date;
}

export async function recordSesEvent(detail: unknown, deps: RecordSesEventDeps): Promise<SesEventPlan> {
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
  switch (plan.kind) {
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
  return plan;
}
