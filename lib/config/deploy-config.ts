/**
 * The deploy config: edit this file, then `npx cdk deploy --all`. It is validated at
 * synth; a mistake fails `cdk synth` with the name of the field. The fields are described
 * in lib/config/schema.ts and docs/deploy.md. This example synthesizes as it is.
 */
import type { DeployConfigInput } from "./schema.ts";

export const deployConfig: DeployConfigInput = {
  stackName: "LassoReports",
  lasso: {
    baseUrl: "https://api.lassox.com",
    // Lasso's rate limit for the API key; every function spends one shared budget of it
    // (docs/lasso-api.md). Lower it if something else calls Lasso with the same key.
    callsPerMinute: 500,
  },
  mail: {
    // The display name is what a client's mail program shows; SES checks the address.
    sender: "Revisor Firma <rapporter@example.dk>",
    replyTo: "Revisor Firma <kontakt@example.dk>",
    identity: "example.dk",
    defaultLanguage: "da",
    // For a first real run: every mail to this address, the real recipients named in it.
    // redirectAllTo: "test@example.dk",
  },
  // The firm every mail is from: name, address, CVR, signature and footer per language.
  firm: {
    name: "Revisor Firma ApS",
    address: ["Eksempelvej 1", "8000 Aarhus C"],
    cvr: "34580820",
    phone: "+45 70 00 00 00",
    web: "https://example.dk",
    // logo: { file: "assets/logo.png", alt: "Revisor Firma" },
    da: {
      signature: ["Revisor Firma ApS", "Rapportafdelingen"],
      footer:
        "Denne e-mail er sendt automatisk af Revisor Firma ApS. Rapporten er dannet af Lasso X ud fra offentlige registre og er ikke en erklæring fra en revisor.",
    },
    en: {
      signature: ["Revisor Firma ApS", "Reports team"],
      footer:
        "This e-mail was sent automatically by Revisor Firma ApS. The report was produced by Lasso X from public registers and is not a statement by an auditor.",
    },
  },
  // Exact host names where you can (lasso-reports status --batch ID shows the hosts Lasso
  // links to); never a wildcard over a shared storage or CDN platform (docs/deploy.md).
  pdfHosts: ["*.lassox.com"],
  schedules: [
    {
      name: "monthly-revision",
      // 06:00 Copenhagen time on the first day of every month.
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "default",
      format: "{cvr}-{name}-{type}-{rundate}",
      errorAppend: "#fejl",
    },
    {
      name: "first-bankday-finans",
      // 07:00 Copenhagen time on the first Danish business day of every month: weekends and
      // public holidays skipped (docs/schedules.md). `cron` or `businessDay`, never both.
      businessDay: 1,
      at: "07:00",
      timeZone: "Europe/Copenhagen",
      reportType: "Finans",
      group: "default",
      format: "{cvr}-{name}-{type}-{balanceday}",
      errorAppend: "#fejl",
    },
    {
      name: "owners-watch",
      // Keeps every customer of the group covered by a listener batch; re-checked nightly.
      cron: "cron(30 2 * * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "ReelleEjere",
      group: "default",
      listener: { triggerNow: true },
    },
  ],
  alertEmail: "drift@example.dk",
};
