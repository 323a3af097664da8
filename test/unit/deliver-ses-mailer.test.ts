/**
 * The SES adapter's error classification and request shape: throttling and account-level
 * refusals cannot be produced by aws-ses-v2-local, so an SESv2Client stand-in answers here.
 */
import { type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { describe, expect, test } from "vitest";
import { MailSendError, sesMailer, tagSafe } from "#shared/mail/ses-mailer.ts";

function sesAnswering(answer: (command: SendEmailCommand) => unknown) {
  const sent: SendEmailCommand[] = [];
  const client = {
    send: async (command: SendEmailCommand) => {
      sent.push(command);
      return answer(command);
    },
  } as unknown as SESv2Client;
  return { client, sent };
}

const sesError = (name: string) => Object.assign(new Error(`${name} from SES`), { name });

const mail = {
  from: "rapporter@revisor.dk",
  destination: { to: ["a@kunde.dk", "b@kunde.dk"], cc: ["revisor@firma.dk"], bcc: ["arkiv@firma.dk"] },
  raw: Buffer.from("From: rapporter@revisor.dk\r\n\r\nHej"),
  tags: {
    customer: "1234",
    batch: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
    reportType: "Revision",
    "bad tag": "æ/ø",
  },
};

describe("sesMailer", () => {
  test("sends the raw message with destinations, configuration set and tag-safe message tags", async () => {
    const { client, sent } = sesAnswering(() => ({ MessageId: "ses-1" }));
    const send = sesMailer(client, { configurationSet: "reports" });
    expect(await send(mail)).toEqual({ messageId: "ses-1" });
    const input = sent[0]?.input;
    expect(sent[0]).toBeInstanceOf(SendEmailCommand);
    expect(input?.ConfigurationSetName).toBe("reports");
    expect(input?.Destination).toEqual({
      ToAddresses: ["a@kunde.dk", "b@kunde.dk"],
      CcAddresses: ["revisor@firma.dk"],
      BccAddresses: ["arkiv@firma.dk"],
    });
    expect(input?.FromEmailAddress).toBe("rapporter@revisor.dk");
    expect(Buffer.from(input?.Content?.Raw?.Data ?? new Uint8Array()).toString()).toContain("Hej");
    expect(input?.EmailTags).toEqual([
      { Name: "customer", Value: "1234" },
      { Name: "batch", Value: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d" },
      { Name: "reportType", Value: "Revision" },
      { Name: "bad_tag", Value: "___" },
    ]);
  });

  test.each([
    ["TooManyRequestsException", true],
    ["LimitExceededException", true],
    ["SendingPausedException", true],
    ["AccountSuspendedException", true],
    ["InternalFailure", true],
    ["TimeoutError", true],
    ["MessageRejected", false],
    ["BadRequestException", false],
  ])("%s is retryable: %s", async (name, retryable) => {
    const { client } = sesAnswering(() => {
      throw sesError(name);
    });
    const error = await sesMailer(client)(mail).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailSendError);
    expect(error).toMatchObject({ code: name, retryable });
  });

  test("tagSafe keeps SES's tag alphabet", () => {
    expect(tagSafe("Revision")).toBe("Revision");
    expect(tagSafe("a b.c")).toBe("a_b_c");
    expect(tagSafe("")).toBe("_");
    expect(tagSafe("x".repeat(300))).toHaveLength(256);
  });
});
