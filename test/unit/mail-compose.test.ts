import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { DEMO_FIRM, demoMailProfileJson } from "#local/aws/demo-firm.ts";
import {
  composeReportMail,
  headerSafe,
  type ReportMailInput,
  SES_MAX_MESSAGE_BYTES,
  safePdfFileName,
} from "#shared/mail/compose.ts";
import { LOGO_CID, type MailLogo, parseMailProfile } from "#shared/mail/profile.ts";
import { renderFailureNotice, renderReportMail } from "#shared/mail/templates.ts";

const PROFILE = parseMailProfile(demoMailProfileJson());
const LOGO: MailLogo = {
  bytes: readFileSync(DEMO_FIRM.firm.logo?.file ?? ""),
  contentType: "image/png",
  alt: "Demo Revision",
  cid: LOGO_CID,
};

const PDF = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(2048, 7), Buffer.from("\n%%EOF\n")]);

const input = (overrides: Partial<ReportMailInput> = {}): ReportMailInput => ({
  envelope: {
    from: { name: "Revisor Firma", address: "rapporter@revisor.dk" },
    replyTo: { address: "support@revisor.dk" },
    to: ["a@kunde.dk", "b@kunde.dk"],
  },
  content: {
    language: "da",
    reportType: "Revision",
    itemStatus: "Completed",
    companyName: "Nørregaard Revision ApS",
    cvr: "34580820",
    customerId: 1234,
    customerName: "Nørregaard",
  },
  dress: { profile: PROFILE },
  fileName: "1234_34580820-Nørregaard Revision ApS-Revision.pdf",
  pdf: PDF,
  pdfUrl: "https://files.lassox.com/files/1/token.pdf",
  ...overrides,
});

/** Header block of a raw message, unfolded (continuation lines joined). */
function headersOf(raw: Buffer): string[] {
  const text = raw.toString("utf8");
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  return head.replace(/\r\n[ \t]+/g, " ").split("\r\n");
}

