/**
 * What the Lasso X Reporting API returns and what we send it, validated at the boundary.
 *
 * Answers are parsed tolerantly where the provider is known (or expected) to vary: key
 * casing (`IsListener`/`isListener`, `pdfurl`/`pdfUrl`, `notificationWebHookUrl`), enums
 * given as names or numbers, numbers given as strings, `null` for absent fields, and extra
 * fields (dropped). They are parsed strictly where a wrong value would mislead us: a batch
 * without id or a known status, an item without a CVR or status. The output types are
 * canonical camelCase.
 */

import * as z from "zod/mini";
import { normaliseCvr } from "#shared/cvr.ts";
import {
  BATCH_STATUSES,
  type BatchStatus,
  batchStatusName,
  ITEM_STATUSES,
  type ItemStatus,
  itemStatusName,
  REPORT_TYPES,
  type ReportType,
  reportTypeName,
  WEBHOOK_AUTH_METHODS,
  type WebhookAuthMethod,
} from "#shared/lasso/enums.ts";
import { canonicaliseKeys, isRecord } from "#shared/lasso/normalise.ts";
import "#shared/zod-english.ts";
import { batchIdFromLasso } from "./ids.ts";

// ---------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------

export interface LassoBatch {
  id: string;
  /** `batchName` or `name` as the API gives it. */
  name: string;
  type?: ReportType;
  status: BatchStatus;
  batchSize: number;
  /** 0..1 */
  completionPercentage: number;
  /** As the API gives it (UTC, e.g. "2018-01-01 01:00:00" or ISO 8601). */
  scheduledTime?: string;
  timestamp?: string;
  isListener: boolean;
  notificationEmail?: string;
  notificationWebhookUrl?: string;
  format?: string;
  errorAppend?: string;
}

export interface LassoItem {
  id?: string;
  batchId?: string;
  /** 8 digits, even when the API gives a number. */
  cvr: string;
  /** The provider's company id, form `CVR-1-<cvr>`. */
  lassoId?: string;
  /** Company name. */
  name?: string;
  internalCustomerId?: number;
  status: ItemStatus;
  printType?: ReportType;
  pdfUrl?: string;
  fileName?: string;
  finishedAt?: string;
  errorMessage?: string;
}

export interface LassoItemsPage {
  items: LassoItem[];
  /** Absent on the last page. */
  continuationToken?: string;
}

export interface WebhookAuthConfig {
  Method: WebhookAuthMethod;
  Key: string;
  Value: string;
}

export interface CreateBatchItem {
  /** 8-digit CVR; spaces and a "DK" prefix are tolerated. Sent as an integer. */
  cvr: number | string;
  /** Per-item override of the batch `format`. */
  format?: string;
  /** Must be an integer (the API puts it at the start of the file name). */
  internalCustomerId?: number;
}

/** What we POST to /apps/reporting/batches (see {@link serialiseCreateBatchRequest}). */
export interface CreateBatchRequest {
  batchName: string;
  type: ReportType;
  /** File-name template; may use {name}, {balanceday}, {cvr}, {type}, {rundate}. */
  format: string;
  items: readonly CreateBatchItem[];
  notificationEmail?: string;
  notificationWebhookUrl?: string;
  /** `null` is sent as `null` (the seed does so); `undefined` is omitted. */
  authConfig?: WebhookAuthConfig | null;
  errorAppend?: string;
  /** UTC, "YYYY-MM-DD HH:mm:ss" (see {@link formatScheduledTime}). */
  scheduledTime?: string;
  isListener?: boolean;
  triggerNow?: boolean;
}

export interface WebhookTestRequest {
  /** Our webhook URL that Lasso should call. */
  url: string;
  /** Form `CVR-1-<cvr>` (see {@link lassoIdForCvr}). */
  lassoId: string;
  batchId: string;
  reportType: ReportType;
  authConfig?: WebhookAuthConfig;
}

// ---------------------------------------------------------------------------------------
// Field-level schemas
// ---------------------------------------------------------------------------------------

const CVR_PATTERN = /^[1-9]\d{7}$/;
const LASSO_ID_PATTERN = /^cvr-\d+-(\d{8})$/i;

