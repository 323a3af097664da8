/**
 * `customers export`, `customers list`, `customers validate`: reading the customers table
 * the way a run reads it (lambdas/shared/customers.ts, lambdas/submit-batches/selection.ts),
 * for people.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type Selection, skippedRow } from "#lambdas/submit-batches/selection.ts";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { readCustomersOfGroup, scanCustomers } from "#shared/customer-reads.ts";
import {
  type CustomerParseResult,
  isExplicitlyDisabled,
  type Language,
  parseCustomerItem,
} from "#shared/customers.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { SkippedRow } from "#shared/state/runs.ts";
import type { ProgressFactory } from "./progress.ts";

export interface CustomersTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Every raw item (of one group, when given: as a run of that group reads it, so a row
 * stored as "default " shows up under `--group default`, with its reason), with progress.
 */
export async function readCustomerItems(
  table: CustomersTable,
  progress: ProgressFactory,
  group?: string,
): Promise<Record<string, unknown>[]> {
  const bar = progress("reading customers");
  const items: Record<string, unknown>[] = [];
  const pages =
    group === undefined
      ? scanCustomers(table.doc, table.tableName)
      : readCustomersOfGroup(table.doc, table.tableName, group);
  for await (const page of pages) {
    items.push(...page);
    bar.tick(page.length);
  }
  bar.done();
  return items.sort((a, b) => idOrder(a) - idOrder(b));
}

function idOrder(item: Record<string, unknown>): number {
  const id = Number(item.customerId);
  return Number.isFinite(id) ? id : Number.MAX_VALUE;
}

// ---------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------

/** The columns of an exported spreadsheet: exactly what `customers import` reads back. */
export const CSV_COLUMNS = [
  "customerId",
  "cvr",
  "name",
  "emails",
  "reportTypes",
  "group",
  "enabled",
  "format",
  "language",
  "emails_Revision",
  "emails_RevisionUdvidet",
  "emails_ReelleEjere",
  "emails_Finans",
  "cc",
  "bcc",
] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

const COLUMN_OF: Readonly<Record<string, CsvColumn>> = {
  customerid: "customerId",
  internalcustomerid: "customerId",
  cvr: "cvr",
  name: "name",
  emails: "emails",
  email: "emails",
  reporttypes: "reportTypes",
  reporttype: "reportTypes",
  group: "group",
  enabled: "enabled",
  format: "format",
  language: "language",
  emailsrevision: "emails_Revision",
  emailsrevisionudvidet: "emails_RevisionUdvidet",
  emailsreelleejere: "emails_ReelleEjere",
  emailsfinans: "emails_Finans",
  cc: "cc",
  bcc: "bcc",
};

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (value instanceof Set || Array.isArray(value)) return [...value].map(text).join(",");
  if (typeof value === "object") {
    // A number the reader kept as text (wrapNumbers), or anything else: as JSON.
    const wrapped = (value as { value?: unknown }).value;
    return typeof wrapped === "string" ? wrapped : JSON.stringify(value);
  }
  return String(value);
}

/** One row of the spreadsheet: the item's attributes by column (any stored spelling). */
export function itemToCsvRecord(item: Record<string, unknown>): Record<CsvColumn, string> {
  const record = Object.fromEntries(CSV_COLUMNS.map((column) => [column, ""])) as Record<CsvColumn, string>;
  for (const [name, value] of Object.entries(item)) {
    const column = COLUMN_OF[name.toLowerCase().replace(/[\s_-]/g, "")];
    if (column !== undefined && record[column] === "") record[column] = text(value);
  }
  return record;
}

export const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A cell Excel would run as a formula (=, +, -, @, tab or CR first) gets a leading
 * apostrophe, which spreadsheets show as text; `customers import` takes it off again.
 */
export function neutraliseFormula(field: string): string {
  return FORMULA_START.test(field) ? `'${field}` : field;
}

