/**
 * Builds the report e-mail as a raw MIME message with nodemailer's MailComposer (SES v2
 * `Content.Raw`): subject, text and HTML from the templates (templates.ts), From with the
 * firm's display name, Reply-To, To and Cc in the headers (Bcc only in the envelope: SES's
 * Destination), the firm's logo inline (a CID attachment), the PDF attached under Lasso's
 * file name, or, when the message would be too large for SES, a link instead. With
 * `mail.redirectAllTo` the mail goes to that one address and names its real recipients.
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
import type { Mailbox, MailLogo, MailProfile } from "./profile.ts";
import { type MailMarks, type RenderedMail, type ReportMailContent, renderReportMail } from "./templates.ts";

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

/** Characters a file name cannot hold on common systems, and what they read as instead. */
const FILE_NAME_CHARACTERS: Readonly<Record<string, string>> = {
  "/": "-",
  "\\": "-",
  "|": "-",
  ":": "-",
  "*": "-",
  "?": "",
  '"': "'",
  "<": "(",
  ">": ")",
};

/** Characters a file name cannot hold, made readable ("K/S" → "K-S"). */
const readable = (text: string): string =>
  text.replace(/[/\\|:*?"<>]/g, (ch) => FILE_NAME_CHARACTERS[ch] ?? "-");

/**
 * Lasso's file name made safe for an attachment, and readable: characters a file name
 * cannot hold become their nearest readable one ("K/S" → "K-S", `:` → "-", `"` → "'"),
 * and where Lasso itself put "_" for them in the company's name ("Byg K_S" for "Byg K/S"),
 * the name reads as the company's, the same way. No control characters, no leading dots,
 * at most 200 characters, ending in `.pdf`; `fallback` when nothing usable is left. The
 * archive keeps the message, so it has the same name.
 */
export function safePdfFileName(name: string | undefined, fallback: string, companyName?: string): string {
  let text = headerSafe(name ?? "");
  const company = companyName === undefined ? "" : headerSafe(companyName);
  const lassoForm = company.replace(/[/\\|:*?"<>]/g, "_");
  if (lassoForm !== company && text.includes(lassoForm)) text = text.split(lassoForm).join(readable(company));
  const base = readable(text)
    .replace(/\s+/g, " ")
    .replace(/^[.\s-]+/, "");
  const stem = base.replace(/\.pdf$/i, "").trim();
  const chosen = stem === "" ? fallback.replace(/\.pdf$/i, "") : stem;
  return `${chosen.slice(0, MAX_FILE_NAME_LENGTH - 4)}.pdf`;
}

export interface MailEnvelope {
  from: Mailbox;
  replyTo?: Mailbox | undefined;
  to: readonly string[];
  cc?: readonly string[];
  /** In SES's Destination only, never in a header. */
  bcc?: readonly string[];
}

/** Who SES hands the mail to (Destination): To and Cc as in the headers, and Bcc. */
export interface MailDestination {
  to: string[];
  cc: string[];
  bcc: string[];
}

/** The mail's firm profile, logo and marks (test, redirect). */
export interface MailDress {
  profile: MailProfile;
  logo?: MailLogo | undefined;
  marks?: MailMarks;
}

export interface ReportMailInput {
  envelope: MailEnvelope;
  content: Omit<ReportMailContent, "link" | "fileName">;
  /** Lasso's file name (cleaned here). */
  fileName: string;
  pdf: Buffer;
  /** Where the PDF can be fetched, for a message too large to carry it. */
  pdfUrl: string;
  dress: MailDress;
  /** Default {@link SES_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
}

/**
 * The envelope as sent: with `redirectAllTo` every recipient is replaced by that address,
 * and the marks name the real ones (To, Cc and Bcc alike), so the body can say so.
 */
export function redirected(
  envelope: MailEnvelope,
  redirectAllTo: string | undefined,
  marks: MailMarks = {},
): { envelope: MailEnvelope; marks: MailMarks } {
  if (redirectAllTo === undefined) return { envelope, marks };
  const original = [
    ...envelope.to,
    ...(envelope.cc ?? []).map((address) => `${address} (cc)`),
    ...(envelope.bcc ?? []).map((address) => `${address} (bcc)`),
  ];
  return {
    envelope: { from: envelope.from, replyTo: envelope.replyTo, to: [redirectAllTo] },
    marks: { ...marks, redirectedFrom: original },
  };
}

/** SES's Destination for an envelope. */
export function destinationOf(envelope: MailEnvelope): MailDestination {
  return { to: [...envelope.to], cc: [...(envelope.cc ?? [])], bcc: [...(envelope.bcc ?? [])] };
}

export interface ComposedMail {
  raw: Buffer;
  /** Who SES hands it to (after a redirect, the redirect address only). */
  destination: MailDestination;
  subject: string;
  /** "link": the PDF was too large, the mail carries `pdfUrl` instead. */
  pdfDelivery: "attachment" | "link";
  fileName: string;
}

const mailbox = (box: Mailbox) =>
  box.name === undefined ? box.address : { name: headerText(headerSafe(box.name)), address: box.address };

/** A raw MIME message: the rendered parts, the logo inline, optionally an attachment. */
export async function buildMessage(
  envelope: MailEnvelope,
  rendered: RenderedMail,
  logo: MailLogo | undefined,
  attachment?: { fileName: string; pdf: Buffer },
): Promise<Buffer> {
  // The PDF first: it is the mail's attachment; the logo is part of the HTML (related).
  const attachments = [
    ...(attachment === undefined
      ? []
      : [{ filename: attachment.fileName, content: attachment.pdf, contentType: "application/pdf" }]),
    ...(logo === undefined
      ? []
      : [
          {
            filename: `logo.${logo.contentType.slice("image/".length)}`,
            content: logo.bytes,
            contentType: logo.contentType,
            cid: logo.cid,
            contentDisposition: "inline" as const,
          },
        ]),
  ];
  const composer = new MailComposer({
    from: mailbox(envelope.from),
    ...(envelope.replyTo === undefined ? {} : { replyTo: mailbox(envelope.replyTo) }),
    to: [...envelope.to],
    ...(envelope.cc === undefined || envelope.cc.length === 0 ? {} : { cc: [...envelope.cc] }),
    // Bcc is not written into the message (MailComposer leaves it out): SES's Destination has it.
    subject: headerText(headerSafe(rendered.subject)),
    text: rendered.text,
    html: rendered.html,
    textEncoding: "quoted-printable",
    // CRLF line ends in the whole message, the bodies included (the templates write "\n").
    newline: "windows",
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(attachments.length === 0 ? {} : { attachments }),
  });
  return composer.compile().build();
}

/** The report e-mail, with the PDF attached when the message stays within SES's limit. */
export async function composeReportMail(input: ReportMailInput): Promise<ComposedMail> {
  const maxBytes = input.maxMessageBytes ?? SES_MAX_MESSAGE_BYTES;
  const fileName = safePdfFileName(
    input.fileName,
    `${input.content.cvr}-${input.content.reportType}`,
    input.content.companyName,
  );
  const content = { ...input.content, companyName: headerSafe(input.content.companyName), fileName };
  const { profile, logo } = input.dress;
  const { envelope, marks } = redirected(input.envelope, profile.redirectAllTo, input.dress.marks);
  const destination = destinationOf(envelope);
  // base64 grows the PDF by 4/3: skip building a message that cannot fit.
  if (Math.ceil(input.pdf.length / 3) * 4 < maxBytes) {
    const rendered = renderReportMail(content, profile, { logo, marks });
    const raw = await buildMessage(envelope, rendered, logo, { fileName, pdf: input.pdf });
    if (raw.length <= maxBytes)
      return { raw, destination, subject: headerSafe(rendered.subject), pdfDelivery: "attachment", fileName };
  }
  const rendered = renderReportMail({ ...content, link: input.pdfUrl }, profile, { logo, marks });
  const raw = await buildMessage(envelope, rendered, logo);
  return { raw, destination, subject: headerSafe(rendered.subject), pdfDelivery: "link", fileName };
}
