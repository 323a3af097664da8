/**
 * SES sending events (delivery, delivery delay, bounce, complaint, reject) as the
 * configuration set publishes them to EventBridge: the `detail` of the event is SES's
 * event record. Parsed tolerantly (SES adds fields over time), and turned into what to
 * record: pure, no I/O.
 */
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { ALL_RECIPIENTS, deliveryMonthOf, type RecipientEvent } from "#shared/state/delivery-history.ts";
import { normaliseEmailAddress, type SuppressionEntry } from "#shared/state/suppression.ts";
import "#shared/zod-english.ts";

const optionalText = z.optional(z.string());
/** At least one entry: an event about nobody is not one we can record. */
const someOf = <T extends z.core.SomeType>(entry: T) => z.array(entry).check(z.minLength(1));

const recipient = z.looseObject({ emailAddress: z.string().check(z.minLength(3)) });

const mailSchema = z.looseObject({
  messageId: z.string().check(z.minLength(1)),
  timestamp: optionalText,
  /** Who the mail went to (SES's envelope destinations). */
  destination: z.optional(z.array(z.string())),
  /** SES gives tag values as lists: `{ "customer": ["42"], "ses:configuration-set": ["…"] }`. */
  tags: z.optional(z.record(z.string(), z.array(z.string()))),
});

