import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordingCounter } from "#shared/runtime/metrics.ts";
import { suppressionKey } from "#shared/state/keys.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { getSuppression, suppressedAmong } from "#shared/state/suppression.ts";
import { useLocalAws } from "#test/support/local-aws.ts";
import { sesEventRecorder } from "#test/support/ses-events.ts";

// record-ses-event's handler, as Lambda runs it, against dynalite; then the delivery's
// view of the result through suppressedAmong.
describe("record-ses-event against DynamoDB (dynalite)", () => {
  useLocalAws();
  const tableName = "ses-suppression-state";
  let table: StateTable;
  let counter: RecordingCounter;
  let handle: (detail: unknown) => Promise<void>;

  beforeAll(async () => {
    ({ table, counter, handle } = await sesEventRecorder(tableName, new Date("2025-03-01T07:00:00.000Z")));
  });

  const bounce = (bounceType: string, address: string, feedbackId: string) => ({
    eventType: "Bounce",
    bounce: {
      bounceType,
      bounceSubType: "General",
      bouncedRecipients: [{ emailAddress: address, diagnosticCode: "smtp; 550 5.1.1 user unknown" }],
      timestamp: "2025-03-01T06:01:02.669Z",
      feedbackId,
    },
    mail: {
      messageId: "ses-message-1",
      tags: { "ses:configuration-set": ["set"], customer: ["42"] },
    },
  });

  it("a hard bounce suppresses the address, once however often SES delivers the event", async () => {
    await handle(bounce("Permanent", "Kunde@Firma.DK", "feedback-1"));
    await handle(bounce("Permanent", "Kunde@Firma.DK", "feedback-1"));

    // One read for all of a mail's addresses, in any case and form; the others are not skipped.
    expect(
      await suppressedAmong(table, ["KUNDE@firma.dk", "Kunden <kunde@firma.dk>", "anden@firma.dk"]),
    ).toEqual(new Set(["kunde@firma.dk"]));
    const record = await getSuppression(table, "kunde@firma.dk");
    expect(record).toMatchObject({
      recordType: "suppression",
      email: "kunde@firma.dk",
      reason: "bounce",
      detail: "Permanent/General: smtp; 550 5.1.1 user unknown",
      sesMessageId: "ses-message-1",
      mailTags: { customer: "42" },
      createdAt: "2025-03-01T07:00:00.000Z",
    });
    expect([...(record?.feedbackIds ?? [])]).toEqual(["feedback-1"]);
    // Suppressions do not expire: no TTL attribute.
    const raw = await table.doc.send(
      new GetCommand({ TableName: tableName, Key: suppressionKey("kunde@firma.dk") }),
    );
    expect(raw.Item).not.toHaveProperty("expiresAt");
    expect(counter.total("MailBounced")).toBe(2);
  });

  it("a complaint after a bounce keeps the first time and takes the latest reason", async () => {
    await handle({
      eventType: "Complaint",
      complaint: {
        complainedRecipients: [{ emailAddress: "kunde@firma.dk" }],
        complaintFeedbackType: "abuse",
        feedbackId: "feedback-2",
      },
      mail: { messageId: "ses-message-2" },
    });
    const record = await getSuppression(table, "kunde@firma.dk");
    expect(record).toMatchObject({ reason: "complaint", sesMessageId: "ses-message-2" });
    expect(record?.createdAt).toBe("2025-03-01T07:00:00.000Z");
    expect([...(record?.feedbackIds ?? [])].sort()).toEqual(["feedback-1", "feedback-2"]);
    expect(counter.total("MailComplained")).toBe(1);
  });

  it("a transient bounce suppresses nothing", async () => {
    await handle(bounce("Transient", "fuld@postkasse.dk", "feedback-3"));
    expect((await suppressedAmong(table, ["fuld@postkasse.dk"])).size).toBe(0);
    expect(counter.total("MailSoftBounced")).toBe(1);
  });

  it("an address never reported is not suppressed", async () => {
    expect((await suppressedAmong(table, ["ny@kunde.dk"])).size).toBe(0);
    expect((await suppressedAmong(table, [])).size).toBe(0);
  });

  it("an event it cannot read fails the invocation (Lambda retries, then the DLQ keeps it)", async () => {
    await expect(handle({ eventType: "Bounce", mail: { messageId: "x" } })).rejects.toThrow(
      /not an SES delivery, delay, bounce, complaint or reject event/,
    );
  });
});
