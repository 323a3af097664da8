/**
 * The customers table (docs/customers.md): one flat, hand-edited item per customer.
 *
 * Reading is tolerant of what hand edits produce (a number where a string is expected, a
 * list or a comma/semicolon-separated string where a set is expected, any letter case in
 * report type names and attribute names) and strict about meaning: a row that cannot be
 * used is refused with a precise reason, never guessed at.
 *
 * Shared by submit-batches (selection), deliver-report (routing) and the CLI. The row model
 * and its checks are here (pure); the table's reads are customer-reads.ts, its writes
 * customer-store.ts.
 */
import type { TranslateConfig } from "@aws-sdk/lib-dynamodb";
import {
  type Checked,
  clip,
  cvrField,
  emailsField,
  formatField,
  type Language,
  languageField,
  nameField,
  optionalEmailsField,
  parseCustomerId,
  parseEnabled,
  reportTypesField,
  scalarText,
} from "./customer-fields.ts";
import { REPORT_TYPES, type ReportType } from "./lasso/enums.ts";
import { canonicaliseKeys } from "./lasso/normalise.ts";

export { LANGUAGES, type Language } from "./customer-fields.ts";

export interface Customer {
  /** Lasso's `internalCustomerId`: a positive 32-bit integer (Lasso is .NET: int32). */
  customerId: number;
  /** 8 digits, first not 0, modulus-11 check passed. */
  cvr: string;
  /** Display name (control characters and line breaks removed). */
  name: string;
  /** Valid, de-duplicated recipient addresses, in the order given: every report type's, unless below. */
  emails: string[];
  /** Recipients of one report type instead of `emails` (attributes `emails_<Type>`, e.g. `emails_Finans`). */
  emailsByType: Partial<Record<ReportType, string[]>>;
  /** Copied on every report mail, in its Cc header (the responsible accountant); failure notices go here. */
  cc: string[];
  /** Copied on every report mail, not named in its headers; failure notices go here too. */
  bcc: string[];
  reportTypes: ReportType[];
  group: string;
  enabled: boolean;
  /** Per-customer Lasso file-name format (overrides the schedule's). */
  format?: string;
  language: Language;
}

export type CustomerParseResult =
  | { ok: true; customer: Customer; warnings: string[] }
  | { ok: false; customerId?: number; cvr?: string; reason: string };

export interface ParseCustomerOptions {
  /** Language of a customer without one (default "da"). */
  defaultLanguage?: Language;
  /**
   * Where the row comes from. `table` (default): an item as stored, judged as a run judges
   * it: a `group` that is not in its normalised form (surrounding spaces, another attribute
   * spelling) is a problem, because the `byGroup` index compares the stored value exactly.
   * `file`: a row our tools are about to write (import, `npm start -- --customers`): such
   * values are normalised instead, and the item written is {@link customerToItem}'s.
   */
  origin?: "table" | "file";
}

/** Attribute names as documented, and the spellings a hand edit may produce. */
const CUSTOMER_FIELDS = {
  customerId: ["customerId", "internalCustomerId"],
  cvr: ["cvr"],
  name: ["name"],
  emails: ["emails", "email"],
  reportTypes: ["reportTypes", "reportType"],
  group: ["group"],
  enabled: ["enabled"],
  format: ["format"],
  language: ["language"],
  cc: ["cc"],
  bcc: ["bcc"],
} as const;

/** The attribute holding one report type's own recipients: `emails_Revision`, `emails_Finans`, … */
export const emailsAttributeOf = (reportType: ReportType): string => `emails_${reportType}`;
const TYPE_EMAIL_FIELDS: Readonly<Record<ReportType, readonly string[]>> = {
  Revision: [emailsAttributeOf("Revision")],
  RevisionUdvidet: [emailsAttributeOf("RevisionUdvidet")],
  ReelleEjere: [emailsAttributeOf("ReelleEjere")],
  Finans: [emailsAttributeOf("Finans")],
};

/**
 * Translate config for a document client that reads the customers table: numbers beyond
 * JavaScript's safe range (a mistyped id, a phone number stored as N) come back as their
 * text instead of making the whole page unreadable; the parser then refuses that one row.
 */
export const CUSTOMERS_TRANSLATE_CONFIG: TranslateConfig = {
  unmarshallOptions: {
    wrapNumbers: (text: string) => {
      const value = Number(text);
      return Number.isSafeInteger(value) || (Number.isFinite(value) && !/^-?\d+$/.test(text)) ? value : text;
    },
  },
};

/**
 * Whether the item says, readably, that the customer is switched off. A disabled row is not
 * selected and not reported as broken, whatever else is wrong with it.
 */
export function isExplicitlyDisabled(raw: Record<string, unknown>): boolean {
  return parseEnabled(canonicaliseKeys(raw, { enabled: CUSTOMER_FIELDS.enabled }).enabled).enabled === false;
}

/** The attribute names of `raw` that hold its group (any letter case), in stored order. */
function groupKeys(raw: Record<string, unknown>): string[] {
  return Object.keys(raw).filter(
    (key) => key.toLowerCase() === "group" && raw[key] !== undefined && raw[key] !== null,
  );
}

/**
 * The group a stored item is meant for, normalised (trimmed), under any spelling of the
 * attribute; undefined when it has none. A run takes part in this group's decision for every
 * item whose meant group is its own, also when the stored form keeps the index from finding
 * it ({@link readCustomersOfGroup}).
 */
