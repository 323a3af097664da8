/**
 * The local SES's store (aws-ses-v2-local, read in process): what a run's end-of-run check
 * reads, and `compact`, which keeps a long run's memory from growing by every mail's content.
 */
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalAws, startLocalAws } from "#local/aws/local-aws.ts";

describe("the SES emulator's store, in process", () => {
  let aws: LocalAws;
  let ses: SESv2Client;
  const send = async (n: number): Promise<string> => {
    const raw = [
      "From: sender@example.dk",
      `To: recipient${n}@example.dk`,
      `Subject: Report ${n}`,
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain; charset=utf-8",
      "",
      `Body ${n}`,
      "--b",
      `Content-Type: application/pdf; name="report-${n}.pdf"`,
      `Content-Disposition: attachment; filename="report-${n}.pdf"`,
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from(`%PDF-1.4 report ${n}`).toString("base64"),
      "--b--",
    ].join("\r\n");
    const sent = await ses.send(new SendEmailCommand({ Content: { Raw: { Data: Buffer.from(raw) } } }));
    return sent.MessageId ?? "";
  };

  beforeAll(async () => {
    aws = await startLocalAws({}, "node");
    ses = new SESv2Client({
      region: LOCAL_REGION,
      endpoint: aws.endpoints.ses,
      credentials: LOCAL_CREDENTIALS,
    });
    await aws.sentMails.clear();
  });
  afterAll(async () => {
    ses?.destroy();
    await aws?.stop();
  });

  test("read gives each mail whole: recipients, subject, body, the attachment's bytes", async () => {
    const id = await send(1);
    const [mail] = await aws.sentMails.read();
    expect(mail).toMatchObject({
      messageId: id,
      destination: { to: ["recipient1@example.dk"], cc: [], bcc: [] },
      subject: "Report 1",
      body: { text: "Body 1" },
      attachments: [{ filename: "report-1.pdf", contentType: "application/pdf" }],
    });
    expect(mail?.compacted).toBeUndefined();
    expect(Buffer.from(mail?.attachments[0]?.content ?? "", "base64").toString()).toBe("%PDF-1.4 report 1");
  });

  test("compact keeps the newest mails whole and the older ones' headers and attachment names", async () => {
    await send(2);
    await send(3);
    const compact = aws.sentMails.compact;
    if (compact === undefined) throw new Error("the emulator's store compacts");
    expect(compact(1)).toBe(2);
    const mails = await aws.sentMails.read();
    expect(mails.map((mail) => mail.subject)).toEqual(["Report 1", "Report 2", "Report 3"]);
    for (const [n, mail] of mails.slice(0, 2).entries()) {
      expect(mail).toMatchObject({
        compacted: true,
        destination: { to: [`recipient${n + 1}@example.dk`] },
        body: {},
        attachments: [{ filename: `report-${n + 1}.pdf`, content: "", size: 17 }],
      });
    }
    expect(mails[2]?.compacted).toBeUndefined();
    expect(mails[2]?.body.text).toBe("Body 3");
    // Each call slims only the mails that aged since the last.
    expect(compact(1)).toBe(0);
    await send(4);
    expect(compact(1)).toBe(1);
    expect((await aws.sentMails.read()).map((mail) => mail.compacted ?? false)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});
