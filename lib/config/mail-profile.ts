/**
 * The deploy config's firm and mail settings as deliver-report's mail profile
 * (lambdas/shared/mail/profile.ts): one JSON environment variable, validated at cold start.
 * The logo is a file read at synth: it is copied into the function's bundle
 * (`LOGO_BUNDLE_NAME`), never fetched from the web; the profile names it.
 */
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { type MailProfile, mailProfileSchema } from "#shared/mail/profile.ts";

/** Lambda allows 4 KB for all of a function's environment; the rest needs about 1.5 KB. */
export const MAX_PROFILE_JSON_BYTES = 2400;
export const MAX_LOGO_BYTES = 100 * 1024;

/** The logo's name inside deliver-report's bundle. */
export const LOGO_BUNDLE_NAME = "firm-logo";

/** The logo's file name inside the bundle (its extension kept). */
export const logoBundleName = (file: string): string =>
  `${LOGO_BUNDLE_NAME}${path.extname(file).toLowerCase()}`;

type LogoType = NonNullable<MailProfile["logo"]>["contentType"];

/** The parts of the deploy config the profile is made of (structural: no import cycle with schema.ts). */
export interface MailProfileSource {
  stackName?: string;
  mail: {
    sender: string;
    senderName?: string | undefined;
    replyTo?: string | undefined;
    replyToName?: string | undefined;
    redirectAllTo?: string | undefined;
    operatorsEmail?: string | undefined;
  };
  alertEmail?: string | undefined;
  firm: {
    name: string;
    address: string[];
    cvr: string;
    phone?: string | undefined;
    web?: string | undefined;
    logo?: { file: string; alt?: string | undefined } | undefined;
    da: { signature: string[]; footer: string };
    en: { signature: string[]; footer: string };
  };
}

/** The image type from the file's first bytes (not its name). */
export function logoContentType(bytes: Buffer): LogoType | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "image/png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (bytes.subarray(0, 4).toString("latin1") === "GIF8") return "image/gif";
  return undefined;
}

/** Why the logo file cannot be used, or undefined. Relative paths are from the working directory. */
export function logoFileProblem(file: string): string | undefined {
  const full = path.resolve(file);
  let size: number;
  try {
    size = statSync(full).size;
  } catch {
    return `no file ${full}`;
  }
  if (size > MAX_LOGO_BYTES)
    return `${file} has ${size} bytes; a logo in every mail should stay within ${MAX_LOGO_BYTES}`;
  if (logoContentType(readFileSync(full)) === undefined) return `${file} is not a PNG, JPEG or GIF image`;
  return undefined;
}

/**
 * The profile deliver-report gets. `logoFile`: where the function finds the logo (its
 * bundle's copy; local mode: the file itself).
 */
export function mailProfileFor(config: MailProfileSource, options: { logoFile?: string } = {}): MailProfile {
  const { mail, firm } = config;
  const logo = firm.logo;
  const contentType = logo === undefined ? undefined : logoContentType(readFileSync(path.resolve(logo.file)));
  return mailProfileSchema.parse({
    from: { address: mail.sender, ...(mail.senderName === undefined ? {} : { name: mail.senderName }) },
    ...(mail.replyTo === undefined
      ? {}
      : {
          replyTo: {
            address: mail.replyTo,
            ...(mail.replyToName === undefined ? {} : { name: mail.replyToName }),
          },
        }),
    firm: {
      name: firm.name,
      addressLines: firm.address,
      cvr: firm.cvr,
      ...(firm.phone === undefined ? {} : { phone: firm.phone }),
      ...(firm.web === undefined ? {} : { web: firm.web }),
    },
    texts: { da: firm.da, en: firm.en },
    ...(logo === undefined || contentType === undefined
      ? {}
      : {
          logo: {
            file: options.logoFile ?? logoBundleName(logo.file),
            contentType,
            alt: logo.alt ?? firm.name,
          },
        }),
    ...(mail.redirectAllTo === undefined ? {} : { redirectAllTo: mail.redirectAllTo }),
    ...((mail.operatorsEmail ?? config.alertEmail) === undefined
      ? {}
      : { operators: mail.operatorsEmail ?? config.alertEmail }),
  });
}

/** The profile as the environment variable's value. */
export function mailProfileJson(config: MailProfileSource, options: { logoFile?: string } = {}): string {
  return JSON.stringify(mailProfileFor(config, options));
}