/** `schema`, its value first passed through `map` (what classic zod calls a preprocess). */
function preprocessed<T extends z.core.$ZodType>(map: (raw: unknown) => unknown, schema: T) {
  return z.pipe(z.transform(map), schema);
}

/** `schema`, its output then passed through `map`. */
function mapped<T extends z.core.SomeType, Out>(schema: T, map: (value: z.output<T>) => Out) {
  return z.pipe(schema, z.transform(map));
}

/** An id given as string or number, as a non-empty string. */
const idSchema = mapped(
  z.union([z.string().check(z.trim(), z.minLength(1)), z.int().check(z.nonnegative())]),
  String,
);

/** A number, also given as a numeric string. */
const numberSchema = z.union([
  z.number(),
  mapped(z.string().check(z.trim(), z.regex(/^-?\d+(\.\d+)?$/, "expected a number")), Number),
]);

const intSchema = z.union([
  z.int(),
  mapped(z.string().check(z.trim(), z.regex(/^-?\d+$/, "expected an integer")), Number),
]);

const booleanSchema = z.union([
  z.boolean(),
  mapped(
    z.pipe(z.string().check(z.trim(), z.toLowerCase()), z.enum(["true", "false"])),
    (text) => text === "true",
  ),
]);

const reportTypeSchema = preprocessed((value) => reportTypeName(value) ?? value, z.enum(REPORT_TYPES));
const batchStatusSchema = preprocessed((value) => batchStatusName(value) ?? value, z.enum(BATCH_STATUSES));
const itemStatusSchema = preprocessed((value) => itemStatusName(value) ?? value, z.enum(ITEM_STATUSES));

/** A CVR given as number or string, as an 8-digit string (format only; no checksum test). */
const cvrSchema = z.pipe(
  mapped(z.union([z.string(), z.int()]), (value) => normaliseCvr(value)),
  z.string().check(z.regex(CVR_PATTERN, "CVR must be 8 digits, the first not 0")),
);

/** Optional text: an empty string counts as absent. */
const optionalText = mapped(z.optional(z.string()), (text) =>
  text === undefined || text.length === 0 ? undefined : text,
);

// ---------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------

/** Canonical key -> names the API may use (each matched case-insensitively), best first. */
const BATCH_FIELDS = {
  id: ["id", "batchId"],
  name: ["batchName", "name"],
  type: ["type", "reportType", "printType"],
  status: ["status", "batchStatus"],
  batchSize: ["batchSize"],
  completionPercentage: ["completionPercentage"],
  scheduledTime: ["scheduledTime"],
  timestamp: ["timestamp"],
  isListener: ["isListener"],
  notificationEmail: ["notificationEmail"],
  notificationWebhookUrl: ["notificationWebhookUrl"],
  format: ["format"],
  errorAppend: ["errorAppend"],
} as const;

const batchObjectSchema = z.object({
  // One canonical spelling of a GUID (ids.ts): the webhook's and the API's ids must match.
  id: mapped(idSchema, batchIdFromLasso),
  name: z.string(),
  type: z.optional(reportTypeSchema),
  status: batchStatusSchema,
  batchSize: z.pipe(intSchema, z.int().check(z.nonnegative())),
  completionPercentage: z.pipe(numberSchema, z.number().check(z.minimum(0), z.maximum(1))),
  scheduledTime: optionalText,
  timestamp: optionalText,
  isListener: z._default(booleanSchema, false),
  notificationEmail: optionalText,
  notificationWebhookUrl: optionalText,
  format: optionalText,
  errorAppend: optionalText,
});

export const lassoBatchSchema: z.ZodMiniType<LassoBatch> = preprocessed(
  (raw) => (isRecord(raw) ? canonicaliseKeys(raw, BATCH_FIELDS) : raw),
  batchObjectSchema,
);

/** GET /batches: an array, or an object holding it under `batches` or `items`. */
export const lassoBatchListSchema: z.ZodMiniType<LassoBatch[]> = preprocessed(
  (raw) => (isRecord(raw) ? canonicaliseKeys(raw, { batches: ["batches", "items"] }).batches : raw),
  z.array(lassoBatchSchema),
);

