/**
 * Lasso's webhook payload, read tolerantly (docs/lasso-api.md#webhook-payload: its field names are not documented).
 *
 * - Field names in any casing and with `_`/`-` (`pdfUrl`, `pdfurl`, `PdfUrl`, `pdf_url`), and
 *   the aliases below; enums as names or numbers; numbers as strings.
 * - A body wrapped one level deep (`{ "data": { ... } }`) or a short list of reports.
 * - Fields we do not know are kept in the message's `extra` (bounded), never dropped silently.
 * - Refused when it cannot name a report: no batch id or one that is not a GUID (ids are
 *   kept in one canonical form, ids.ts), no company (cvr or lassoId `CVR-1-<cvr>`), no or an
 *   unknown item status, an unknown report type.
 * - What it names is a hint, never a fact (docs/guarantees.md, "Trust"): the delivery
 *   confirms the report with our records and Lasso's API before anyone gets a mail.
 */
import { checkCvr } from "./cvr.ts";
import { type ItemStatus, itemStatusName, type ReportType, reportTypeName } from "./lasso/enums.ts";
import { canonicalBatchId } from "./lasso/ids.ts";
import { foldKey, isRecord, type JsonRecord } from "./lasso/normalise.ts";
import type { ReportReadyMessage } from "./report-ready.ts";

/** Canonical field → names Lasso may use, best first (each matched after {@link foldKey}). */
const WEBHOOK_FIELDS = {
  batchId: ["batchId", "batchGuid", "reportBatchId"],
  cvr: ["cvr", "cvrNumber", "cvrNr", "companyCvr"],
  lassoId: ["lassoId", "companyLassoId"],
  companyName: ["companyName", "name", "company"],
  reportType: ["reportType", "printType", "type", "reportTypeName"],
  status: ["status", "itemStatus", "reportStatus", "state"],
  pdfUrl: ["pdfUrl", "pdfLink", "downloadUrl", "fileUrl", "url"],
  fileName: ["fileName", "pdfName", "reportName"],
  internalCustomerId: ["internalCustomerId", "customerId"],
  reportId: ["reportId", "itemId", "id"],
  finishedAt: ["timestamp", "finishedAt", "completedAt", "finished"],
  errorMessage: ["errorMessage", "error", "message"],
} as const;

type WebhookField = keyof typeof WEBHOOK_FIELDS;

/** Report-type fields whose value must be a known type (the looser aliases may mean other things). */
const STRICT_TYPE_FIELDS: ReadonlySet<string> = new Set(["reportType", "printType"].map(foldKey));

/** Keys under which a report may be wrapped. */
const WRAPPER_KEYS = ["data", "item", "report", "payload", "body"].map(foldKey);

/** Most reports one delivery may carry (the provider sends one per call). */
export const MAX_REPORTS_PER_WEBHOOK = 10;
/** Largest `extra` kept per report, as JSON. */
export const MAX_EXTRA_JSON_CHARS = 4096;

const LIMITS = { companyName: 500, fileName: 500, errorMessage: 2000, finishedAt: 100, lassoId: 200 };
const MAX_ID_LENGTH = 200;
const MAX_PDF_URL_LENGTH = 4000;
const LASSO_ID_CVR = /^cvr-\d+-(\d{8})$/i;

export type WebhookParseResult =
  | { ok: true; messages: ReportReadyMessage[]; notes: string[] }
  | { ok: false; reason: string };

/**
 * The value of the first non-null alias of `field` (folded keys); `key` names a field that
 * was present even when only as null, so it does not count as unknown.
 */
