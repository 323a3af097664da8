/**
 * Validation of request bodies, strict like a .NET model binder with case-insensitive
 * property names: every problem is collected and reported in one 400 answer.
 */

import {
  LISTENABLE_REPORT_TYPES,
  type ReportType,
  reportTypeName,
  WEBHOOK_AUTH_METHODS,
} from "#shared/lasso/enums.ts";
import type { AuthConfig, RequestedItem } from "./types.ts";

export interface CreateBatchInput {
  batchName: string;
  type: ReportType;
  format: string;
  items: RequestedItem[];
  scheduledTime: Date | null;
  notificationEmail: string | null;
  notificationWebhookUrl: string | null;
  authConfig: AuthConfig | null;
  errorAppend: string | null;
  isListener: boolean;
  triggerNow: boolean;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const INT32_MAX = 2_147_483_647;
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const RESERVED_HEADERS = new Set([
  "host",
  "content-type",
  "content-length",
  "connection",
  "transfer-encoding",
]);

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A property by name, any letter case (like System.Text.Json with PropertyNameCaseInsensitive). */
export function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(obj)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

const isAbsent = (value: unknown): boolean => value === undefined || value === null;

function optionalString(obj: Record<string, unknown>, name: string, errors: string[]): string | null {
  const value = field(obj, name);
  if (isAbsent(value)) return null;
  if (typeof value !== "string") {
    errors.push(`${name} must be a string`);
    return null;
  }
  return value;
}

function requiredString(obj: Record<string, unknown>, name: string, errors: string[]): string {
  const value = field(obj, name);
  if (isAbsent(value)) {
    errors.push(`${name} is required`);
    return "";
  }
  if (typeof value !== "string" || value.trim() === "") {
    errors.push(`${name} must be a non-empty string`);
    return "";
  }
  return value;
}

function optionalBoolean(obj: Record<string, unknown>, name: string, errors: string[]): boolean {
  const value = field(obj, name);
  if (isAbsent(value)) return false;
  if (typeof value !== "boolean") {
    errors.push(`${name} must be true or false`);
    return false;
  }
  return value;
}

/** A cvr given as a JSON integer or a string of digits; must be 8 digits, the first not 0. */
export function parseCvrValue(value: unknown): string | undefined {
  let text: string | undefined;
  if (typeof value === "number" && Number.isInteger(value)) text = String(value);
  else if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) text = value.trim();
  return text !== undefined && /^[1-9]\d{7}$/.test(text) ? text : undefined;
}

/** An int32 given as a JSON integer or a string of an integer. */
export function parseInt32(value: unknown): number | undefined {
  let n: number | undefined;
  if (typeof value === "number" && Number.isInteger(value)) n = value;
  else if (typeof value === "string" && /^\s*-?\d+\s*$/.test(value)) n = Number(value);
  return n !== undefined && n >= -INT32_MAX - 1 && n <= INT32_MAX ? n : undefined;
}

/**
 * UTC date-time "YYYY-MM-DD HH:mm:ss" (the contract's form); ISO 8601 with "T", optional
 * fraction and an optional "Z" or offset is accepted too. Calendar-checked.
 */
export function parseScheduledTime(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? "0").padEnd(3, "0").slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const zone = m[8];
  if (zone === undefined || zone === "Z") return check;
  const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (zm === null) return undefined;
  const offsetMinutes = (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3]));
  return new Date(utc - offsetMinutes * 60_000);
}

/** An absolute http(s) URL without credentials. */
export function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username !== "" || url.password !== "" || url.hostname === "") return undefined;
  return url;
}

/** An auth configuration `{ Method, Key, Value }` (any property casing). */
export function parseAuthConfig(value: unknown, path: string, errors: string[]): AuthConfig | null {
  if (isAbsent(value)) return null;
  if (!isRecord(value)) {
    errors.push(`${path} must be an object with Method, Key and Value`);
    return null;
  }
  const before = errors.length;
  const methodValue = field(value, "method");
  const method =
    typeof methodValue === "string"
      ? WEBHOOK_AUTH_METHODS.find((m) => m.toLowerCase() === methodValue.trim().toLowerCase())
      : undefined;
  if (method === undefined) errors.push(`${path}.Method must be one of ${WEBHOOK_AUTH_METHODS.join(", ")}`);
  const key = field(value, "key");
  const secret = field(value, "value");
  if (typeof key !== "string" || key.trim() === "") errors.push(`${path}.Key must be a non-empty string`);
  if (typeof secret !== "string" || secret === "") errors.push(`${path}.Value must be a non-empty string`);
  if (typeof key === "string" && method === "Header") {
    if (!HEADER_TOKEN.test(key)) errors.push(`${path}.Key must be a valid HTTP header name`);
    else if (RESERVED_HEADERS.has(key.toLowerCase())) errors.push(`${path}.Key cannot be the ${key} header`);
  }
  if (typeof key === "string" && method === "BasicAuth" && key.includes(":")) {
    errors.push(`${path}.Key (the user name) cannot contain ":"`);
  }
  if (typeof secret === "string" && /[\r\n\0]/.test(secret)) {
    errors.push(`${path}.Value cannot contain line breaks`);
  }
  if (
    errors.length > before ||
    method === undefined ||
    typeof key !== "string" ||
    typeof secret !== "string"
  ) {
    return null;
  }
  return { method, key, value: secret };
}