/**
 * The entries of a GET /batches answer without validating them (for lookups that must not
 * fail because some unrelated batch, e.g. one made in the portal, is unusual).
 */
export function rawBatchEntries(raw: unknown): unknown[] | undefined {
  if (Array.isArray(raw)) return raw;
  if (!isRecord(raw)) return undefined;
  const list = canonicaliseKeys(raw, { batches: ["batches", "items"] }).batches;
  return Array.isArray(list) ? list : undefined;
}

// ---------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------

const ITEM_FIELDS = {
  id: ["id", "itemId"],
  batchId: ["batchId"],
  cvr: ["cvr", "cvrNumber"],
  lassoId: ["lassoId"],
  name: ["name", "companyName"],
  internalCustomerId: ["internalCustomerId"],
  status: ["status", "itemStatus"],
  printType: ["printType", "reportType"],
  pdfUrl: ["pdfUrl"],
  fileName: ["fileName"],
  finishedAt: ["finishedAt", "finished", "completedAt", "timestamp"],
  errorMessage: ["errorMessage"],
} as const;

const itemObjectSchema = z.object({
  id: z.optional(idSchema),
  batchId: z.optional(idSchema),
  cvr: cvrSchema,
  lassoId: optionalText,
  name: optionalText,
  internalCustomerId: z.optional(intSchema),
  status: itemStatusSchema,
  printType: z.optional(reportTypeSchema),
  pdfUrl: optionalText,
  fileName: optionalText,
  finishedAt: optionalText,
  errorMessage: optionalText,
});

/** An item without a `cvr` field takes the CVR from its `lassoId` (form `CVR-1-<cvr>`). */
function canonicalItem(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  const item = canonicaliseKeys(raw, ITEM_FIELDS);
  if (item.cvr === undefined && typeof item.lassoId === "string") {
    const match = LASSO_ID_PATTERN.exec(item.lassoId.trim());
    if (match?.[1] !== undefined) item.cvr = match[1];
  }
  return item;
}

export const lassoItemSchema: z.ZodMiniType<LassoItem> = preprocessed(canonicalItem, itemObjectSchema);

/**
 * GET /batches/{id}/items: `{ items, continuationToken }` (also `Items`, `cToken`); a null,
 * empty or absent token marks the last page; a bare array is a single, last page.
 */
export const lassoItemsPageSchema: z.ZodMiniType<LassoItemsPage> = preprocessed(
  (raw) =>
    Array.isArray(raw)
      ? { items: raw }
      : isRecord(raw)
        ? canonicaliseKeys(raw, { items: ["items"], continuationToken: ["continuationToken", "cToken"] })
        : raw,
  z.object({
    items: z.array(lassoItemSchema),
    continuationToken: optionalText,
  }),
);

// ---------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------

export interface LassoErrorBody {
  errorCode?: number | string;
  message?: string;
}