/** Decodes RFC 2047 encoded words (B and Q), as a mail client shows a header. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, encoding: string, data: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : Buffer.from(
            data
              .replace(/_/g, " ")
              .replace(/=([0-9A-Fa-f]{2})/g, (_x, hex: string) =>
                String.fromCharCode(Number.parseInt(hex, 16)),
              ),
            "latin1",
          ).toString("utf8"),
    );
}

const header = (raw: Buffer, name: string): string | undefined =>
  headersOf(raw)
    .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim();

describe("renderReportMail", () => {
  test("Danish by default: subject names the report type, company and cvr", () => {
    const mail = renderReportMail({ ...input().content, fileName: "a.pdf" }, PROFILE);
    expect(mail.subject).toBe("Virksomhedsrapport (Lasso Revision): Nørregaard Revision ApS (CVR 34580820)");
    expect(mail.text).toContain(
      "Vedhæftet er virksomhedsrapporten (Lassos rapporttype Revision) for Nørregaard Revision ApS (CVR 34580820).",
    );
    expect(mail.text).toContain("ikke en revision og ikke en erklæring fra en revisor");
    expect(mail.text).toContain("Filnavn: a.pdf");
  });

  test("English, every report type, and the warning of a Warning report", () => {
    const subjects = (["Revision", "RevisionUdvidet", "ReelleEjere", "Finans"] as const).map(
      (reportType) =>
        renderReportMail({ ...input().content, language: "en", reportType, fileName: "a.pdf" }, PROFILE)
          .subject,
    );
    expect(subjects).toEqual([
      "Company report (Lasso Revision data): Nørregaard Revision ApS (CVR 34580820)",
      "Extended company report (Lasso Revision data): Nørregaard Revision ApS (CVR 34580820)",
      "Beneficial owners report: Nørregaard Revision ApS (CVR 34580820)",
      "Financial report (Lasso Finans): Nørregaard Revision ApS (CVR 34580820)",
    ]);
    // Nothing in an English mail calls a Revision report an audit report.
    for (const reportType of ["Revision", "RevisionUdvidet"] as const) {
      const mail = renderReportMail(
        { ...input().content, language: "en", reportType, fileName: "a.pdf" },
        PROFILE,
      );
      expect(`${mail.subject}\n${mail.text}`).not.toMatch(/audit report/i);
      expect(mail.text).toContain("It is not an audit and not a statement by an auditor.");
    }
    const warned = renderReportMail(
      { ...input().content, itemStatus: "Warning", warning: "Seneste regnskab mangler", fileName: "a.pdf" },
      PROFILE,
    );
    expect(warned.subject).toBe(
      "Virksomhedsrapport (Lasso Revision): Nørregaard Revision ApS (CVR 34580820) – med advarsel",
    );
    expect(warned.text).toContain("advarsel: Seneste regnskab mangler");
  });

  test("escapes names in the HTML body", () => {
    const mail = renderReportMail(
      { ...input().content, companyName: "<script>x</script> & Co", fileName: "a.pdf" },
      PROFILE,
    );
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).toContain("&lt;script&gt;x&lt;/script&gt; &amp; Co");
    // The text part is text: not escaped.
    expect(mail.text).toContain("<script>x</script> & Co");
  });

  test("the firm signs every mail: signature, name, address, CVR, phone, web and footer, per language", () => {
    const da = renderReportMail({ ...input().content, fileName: "a.pdf" }, PROFILE);
    expect(da.text).toContain("Venlig hilsen\nDemo Revision ApS\nRapportafdelingen\n");
    expect(da.text).toContain("Demovej 1\n8000 Aarhus C\nCVR 34580820 · Tlf. +45 70 00 00 00");
    expect(da.text).toContain(PROFILE.texts.da.footer);
    expect(da.html).toContain("Rapportafdelingen");
    expect(da.html).toContain(PROFILE.texts.da.footer);
    expect(da.html).toContain("Demo Revision ApS");
    const en = renderReportMail({ ...input().content, language: "en", fileName: "a.pdf" }, PROFILE);
    expect(en.text).toContain("Kind regards\nDemo Revision ApS\nReports team\n");
    expect(en.text).toContain(PROFILE.texts.en.footer);
    expect(en.text).not.toContain(PROFILE.texts.da.footer);
  });

  test("a test send and a redirected mail say so, in subject and body", () => {
    const mail = renderReportMail({ ...input().content, fileName: "a.pdf" }, PROFILE, {
      marks: { isTest: true, redirectedFrom: ["a@kunde.dk", "rev@firma.dk (cc)"] },
    });
    expect(mail.subject).toMatch(/^\[TEST\] Virksomhedsrapport/);
    expect(mail.text).toMatch(/^TEST: Dette er en prøveudsendelse/);
    expect(mail.text).toContain("ville være gået til a@kunde.dk, rev@firma.dk (cc)");
    expect(mail.html).toContain("prøveudsendelse");
  });

  test("a failure notice names the company, the report and the reason", () => {
    const notice = renderFailureNotice(
      {
        language: "da",
        reportType: "Finans",
        companyName: "Nørregaard Revision ApS",
        cvr: "34580820",
        customerId: 1234,
        customerName: "Nørregaard",
        batchId: "b-1",
        reason: "Lasso could not produce the report: company not found",
      },
      PROFILE,
    );
    expect(notice.subject).toBe(
      "Rapport fejlede: Nørregaard Revision ApS (CVR 34580820), Regnskabsrapport (Lasso Finans)",
    );
    expect(notice.text).toContain("Årsag: Lasso could not produce the report: company not found");
    expect(notice.text).toContain("Lasso-batch: b-1");
  });
});

describe("composeReportMail", () => {
  test("builds a MIME message with the PDF attached under Lasso's file name", async () => {
    const mail = await composeReportMail(input());
    expect(mail.pdfDelivery).toBe("attachment");
    expect(decodeWords(header(mail.raw, "Subject") ?? "")).toBe(
      "Virksomhedsrapport (Lasso Revision): Nørregaard Revision ApS (CVR 34580820)",
    );
    expect(header(mail.raw, "From")).toBe("Revisor Firma <rapporter@revisor.dk>");
    expect(header(mail.raw, "Reply-To")).toBe("support@revisor.dk");
    expect(header(mail.raw, "To")).toBe("a@kunde.dk, b@kunde.dk");
    expect(mail.destination).toEqual({ to: ["a@kunde.dk", "b@kunde.dk"], cc: [], bcc: [] });
    expect(header(mail.raw, "Content-Type")).toMatch(/^multipart\/mixed/);
    const text = mail.raw.toString("utf8");
    expect(text).toContain("Content-Type: application/pdf");
    // The attachment's bytes are in the message, base64-encoded.
    expect(text.replace(/\r\n/g, "")).toContain(PDF.toString("base64"));
    expect(mail.fileName).toBe("1234_34580820-Nørregaard Revision ApS-Revision.pdf");
  });

  test("names from the report cannot inject headers", async () => {
    const mail = await composeReportMail(
      input({
        content: { ...input().content, companyName: "Evil\r\nBcc: victim@example.com\r\nX-Evil: 1" },
        fileName: 'x"\r\nContent-Type: text/html\r\n\r\n<h1>.pdf',
      }),
    );
    const names = headersOf(mail.raw).map((line) => line.slice(0, line.indexOf(":")).toLowerCase());
    expect(names).not.toContain("bcc");
    expect(names).not.toContain("x-evil");
    expect(decodeWords(header(mail.raw, "Subject") ?? "")).toBe(
      "Virksomhedsrapport (Lasso Revision): Evil Bcc: victim@example.com X-Evil: 1 (CVR 34580820)",
    );
    expect(mail.fileName).not.toMatch(/[\r\n"]/);
    expect(mail.raw.toString("utf8")).not.toContain("\r\nContent-Type: text/html\r\n\r\n<h1>");
  });

  test("Cc in the headers, Bcc only in SES's Destination", async () => {
    const mail = await composeReportMail(
      input({
        envelope: { ...input().envelope, cc: ["revisor@firma.dk"], bcc: ["arkiv@firma.dk"] },
      }),
    );
    expect(header(mail.raw, "Cc")).toBe("revisor@firma.dk");
    expect(header(mail.raw, "Bcc")).toBeUndefined();
    expect(mail.raw.toString("utf8")).not.toContain("arkiv@firma.dk");
    expect(mail.destination).toEqual({
      to: ["a@kunde.dk", "b@kunde.dk"],
      cc: ["revisor@firma.dk"],
      bcc: ["arkiv@firma.dk"],
    });
  });

  test("a display name cannot inject a header", async () => {
    const mail = await composeReportMail(
      input({
        envelope: { ...input().envelope, from: { name: "Firma\r\nBcc: x@evil.dk", address: "r@revisor.dk" } },
      }),
    );
    expect(headersOf(mail.raw).map((line) => line.split(":")[0]?.toLowerCase())).not.toContain("bcc");
    expect(header(mail.raw, "From")).toBe('"Firma Bcc: x@evil.dk" <r@revisor.dk>');
  });

  test("the logo is inline, referenced by its content id from the HTML", async () => {
    const mail = await composeReportMail(input({ dress: { profile: PROFILE, logo: LOGO } }));
    const text = mail.raw.toString("utf8");
    expect(header(mail.raw, "Content-Type")).toMatch(/^multipart\/mixed/);
    expect(text).toMatch(/Content-Type: multipart\/related/);
    expect(text).toMatch(new RegExp(`Content-Id: <${LOGO_CID}>`, "i"));
    expect(text).toContain("Content-Disposition: inline");
    expect(text.replace(/=\r\n/g, "")).toContain(`cid:${LOGO_CID}`);
  });

  test("redirectAllTo: one recipient, the real ones named in the body", async () => {
    const mail = await composeReportMail(
      input({
        envelope: { ...input().envelope, cc: ["revisor@firma.dk"], bcc: ["arkiv@firma.dk"] },
        dress: { profile: { ...PROFILE, redirectAllTo: "test@firma.dk" } },
      }),
    );
    expect(mail.destination).toEqual({ to: ["test@firma.dk"], cc: [], bcc: [] });
    expect(header(mail.raw, "To")).toBe("test@firma.dk");
    expect(header(mail.raw, "Cc")).toBeUndefined();
    expect(mail.raw.toString("utf8").replace(/=\r\n/g, "")).toContain(
      "a@kunde.dk, b@kunde.dk, revisor@firma.dk (cc), arkiv@firma.dk (bcc)",
    );
  });

  test("a message too large for SES carries a link instead of the PDF", async () => {
    const big = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(300 * 1024, 1)]);
    const mail = await composeReportMail(input({ pdf: big, maxMessageBytes: 256 * 1024 }));
    expect(mail.pdfDelivery).toBe("link");
    expect(mail.raw.length).toBeLessThan(256 * 1024);
    expect(mail.raw.toString("utf8")).not.toContain("application/pdf");
    expect(mail.raw.toString("utf8").replace(/=\r\n/g, "")).toContain(
      "https://files.lassox.com/files/1/token.pdf",
    );
  });

  test("attaches right up to the limit: the limit is on the encoded message", async () => {
    const pdf = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(100 * 1024, 1)]);
    const fits = await composeReportMail(input({ pdf, maxMessageBytes: 160 * 1024 }));
    expect(fits.pdfDelivery).toBe("attachment");
    // 100 KiB of PDF is ~137 KiB base64: a 130 KiB limit cannot carry it.
    const tooBig = await composeReportMail(input({ pdf, maxMessageBytes: 130 * 1024 }));
    expect(tooBig.pdfDelivery).toBe("link");
  });
});

describe("header and file-name hygiene", () => {
  test("headerSafe removes control characters and line breaks", () => {
    expect(headerSafe("A\r\nB\tC\u0000D\u2028E")).toBe("A B C D E");
  });

  test("safePdfFileName keeps Lasso's name, characters a file name cannot hold made readable", () => {
    expect(safePdfFileName("1234_34580820-Åbyhøj Byg K/S-Revision.pdf", "x")).toBe(
      "1234_34580820-Åbyhøj Byg K-S-Revision.pdf",
    );
    // Lasso's own "_" for the "/" of the company's name reads as the name again.
    expect(safePdfFileName("1234_34580820-Åbyhøj Byg K_S-Revision.pdf", "x", "Åbyhøj Byg K/S")).toBe(
      "1234_34580820-Åbyhøj Byg K-S-Revision.pdf",
    );
    expect(safePdfFileName("1234_Nord_Syd A_S.pdf", "x", "Nord_Syd A/S")).toBe("1234_Nord_Syd A-S.pdf");
    expect(safePdfFileName("../../etc/passwd", "x")).toBe("etc-passwd.pdf");
    expect(safePdfFileName('a"b<c>: d?*|e\\f.PDF', "x")).toBe("a'b(c)- d--e-f.pdf");
    expect(safePdfFileName(undefined, "34580820-Revision")).toBe("34580820-Revision.pdf");
    expect(safePdfFileName("   ", "34580820-Revision.pdf")).toBe("34580820-Revision.pdf");
    expect(safePdfFileName(`${"a".repeat(400)}.pdf`, "x")).toHaveLength(200);
  });
});

describe("names that look like encoded-words, line ends, invisible characters, SES's limit", () => {
  const smuggled = "=?utf-8?B?S3VuZGUgQS9TIChDVlIgMTExMTExMTgp?="; // "Kunde A/S (CVR 11111118)"

  test("a company name that is an encoded-word is encoded, so it shows as written", async () => {
    const mail = await composeReportMail(input({ content: { ...input().content, companyName: smuggled } }));
    const subject = header(mail.raw, "Subject") ?? "";
    // The raw header does not carry the look-alike for a client to decode...
    expect(subject).not.toContain(smuggled);
    expect(subject).not.toContain("S3VuZGUgQS9TIChDVlIgMTExMTExMTgp");
    // ...it carries our own encoding of the text, which decodes back to the text itself.
    expect(decodeWords(subject)).toBe(`Virksomhedsrapport (Lasso Revision): ${smuggled} (CVR 34580820)`);
    expect(decodeWords(subject)).not.toContain("Kunde A/S");
  });

  test("a file name that is an encoded-word reaches no header as one", async () => {
    const mail = await composeReportMail(input({ fileName: `${smuggled}.pdf` }));
    const text = mail.raw.toString("utf8").replace(/\r\n[ \t]+/g, " ");
    expect(text).not.toContain(smuggled);
    expect(mail.fileName).not.toContain("=?");
  });

  test("the text body has CRLF line ends, never a bare LF", async () => {
    const mail = await composeReportMail(input());
    const text = mail.raw.toString("utf8");
    expect(text).toContain("Hej\r\n\r\n");
    expect(text).not.toMatch(/[^\r]\n/);
    const link = await composeReportMail(input({ pdf: PDF, maxMessageBytes: 1024 }));
    expect(link.pdfDelivery).toBe("link");
    expect(link.raw.toString("utf8")).not.toMatch(/[^\r]\n/);
  });

  test.each([
    ["right-to-left override", "\u202e"],
    ["left-to-right embedding", "\u202a"],
    ["pop directional formatting", "\u202c"],
    ["right-to-left isolate", "\u2067"],
    ["pop directional isolate", "\u2069"],
    ["right-to-left mark", "\u200f"],
    ["left-to-right mark", "\u200e"],
    ["Arabic letter mark", "\u061c"],
    ["zero-width space", "\u200b"],
    ["zero-width joiner", "\u200d"],
    ["word joiner", "\u2060"],
    ["byte-order mark", "\ufeff"],
  ])("the %s is removed from the subject and the file name", async (_name, character) => {
    const mail = await composeReportMail(
      input({
        content: { ...input().content, companyName: `Nørre${character}gaard ApS` },
        fileName: `rapport${character}fdp.exe.pdf`,
      }),
    );
    expect(mail.subject).toBe("Virksomhedsrapport (Lasso Revision): Nørregaard ApS (CVR 34580820)");
    expect(decodeWords(header(mail.raw, "Subject") ?? "")).toBe(mail.subject);
    expect(mail.fileName).toBe("rapportfdp.exe.pdf");
    expect(mail.raw.toString("utf8")).not.toContain(character);
    expect(headerSafe(`a${character}b`)).toBe("ab");
  });

  test("SES's limit is 40,000,000 bytes (decimal)", () => {
    expect(SES_MAX_MESSAGE_BYTES).toBe(40_000_000);
  });
});