function fieldOf(folded: Map<string, unknown>, field: WebhookField): { key?: string; value: unknown } {
  let nullKey: string | undefined;
  for (const name of WEBHOOK_FIELDS[field]) {
    const key = foldKey(name);
    if (!folded.has(key)) continue;
    const value = folded.get(key);
    if (value !== undefined && value !== null) return { key, value };
    nullKey ??= key;
  }
  return nullKey === undefined ? { value: undefined } : { key: nullKey, value: undefined };
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Removes control characters (values may reach logs and e-mail text). */
function clean(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  return cleaned.length > max ? cleaned.slice(0, max) : cleaned;
}

function fold(obj: JsonRecord): Map<string, unknown> {
  const folded = new Map<string, unknown>();
  for (const [key, value] of Object.entries(obj)) {
    const k = foldKey(key);
    if (!folded.has(k)) folded.set(k, value);
  }
  return folded;
}

/** The report object: the body itself, or the one object it wraps. */
function unwrap(obj: JsonRecord): JsonRecord {
  const folded = fold(obj);
  if (fieldOf(folded, "batchId").value !== undefined) return obj;
  for (const key of WRAPPER_KEYS) {
    const inner = folded.get(key);
    if (isRecord(inner)) return inner;
  }
  return obj;
}

type Take = (field: WebhookField) => unknown;
type Failure = { ok: false; reason: string };

function parseOne(
  raw: unknown,
  now: Date,
): { ok: true; message: ReportReadyMessage; notes: string[] } | Failure {
  if (!isRecord(raw)) return { ok: false, reason: "the report is not a JSON object" };
  const obj = unwrap(raw);
  const folded = fold(obj);
  const used = new Set<string>();
  const take: Take = (field) => {
    const { key, value } = fieldOf(folded, field);
    if (key !== undefined) used.add(key);
    return value;
  };
  const named = namedReport(take);
  if (!named.ok) return named;
  const type = reportTypeOf(folded, used);
  if (type !== undefined && typeof type !== "string") return type;
  const message: ReportReadyMessage = {
    version: 1,
    batchId: named.batchId,
    cvr: named.cvr,
    itemStatus: named.itemStatus,
    ...(type === undefined ? {} : { reportType: type }),
    source: "webhook",
    seenAt: now.toISOString(),
  };
  const notes = addDetails(message, take, named.lassoIdText);
  const extra = Object.fromEntries(Object.entries(obj).filter(([key]) => !used.has(foldKey(key))));
  if (Object.keys(extra).length > 0) {
    if (JSON.stringify(extra).length <= MAX_EXTRA_JSON_CHARS) message.extra = extra;
    else notes.push(`unknown fields larger than ${MAX_EXTRA_JSON_CHARS} characters: not kept`);
  }
  return { ok: true, message, notes };
}

/** What names the report: a GUID batch id, a company, a known status. */
function namedReport(
  take: Take,
): { ok: true; batchId: string; cvr: string; itemStatus: ItemStatus; lassoIdText?: string } | Failure {
  const batchIdText = text(take("batchId"));
  if (batchIdText === undefined) return { ok: false, reason: "no batch id" };
  // One spelling per batch: an id that is no GUID can name no batch of ours, nor of Lasso's.
  const batchId = canonicalBatchId(batchIdText);
  if (batchId === undefined) return { ok: false, reason: "the batch id is not a GUID" };

  const lassoIdText = text(take("lassoId"));
  let cvr: string | undefined;
  const cvrValue = take("cvr");
  if (cvrValue !== undefined) {
    const check = checkCvr(cvrValue);
    // A failed check digit is still a company number Lasso ran (and failed): keep it.
    if (check.ok || check.reason === "checksum") cvr = check.cvr;
  }
  if (cvr === undefined && lassoIdText !== undefined) cvr = LASSO_ID_CVR.exec(lassoIdText)?.[1];
  if (cvr === undefined) return { ok: false, reason: "no company (cvr or lassoId)" };

  const statusValue = take("status");
  const itemStatus = itemStatusName(statusValue);
  if (itemStatus === undefined) {
    return { ok: false, reason: statusValue === undefined ? "no report status" : "unknown report status" };
  }
  return { ok: true, batchId, cvr, itemStatus, ...(lassoIdText === undefined ? {} : { lassoIdText }) };
}

/**
 * The report type, which may be given twice (name and number): each must be a known type,
 * and they must agree; a type we do not know names no report we could deliver.
 */
function reportTypeOf(folded: Map<string, unknown>, used: Set<string>): ReportType | Failure | undefined {
  let found: ReportType | undefined;
  for (const name of WEBHOOK_FIELDS.reportType) {
    const key = foldKey(name);
    const value = folded.get(key);
    if (value === undefined || value === null) continue;
    used.add(key);
    const type = reportTypeName(value);
    if (type === undefined) {
      // `type` may be something else in a payload nobody documented: only the named fields count.
      if (STRICT_TYPE_FIELDS.has(key)) return { ok: false, reason: "unknown report type" };
      continue;
    }
    if (found !== undefined && found !== type) {
      return { ok: false, reason: "the report type is given twice, differently" };
    }
    found = type;
  }
  return found;
}

/** The optional, descriptive fields (cleaned, bounded); returns notes on what was ignored. */
function addDetails(message: ReportReadyMessage, take: Take, lassoIdText: string | undefined): string[] {
  const notes: string[] = [];
  const customerText = text(take("internalCustomerId"));
  if (customerText !== undefined) {
    if (/^-?\d+$/.test(customerText) && Number.isSafeInteger(Number(customerText))) {
      message.internalCustomerId = Number(customerText);
    } else notes.push("internalCustomerId is not an integer: ignored");
  }
  const reportId = text(take("reportId"));
  if (reportId !== undefined) {
    if (reportId.length <= MAX_ID_LENGTH) message.reportId = reportId;
    else notes.push("report id too long: ignored");
  }
  if (lassoIdText !== undefined) message.lassoId = clean(lassoIdText, LIMITS.lassoId);
  const companyName = text(take("companyName"));
  if (companyName !== undefined) message.companyName = clean(companyName, LIMITS.companyName);
  const pdfUrl = text(take("pdfUrl"));
  if (pdfUrl !== undefined) {
    if (pdfUrl.length <= MAX_PDF_URL_LENGTH) message.pdfUrl = pdfUrl;
    else notes.push("pdf link too long: ignored (the delivery looks it up)");
  }
  const fileName = text(take("fileName"));
  if (fileName !== undefined) message.fileName = clean(fileName, LIMITS.fileName);
  const errorMessage = text(take("errorMessage"));
  if (errorMessage !== undefined) message.errorMessage = clean(errorMessage, LIMITS.errorMessage);
  const finishedAt = text(take("finishedAt"));
  if (finishedAt !== undefined) message.finishedAt = clean(finishedAt, LIMITS.finishedAt);
  return notes;
}

/**
 * Turns a parsed webhook body into report-ready messages (source "webhook", seen `now`).
 * Every report in the body must be routable, or none is taken: a half-accepted delivery
 * could not be retried by Lasso without duplicating the other half.
 */
export function parseWebhookPayload(body: unknown, now: Date): WebhookParseResult {
  let value = body;
  // A body that is a JSON string holding JSON (double-encoded): read once more.
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, reason: "the body is not a JSON object" };
    }
  }
  const reports = Array.isArray(value) ? value : [value];
  if (reports.length === 0) return { ok: false, reason: "no report in the body" };
  if (reports.length > MAX_REPORTS_PER_WEBHOOK) {
    return { ok: false, reason: `more than ${MAX_REPORTS_PER_WEBHOOK} reports in one body` };
  }
  const messages: ReportReadyMessage[] = [];
  const notes: string[] = [];
  for (const [index, report] of reports.entries()) {
    const parsed = parseOne(report, now);
    if (!parsed.ok)
      return { ok: false, reason: reports.length > 1 ? `report ${index}: ${parsed.reason}` : parsed.reason };
    messages.push(parsed.message);
    notes.push(...parsed.notes);
  }
  return { ok: true, messages, notes };
}

/** Deepest nesting of arrays and objects a webhook body may have (Lasso's is two or three). */
export const MAX_WEBHOOK_JSON_DEPTH = 16;

/**
 * Whether JSON text nests arrays or objects deeper than `max`, found by one pass over the
 * characters (strings skipped), before anything recursive looks at it: a body nested
 * thousands deep can never be a report, and must not reach a recursive parser or logger.
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
