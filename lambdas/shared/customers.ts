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
import * as z from "zod";
import { checkCvr, normaliseCvr } from "./cvr.ts";
import { REPORT_TYPES, type ReportType, reportTypeName } from "./lasso/enums.ts";
import { canonicaliseKeys, isRecord } from "./lasso/normalise.ts";

export const LANGUAGES = ["da", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

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

/** Largest `internalCustomerId` Lasso accepts (int32). */
export const MAX_CUSTOMER_ID = 2_147_483_647;
const MAX_NAME_LENGTH = 200;
const MAX_FORMAT_LENGTH = 200;
const MAX_EMAILS = 50;
/** RFC 5321 4.5.3.1.1: the local part of an address is at most 64 octets. */
export const MAX_EMAIL_LOCAL_PART = 64;
const FORMAT_VARIABLES = new Set(["name", "balanceday", "cvr", "type", "rundate"]);

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

const emailSchema = z.email();

/** Text of a scalar a hand edit may have stored as S or N (or a wrapped number). */
function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  // A NumberValue from a client with `wrapNumbers`: its text.
  if (isRecord(value) && typeof value.value === "string") return value.value.trim();
  return undefined;
}

/** A set (SS/NS), list (L) or comma/semicolon-separated string, as trimmed non-empty texts. */
function listOf(value: unknown): string[] | undefined {
  let parts: unknown[];
  if (value instanceof Set) parts = [...value];
  else if (Array.isArray(value)) parts = value;
  else if (typeof value === "string") parts = value.split(/[,;\n]/);
  else if (scalarText(value) !== undefined) parts = [value];
  else return undefined;
  const out: string[] = [];
  for (const part of parts) {
    // A list element may itself be a separated string ("a@x.dk; b@x.dk" in an L).
    const text = scalarText(part);
    if (text === undefined) return undefined;
    for (const piece of text.split(/[,;\n]/)) {
      const trimmed = piece.trim();
      if (trimmed !== "") out.push(trimmed);
    }
  }
  return out;
}

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const describe = (value: unknown): string =>
  value instanceof Set ? "a set" : Array.isArray(value) ? "a list" : isRecord(value) ? "a map" : typeof value;

function parseCustomerId(value: unknown): { id?: number; problem?: string } {
  if (value === undefined) return { problem: "customerId is missing" };
  const text = scalarText(value);
  if (text === undefined) return { problem: `customerId must be a number, got ${describe(value)}` };
  if (!/^\d+$/.test(text)) return { problem: `customerId "${clip(text)}" is not a whole number` };
  const id = Number(text);
  if (id < 1 || id > MAX_CUSTOMER_ID) {
    return { problem: `customerId ${clip(text)} must be between 1 and ${MAX_CUSTOMER_ID} (Lasso's int32)` };
  }
  return { id };
}

function parseEnabled(value: unknown): { enabled?: boolean; problem?: string } {
  if (value === undefined || value === null) return { enabled: true };
  if (typeof value === "boolean") return { enabled: value };
  const text = scalarText(value)?.toLowerCase();
  if (text === "true" || text === "1" || text === "yes" || text === "ja") return { enabled: true };
  if (text === "false" || text === "0" || text === "no" || text === "nej") return { enabled: false };
  return {
    problem: `enabled must be ja/nej, yes/no, true/false or 1/0, got ${text === undefined ? describe(value) : `"${clip(text)}"`}`,
  };
}

/**
 * Whether the item says, readably, that the customer is switched off. A disabled row is not
 * selected and not reported as broken, whatever else is wrong with it.
 */
export function isExplicitlyDisabled(raw: Record<string, unknown>): boolean {
  return parseEnabled(canonicaliseKeys(raw, { enabled: CUSTOMER_FIELDS.enabled }).enabled).enabled === false;
}

function formatWarnings(format: string): string[] {
  const unknown = [...format.matchAll(/\{([^{}]*)\}/g)]
    .map((match) => match[1] ?? "")
    .filter((name) => !FORMAT_VARIABLES.has(name.trim().toLowerCase()));
  return unknown.length === 0
    ? []
    : [
        `format has unknown variable(s) ${unknown.map((name) => `{${name}}`).join(", ")}; Lasso knows {name}, {balanceday}, {cvr}, {type}, {rundate}`,
      ];
}

