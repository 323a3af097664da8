/**
 * The variables a mail template may use (templates/mail/): each top-level name, and for
 * objects the names below it (`true`: a plain value or a list). The compiler refuses any
 * other (lib/mail-templates/compile.ts); templates.ts provides exactly these, always, so a
 * template compiled in strict mode never meets a missing one. `phrases` are the keys of
 * the language's phrases.json.
 */
export const MAIL_TEMPLATE_VARIABLES = {
  /** The firm (deploy config `firm`). */
  firm: ["name", "addressLines", "cvr", "phone", "web"],
  /** The signature lines and footer in the mail's language. */
  signature: true,
  footer: true,
  /** `false` without a logo. */
  logo: ["cid", "alt"],
  company: true,
  cvr: true,
  customerId: true,
  customerName: true,
  /** The report type's name in the mail's language (phrases `report<Type>`). */
  reportName: true,
  fileName: true,
  /** Lasso's warning text; "" when none. */
  warning: true,
  isWarning: true,
  /** The PDF's link when it is too large to attach; "" when attached. */
  link: true,
  isTest: true,
  /** The recipients a redirected mail would have gone to; "" when not redirected. */
  redirectedFrom: true,
  /** Failure notices: why the report was not mailed; and its Lasso batch. */
  reason: true,
  batchId: true,
  /** Layouts only: the subject, the body as text, the body's paragraphs as HTML. */
  subject: true,
  body: true,
  paragraphs: true,
} as const satisfies Record<string, readonly string[] | true>;
