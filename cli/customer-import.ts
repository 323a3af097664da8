/**
 * `customers import`: every row checked first (the rules a run applies, one id per file);
 * nothing written while any row is bad, unless the operator says `--skip-invalid`. Each
 * valid row is compared with the stored item: new ones are created, changed ones updated,
 * equal ones left alone, so importing the same file twice writes nothing the second time.
 *
 * The file is the truth for the attributes the table documents (customerId, cvr, name,
 * emails, reportTypes, group, enabled, format, language); other attributes of a stored row
 * (notes someone keeps there) are kept.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { CheckedRow } from "./customer-file.ts";
import { customerToItem } from "./customer-file.ts";
import { getCustomerItems, putCustomerItems, updateCustomerItem } from "./customer-store.ts";
import type { ProgressFactory } from "./progress.ts";

/** The attribute spellings the table's reader understands (lambdas/shared/customers.ts), folded. */
const TABLE_ATTRIBUTE_SPELLINGS = new Set([
  "customerid",
  "internalcustomerid",
  "cvr",
  "name",
  "emails",
  "email",
  "reporttypes",
  "reporttype",
  "group",
  "enabled",
  "format",
  "language",
]);

const fold = (name: string): string => name.toLowerCase().replace(/[\s_-]/g, "");

/** Whether a stored attribute is one the import owns (in any spelling the reader accepts). */
export const isCustomerAttribute = (name: string): boolean => TABLE_ATTRIBUTE_SPELLINGS.has(fold(name));

/** A value in comparable form: sets and lists as sorted texts, wrapped numbers as their text. */
function comparable(value: unknown): unknown {
  if (value instanceof Set || Array.isArray(value)) return [...value].map((v) => String(v)).sort();
  return value;
}

export type RowChange =
  | { kind: "create"; item: Record<string, unknown> }
  | { kind: "update"; item: Record<string, unknown>; remove: string[]; changed: string[] }
  | { kind: "unchanged" };

/**
 * What writing `item` would change in `stored`: `create` when there is none, `unchanged`
 * when every owned attribute is equal (sets compared without order), else `update` with
 * the attributes that differ and the stale spellings to remove.
 */
export function compareCustomerItem(
  item: Record<string, unknown>,
  stored: Record<string, unknown> | undefined,
): RowChange {
  if (stored === undefined) return { kind: "create", item };
  const owned = Object.keys(stored).filter(isCustomerAttribute);
  const remove = owned.filter((name) => !(name in item));
  const changed = Object.keys(item).filter(
    (name) => JSON.stringify(comparable(item[name])) !== JSON.stringify(comparable(stored[name])),
  );
  if (remove.length === 0 && changed.length === 0) return { kind: "unchanged" };
  return { kind: "update", item, remove, changed: [...changed, ...remove].sort() };
}

export interface InvalidRow {
  line: number;
  customerId?: number;
  reason: string;
}

export interface ImportReport {
  file: string;
  rows: number;
  valid: number;
  invalid: InvalidRow[];
  warnings: { line: number; customerId: number; warning: string }[];
  /** Customer ids, by what the import did (or, with --dry-run / refused, would do). */
  created: number[];
  updated: { customerId: number; changed: string[] }[];
  unchanged: number[];
  dryRun: boolean;
  /** True when the table was written (not a dry run, not refused). */
  written: boolean;
  /** Why nothing was written, when rows were bad and --skip-invalid was not given. */
  refused?: string;
}

export interface ImportOptions {
  dryRun: boolean;
  skipInvalid: boolean;
  progress: ProgressFactory;
}

const UPDATE_CONCURRENCY = 8;

export async function importCustomers(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  file: string,
  checked: readonly CheckedRow[],
  options: ImportOptions,
): Promise<ImportReport> {
  const report: ImportReport = {
    file,
    rows: checked.length,
    valid: 0,
    invalid: [],
    warnings: [],
    created: [],
    updated: [],
    unchanged: [],
    dryRun: options.dryRun,
    written: false,
  };
  const valid: { line: number; item: Record<string, unknown>; customerId: number }[] = [];
  for (const row of checked) {
    if (!row.result.ok) {
      report.invalid.push({
        line: row.line,
        ...(row.result.customerId === undefined ? {} : { customerId: row.result.customerId }),
        reason: row.result.reason,
      });
      continue;
    }
    const { customer, warnings } = row.result;
    for (const warning of warnings)
      report.warnings.push({ line: row.line, customerId: customer.customerId, warning });
    valid.push({ line: row.line, item: customerToItem(customer), customerId: customer.customerId });
  }
  report.valid = valid.length;
  if (report.invalid.length > 0 && !options.skipInvalid) {
    report.refused = `${report.invalid.length} of ${report.rows} rows are invalid: nothing written (fix them, or give --skip-invalid to write the ${valid.length} valid rows)`;
    return report;
  }

  const reading = options.progress("reading stored rows", valid.length);
  let readCount = 0;
  const stored = await getCustomerItems(
    customers.doc,
    customers.tableName,
    valid.map((row) => row.customerId),
    (read) => {
      reading.tick(read - readCount);
      readCount = read;
    },
  );
  reading.done();

  const creates: Record<string, unknown>[] = [];
  const updates: { item: Record<string, unknown>; remove: string[] }[] = [];
  for (const row of valid) {
    const change = compareCustomerItem(row.item, stored.get(row.customerId));
    if (change.kind === "create") {
      report.created.push(row.customerId);
      creates.push(change.item);
    } else if (change.kind === "update") {
      report.updated.push({ customerId: row.customerId, changed: change.changed });
      updates.push({ item: change.item, remove: change.remove });
    } else report.unchanged.push(row.customerId);
  }
  if (options.dryRun || creates.length + updates.length === 0) return report;

  const writing = options.progress("writing rows", creates.length + updates.length);
  let created = 0;
  await putCustomerItems(customers.doc, customers.tableName, creates, (written) => {
    writing.tick(written - created);
    created = written;
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < updates.length) {
      const update = updates[next++];
      if (update === undefined) break;
      await updateCustomerItem(customers.doc, customers.tableName, update.item, update.remove);
      writing.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPDATE_CONCURRENCY, updates.length) }, worker));
  writing.done();
  report.written = true;
  return report;
}