function quote(raw: string, delimiter: string): string {
  const field = neutraliseFormula(raw);
  return field.includes(delimiter) || /["\r\n]/.test(field) || field !== field.trim()
    ? `"${field.replaceAll('"', '""')}"`
    : field;
}

/**
 * A spreadsheet of the items: a header row of attribute names, `delimiter`-separated,
 * CRLF line ends (what Excel writes), lists comma-joined inside their cell.
 */
export function customersToCsv(items: readonly Record<string, unknown>[], delimiter: ";" | ","): string {
  const lines = [CSV_COLUMNS.join(delimiter)];
  for (const item of items) {
    const record = itemToCsvRecord(item);
    lines.push(CSV_COLUMNS.map((column) => quote(record[column], delimiter)).join(delimiter));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The items as JSON (sets as lists), which `customers import` reads back. */
export function customersToJson(items: readonly Record<string, unknown>[]): string {
  return `${JSON.stringify(
    items,
    (_key, value: unknown) => (value instanceof Set ? [...value] : value),
    2,
  )}\n`;
}

// ---------------------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------------------

export interface CustomerListRow {
  customerId?: number | string;
  cvr?: string;
  name?: string;
  group?: string;
  reportTypes?: string[];
  emails?: string[];
  enabled?: boolean;
  format?: string;
  language?: Language;
  ok: boolean;
  /** Why a run skips the row (invalid rows). */
  reason?: string;
  warnings?: string[];
}

export function listRow(item: Record<string, unknown>, parsed: CustomerParseResult): CustomerListRow {
  if (parsed.ok) {
    const { customer } = parsed;
    return {
      customerId: customer.customerId,
      cvr: customer.cvr,
      name: customer.name,
      group: customer.group,
      reportTypes: customer.reportTypes,
      emails: customer.emails,
      enabled: customer.enabled,
      ...(customer.format === undefined ? {} : { format: customer.format }),
      language: customer.language,
      ok: true,
      ...(parsed.warnings.length > 0 ? { warnings: parsed.warnings } : {}),
    };
  }
  const raw = itemToCsvRecord(item);
  return {
    customerId: parsed.customerId ?? raw.customerId,
    cvr: parsed.cvr ?? raw.cvr,
    name: raw.name,
    group: raw.group,
    ok: false,
    reason: parsed.reason,
  };
}

/**
 * The rows of the table (or of one group), parsed; with `reportType`, only the usable rows
 * that want it (a broken row wants nothing a run could send).
 */
export function listCustomers(
  items: readonly Record<string, unknown>[],
  filter: { reportType?: ReportType },
  options: { defaultLanguage: Language },
): CustomerListRow[] {
  const rows: CustomerListRow[] = [];
  for (const item of items) {
    const parsed = parseCustomerItem(item, { ...options, origin: "table" });
    if (
      filter.reportType !== undefined &&
      !(parsed.ok && parsed.customer.reportTypes.includes(filter.reportType))
    )
      continue;
    rows.push(listRow(item, parsed));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------

/** A row a run skips, and which schedules' runs skip it. */
export interface ValidationSkip extends SkippedRow {
  /** The enabled schedules whose runs skip the row (empty: no schedule reads its group). */
  schedules: string[];
}

export interface ValidationReport {
  rows: number;
  valid: number;
  /** Switched off (`enabled` false): never selected, never reported as broken. */
  disabled: number;
  /** Every row a run cannot use, and why (what `plan` and the run record show per schedule). */
  skipped: ValidationSkip[];
  warnings: { customerId: number; warning: string }[];
  /** Usable rows no enabled schedule covers: their group and report type run nowhere. */
  unscheduled: { customerId: number; group: string; reportTypes: ReportType[] }[];
}

/** The selection of one enabled schedule, made by submit-batches' own `selectCustomers`. */
export interface ScheduleSelection {
  schedule: string;
  selection: Selection;
}

const skipKey = (row: SkippedRow): string => JSON.stringify([row.customerId ?? null, row.reason]);

/**
 * Checks every row of the table (`items`, a scan) with the parser a run uses, and takes each
 * enabled schedule's skipped rows from `selections`: the very selection its run makes (same
 * index reads, same decision, selection.ts), so a row the run skips is listed here with the
 * schedules that skip it. Rows no schedule reads are listed too, with no schedule.
 */
export function validateCustomers(
  items: readonly Record<string, unknown>[],
  schedules: readonly ScheduleConfig[],
  selections: readonly ScheduleSelection[],
  options: { defaultLanguage: Language },
): ValidationReport {
  const report: ValidationReport = {
    rows: items.length,
    valid: 0,
    disabled: 0,
    skipped: [],
    warnings: [],
    unscheduled: [],
  };
  const covered = new Set(
    schedules.filter((s) => s.enabled).map((s) => JSON.stringify([s.group, s.reportType])),
  );
  const skips = new Map<string, ValidationSkip>();
  for (const item of items) {
    if (isExplicitlyDisabled(item)) {
      report.disabled++;
      continue;
    }
    const parsed = parseCustomerItem(item, { ...options, origin: "table" });
    if (!parsed.ok) {
      const row = skippedRow(item, parsed);
      skips.set(skipKey(row), { ...row, schedules: [] });
      continue;
    }
    report.valid++;
    const { customer } = parsed;
    for (const warning of parsed.warnings) report.warnings.push({ customerId: customer.customerId, warning });
    const uncovered = customer.reportTypes.filter(
      (type) => !covered.has(JSON.stringify([customer.group, type])),
    );
    if (uncovered.length > 0) {
      report.unscheduled.push({
        customerId: customer.customerId,
        group: customer.group,
        reportTypes: uncovered,
      });
    }
  }
  for (const { schedule, selection } of selections) {
    for (const row of selection.skipped) {
      const key = skipKey(row);
      // Read by the run but not by the scan (written in between): listed all the same.
      const entry = skips.get(key) ?? { ...row, schedules: [] };
      if (!entry.schedules.includes(schedule)) entry.schedules.push(schedule);
      skips.set(key, entry);
    }
  }
  report.skipped = [...skips.values()].sort(
    (a, b) => (a.customerId ?? Number.MAX_VALUE) - (b.customerId ?? Number.MAX_VALUE),
  );
  return report;
}
