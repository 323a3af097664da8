/**
 * Subject, text and HTML of the mails, from the templates people edit (templates/mail/,
 * docs/delivery.md#templates), precompiled at build time into templates.generated.js: here
 * only Handlebars' runtime renders them. Text parts and subjects are not HTML-escaped (the
 * composer makes the subject header-safe); the HTML layout escapes every variable, and the
 * body, plain text, is escaped as a whole before its paragraphs go into the layout.
 *
 * Every template variable (template-variables.ts) is always given, so the templates,
 * compiled in strict mode, never meet a missing one.
 */
import Handlebars from "handlebars/runtime";
import type { Language } from "../customers.ts";
import type { ReportType } from "../lasso/enums.ts";
import type { MailLogo, MailProfile } from "./profile.ts";
import type { MAIL_TEMPLATE_VARIABLES } from "./template-variables.ts";
import { PHRASES, TEMPLATES } from "./templates.generated.js";

export interface ReportMailContent extends AboutReport {
  /** Failed reports are never mailed to customers. */
  itemStatus: "Completed" | "Warning";
  /** The attachment's name (Lasso's file name). */
  fileName: string;
  /** Lasso's warning text, for Warning reports. */
  warning?: string;
  /** Set when the PDF is too large to attach: where to download it instead. */
  link?: string;
}

/** How a mail is marked: a test send; redirected from its real recipients. */
export interface MailMarks {
  isTest?: boolean;
  /** The recipients the mail would have gone to (mail.redirectAllTo is set). */
  redirectedFrom?: readonly string[];
}

export interface FailureNoticeContent extends AboutReport {
  batchId: string;
  reason: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

type Context = Record<keyof typeof MAIL_TEMPLATE_VARIABLES, unknown>;
type Render = (context: Context) => string;

const compiled = new Map<string, Render>();

function template(key: string): Render {
  let render = compiled.get(key);
  if (render === undefined) {
    const spec = TEMPLATES[key];
    if (spec === undefined) throw new Error(`no mail template ${key} (run npm run build:mail)`);
    const delegate = Handlebars.template(spec);
    render = (context) => delegate(context);
    compiled.set(key, render);
  }
  return render;
}

/** The phrases of a language (templates/mail/<language>/phrases.json). */
export function phrases(language: Language): Readonly<Record<string, string>> {
  return PHRASES[language];
}

/** The report type's name in the language (also used by operators' tools). */
export function reportTypeLabel(reportType: ReportType, language: Language): string {
  return PHRASES[language][`report${reportType}`] ?? reportType;
}

/** Text as a mail carries it: no trailing spaces, at most one empty line in a row, one final line end. */
function tidyText(text: string): string {
  return `${text
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim()}\n`;
}

/** The escaped body's paragraphs (blank-line separated), single line breaks as <br>. */
function paragraphs(escapedBody: string): string[] {
  return escapedBody
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== "")
    .map((paragraph) => paragraph.replace(/\n/g, "<br />"));
}

/** What both kinds of mail say about the report: its company, customer and type. */
interface AboutReport {
  language: Language;
  reportType: ReportType;
  companyName: string;
  cvr: string;
  customerId: number;
  customerName: string;
}

function baseContext(profile: MailProfile, about: AboutReport, logo: MailLogo | undefined, marks: MailMarks) {
  const language = about.language;
  return {
    firm: {
      name: profile.firm.name,
      addressLines: profile.firm.addressLines,
      cvr: profile.firm.cvr,
      phone: profile.firm.phone ?? "",
      web: profile.firm.web ?? "",
    },
    signature: profile.texts[language].signature,
    footer: profile.texts[language].footer,
    logo: logo === undefined ? false : { cid: logo.cid, alt: logo.alt },
    phrases: PHRASES[language],
    isTest: marks.isTest === true,
    redirectedFrom: marks.redirectedFrom === undefined ? "" : marks.redirectedFrom.join(", "),
    fileName: "",
    warning: "",
    isWarning: false,
    link: "",
    reason: "",
    batchId: "",
    company: about.companyName,
    cvr: about.cvr,
    customerId: about.customerId,
    customerName: about.customerName,
    reportName: reportTypeLabel(about.reportType, language),
  };
}

function render(
  name: string,
  language: Language,
  context: Omit<Context, "subject" | "body" | "paragraphs">,
): RenderedMail {
  const subject = template(`${language}.${name}.subject`)({
    ...context,
    subject: "",
    body: "",
    paragraphs: [],
  });
  const full = { ...context, subject: subject.trim() };
  const body = tidyText(template(`${language}.${name}.body`)({ ...full, body: "", paragraphs: [] }));
  // The body is plain text: for HTML it is escaped as a whole, then split into paragraphs.
  const escaped = Handlebars.escapeExpression(body);
  return {
    subject: subject.trim(),
    text: tidyText(template("layout.text")({ ...full, body, paragraphs: [] })),
    html: template("layout.html")({ ...full, body: "", paragraphs: paragraphs(escaped) }),
  };
}

export function renderReportMail(
  content: ReportMailContent,
  profile: MailProfile,
  options: { logo?: MailLogo | undefined; marks?: MailMarks } = {},
): RenderedMail {
  return render(content.reportType, content.language, {
    ...baseContext(profile, content, options.logo, options.marks ?? {}),
    fileName: content.fileName,
    isWarning: content.itemStatus === "Warning",
    warning: content.itemStatus === "Warning" ? (content.warning ?? "") : "",
    link: content.link ?? "",
  });
}

export function renderFailureNotice(
  content: FailureNoticeContent,
  profile: MailProfile,
  options: { logo?: MailLogo | undefined; marks?: MailMarks } = {},
): RenderedMail {
  return render("failure-notice", content.language, {
    ...baseContext(profile, content, options.logo, options.marks ?? {}),
    batchId: content.batchId,
    reason: content.reason,
  });
}