function parseItems(value: unknown, errors: string[]): RequestedItem[] {
  if (isAbsent(value)) {
    errors.push("items is required");
    return [];
  }
  if (!Array.isArray(value)) {
    errors.push("items must be an array");
    return [];
  }
  if (value.length === 0) {
    errors.push("items must contain at least one item");
    return [];
  }
  const items: RequestedItem[] = [];
  value.forEach((raw: unknown, index) => {
    const path = `items[${index}]`;
    if (!isRecord(raw)) {
      errors.push(`${path} must be an object`);
      return;
    }
    const cvrValue = field(raw, "cvr");
    const cvr = parseCvrValue(cvrValue);
    if (isAbsent(cvrValue)) errors.push(`${path}.cvr is required`);
    else if (cvr === undefined) errors.push(`${path}.cvr must be an 8-digit CVR number (first digit not 0)`);
    const formatValue = field(raw, "format");
    if (!isAbsent(formatValue) && typeof formatValue !== "string")
      errors.push(`${path}.format must be a string`);
    const idValue = field(raw, "internalCustomerId");
    const internalCustomerId = isAbsent(idValue) ? null : parseInt32(idValue);
    if (internalCustomerId === undefined) errors.push(`${path}.internalCustomerId must be an integer`);
    if (cvr !== undefined) {
      items.push({
        cvr,
        format: typeof formatValue === "string" && formatValue.trim() !== "" ? formatValue : null,
        internalCustomerId: internalCustomerId ?? null,
      });
    }
  });
  return items;
}

export function validateCreateBatch(body: unknown): Validated<CreateBatchInput> {
  if (!isRecord(body)) return { ok: false, errors: ["The request body must be a JSON object"] };
  const errors: string[] = [];
  const batchName = requiredString(body, "batchName", errors);
  const typeValue = field(body, "type");
  const type = reportTypeName(typeValue);
  if (isAbsent(typeValue)) errors.push("type is required");
  else if (type === undefined) {
    errors.push("type must be one of Revision (0), Finans (1), ReelleEjere (2), RevisionUdvidet (3)");
  }
  const format = requiredString(body, "format", errors);
  const items = parseItems(field(body, "items"), errors);

  let scheduledTime: Date | null = null;
  const scheduledText = optionalString(body, "scheduledTime", errors);
  if (scheduledText !== null && scheduledText.trim() !== "") {
    scheduledTime = parseScheduledTime(scheduledText) ?? null;
    if (scheduledTime === null) errors.push('scheduledTime must be a UTC date-time "YYYY-MM-DD HH:mm:ss"');
  }

  const notificationEmail = optionalString(body, "notificationEmail", errors);
  if (
    notificationEmail !== null &&
    notificationEmail !== "" &&
    !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(notificationEmail)
  ) {
    errors.push("notificationEmail must be an e-mail address");
  }
  const notificationWebhookUrl = optionalString(body, "notificationWebhookUrl", errors);
  if (
    notificationWebhookUrl !== null &&
    notificationWebhookUrl !== "" &&
    !parseHttpUrl(notificationWebhookUrl)
  ) {
    errors.push("notificationWebhookUrl must be an absolute http or https URL");
  }
  const authConfig = parseAuthConfig(field(body, "authConfig"), "authConfig", errors);
  const errorAppend = optionalString(body, "errorAppend", errors);
  const isListener = optionalBoolean(body, "isListener", errors);
  const triggerNow = optionalBoolean(body, "triggerNow", errors);
  if (isListener && type !== undefined && !LISTENABLE_REPORT_TYPES.has(type)) {
    errors.push(`IsListener is only allowed for listenable report types (ReelleEjere), not ${type}`);
  }

  if (errors.length > 0 || type === undefined) return { ok: false, errors };
  return {
    ok: true,
    value: {
      batchName,
      type,
      format,
      items,
      scheduledTime,
      notificationEmail: notificationEmail === "" ? null : notificationEmail,
      notificationWebhookUrl: notificationWebhookUrl === "" ? null : notificationWebhookUrl,
      authConfig,
      errorAppend: errorAppend === "" ? null : errorAppend,
      isListener,
      triggerNow: isListener && triggerNow,
    },
  };
}
