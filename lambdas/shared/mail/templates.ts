/**
 * Subject and body of the report e-mail, per report type, in Danish (the default) and
 * English. Plain functions of plain data: the composer (compose.ts) turns them into MIME.
 */
import type { Language } from "../customers.ts";
import type { ReportType } from "../lasso/enums.ts";

export interface ReportMailContent {
  language: Language;
  reportType: ReportType;
  /** Failed reports are never mailed to customers. */
  itemStatus: "Completed" | "Warning";
  companyName: string;
  cvr: string;
  /** The attachment's name (Lasso's file name). */
  fileName: string;
  /** Lasso's warning text, for Warning reports. */
  warning?: string;
  /** Set when the PDF is too large to attach: where to download it instead. */
  link?: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const REPORT_NAMES: Readonly<Record<Language, Readonly<Record<ReportType, string>>>> = {
  da: {
    Revision: "Revisionsrapport",
    RevisionUdvidet: "Udvidet revisionsrapport",
    ReelleEjere: "Rapport om reelle ejere",
    Finans: "Finansrapport",
  },
  en: {
    Revision: "Audit report",
    RevisionUdvidet: "Extended audit report",
    ReelleEjere: "Beneficial owners report",
    Finans: "Financial report",
  },
};

interface Phrases {
  withWarning: string;
  greeting: string;
  attached: (report: string, company: string, cvr: string) => string;
  linked: (report: string, company: string, cvr: string) => string;
  warning: (text: string) => string;
  warningNoText: string;
  fileName: (name: string) => string;
  download: string;
  signOff: string;
  automatic: string;
}

const PHRASES: Readonly<Record<Language, Phrases>> = {
  da: {
    withWarning: "med advarsel",
    greeting: "Hej",
    attached: (report, company, cvr) =>
      `Vedhæftet er ${lowerFirst(report)} for ${company} (CVR ${cvr}), dannet af Lasso.`,
    linked: (report, company, cvr) =>
      `${report} for ${company} (CVR ${cvr}) er klar. Filen er for stor til at blive sendt som vedhæftet fil, så den kan hentes via linket nedenfor.`,
    warning: (text) => `Bemærk: Lasso har markeret rapporten med en advarsel: ${text}`,
    warningNoText: "Bemærk: Lasso har markeret rapporten med en advarsel.",
    fileName: (name) => `Filnavn: ${name}`,
    download: "Hent rapporten",
    signOff: "Venlig hilsen",
    automatic: "Denne e-mail er sendt automatisk.",
  },
  en: {
    withWarning: "with warning",
    greeting: "Hello",
    attached: (report, company, cvr) =>
      `Attached is the ${lowerFirst(report)} for ${company} (CVR ${cvr}), produced by Lasso.`,
    linked: (report, company, cvr) =>
      `The ${lowerFirst(report)} for ${company} (CVR ${cvr}) is ready. The file is too large to be sent as an attachment; download it from the link below.`,
    warning: (text) => `Please note: Lasso marked this report with a warning: ${text}`,
    warningNoText: "Please note: Lasso marked this report with a warning.",
    fileName: (name) => `File name: ${name}`,
    download: "Download the report",
    signOff: "Kind regards",
    automatic: "This e-mail was sent automatically.",
  },
};

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The report type's name in the language (also used by operators' tools). */
export function reportTypeLabel(reportType: ReportType, language: Language): string {
  return REPORT_NAMES[language][reportType];
}

export function renderReportMail(content: ReportMailContent): RenderedMail {
  const phrases = PHRASES[content.language];
  const report = reportTypeLabel(content.reportType, content.language);
  const warningSuffix = content.itemStatus === "Warning" ? ` (${phrases.withWarning})` : "";
  const subject = `${report}: ${content.companyName} (CVR ${content.cvr})${warningSuffix}`;

  const lead =
    content.link === undefined
      ? phrases.attached(report, content.companyName, content.cvr)
      : phrases.linked(report, content.companyName, content.cvr);
  const warning =
    content.itemStatus !== "Warning"
      ? undefined
      : content.warning === undefined || content.warning === ""
        ? phrases.warningNoText
        : phrases.warning(content.warning);

  const textParts = [`${phrases.greeting}`, lead];
  if (warning !== undefined) textParts.push(warning);
  if (content.link !== undefined) textParts.push(`${phrases.download}: ${content.link}`);
  textParts.push(phrases.fileName(content.fileName), `${phrases.signOff}\n\n${phrases.automatic}`);
  const text = `${textParts.join("\n\n")}\n`;

  const htmlParts = [`<p>${escapeHtml(phrases.greeting)}</p>`, `<p>${escapeHtml(lead)}</p>`];
  if (warning !== undefined) htmlParts.push(`<p><strong>${escapeHtml(warning)}</strong></p>`);
  if (content.link !== undefined) {
    htmlParts.push(`<p><a href="${escapeHtml(content.link)}">${escapeHtml(phrases.download)}</a></p>`);
  }
  htmlParts.push(
    `<p>${escapeHtml(phrases.fileName(content.fileName))}</p>`,
    `<p>${escapeHtml(phrases.signOff)}</p>`,
    `<p style="color:#666;font-size:smaller">${escapeHtml(phrases.automatic)}</p>`,
  );
  const html = `<!DOCTYPE html><html lang="${content.language}"><head><meta charset="utf-8"></head><body>${htmlParts.join("")}</body></html>`;
  return { subject, text, html };
}
