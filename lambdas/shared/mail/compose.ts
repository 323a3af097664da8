/**
 * Builds the report e-mail as a raw MIME message with nodemailer's MailComposer (SES v2
 * `Content.Raw`): subject and body from templates.ts, the PDF attached under Lasso's file
 * name, or, when the message would be too large for SES, a link instead.
 *
 * Header safety: every value that reaches a header (subject, names, the file name) is
 * cleaned of control characters and line breaks first, and of the invisible characters
 * that make a name read differently from what it is (bidi controls, zero-width
 * characters); MailComposer encodes non-ASCII text (RFC 2047 / RFC 2231). Text that
 * already looks like an RFC 2047 encoded-word (`=?utf-8?B?...?=`), which MailComposer
 * would pass through for the mail client to decode, is encoded as a whole instead, so a
 * company name cannot smuggle a header value of its choosing. Addresses are validated
 * before they get here; the message has CRLF line ends throughout (RFC 5322). File and URL
 * access of MailComposer are switched off: content is only what we pass in.
 */
import MailComposer from "nodemailer/lib/mail-composer";
import { encodeWord } from "nodemailer/lib/mime-funcs";
import { type RenderedMail, type ReportMailContent, renderReportMail } from "./templates.ts";

/** SES v2's limit for a whole message, encoding included: 40 MB, decimal. */
export const SES_MAX_MESSAGE_BYTES = 40_000_000;
const MAX_FILE_NAME_LENGTH = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
/**
 * Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the bidi marks
 * (U+200E, U+200F, U+061C), and zero-width characters (U+200B–U+200D, U+2060, U+FEFF):
 * they reorder or hide what a recipient sees ("fdp.exe" shown as "exe.pdf").
 */
const INVISIBLE_CHARACTERS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]/g;

/** Text safe for a header: no control, bidi or zero-width characters, spaces collapsed. */
export function headerSafe(text: string): string {
  return text.replace(INVISIBLE_CHARACTERS, "").replace(CONTROL_CHARACTERS, " ").replace(/\s+/g, " ").trim();
}

/**
 * A header value as MailComposer should write it: text with `=?` in it (which could be,
 * or hold, an encoded-word that a client would decode) becomes encoded-words itself, so it
 * shows exactly as written; other text is left to MailComposer's own encoding.
 */
export function headerText(text: string): string {
  return text.includes("=?") ? encodeWord(text, "Q", 52) : text;
}

/**
 * Lasso's file name made safe for an attachment: no path, no control or quote characters,
 * at most 200 characters, ending in `.pdf`; `fallback` when nothing usable is left.
 */
export function safePdfFileName(name: string | undefined, fallback: string): string {
  const base = headerSafe(name ?? "")
    .replace(/^.*[\\/]/, "")
    .replace(/["<>|:*?]/g, "_")
    .replace(/^[.\s]+/, "");
  const stem = base.replace(/\.pdf$/i, "").trim();
  const chosen = stem === "" ? fallback.replace(/\.pdf$/i, "") : stem;
  return `${chosen.slice(0, MAX_FILE_NAME_LENGTH - 4)}.pdf`;
}

export interface MailEnvelope {
  from: string;
  replyTo?: string;
  to: readonly string[];
}

export interface ReportMailInput {
  envelope: MailEnvelope;
  content: Omit<ReportMailContent, "link" | "fileName">;
  /** Lasso's file name (cleaned here). */
  fileName: string;
  pdf: Buffer;
  /** Where the PDF can be fetched, for a message too large to carry it. */
  pdfUrl: string;
  /** Default {@link SES_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
}

export interface ComposedMail {
  raw: Buffer;
  subject: string;
  /** "link": the PDF was too large, the mail carries `pdfUrl` instead. */
  pdfDelivery: "attachment" | "link";
  fileName: string;
}

async function build(
  envelope: MailEnvelope,
  rendered: RenderedMail,
  attachment?: { fileName: string; pdf: Buffer },
) {
  const composer = new MailComposer({
    from: envelope.from,
    ...(envelope.replyTo === undefined ? {} : { replyTo: envelope.replyTo }),
    to: [...envelope.to],
    subject: headerText(headerSafe(rendered.subject)),
    text: rendered.text,
    html: rendered.html,
    textEncoding: "quoted-printable",
    // CRLF line ends in the whole message, the bodies included (the templates write "\n").
    newline: "windows",
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(attachment === undefined
      ? {}
      : {
          attachments: [
            { filename: attachment.fileName, content: attachment.pdf, contentType: "application/pdf" },
          ],
        }),
  });
  return composer.compile().build();
}

/** The report e-mail, with the PDF attached when the message stays within SES's limit. */
export async function composeReportMail(input: ReportMailInput): Promise<ComposedMail> {
  const maxBytes = input.maxMessageBytes ?? SES_MAX_MESSAGE_BYTES;
  const fileName = safePdfFileName(input.fileName, `${input.content.cvr}-${input.content.reportType}`);
  const content = { ...input.content, companyName: headerSafe(input.content.companyName), fileName };
  // base64 grows the PDF by 4/3: skip building a message that cannot fit.
  if (Math.ceil(input.pdf.length / 3) * 4 < maxBytes) {
    const rendered = renderReportMail(content);
    const raw = await build(input.envelope, rendered, { fileName, pdf: input.pdf });
    if (raw.length <= maxBytes)
      return { raw, subject: headerSafe(rendered.subject), pdfDelivery: "attachment", fileName };
  }
  const rendered = renderReportMail({ ...content, link: input.pdfUrl });
  const raw = await build(input.envelope, rendered);
  return { raw, subject: headerSafe(rendered.subject), pdfDelivery: "link", fileName };
}