export function meantGroup(raw: Record<string, unknown>): string | undefined {
  for (const key of groupKeys(raw)) {
    const text = scalarText(raw[key]);
    if (text !== undefined && text !== "") return text;
  }
  return undefined;
}

/**
 * Problems of a stored group value that the `byGroup` index compares exactly: a schedule of
 * group "default" queries the index for "default" and would never see "default " or an
 * attribute named "Group". The run finds such rows anyway and skips them with this reason.
 */
function storedGroupProblems(raw: Record<string, unknown>): string[] {
  const value = raw.group;
  if (value === undefined || value === null) {
    const key = groupKeys(raw)[0] ?? "group";
    return [
      `group is stored as attribute "${clip(key)}": it must be named "group" (the byGroup index reads only that name)`,
    ];
  }
  if (typeof value === "string" && value !== value.trim()) {
    return [
      `group ${JSON.stringify(clip(value))} has surrounding spaces (a run of group ${JSON.stringify(clip(value.trim()))} compares it exactly)`,
    ];
  }
  return [];
}

/**
 * Validates one customer item as read from DynamoDB (document client output). Every
 * problem of the row is named in `reason` (joined by "; "), so one look tells an operator
 * what to fix. Problems that do not stop the customer from being served (an invalid
 * address next to valid ones, a missing name, an unknown format variable) are `warnings`.
 */
export function parseCustomerItem(
  raw: Record<string, unknown>,
  options: ParseCustomerOptions = {},
): CustomerParseResult {
  const fields = canonicaliseKeys(raw, CUSTOMER_FIELDS);
  const problems: string[] = [];
  const warnings: string[] = [];
  const check = <T>(field: Checked<T>): T => {
    problems.push(...field.problems);
    warnings.push(...(field.warnings ?? []));
    return field.value;
  };

  const { id: customerId, problem: idProblem } = parseCustomerId(fields.customerId);
  if (idProblem) problems.push(idProblem);
  const cvr = check(cvrField(fields.cvr));
  const name = check(nameField(fields.name, cvr));
  const emails = check(emailsField(fields.emails));
  const reportTypes = check(reportTypesField(fields.reportTypes));
  const groupText = fields.group === undefined ? undefined : scalarText(fields.group);
  if (fields.group === undefined) problems.push("group is missing");
  else if (groupText === undefined || groupText === "") problems.push("group must be a non-empty text");
  else if ((options.origin ?? "table") === "table") problems.push(...storedGroupProblems(raw));
  const { enabled, problem: enabledProblem } = parseEnabled(fields.enabled);
  if (enabledProblem) problems.push(enabledProblem);
  const format = check(formatField(fields.format));
  const language = check(languageField(fields.language, options.defaultLanguage ?? "da"));
  const typeFields = canonicaliseKeys(raw, TYPE_EMAIL_FIELDS);
  const emailsByType: Partial<Record<ReportType, string[]>> = {};
  for (const type of REPORT_TYPES) {
    const listed = check(optionalEmailsField(typeFields[type], emailsAttributeOf(type)));
    if (listed.length === 0) continue;
    emailsByType[type] = listed;
    if (!reportTypes.includes(type)) {
      warnings.push(`${emailsAttributeOf(type)} is set, but the customer does not want ${type} reports`);
    }
  }
  warnings.push(...strayEmailAttributes(raw));
  const cc = check(optionalEmailsField(fields.cc, "cc"));
  const bcc = check(optionalEmailsField(fields.bcc, "bcc"));

  if (problems.length > 0 || customerId === undefined || cvr === undefined || enabled === undefined) {
    const failure: CustomerParseResult = { ok: false, reason: problems.join("; ") };
    if (customerId !== undefined) failure.customerId = customerId;
    if (cvr !== undefined) failure.cvr = cvr;
    return failure;
  }
  const customer: Customer = {
    customerId,
    cvr,
    name,
    emails,
    emailsByType,
    cc,
    bcc,
    reportTypes,
    group: groupText ?? "",
    enabled,
    language,
  };
  if (format !== undefined) customer.format = format;
  return { ok: true, customer, warnings };
}

/** Attributes that look like per-type recipients but name no report type (`emails_Revisjon`). */
function strayEmailAttributes(raw: Record<string, unknown>): string[] {
  const known = new Set(["emails", "email", ...REPORT_TYPES.map((type) => `emails${type.toLowerCase()}`)]);
  return Object.keys(raw)
    .filter((key) => {
      const folded = key.replace(/[\s_-]/g, "").toLowerCase();
      return folded.startsWith("emails") && !known.has(folded);
    })
    .map(
      (key) =>
        `attribute ${JSON.stringify(clip(key))} names no report type (per-type recipients are ${REPORT_TYPES.map(emailsAttributeOf).join(", ")}); it is ignored`,
    );
}

/** Who gets a customer's report of one type: its own recipients or `emails`, with cc and bcc. */
export function recipientsFor(
  customer: Pick<Customer, "emails" | "emailsByType" | "cc" | "bcc">,
  reportType: ReportType,
): { to: string[]; cc: string[]; bcc: string[] } {
  const to = customer.emailsByType[reportType] ?? customer.emails;
  const seen = new Set(to.map((address) => address.toLowerCase()));
  const fresh = (addresses: readonly string[]) =>
    addresses.filter((address) => {
      const key = address.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const cc = fresh(customer.cc);
  return { to: [...to], cc, bcc: fresh(customer.bcc) };
}
