/**
 * `customers import`: every row checked first (the rules a run applies, one id per file);
 * nothing written while any row is bad, unless the operator says `--skip-invalid`, and
 * nothing while a row would give a stored customerId another CVR (another company), unless
 * `--allow-cvr-change`. With `--prune`, stored customers the file does not name are deleted
 * (after a confirmation; the dry run lists them). Each
 * valid row is compared with the stored item: new ones are created, changed ones updated,
 * equal ones left alone, so importing the same file twice writes nothing the second time.
 *
 * The file is the truth for the attributes the table documents (customerId, cvr, name,
 * emails, reportTypes, group, enabled, format, language); other attributes of a stored row
 * (notes someone keeps there) are kept.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { CheckedRow } from "#shared/customer-file.ts";
import { customerToItem } from "#shared/customer-file.ts";
import { scanCustomers } from "#shared/customer-reads.ts";
import {
  deleteCustomerItems,
  getCustomerItems,
  putCustomerItems,
  updateCustomerItem,
} from "#shared/customer-store.ts";
import { checkCvr, normaliseCvr } from "#shared/cvr.ts";
import { plural } from "./output.ts";
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

/** A row that gives a stored customerId another CVR: another company. */
export interface CvrChange {
  line: number;
  customerId: number;
  /** The stored CVR, as stored. */
  from: string;
  to: string;
}

/** A stored customer that --prune deletes (not in the file). */
export interface PrunedCustomer {
  customerId: number;
  cvr?: string;
  name?: string;
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
  /** Rows that change the CVR of a stored customer (refused unless --allow-cvr-change). */
  cvrChanges: CvrChange[];
  /** With --prune: stored customers not in the file, deleted (or, dry run / refused, to be). */
  pruned: PrunedCustomer[];
  dryRun: boolean;
  /** True when the table was written (not a dry run, not refused). */
  written: boolean;
  /** Why nothing was written: bad rows, a CVR change, an unconfirmed prune. */
  refused?: string;
}

export interface ImportOptions {
  dryRun: boolean;
  skipInvalid: boolean;
  /** Let a row give a stored customerId another CVR. */
  allowCvrChange?: boolean;
  /** Also delete stored customers that are not in the file. */
  prune?: boolean;
  /** Asked before --prune deletes anything (not in a dry run); false writes nothing. */
  confirmPrune?: (customers: readonly PrunedCustomer[]) => Promise<boolean>;
  progress: ProgressFactory;
}

const UPDATE_CONCURRENCY = 8;

const storedText = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;

/**
 * The CVR change a row makes to a stored customer, if any. Only a stored CVR that names a
 * company (it passes the check) counts: replacing a stored typo is a repair, not another company.
 */
function cvrChangeOf(
  line: number,
  item: Record<string, unknown>,
  stored: Record<string, unknown> | undefined,
): CvrChange | undefined {
  const from = stored === undefined ? undefined : storedText(stored.cvr);
  const to = String(item.cvr);
  if (from === undefined || !checkCvr(from).ok || normaliseCvr(from) === to) return undefined;
  return { line, customerId: Number(item.customerId), from, to };
}

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
    cvrChanges: [],
    pruned: [],
    dryRun: options.dryRun,
    written: false,
  };
  // 1. The file's rows: valid ones become items; every id it names is kept from --prune.
  const { valid, idsInFile, linesWithoutId } = sortRows(checked, report);
  if (report.invalid.length > 0 && !options.skipInvalid) {
    report.refused = `Nothing written: ${report.invalid.length} of ${plural(report.rows, "row")} ${report.invalid.length === 1 ? "is" : "are"} invalid (fix ${report.invalid.length === 1 ? "it" : "them"}, or give --skip-invalid to write the ${plural(valid.length, "valid row")})`;
    return report;
  }
  if (options.prune === true && linesWithoutId.length > 0) {
    report.refused = `Nothing written or deleted: --prune cannot tell which stored customer line(s) ${linesWithoutId.join(", ")} mean (no usable customerId; fix those rows first)`;
    return report;
  }
  // 2. Compared with the stored rows: created, updated, unchanged, cvr changes.
  const changes = await compareWithStored(customers, valid, report, options.progress);
  // 3. With --prune: the stored customers the file does not name.
  if (options.prune === true) await listPruned(customers, idsInFile, report);
  if (report.cvrChanges.length > 0 && options.allowCvrChange !== true) {
    const list = report.cvrChanges
      .map(
        (change) => `customer ${change.customerId} (line ${change.line}) from ${change.from} to ${change.to}`,
      )
      .join(", ");
    report.refused = `Nothing written: the file changes the cvr of ${plural(report.cvrChanges.length, "stored customer")}: ${list}. A different cvr is a different company: its reports and delivery history would be mixed up with the old one's. Give the new company a new customerId, or --allow-cvr-change if the id really is to stand for the new company`;
    return report;
  }
  if (options.dryRun || changes.creates.length + changes.updates.length + report.pruned.length === 0)
    return report;
  if (report.pruned.length > 0) {
    const confirmed = (await options.confirmPrune?.(report.pruned)) ?? false;
    if (!confirmed) {
      report.refused = `Nothing written or deleted: deleting ${plural(report.pruned.length, "customer")} not in the file was not confirmed (give --yes in scripts)`;
      return report;
    }
  }
  // 4. Written: creates, updates (other attributes kept), then the pruned deleted.
  await writeChanges(customers, changes, report.pruned, options.progress);
  report.written = true;
  return report;
}

