/**
 * SES sending events (bounce, complaint, reject) as the configuration set publishes them
 * to EventBridge: the `detail` of the event is SES's event record. Parsed tolerantly
 * (SES adds fields over time), and turned into what to record: pure, no I/O.
 */
import * as z from "zod";
import { normaliseEmailAddress, type SuppressionEntry } from "#shared/state/suppression.ts";

const recipient = z.object({ emailAddress: z.string().min(3) }).loose();

const mailSchema = z
  .object({
    messageId: z.string().min(1),
    timestamp: z.string().optional(),
    /** SES gives tag values as lists: `{ "customer": ["42"], "ses:configuration-set": ["…"] }`. */
    tags: z.record(z.string(), z.array(z.string())).optional(),
  })
  .loose();

export const sesEventDetailSchema = z.discriminatedUnion("eventType", [
  z
    .object({
      eventType: z.literal("Bounce"),
      mail: mailSchema,
      bounce: z
        .object({
          bounceType: z.string().min(1),
          bounceSubType: z.string().optional(),
          bouncedRecipients: z.array(recipient.extend({ diagnosticCode: z.string().optional() })).min(1),
          timestamp: z.string().optional(),
          feedbackId: z.string().optional(),
        })
        .loose(),
    })
    .loose(),
  z
    .object({
      eventType: z.literal("Complaint"),
      mail: mailSchema,
      complaint: z
        .object({
          complainedRecipients: z.array(recipient).min(1),
          complaintFeedbackType: z.string().optional(),
          timestamp: z.string().optional(),
          feedbackId: z.string().optional(),
        })
        .loose(),
    })
    .loose(),
  z
    .object({
      eventType: z.literal("Reject"),
      mail: mailSchema,
      reject: z.object({ reason: z.string().optional() }).loose().optional(),
    })
    .loose(),
]);

export type SesEventDetail = z.infer<typeof sesEventDetailSchema>;

export class InvalidSesEventError extends Error {
  override readonly name = "InvalidSesEventError";
}

export function parseSesEventDetail(detail: unknown): SesEventDetail {
  const result = sesEventDetailSchema.safeParse(detail);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "detail"}: ${issue.message}`,
  );
  throw new InvalidSesEventError(`not an SES bounce, complaint or reject event (${problems.join("; ")})`);
}

/** What one event means for us. */
export interface SesEventPlan {
  kind: "bounce" | "soft-bounce" | "complaint" | "not-spam" | "reject";
  sesMessageId: string;
  /** The addresses to skip from now on (empty for soft bounces, not-spam and rejects). */
  suppress: SuppressionEntry[];
  /** Every address the event names, normalised (for logs and counts). */
  recipients: string[];
  detail: string;
  mailTags?: Record<string, string>;
}

/** Our own message tags (not SES's `ses:*` ones), first value of each. */
function ownTags(tags: Record<string, string[]> | undefined): Record<string, string> | undefined {
  if (tags === undefined) return undefined;
  const own = Object.entries(tags)
    .filter(([name, values]) => !name.startsWith("ses:") && values[0] !== undefined)
    .map(([name, values]) => [name, values[0] as string] as const);
  return own.length > 0 ? Object.fromEntries(own) : undefined;
}

/**
 * Permanent bounces and complaints suppress their recipients; a transient bounce (a full
 * mailbox) and a "not-spam" feedback do not; a reject (SES found a virus) names no
 * recipient to blame. `receivedAt` stands in for SES's time when it gave none.
 */
export function planSesEvent(detail: SesEventDetail, receivedAt: Date): SesEventPlan {
  const sesMessageId = detail.mail.messageId;
  const mailTags = ownTags(detail.mail.tags);
  const withTags = mailTags === undefined ? {} : { mailTags };

  switch (detail.eventType) {
    case "Bounce": {
      const { bounce } = detail;
      const permanent = bounce.bounceType === "Permanent";
      const eventAt = bounce.timestamp ?? receivedAt.toISOString();
      const type = [bounce.bounceType, bounce.bounceSubType].filter(Boolean).join("/");
      const recipients = bounce.bouncedRecipients.map((r) => normaliseEmailAddress(r.emailAddress));
      const suppress: SuppressionEntry[] = permanent
        ? bounce.bouncedRecipients.map((r, index) => ({
            email: recipients[index] ?? normaliseEmailAddress(r.emailAddress),
            reason: "bounce",
            detail: r.diagnosticCode ? `${type}: ${r.diagnosticCode}` : type,
            sesMessageId,
            eventAt,
            feedbackId: bounce.feedbackId ?? sesMessageId,
            ...withTags,
          }))
        : [];
      return {
        kind: permanent ? "bounce" : "soft-bounce",
        sesMessageId,
        suppress,
        recipients,
        detail: type,
        ...withTags,
      };
    }
    case "Complaint": {
      const { complaint } = detail;
      const feedbackType = complaint.complaintFeedbackType ?? "unspecified";
      const recipients = complaint.complainedRecipients.map((r) => normaliseEmailAddress(r.emailAddress));
      const notSpam = feedbackType.toLowerCase() === "not-spam";
      const eventAt = complaint.timestamp ?? receivedAt.toISOString();
      const suppress: SuppressionEntry[] = notSpam
        ? []
        : recipients.map((email) => ({
            email,
            reason: "complaint",
            detail: `complaint: ${feedbackType}`,
            sesMessageId,
            eventAt,
            feedbackId: complaint.feedbackId ?? sesMessageId,
            ...withTags,
          }));
      return {
        kind: notSpam ? "not-spam" : "complaint",
        sesMessageId,
        suppress,
        recipients,
        detail: `complaint: ${feedbackType}`,
        ...withTags,
      };
    }
    case "Reject":
      return {
        kind: "reject",
        sesMessageId,
        suppress: [],
        recipients: [],
        detail: `rejected: ${detail.reject?.reason ?? "no reason given"}`,
        ...withTags,
      };
  }
}