/** Why `address` cannot be a recipient ("" when it is simply not an address), or undefined. */
function emailProblem(address: string): string | undefined {
  if (!emailSchema.safeParse(address).success) return "";
  const at = address.lastIndexOf("@");
  if (at > MAX_EMAIL_LOCAL_PART) return `local part over ${MAX_EMAIL_LOCAL_PART} characters`;
  return undefined;
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

/** Removes control characters and line breaks (names reach e-mail headers) and collapses spaces. */
function cleanText(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
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

/** One field of a row: its value (when usable), what stops the row, what only warns. */
interface Checked<T> {
  value: T;
  problems: string[];
  warnings?: string[];
}

function cvrField(value: unknown): Checked<string | undefined> {
  if (value === undefined) return { value: undefined, problems: ["cvr is missing"] };
  const text = scalarText(value);
  if (text === undefined)
    return { value: undefined, problems: [`cvr must be text of 8 digits, got ${describe(value)}`] };
  const check = checkCvr(text);
  if (check.ok) return { value: check.cvr, problems: [] };
  // A CVR that fails the check digit is no company: most likely a typo. Submitting it
  // would only produce a Failed report ("company not found") after a day's wait.
  if (check.reason === "checksum") {
    return { value: undefined, problems: [`cvr ${check.cvr} fails the modulus-11 check digit (a typo?)`] };
  }
  return {
    value: undefined,
    problems: [`cvr "${clip(normaliseCvr(text))}" must be 8 digits, the first not 0`],
  };
}

function nameField(value: unknown, cvr: string | undefined): Checked<string> {
  const rawName = value === undefined ? undefined : scalarText(value);
  const name = rawName === undefined ? "" : cleanText(rawName).slice(0, MAX_NAME_LENGTH);
  if (name !== "") return { value: name, problems: [] };
  return {
    value: cvr === undefined ? "" : `CVR ${cvr}`,
    problems: [],
    warnings: ["name is missing; the CVR is used instead"],
  };
}

function emailsField(value: unknown): Checked<string[]> {
  if (value === undefined) return { value: [], problems: ["emails is missing (no recipient)"] };
  const list = listOf(value);
  if (list === undefined)
    return { value: [], problems: [`emails must be a set of addresses, got ${describe(value)}`] };
  const emails: string[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  for (const address of list) {
    const candidate = address.replace(/^mailto:/i, "");
    const problem = emailProblem(candidate);
    if (problem !== undefined)
      invalid.push(problem === "" ? `"${clip(address, 80)}"` : `"${clip(address, 80)}" (${problem})`);
    else if (!seen.has(candidate.toLowerCase())) {
      seen.add(candidate.toLowerCase());
      emails.push(candidate);
    }
  }
  const shown = invalid.join(", ");
  const problems: string[] = [];
  const warnings: string[] = [];
  if (emails.length === 0) {
    problems.push(
      invalid.length === 0 ? "emails is empty (no recipient)" : `no valid e-mail address (${shown})`,
    );
  } else if (invalid.length > 0) warnings.push(`invalid e-mail address(es) ignored: ${shown}`);
  if (emails.length > MAX_EMAILS) problems.push(`more than ${MAX_EMAILS} e-mail addresses`);
  return { value: emails, problems, warnings };
}

/**
 * An optional list of addresses (`cc`, `bcc`, `emails_<Type>`): absent or empty is none;
 * given with no valid address is a problem (the person meant someone).
 */
function optionalEmailsField(value: unknown, attribute: string): Checked<string[]> {
  if (value === undefined) return { value: [], problems: [] };
  if (typeof value === "string" && value.trim() === "") return { value: [], problems: [] };
  const checked = emailsField(value);
  return {
    value: checked.value,
    problems: checked.problems.map((problem) => `${attribute}: ${problem.replace(/^emails /, "")}`),
    warnings: (checked.warnings ?? []).map((warning) => `${attribute}: ${warning}`),
  };
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

function reportTypesField(value: unknown): Checked<ReportType[]> {
  if (value === undefined) return { value: [], problems: ["reportTypes is missing"] };
  const list = listOf(value);
  if (list === undefined) {
    return { value: [], problems: [`reportTypes must be a set of report types, got ${describe(value)}`] };
  }
  const reportTypes: ReportType[] = [];
  const unknown: string[] = [];
  for (const text of list) {
    // Names only (any case); a bare number is not a report type a person would type.
    const type = /^\d+$/.test(text) ? undefined : reportTypeName(text);
    if (type === undefined) unknown.push(text);
    else if (!reportTypes.includes(type)) reportTypes.push(type);
  }
  if (unknown.length > 0) {
    const named = unknown.map((text) => `"${clip(text)}"`).join(", ");
    return {
      value: reportTypes,
      problems: [`unknown report type(s) ${named} (known: ${REPORT_TYPES.join(", ")})`],
    };
  }
  return { value: reportTypes, problems: reportTypes.length === 0 ? ["reportTypes is empty"] : [] };
}

function formatField(value: unknown): Checked<string | undefined> {
  if (value === undefined) return { value: undefined, problems: [] };
  const text = typeof value === "string" ? value.trim() : undefined;
  if (text === undefined)
    return { value: undefined, problems: [`format must be text, got ${describe(value)}`] };
  if (text.length > MAX_FORMAT_LENGTH) {
    return { value: undefined, problems: [`format is longer than ${MAX_FORMAT_LENGTH} characters`] };
  }
  if (text === "") return { value: undefined, problems: [] };
  return { value: text, problems: [], warnings: formatWarnings(text) };
}

function languageField(value: unknown, fallback: Language): Checked<Language> {
  if (value === undefined) return { value: fallback, problems: [] };
  const text = scalarText(value)?.toLowerCase();
  const found = text === undefined ? undefined : LANGUAGE_ALIASES[text];
  if (found !== undefined) return { value: found, problems: [] };
  if (text === "") return { value: fallback, problems: [] };
  const got = text === undefined ? describe(value) : `"${clip(text)}"`;
  return { value: fallback, problems: [`language must be "da" or "en", got ${got}`] };
}

const LANGUAGE_ALIASES: Readonly<Record<string, Language>> = {
  da: "da",
  dk: "da",
  dansk: "da",
  danish: "da",
  "da-dk": "da",
  en: "en",
  engelsk: "en",
  english: "en",
  "en-gb": "en",
  "en-us": "en",
};
