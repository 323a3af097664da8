/**
 * A mailbox as a person writes it in the deploy config: `rapporter@firma.dk` or
 * `Revisor Firma <rapporter@firma.dk>`, read by nodemailer's address parser. The bare
 * address is what SES checks (FromEmailAddress, the identity); the display name goes into
 * the From header, encoded by the composer. One line, one address, no control characters:
 * nothing in it can start a header of its own.
 */
import addressparser from "nodemailer/lib/addressparser";
import { z } from "zod";
import type { Mailbox } from "#shared/mail/profile.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const email = z.email();

/** Why `text` is not one mailbox, or the mailbox. */
export function parseMailbox(text: string): { ok: true; mailbox: Mailbox } | { ok: false; reason: string } {
  if (CONTROL.test(text)) return { ok: false, reason: "must be one line without control characters" };
  const parsed = addressparser(text.trim(), { flatten: true });
  const only = parsed.length === 1 ? parsed[0] : undefined;
  if (only === undefined || !email.safeParse(only.address).success) {
    return {
      ok: false,
      reason:
        'must be one e-mail address, alone or with a display name: "Revisor Firma <rapporter@firma.dk>"',
    };
  }
  const local = only.address.slice(0, only.address.lastIndexOf("@"));
  if (Buffer.byteLength(local, "utf8") > 64) {
    return {
      ok: false,
      reason: "the part before @ is longer than 64 octets (RFC 5321): mail servers refuse it",
    };
  }
  const name = only.name.trim();
  if (name.length > 100) return { ok: false, reason: "the display name is longer than 100 characters" };
  return { ok: true, mailbox: name === "" ? { address: only.address } : { name, address: only.address } };
}

/** A deploy-config field holding one mailbox; its output is the parsed mailbox. */
export const mailboxText = () =>
  z.string().transform((text, ctx): Mailbox => {
    const result = parseMailbox(text);
    if (result.ok) return result.mailbox;
    ctx.addIssue({ code: "custom", message: result.reason });
    return z.NEVER;
  });
