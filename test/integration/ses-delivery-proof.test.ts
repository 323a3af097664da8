/**
 * Proof of delivery: record-ses-event's handler, as Lambda runs it, appends each SES
 * outcome per recipient to the delivery record named by the mail's `customer` and
 * `delivery` tags, against the emulated state table (dynalite, or moto).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type DeliveryRecord, deliveryKey, latestOutcomes } from "#shared/state/delivery-history.ts";
import { getRecord } from "#shared/state/state-table.ts";
import { suppressedAmong } from "#shared/state/suppression.ts";
import { seedDelivery } from "#test/support/delivery-history.ts";
import { useLocalAws } from "#test/support/local-aws.ts";
import { type SesEventRecorder, sesEventRecorder } from "#test/support/ses-events.ts";

const NOW = new Date("2026-12-01T11:00:00.000Z");
const SENT = new Date("2026-12-01T10:45:12.345Z");

describe("record-ses-event: SES outcomes onto the delivery history", () => {
  useLocalAws();
  let ses: SesEventRecorder;

  beforeAll(async () => {
    ses = await sesEventRecorder("ses-delivery-proof-state", NOW);
  });

  const read = async (record: DeliveryRecord): Promise<DeliveryRecord | undefined> =>
    getRecord<DeliveryRecord>(ses.table, deliveryKey(record.customerId, record.deliveryId), "delivery");

  /** SES's mail object, with the tags deliver-report gives every mail. */
  const mailOf = (record: DeliveryRecord, tags: Record<string, string[]> = {}) => ({
    timestamp: "2026-12-01T10:45:13.000Z",
    messageId: record.sesMessageId,
    source: "rapporter@example.dk",
    destination: record.recipients,
    sendingAccountId: "000000000000",
    tags: {
      "ses:configuration-set": ["LassoReportsSet"],
      customer: [String(record.customerId)],
      delivery: [record.deliveryId],
      batch: [record.lassoBatchId],
      reportType: [record.reportType],
      source: [record.source],
      ...tags,
    },
  });

  const deliveryEvent = (record: DeliveryRecord, recipients: string[], timestamp: string) => ({
    eventType: "Delivery",
    mail: mailOf(record),
    delivery: {
      timestamp,
      processingTimeMillis: 1234,
      recipients,
      smtpResponse: "250 2.0.0 OK queued",
      reportingMTA: "a1-23.smtp-out.eu-central-1.amazonses.com",
      remoteMtaIp: "192.0.2.10",
    },
  });

  it("Delivery: each recipient delivered at SES's time, once however often the event comes", async () => {
    const record = await seedDelivery(ses.table, SENT, {
      overrides: { recipients: ["bogholder@kunde.dk", "ejer@kunde.dk"] },
    });
    const event = deliveryEvent(record, ["bogholder@kunde.dk", "Ejer@Kunde.dk"], "2026-12-01T10:45:15.000Z");
    await ses.handle(event);
    const once = await read(record);
    expect(once?.recipientEvents).toEqual([
      {
        recipient: "bogholder@kunde.dk",
        event: "Delivery",
        at: "2026-12-01T10:45:15.000Z",
        detail: "250 2.0.0 OK queued",
      },
      {
        recipient: "ejer@kunde.dk",
        event: "Delivery",
        at: "2026-12-01T10:45:15.000Z",
        detail: "250 2.0.0 OK queued",
      },
    ]);
    expect([...(once?.sesEventIds ?? [])]).toHaveLength(1);
    // The send's own fields are untouched.
    expect(once).toMatchObject({ state: "sent", sesMessageId: record.sesMessageId, sentAt: record.sentAt });

    // SES (or EventBridge) hands the same event over again, under a new EventBridge id.
    await ses.handle(structuredClone(event));
    const twice = await read(record);
    expect(twice?.recipientEvents).toEqual(once?.recipientEvents);
    expect(twice?.sesEventIds).toEqual(once?.sesEventIds);
    expect(twice?.updatedAt).toBe(once?.updatedAt);
    expect(ses.counter.total("MailDelivered")).toBe(4);
    expect(ses.counter.total("SesEventUnmatched")).toBe(0);
  });

  it("DeliveryDelay, then Delivery: the delay stays on the record, the latest outcome is delivered", async () => {
    const record = await seedDelivery(ses.table, new Date(SENT.getTime() + 60_000));
    await ses.handle({
      eventType: "DeliveryDelay",
      mail: mailOf(record),
      deliveryDelay: {
        timestamp: "2026-12-01T10:50:00.000Z",
        delayType: "MailboxFull",
        expirationTime: "2026-12-01T20:46:00.000Z",
        delayedRecipients: [
          {
            emailAddress: "kunde@example.dk",
            status: "4.2.2",
            diagnosticCode: "smtp; 452 4.2.2 Mailbox full",
          },
        ],
        reportingMTA: "a1-23.smtp-out.eu-central-1.amazonses.com",
      },
    });
    const delayed = await read(record);
    expect(delayed?.recipientEvents).toEqual([
      {
        recipient: "kunde@example.dk",
        event: "DeliveryDelay",
        at: "2026-12-01T10:50:00.000Z",
        detail: "MailboxFull; 4.2.2; smtp; 452 4.2.2 Mailbox full; SES gives up at 2026-12-01T20:46:00.000Z",
      },
    ]);
    expect(latestOutcomes(delayed as DeliveryRecord).get("kunde@example.dk")?.event).toBe("DeliveryDelay");
    expect(ses.counter.total("MailDelayed")).toBe(1);

    await ses.handle(deliveryEvent(record, ["kunde@example.dk"], "2026-12-01T11:20:00.000Z"));
    const delivered = await read(record);
    expect(delivered?.recipientEvents?.map((event) => event.event)).toEqual(["DeliveryDelay", "Delivery"]);
    expect(latestOutcomes(delivered as DeliveryRecord).get("kunde@example.dk")).toMatchObject({
      event: "Delivery",
      at: "2026-12-01T11:20:00.000Z",
    });
    expect(delivered?.sesEventIds?.size).toBe(2);
  });

  it("Reject: every destination is told SES refused the mail, once", async () => {
    const record = await seedDelivery(ses.table, new Date(SENT.getTime() + 120_000), {
      overrides: { recipients: ["a@kunde.dk", "b@kunde.dk"] },
    });
    const reject = { eventType: "Reject", mail: mailOf(record), reject: { reason: "Bad content" } };
    await ses.handle(reject);
    await ses.handle(reject);
    const rejected = await read(record);
    expect(rejected?.recipientEvents).toEqual(
      ["a@kunde.dk", "b@kunde.dk"].map((recipient) => ({
        recipient,
        event: "Reject",
        at: "2026-12-01T10:45:13.000Z",
        detail: "rejected: Bad content",
      })),
    );
    expect([...(rejected?.sesEventIds ?? [])]).toEqual([`Reject:${record.sesMessageId}`]);
    expect(ses.counter.total("MailRejected")).toBe(2);
  });

  it("Bounce: appended to the record, and a permanent one still suppresses the address", async () => {
    const record = await seedDelivery(ses.table, new Date(SENT.getTime() + 180_000), {
      overrides: { recipients: ["forkert@kunde.dk"] },
    });
    await ses.handle({
      eventType: "Bounce",
      mail: mailOf(record),
      bounce: {
        bounceType: "Permanent",
        bounceSubType: "General",
        bouncedRecipients: [
          { emailAddress: "forkert@kunde.dk", diagnosticCode: "smtp; 550 5.1.1 user unknown" },
        ],
        timestamp: "2026-12-01T10:48:00.000Z",
        feedbackId: "feedback-proof-1",
      },
    });
    expect((await read(record))?.recipientEvents).toEqual([
      {
        recipient: "forkert@kunde.dk",
        event: "Bounce",
        at: "2026-12-01T10:48:00.000Z",
        detail: "Permanent/General: smtp; 550 5.1.1 user unknown",
      },
    ]);
    expect([...((await read(record))?.sesEventIds ?? [])]).toEqual(["Bounce:feedback-proof-1"]);
    expect(await suppressedAmong(ses.table, ["forkert@kunde.dk"])).toEqual(new Set(["forkert@kunde.dk"]));
  });

  it("an untagged mail's event (sent before the tags) is counted, not an error, and suppression still works", async () => {
    await ses.handle({
      eventType: "Bounce",
      mail: { messageId: "ses-old-1", tags: { "ses:configuration-set": ["set"], customer: ["42"] } },
      bounce: {
        bounceType: "Permanent",
        bouncedRecipients: [{ emailAddress: "gammel@kunde.dk" }],
        feedbackId: "feedback-old-1",
      },
    });
    await ses.handle({
      eventType: "Delivery",
      mail: { messageId: "ses-old-2", tags: { delivery: ["not-a-delivery-id"], customer: ["42"] } },
      delivery: { timestamp: "2026-12-01T10:00:00.000Z", recipients: ["gammel@kunde.dk"] },
    });
    expect(ses.counter.total("SesEventUnmatched", { reason: "untagged" })).toBe(2);
    expect(await suppressedAmong(ses.table, ["gammel@kunde.dk"])).toEqual(new Set(["gammel@kunde.dk"]));
  });

  it("an event naming a record that does not exist is counted and changes nothing", async () => {
    const ghost = {
      customerId: 4711,
      deliveryId: "20261201T101010101Z-0badc0de",
      sesMessageId: "ses-ghost",
      recipients: ["x@kunde.dk"],
      lassoBatchId: "b-9",
      reportType: "Revision",
      source: "poll",
    } as DeliveryRecord;
    await ses.handle(deliveryEvent(ghost, ["x@kunde.dk"], "2026-12-01T10:10:12.000Z"));
    expect(ses.counter.total("SesEventUnmatched", { reason: "missing" })).toBe(1);
    // The conditional update did not create a record.
    expect(await read(ghost)).toBeUndefined();
  });

  it("an event it cannot read still fails the invocation (Lambda retries, then the DLQ keeps it)", async () => {
    await expect(
      ses.handle({ eventType: "Delivery", mail: { messageId: "x" }, delivery: { recipients: [] } }),
    ).rejects.toThrow(/not an SES delivery, delay, bounce, complaint or reject event/);
  });
});