/** A non-2xx body `{ errorCode, message }` in any casing; undefined when it has neither. */
export function parseErrorBody(raw: unknown): LassoErrorBody | undefined {
  if (!isRecord(raw)) return undefined;
  const fields = canonicaliseKeys(raw, {
    errorCode: ["errorCode", "code"],
    message: ["message", "errorMessage", "error", "detail", "title"],
  });
  const out: LassoErrorBody = {};
  if (typeof fields.errorCode === "number" || typeof fields.errorCode === "string") {
    out.errorCode = fields.errorCode;
  }
  if (typeof fields.message === "string" && fields.message.trim() !== "") out.message = fields.message;
  return out.errorCode === undefined && out.message === undefined ? undefined : out;
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

const SCHEDULED_TIME_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;

export const webhookAuthConfigSchema: z.ZodMiniType<WebhookAuthConfig> = z.object({
  Method: z.enum(WEBHOOK_AUTH_METHODS),
  Key: z.string().check(z.minLength(1)),
  Value: z.string(),
});

const createBatchItemSchema = z.object({
  cvr: mapped(cvrSchema, Number),
  format: z.optional(z.string().check(z.minLength(1))),
  internalCustomerId: z.optional(z.int()),
});

const createBatchRequestSchema = z.object({
  batchName: z.string().check(z.trim(), z.minLength(1)),
  format: z.string().check(z.minLength(1)),
  type: z.enum(REPORT_TYPES),
  notificationEmail: z.optional(z.string().check(z.minLength(1))),
  notificationWebhookUrl: z.optional(z.url({ protocol: /^https?$/ })),
  authConfig: z.optional(z.nullable(webhookAuthConfigSchema)),
  errorAppend: z.optional(z.string()),
  scheduledTime: z.optional(
    z.string().check(z.regex(SCHEDULED_TIME_PATTERN, 'expected UTC "YYYY-MM-DD HH:mm:ss"')),
  ),
  items: z.array(createBatchItemSchema).check(z.minLength(1)),
  isListener: z.optional(z.boolean()),
  triggerNow: z.optional(z.boolean()),
});

/** The JSON body of POST /apps/reporting/batches, field names as in the provider's example. */
export interface CreateBatchBody {
  batchName: string;
  format: string;
  type: ReportType;
  notificationEmail?: string;
  notificationWebhookUrl?: string;
  authConfig?: WebhookAuthConfig | null;
  errorAppend?: string;
  scheduledTime?: string;
  items: { cvr: number; format?: string; internalCustomerId?: number }[];
  IsListener?: boolean;
  TriggerNow?: boolean;
}

export type SerialiseResult =
  | { ok: true; body: CreateBatchBody }
  | { ok: false; issues: { path: string; message: string }[] };

/**
 * Validates a {@link CreateBatchRequest} and builds the wire body: field names exactly as
 * in the provider's example (`IsListener`, `TriggerNow` capitalised), `type` as its name,
 * CVRs as integers, undefined fields omitted. CVRs are checked for format only (8 digits,
 * first not 0): whether a failed check digit blocks a customer is the caller's decision.
 */
export function serialiseCreateBatchRequest(request: CreateBatchRequest): SerialiseResult {
  const parsed = createBatchRequestSchema.safeParse(request);
  if (!parsed.success) return { ok: false, issues: issuesOf(parsed.error) };
  const r = parsed.data;
  const items = r.items.map((item) => {
    const out: CreateBatchBody["items"][number] = { cvr: item.cvr };
    if (item.format !== undefined) out.format = item.format;
    if (item.internalCustomerId !== undefined) out.internalCustomerId = item.internalCustomerId;
    return out;
  });
  // Built in the order of the provider's example, undefined fields left out.
  const entries: [keyof CreateBatchBody, unknown][] = [
    ["batchName", r.batchName],
    ["format", r.format],
    ["type", r.type],
    ["notificationEmail", r.notificationEmail],
    ["notificationWebhookUrl", r.notificationWebhookUrl],
    ["authConfig", r.authConfig],
    ["errorAppend", r.errorAppend],
    ["scheduledTime", r.scheduledTime],
    ["items", items],
    ["IsListener", r.isListener],
    ["TriggerNow", r.triggerNow],
  ];
  const body = Object.fromEntries(
    entries.filter(([, value]) => value !== undefined),
  ) as unknown as CreateBatchBody;
  return { ok: true, body };
}

/** A UTC instant in the API's `scheduledTime` form, "YYYY-MM-DD HH:mm:ss". */
export function formatScheduledTime(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError("formatScheduledTime: invalid date");
  return instant.toISOString().slice(0, 19).replace("T", " ");
}

/** The provider's company id for a CVR, as the webhook test takes it: `CVR-1-<cvr>`. */
export function lassoIdForCvr(cvr: string | number): string {
  const normalised = normaliseCvr(cvr);
  if (!CVR_PATTERN.test(normalised)) throw new RangeError(`lassoIdForCvr: "${normalised}" is not a CVR`);
  return `CVR-1-${normalised}`;
}

// ---------------------------------------------------------------------------------------
// Issues
// ---------------------------------------------------------------------------------------

/** Zod issues as `{ path, message }`, paths like `items[2].cvr` (values are never included). */
export function issuesOf(error: z.core.$ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
