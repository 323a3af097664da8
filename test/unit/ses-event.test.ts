import { describe, expect, it } from "vitest";
import {
  deliveryRefOf,
  InvalidSesEventError,
  parseSesEventDetail,
  planSesEvent,
} from "#lambdas/record-ses-event/ses-event.ts";
import { latestOutcomes } from "#shared/state/delivery-history.ts";
import { normaliseEmailAddress } from "#shared/state/suppression.ts";

// Event records as SES publishes them through a configuration set (its documented
// examples, trimmed to what we read, plus fields we ignore to prove tolerance).
const RECEIVED_AT = new Date("2025-03-01T06:10:00.000Z");

const mail = (tags: Record<string, string[]> = {}) => ({
  timestamp: "2025-03-01T06:00:00.000Z",
  source: "Rapporter <rapporter@example.dk>",
  messageId: "0100018f-aaaa-bbbb-cccc-000000000001",
  destination: ["Kunde@Firma.DK"],
  headersTruncated: false,
  tags: { "ses:configuration-set": ["LassoReportsSet"], "ses:caller-identity": ["role"], ...tags },
});

const permanentBounce = {
  eventType: "Bounce",
  bounce: {
    bounceType: "Permanent",
    bounceSubType: "General",
    bouncedRecipients: [
      {
        emailAddress: "Kunde@Firma.DK",
        action: "failed",
        status: "5.1.1",
        diagnosticCode: "smtp; 550 5.1.1 user unknown",
      },
    ],
    timestamp: "2025-03-01T06:01:02.669Z",
    feedbackId: "feedback-1",
    reportingMTA: "dsn; mta.example.com",
  },
  mail: mail({ customer: ["42"], batch: ["b-123"] }),
};

describe("SES bounce events", () => {
  it("suppresses every recipient of a permanent bounce, normalised, with SES's diagnosis", () => {
    const plan = planSesEvent(parseSesEventDetail(permanentBounce), RECEIVED_AT);
    expect(plan.kind).toBe("bounce");
    expect(plan.recipients).toEqual(["kunde@firma.dk"]);
    expect(plan.suppress).toEqual([
      {
        email: "kunde@firma.dk",
        reason: "bounce",
        detail: "Permanent/General: smtp; 550 5.1.1 user unknown",
        sesMessageId: "0100018f-aaaa-bbbb-cccc-000000000001",
        eventAt: "2025-03-01T06:01:02.669Z",
        feedbackId: "feedback-1",
        mailTags: { customer: "42", batch: "b-123" },
      },
    ]);
  });

  it("does not suppress a transient bounce (a full mailbox recovers)", () => {
    const transient = {
      ...permanentBounce,
      bounce: { ...permanentBounce.bounce, bounceType: "Transient", bounceSubType: "MailboxFull" },
    };
    const plan = planSesEvent(parseSesEventDetail(transient), RECEIVED_AT);
    expect(plan.kind).toBe("soft-bounce");
    expect(plan.suppress).toEqual([]);
    expect(plan.recipients).toEqual(["kunde@firma.dk"]);
  });

  it("falls back to the message id and the receive time when SES omits feedback id and time", () => {
    const { feedbackId: _feedbackId, timestamp: _timestamp, ...bounce } = permanentBounce.bounce;
    const plan = planSesEvent(parseSesEventDetail({ ...permanentBounce, bounce }), RECEIVED_AT);
    expect(plan.suppress[0]?.feedbackId).toBe("0100018f-aaaa-bbbb-cccc-000000000001");
    expect(plan.suppress[0]?.eventAt).toBe(RECEIVED_AT.toISOString());
  });

  it("keeps no mail tags when the mail had only SES's own", () => {
    const plan = planSesEvent(parseSesEventDetail({ ...permanentBounce, mail: mail() }), RECEIVED_AT);
    expect(plan.suppress[0]).not.toHaveProperty("mailTags");
  });
});

