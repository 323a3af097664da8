/**
 * The firm's mail profile: who a mail is from, who answers it, the firm's name, address,
 * CVR, phone and web site, the signature and footer in each language, the logo, and the
 * deployment's mail switches (redirect every mail to one address; where failure notices go
 * when a customer names no accountant). Built at synth from the deploy config
 * (lib/config/mail-profile.ts), passed to deliver-report as one JSON environment variable
 * (`MAIL_PROFILE`) and validated here at cold start. Nothing in it is a secret.
 */
import * as z from "zod/mini";
import { LANGUAGES, type Language } from "../customers.ts";
import "../zod-english.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** One line of text that may reach a header or a single line of the mail: no control characters. */
export const profileLine = (max: number) =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine((text) => !CONTROL.test(text), "must be one line without control characters"),
  );

const mailbox = z.object({ name: z.optional(profileLine(100)), address: z.email() });
export type Mailbox = z.infer<typeof mailbox>;

const texts = z.object({
  /** The lines under "Venlig hilsen" / "Kind regards" (a name, a title). */
  signature: z.array(profileLine(120)).check(z.minLength(1), z.maxLength(6)),
  /** The small print at the foot of every mail. */
  footer: z.string().check(z.trim(), z.minLength(1), z.maxLength(600)),
});

export const LOGO_CONTENT_TYPES = ["image/png", "image/jpeg", "image/gif"] as const;

export const mailProfileSchema = z.object({
  from: mailbox,
  replyTo: z.optional(mailbox),
  firm: z.object({
    name: profileLine(100),
    addressLines: z.array(profileLine(120)).check(z.minLength(1), z.maxLength(4)),
    cvr: z.string().check(z.regex(/^[1-9]\d{7}$/)),
    phone: z.optional(profileLine(40)),
    web: z.optional(z.url({ protocol: /^https?$/ })),
  }),
  texts: z.object(
    Object.fromEntries(LANGUAGES.map((language) => [language, texts])) as Record<Language, typeof texts>,
  ),
  /** The logo, a file shipped with the function (read at cold start, embedded as a CID attachment). */
  logo: z.optional(
    z.object({
      file: z.string().check(z.minLength(1)),
      contentType: z.enum(LOGO_CONTENT_TYPES),
      alt: profileLine(100),
    }),
  ),
  /** Every mail of the deployment goes to this address instead; the body names the real recipients. */
  redirectAllTo: z.optional(z.email()),
  /** Failure notices of a customer without cc/bcc go here. */
  operators: z.optional(z.email()),
});

export type MailProfile = z.infer<typeof mailProfileSchema>;

/** The profile from its JSON (the environment variable); the error names the field. */
export function parseMailProfile(json: string): MailProfile {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new Error(`mail profile is not JSON: ${(error as Error).message}`);
  }
  const result = mailProfileSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`mail profile is invalid: ${problems.join("; ")}`);
}

/** The logo as a mail carries it: its bytes, type and content id. */
export interface MailLogo {
  bytes: Buffer;
  contentType: (typeof LOGO_CONTENT_TYPES)[number];
  alt: string;
  cid: string;
}

export const LOGO_CID = "firm-logo@lasso-reports";
