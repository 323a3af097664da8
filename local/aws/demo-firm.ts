/**
 * The firm of local mode (`npm start`, the tests): what a deployment takes from the deploy
 * config's `mail` and `firm`, made into deliver-report's mail profile by the same function
 * the stack uses (lib/config/mail-profile.ts). The logo is a file in the repository.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type MailProfileSource, mailProfileJson } from "#lib/config/mail-profile.ts";

export const DEMO_SENDER = "rapporter@lasso-reports.example.dk";
const LOGO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../pipeline/demo-logo.png");

export const DEMO_FIRM: MailProfileSource = {
  mail: {
    sender: DEMO_SENDER,
    senderName: "Demo Revision",
    replyTo: "kontakt@lasso-reports.example.dk",
    replyToName: "Demo Revision, kundeservice",
    operatorsEmail: "drift@lasso-reports.example.dk",
  },
  firm: {
    name: "Demo Revision ApS",
    address: ["Demovej 1", "8000 Aarhus C"],
    cvr: "34580820",
    phone: "+45 70 00 00 00",
    web: "https://lasso-reports.example.dk",
    logo: { file: LOGO, alt: "Demo Revision" },
    da: {
      signature: ["Demo Revision ApS", "Rapportafdelingen"],
      footer:
        "Denne e-mail er sendt automatisk af Demo Revision ApS. Rapporten er dannet af Lasso X ud fra offentlige registre og er ikke en erklæring fra en revisor.",
    },
    en: {
      signature: ["Demo Revision ApS", "Reports team"],
      footer:
        "This e-mail was sent automatically by Demo Revision ApS. The report was produced by Lasso X from public registers and is not a statement by an auditor.",
    },
  },
};

/**
 * MAIL_PROFILE of local mode; `redirectAllTo` as the deploy-config switch would set it;
 * another sender or reply-to address (the tests' own) with the demo firm's names.
 */
export function demoMailProfileJson(
  options: { redirectAllTo?: string; sender?: string; replyTo?: string; operatorsEmail?: string | null } = {},
): string {
  return mailProfileJson(
    {
      ...DEMO_FIRM,
      mail: {
        ...DEMO_FIRM.mail,
        ...(options.sender === undefined ? {} : { sender: options.sender }),
        ...(options.replyTo === undefined ? {} : { replyTo: options.replyTo }),
        ...(options.redirectAllTo === undefined ? {} : { redirectAllTo: options.redirectAllTo }),
        // null: no operators' address (failure notices only to customers' cc/bcc).
        ...(options.operatorsEmail === undefined
          ? {}
          : { operatorsEmail: options.operatorsEmail ?? undefined }),
      },
    },
    { logoFile: LOGO },
  );
}