describe("SES complaint events", () => {
  const complaint = (feedbackType?: string) => ({
    eventType: "Complaint",
    complaint: {
      complainedRecipients: [
        { emailAddress: "bogholder@kunde.dk" },
        { emailAddress: "Ejer <EJER@kunde.dk>" },
      ],
      timestamp: "2025-03-02T08:00:00.000Z",
      feedbackId: "feedback-2",
      userAgent: "ExampleCorp Feedback Loop (V0.01)",
      ...(feedbackType === undefined ? {} : { complaintFeedbackType: feedbackType }),
    },
    mail: mail(),
  });

  it("suppresses every complaining recipient", () => {
    const plan = planSesEvent(parseSesEventDetail(complaint("abuse")), RECEIVED_AT);
    expect(plan.kind).toBe("complaint");
    expect(plan.suppress.map((entry) => [entry.email, entry.reason, entry.detail])).toEqual([
      ["bogholder@kunde.dk", "complaint", "complaint: abuse"],
      ["ejer@kunde.dk", "complaint", "complaint: abuse"],
    ]);
  });

  it("suppresses a complaint without a feedback type too", () => {
    const plan = planSesEvent(parseSesEventDetail(complaint()), RECEIVED_AT);
    expect(plan.suppress.map((entry) => entry.detail)).toEqual([
      "complaint: unspecified",
      "complaint: unspecified",
    ]);
  });

  it("does not suppress on not-spam feedback", () => {
    const plan = planSesEvent(parseSesEventDetail(complaint("not-spam")), RECEIVED_AT);
    expect(plan.kind).toBe("not-spam");
    expect(plan.suppress).toEqual([]);
  });
});

describe("SES reject events", () => {
  it("names nobody to suppress and keeps SES's reason", () => {
    const plan = planSesEvent(
      parseSesEventDetail({ eventType: "Reject", reject: { reason: "Bad content" }, mail: mail() }),
      RECEIVED_AT,
    );
    expect(plan).toMatchObject({ kind: "reject", suppress: [], detail: "rejected: Bad content" });
  });
});

describe("events that are not ours", () => {
  it.each([
    ["a delivery event without recipients", { eventType: "Delivery", mail: mail(), delivery: {} }],
    ["an open event (not published to us)", { eventType: "Open", mail: mail(), open: {} }],
    [
      "a delay without delayed recipients",
      {
        eventType: "DeliveryDelay",
        mail: mail(),
        deliveryDelay: { delayType: "General", delayedRecipients: [] },
      },
    ],
    [
      "a bounce without recipients",
      { ...permanentBounce, bounce: { bounceType: "Permanent", bouncedRecipients: [] } },
    ],
    ["a bounce without a message id", { ...permanentBounce, mail: { tags: {} } }],
    ["not an object", "Bounce"],
  ])("refuses %s with a reason", (_name, detail) => {
    expect(() => parseSesEventDetail(detail)).toThrow(InvalidSesEventError);
  });
});

