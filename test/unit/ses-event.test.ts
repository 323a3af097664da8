import { describe, expect, it } from "vitest";
import {
  InvalidSesEventError,
  parseSesEventDetail,
  planSesEvent,
} from "#lambdas/record-ses-event/ses-event.ts";
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
    ["a delivery event", { eventType: "Delivery", mail: mail(), delivery: {} }],
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

describe("normaliseEmailAddress", () => {
  it.each([
    ["Kunde@Firma.DK", "kunde@firma.dk"],
    ["  kunde@firma.dk ", "kunde@firma.dk"],
    ["Kunde Firma <Kunde@Firma.dk>", "kunde@firma.dk"],
  ])("%s -> %s", (input, expected) => {
    expect(normaliseEmailAddress(input)).toBe(expected);
  });
});