interface ValidRow {
  line: number;
  item: Record<string, unknown>;
  customerId: number;
}

interface Changes {
  creates: Record<string, unknown>[];
  updates: { item: Record<string, unknown>; remove: string[] }[];
}

/** Invalid rows and warnings into the report; the valid rows as items. */
function sortRows(
  checked: readonly CheckedRow[],
  report: ImportReport,
): { valid: ValidRow[]; idsInFile: Set<number>; linesWithoutId: number[] } {
  const valid: ValidRow[] = [];
  /** Every id the file names, in valid rows or not: --prune never deletes those. */
  const idsInFile = new Set<number>();
  const linesWithoutId: number[] = [];
  for (const row of checked) {
    if (!row.result.ok) {
      if (row.result.customerId === undefined) linesWithoutId.push(row.line);
      else idsInFile.add(row.result.customerId);
      report.invalid.push({
        line: row.line,
        ...(row.result.customerId === undefined ? {} : { customerId: row.result.customerId }),
        reason: row.result.reason,
      });
      continue;
    }
    const { customer, warnings } = row.result;
    idsInFile.add(customer.customerId);
    for (const warning of warnings)
      report.warnings.push({ line: row.line, customerId: customer.customerId, warning });
    valid.push({ line: row.line, item: customerToItem(customer), customerId: customer.customerId });
  }
  report.valid = valid.length;
  return { valid, idsInFile, linesWithoutId };
}

async function compareWithStored(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  valid: readonly ValidRow[],
  report: ImportReport,
  progress: ImportOptions["progress"],
): Promise<Changes> {
  const reading = progress("reading stored rows", valid.length);
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

  const changes: Changes = { creates: [], updates: [] };
  for (const row of valid) {
    const before = stored.get(row.customerId);
    const cvrChange = cvrChangeOf(row.line, row.item, before);
    if (cvrChange !== undefined) report.cvrChanges.push(cvrChange);
    const change = compareCustomerItem(row.item, before);
    if (change.kind === "create") {
      report.created.push(row.customerId);
      changes.creates.push(change.item);
    } else if (change.kind === "update") {
      report.updated.push({ customerId: row.customerId, changed: change.changed });
      changes.updates.push({ item: change.item, remove: change.remove });
    } else report.unchanged.push(row.customerId);
  }
  return changes;
}

async function listPruned(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  idsInFile: ReadonlySet<number>,
  report: ImportReport,
): Promise<void> {
  for await (const page of scanCustomers(customers.doc, customers.tableName)) {
    for (const item of page) {
      const customerId = item.customerId;
      if (typeof customerId !== "number" || idsInFile.has(customerId)) continue;
      const pruned: PrunedCustomer = { customerId };
      const cvr = storedText(item.cvr);
      if (cvr !== undefined) pruned.cvr = cvr;
      if (typeof item.name === "string") pruned.name = item.name;
      report.pruned.push(pruned);
    }
  }
  report.pruned.sort((a, b) => a.customerId - b.customerId);
}

async function writeChanges(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  { creates, updates }: Changes,
  pruned: readonly PrunedCustomer[],
  progress: ImportOptions["progress"],
): Promise<void> {
  const writing = progress("writing rows", creates.length + updates.length);
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
  if (pruned.length > 0) {
    const deleting = progress("deleting customers not in the file", pruned.length);
    let deleted = 0;
    await deleteCustomerItems(
      customers.doc,
      customers.tableName,
      pruned.map((row) => row.customerId),
      (count) => {
        deleting.tick(count - deleted);
        deleted = count;
      },
    );
    deleting.done();
  }
}