export const sesEventDetailSchema = z.discriminatedUnion("eventType", [
  z.looseObject({
    eventType: z.literal("Bounce"),
    mail: mailSchema,
    bounce: z.looseObject({
      bounceType: z.string().check(z.minLength(1)),
      bounceSubType: optionalText,
      bouncedRecipients: someOf(z.extend(recipient, { diagnosticCode: optionalText })),
      timestamp: optionalText,
      feedbackId: optionalText,
    }),
  }),
  z.looseObject({
    eventType: z.literal("Complaint"),
    mail: mailSchema,
    complaint: z.looseObject({
      complainedRecipients: someOf(recipient),
      complaintFeedbackType: optionalText,
      timestamp: optionalText,
      feedbackId: optionalText,
    }),
  }),
  z.looseObject({
    eventType: z.literal("Delivery"),
    mail: mailSchema,
    delivery: z.looseObject({
      timestamp: optionalText,
      recipients: someOf(z.string().check(z.minLength(3))),
      smtpResponse: optionalText,
      reportingMTA: optionalText,
    }),
  }),
  z.looseObject({
    eventType: z.literal("DeliveryDelay"),
    mail: mailSchema,
    deliveryDelay: z.looseObject({
      timestamp: optionalText,
      delayType: optionalText,
      expirationTime: optionalText,
      delayedRecipients: someOf(z.extend(recipient, { status: optionalText, diagnosticCode: optionalText })),
    }),
  }),
  z.looseObject({
    eventType: z.literal("Reject"),
    mail: mailSchema,
    reject: z.optional(z.looseObject({ reason: optionalText })),
  }),
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
  throw new InvalidSesEventError(
    `not an SES delivery, delay, bounce, complaint or reject event (${problems.join("; ")})`,
  );
}

/** The delivery record a mail belongs to, by the `customer` and `delivery` tags deliver-report gives it. */
export interface DeliveryRef {
  customerId: number;
  deliveryId: string;
}

/** What one event means for us. */
export interface SesEventPlan {
  kind: "delivery" | "delay" | "bounce" | "soft-bounce" | "complaint" | "not-spam" | "reject";
  sesMessageId: string;
  /** The addresses to skip from now on (empty for soft bounces, not-spam and rejects). */
  suppress: SuppressionEntry[];
  /** Every address the event names, normalised (for logs and counts). */
  recipients: string[];
  detail: string;
  mailTags?: Record<string, string>;
  /**
   * This event's id in the delivery record's `sesEventIds`: SES's feedback id where it
   * gives one (bounces, complaints), else a hash of the event's own object, so the same
   * event published or handed to us twice is recognised.
   */
  eventId: string;
  /** What the delivery record gets appended: one entry per recipient the event names. */
  recipientEvents: RecipientEvent[];
  /** The delivery record, when the mail carries both tags (mails sent before they existed do not). */
  delivery?: DeliveryRef;
}

/** Our own message tags (not SES's `ses:*` ones), first value of each. */
function ownTags(tags: Record<string, string[]> | undefined): Record<string, string> | undefined {
  if (tags === undefined) return undefined;
  const own = Object.entries(tags)
    .filter(([name, values]) => !name.startsWith("ses:") && values[0] !== undefined)
    .map(([name, values]) => [name, values[0] as string] as const);
  return own.length > 0 ? Object.fromEntries(own) : undefined;
}

/** The `customer` and `delivery` tags as a record key; undefined when either is missing or malformed. */
export function deliveryRefOf(tags: Record<string, string> | undefined): DeliveryRef | undefined {
  const customer = tags?.customer;
  const deliveryId = tags?.delivery;
  if (customer === undefined || deliveryId === undefined || !/^[1-9]\d{0,15}$/.test(customer)) {
    return undefined;
  }
  const customerId = Number(customer);
  if (!Number.isSafeInteger(customerId)) return undefined;
  try {
    deliveryMonthOf(deliveryId);
  } catch {
    return undefined;
  }
  return { customerId, deliveryId };
}

/** `<EventType>:<SES's id>`, or `<EventType>:<SHA-256 of the event object>` when SES gives none. */
function eventIdOf(eventType: string, sesId: string | undefined, eventObject: unknown): string {
  if (sesId !== undefined && sesId !== "") return `${eventType}:${sesId}`;
  const hash = createHash("sha256")
    .update(JSON.stringify(eventObject ?? null))
    .digest("hex");
  return `${eventType}:${hash.slice(0, 32)}`;
}

const withDetail = (detail: string | undefined): { detail?: string } =>
  detail === undefined || detail === "" ? {} : { detail };

/**
 * Permanent bounces and complaints suppress their recipients; a transient bounce (a full
 * mailbox) and a "not-spam" feedback do not; a reject (SES found a virus) names no
 * recipient to blame. `receivedAt` stands in for SES's time when it gave none.
 */
export function planSesEvent(detail: SesEventDetail, receivedAt: Date): SesEventPlan {
  const sesMessageId = detail.mail.messageId;
  const mailTags = ownTags(detail.mail.tags);
  const delivery = deliveryRefOf(mailTags);
  const common = {
    sesMessageId,
    ...(mailTags === undefined ? {} : { mailTags }),
    ...(delivery === undefined ? {} : { delivery }),
  };
  const withTags = mailTags === undefined ? {} : { mailTags };

  switch (detail.eventType) {
    case "Delivery": {
      const { delivery: delivered } = detail;
      const at = delivered.timestamp ?? receivedAt.toISOString();
      const recipients = delivered.recipients.map(normaliseEmailAddress);
      return {
        ...common,
        kind: "delivery",
        suppress: [],
        recipients,
        detail: delivered.smtpResponse ?? "delivered",
        eventId: eventIdOf("Delivery", undefined, delivered),
        recipientEvents: recipients.map((recipient) => ({
          recipient,
          event: "Delivery",
          at,
          ...withDetail(delivered.smtpResponse),
        })),
      };
    }
    case "DeliveryDelay": {
      const { deliveryDelay: delay } = detail;
      const at = delay.timestamp ?? receivedAt.toISOString();
      const recipients = delay.delayedRecipients.map((r) => normaliseEmailAddress(r.emailAddress));
      const type = delay.delayType ?? "unspecified";
      return {
        ...common,
        kind: "delay",
        suppress: [],
        recipients,
        detail: `delayed: ${type}`,
        eventId: eventIdOf("DeliveryDelay", undefined, delay),
        recipientEvents: delay.delayedRecipients.map((r, index) => ({
          recipient: recipients[index] ?? normaliseEmailAddress(r.emailAddress),
          event: "DeliveryDelay",
          at,
          detail: [
            type,
            r.status,
            r.diagnosticCode,
            delay.expirationTime === undefined ? undefined : `SES gives up at ${delay.expirationTime}`,
          ]
            .filter(Boolean)
            .join("; "),
        })),
      };
    }
    case "Bounce": {
      const { bounce } = detail;
      const permanent = bounce.bounceType === "Permanent";
      const eventAt = bounce.timestamp ?? receivedAt.toISOString();
      const type = [bounce.bounceType, bounce.bounceSubType].filter(Boolean).join("/");
      const recipients = bounce.bouncedRecipients.map((r) => normaliseEmailAddress(r.emailAddress));
      const details = bounce.bouncedRecipients.map((r) =>
        r.diagnosticCode ? `${type}: ${r.diagnosticCode}` : type,
      );
      const suppress: SuppressionEntry[] = permanent
        ? recipients.map((email, index) => ({
            email,
            reason: "bounce",
            detail: details[index] ?? type,
            sesMessageId,
            eventAt,
            feedbackId: bounce.feedbackId ?? sesMessageId,
            ...withTags,
          }))
        : [];
      return {
        ...common,
        kind: permanent ? "bounce" : "soft-bounce",
        suppress,
        recipients,
        detail: type,
        eventId: eventIdOf("Bounce", bounce.feedbackId, bounce),
        recipientEvents: recipients.map((recipient, index) => ({
          recipient,
          event: "Bounce",
          at: eventAt,
          detail: details[index] ?? type,
        })),
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
        ...common,
        kind: notSpam ? "not-spam" : "complaint",
        suppress,
        recipients,
        detail: `complaint: ${feedbackType}`,
        eventId: eventIdOf("Complaint", complaint.feedbackId, complaint),
        recipientEvents: recipients.map((recipient) => ({
          recipient,
          event: "Complaint",
          at: eventAt,
          detail: `complaint: ${feedbackType}`,
        })),
      };
    }
    case "Reject": {
      // SES refused the whole message (it found a virus): every destination is told.
      const reason = `rejected: ${detail.reject?.reason ?? "no reason given"}`;
      const at = detail.mail.timestamp ?? receivedAt.toISOString();
      const recipients = (detail.mail.destination ?? []).map(normaliseEmailAddress);
      // Without SES's destinations, one entry for the whole message (ALL_RECIPIENTS).
      const named = recipients.length > 0 ? recipients : [ALL_RECIPIENTS];
      return {
        ...common,
        kind: "reject",
        suppress: [],
        recipients,
        detail: reason,
        eventId: eventIdOf("Reject", sesMessageId, undefined),
        recipientEvents: named.map((recipient) => ({ recipient, event: "Reject", at, detail: reason })),
      };
    }
  }
}
