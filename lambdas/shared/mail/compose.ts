/**
 * Builds the report e-mail as a raw MIME message with nodemailer's MailComposer (SES v2
 * `Content.Raw`): subject and body from templates.ts, the PDF attached under Lasso's file
 * name, or, when the message would be too large for SES, a link instead.
 *
 * Header safety: every value that reaches a header (subject, names, the file name) is
 * cleaned of control characters and line breaks first, and MailComposer encodes non-ASCII
 * text (RFC 2047 / RFC 2231); addresses are validated before they get here. File and URL
 * access of MailComposer are switched off: content is only what we pass in.
 */
import MailComposer from "nodemailer/lib/mail-composer";
import { type RenderedMail, type ReportMailContent, renderReportMail } from "./templates.ts";

/** SES v2's limit for a whole message, encoding included. */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;
const MAX_FILE_NAME_LENGTH = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Text safe for a header: no control characters or line breaks, spaces collapsed. */
export function headerSafe(text: string): string {
  return text.replace(CONTROL_CHARACTERS, " ").replace(/\s+/g, " ").trim();
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
    subject: headerSafe(rendered.subject),
    text: rendered.text,
    html: rendered.html,
    textEncoding: "quoted-printable",
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
