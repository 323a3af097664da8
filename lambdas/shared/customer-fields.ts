/**
 * The field readers and checkers of a customer row (customers.ts assembles them): each
 * reads one attribute as hand edits store it and says what stops the row or only warns.
 */
import * as z from "zod/mini";
import { checkCvr, normaliseCvr } from "./cvr.ts";
import { REPORT_TYPES, type ReportType, reportTypeName } from "./lasso/enums.ts";
import { isRecord } from "./lasso/normalise.ts";

export const LANGUAGES = ["da", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Largest `internalCustomerId` Lasso accepts (int32). */
export const MAX_CUSTOMER_ID = 2_147_483_647;
const MAX_NAME_LENGTH = 200;
const MAX_FORMAT_LENGTH = 200;
const MAX_EMAILS = 50;
/** RFC 5321 4.5.3.1.1: the local part of an address is at most 64 octets. */
export const MAX_EMAIL_LOCAL_PART = 64;
const FORMAT_VARIABLES = new Set(["name", "balanceday", "cvr", "type", "rundate"]);

const emailSchema = z.email();

/** Text of a scalar a hand edit may have stored as S or N (or a wrapped number). */
export function scalarText(value: unknown): string | undefined {
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

export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const describe = (value: unknown): string =>
  value instanceof Set ? "a set" : Array.isArray(value) ? "a list" : isRecord(value) ? "a map" : typeof value;

export function parseCustomerId(value: unknown): { id?: number; problem?: string } {
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

export function parseEnabled(value: unknown): { enabled?: boolean; problem?: string } {
  if (value === undefined || value === null) return { enabled: true };
  if (typeof value === "boolean") return { enabled: value };
  const text = scalarText(value)?.toLowerCase();
  if (text === "true" || text === "1" || text === "yes" || text === "ja") return { enabled: true };
  if (text === "false" || text === "0" || text === "no" || text === "nej") return { enabled: false };
  return {
    problem: `enabled must be ja/nej, yes/no, true/false or 1/0, got ${text === undefined ? describe(value) : `"${clip(text)}"`}`,
  };
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

/** Removes control characters and line breaks (names reach e-mail headers) and collapses spaces. */
function cleanText(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** One field of a row: its value (when usable), what stops the row, what only warns. */
export interface Checked<T> {
  value: T;
  problems: string[];
  warnings?: string[];
}

export function cvrField(value: unknown): Checked<string | undefined> {
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

export function nameField(value: unknown, cvr: string | undefined): Checked<string> {
  const rawName = value === undefined ? undefined : scalarText(value);
  const name = rawName === undefined ? "" : cleanText(rawName).slice(0, MAX_NAME_LENGTH);
  if (name !== "") return { value: name, problems: [] };
  return {
    value: cvr === undefined ? "" : `CVR ${cvr}`,
    problems: [],
    warnings: ["name is missing; the CVR is used instead"],
  };
}

export function emailsField(value: unknown): Checked<string[]> {
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
export function optionalEmailsField(value: unknown, attribute: string): Checked<string[]> {
  if (value === undefined) return { value: [], problems: [] };
  if (typeof value === "string" && value.trim() === "") return { value: [], problems: [] };
  const checked = emailsField(value);
  return {
    value: checked.value,
    problems: checked.problems.map((problem) => `${attribute}: ${problem.replace(/^emails /, "")}`),
    warnings: (checked.warnings ?? []).map((warning) => `${attribute}: ${warning}`),
  };
}

export function reportTypesField(value: unknown): Checked<ReportType[]> {
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

export function formatField(value: unknown): Checked<string | undefined> {
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

export function languageField(value: unknown, fallback: Language): Checked<Language> {
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