describe("proof of delivery: what goes onto the delivery record", () => {
  const DELIVERY_ID = "20261201T104512345Z-1a2b3c4d";
  const tagged = mail({ customer: ["42"], delivery: [DELIVERY_ID], batch: ["b-123"] });
  const delivered = {
    eventType: "Delivery",
    mail: tagged,
    delivery: {
      timestamp: "2026-12-01T10:45:15.000Z",
      processingTimeMillis: 900,
      recipients: ["Kunde@Firma.DK"],
      smtpResponse: "250 ok",
      reportingMTA: "a1.smtp-out.amazonses.com",
      someFieldSesAddsLater: { nested: true },
    },
  };

  it("a delivery names the record by the customer and delivery tags, one outcome per recipient", () => {
    const plan = planSesEvent(parseSesEventDetail(delivered), RECEIVED_AT);
    expect(plan).toMatchObject({
      kind: "delivery",
      suppress: [],
      recipients: ["kunde@firma.dk"],
      delivery: { customerId: 42, deliveryId: DELIVERY_ID },
      recipientEvents: [
        { recipient: "kunde@firma.dk", event: "Delivery", at: "2026-12-01T10:45:15.000Z", detail: "250 ok" },
      ],
    });
    expect(plan.eventId).toMatch(/^Delivery:[0-9a-f]{32}$/);
  });

  it("the same event always has the same id; another event of the same mail another", () => {
    const first = planSesEvent(parseSesEventDetail(delivered), RECEIVED_AT).eventId;
    const again = planSesEvent(parseSesEventDetail(structuredClone(delivered)), new Date()).eventId;
    const other = planSesEvent(
      parseSesEventDetail({
        ...delivered,
        delivery: { ...delivered.delivery, timestamp: "2026-12-01T10:45:16.000Z" },
      }),
      RECEIVED_AT,
    ).eventId;
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(planSesEvent(parseSesEventDetail(permanentBounce), RECEIVED_AT).eventId).toBe("Bounce:feedback-1");
  });

  it("a delay keeps its type, SMTP status and SES's deadline; falls back to the receive time", () => {
    const plan = planSesEvent(
      parseSesEventDetail({
        eventType: "DeliveryDelay",
        mail: tagged,
        deliveryDelay: {
          delayType: "TransientCommunicationFailure",
          expirationTime: "2026-12-01T22:00:00.000Z",
          delayedRecipients: [{ emailAddress: "Kunde@Firma.DK", status: "4.4.7" }],
        },
      }),
      RECEIVED_AT,
    );
    expect(plan.kind).toBe("delay");
    expect(plan.recipientEvents).toEqual([
      {
        recipient: "kunde@firma.dk",
        event: "DeliveryDelay",
        at: RECEIVED_AT.toISOString(),
        detail: "TransientCommunicationFailure; 4.4.7; SES gives up at 2026-12-01T22:00:00.000Z",
      },
    ]);
  });

  it("a reject without SES's destinations is one outcome for the whole message", () => {
    const { destination: _destination, ...noDestination } = tagged;
    const plan = planSesEvent(
      parseSesEventDetail({ eventType: "Reject", mail: noDestination, reject: { reason: "Bad content" } }),
      RECEIVED_AT,
    );
    expect(plan.recipientEvents).toEqual([
      { recipient: "*", event: "Reject", at: tagged.timestamp, detail: "rejected: Bad content" },
    ]);
    const outcomes = latestOutcomes({
      recipients: ["a@firma.dk", "b@firma.dk"],
      recipientEvents: plan.recipientEvents,
    });
    expect([...outcomes.values()].map((event) => event?.event)).toEqual(["Reject", "Reject"]);
  });

  it.each([
    ["no tags", undefined],
    ["only the customer", { customer: "42" }],
    ["a customer that is not a number", { customer: "4x2", delivery: DELIVERY_ID }],
    ["a delivery that is not a delivery id", { customer: "42", delivery: "b-123" }],
  ])("names no record with %s", (_name, tags) => {
    expect(deliveryRefOf(tags)).toBeUndefined();
  });

  it("latest outcome per recipient: by SES's time, not by arrival; silent recipients have none", () => {
    const outcomes = latestOutcomes({
      recipients: ["Kunde@Firma.dk", "tavs@firma.dk"],
      recipientEvents: [
        { recipient: "kunde@firma.dk", event: "Delivery", at: "2026-12-01T11:00:00.000Z" },
        { recipient: "kunde@firma.dk", event: "DeliveryDelay", at: "2026-12-01T10:50:00.000Z" },
      ],
    });
    expect(outcomes.get("Kunde@Firma.dk")?.event).toBe("Delivery");
    expect(outcomes.get("tavs@firma.dk")).toBeUndefined();
  });
});

describe("normaliseEmailAddress", () => {
  it.each([
    ["Kunde@Firma.DK", "kunde@firma.dk"],
    ["  kunde@firma.dk ", "kunde@firma.dk"],
    ["Kunde Firma <Kunde@Firma.dk>", "kunde@firma.dk"],
  ])("%s -> %s", (input, expected) => {
    expect(normaliseEmailAddress(input)).toBe(expected);
  });
});
