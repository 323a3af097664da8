/**
 * Customer spreadsheets and JSON files: read, decode and map to the customer table's
 * attribute names, keeping each row's line number for error messages. Used by
 * `lasso-reports customers import` and by `npm start -- --customers FILE`. The write half
 * of the customer table (rows to items; customer-store.ts writes them) beside its read
 * half (customers.ts).
 *
 * Spreadsheets from Excel in a Danish locale are `;`-separated, Windows-1252 or UTF-8
 * with a BOM, with CRLF line ends: all are accepted (csv-parse reads the CSV, iconv-lite
 * decodes Windows-1252).
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse } from "csv-parse/sync";
import iconv from "iconv-lite";
import {
  type Customer,
  type CustomerParseResult,
  emailsAttributeOf,
  type ParseCustomerOptions,
  parseCustomerItem,
} from "./customers.ts";
import type { ReportType } from "./lasso/enums.ts";

export interface CustomerRow {
  /** 1-based line in the file (CSV: the row's first line; JSON: the element's index + 1). */
  line: number;
  raw: Record<string, unknown>;
}

/** Header names accepted for each attribute (compared without case, spaces, `_` or `-`). */
const HEADER_ALIASES: Record<string, readonly string[]> = {
  customerId: ["customerid", "internalcustomerid", "kundenr", "kundenummer", "kundeid", "id"],
  cvr: ["cvr", "cvrnr", "cvrnummer"],
  name: ["name", "navn", "firmanavn", "virksomhed"],
  emails: ["emails", "email", "e-mail", "mails", "modtagere", "mail"],
  reportTypes: ["reporttypes", "reporttype", "rapporttyper", "rapporttype", "rapporter"],
  group: ["group", "gruppe"],
  enabled: ["enabled", "aktiv", "active"],
  format: ["format", "filnavn", "filename"],
  language: ["language", "sprog"],
  // Routing by responsibility (customers.md): a report type's own recipients, the accountant.
  emails_Revision: ["emails_Revision"],
  emails_RevisionUdvidet: ["emails_RevisionUdvidet"],
  emails_ReelleEjere: ["emails_ReelleEjere"],
  emails_Finans: ["emails_Finans"],
  cc: ["cc", "kopi"],
  bcc: ["bcc"],
};

const fold = (text: string): string => text.toLowerCase().replace(/[\s_-]/g, "");

export function attributeForHeader(header: string): string | undefined {
  const folded = fold(header.replace(/^\uFEFF/, ""));
  for (const [attribute, aliases] of Object.entries(HEADER_ALIASES)) {
    if (aliases.some((alias) => fold(alias) === folded)) return attribute;
  }
  return undefined;
}

/** UTF-8 (with or without BOM) when the bytes are valid UTF-8, else Windows-1252. */
export function decodeText(bytes: Uint8Array): string {
  const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = hasBom ? bytes.subarray(3) : bytes;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return iconv.decode(Buffer.from(body), "win1252");
  }
}

function detectDelimiter(text: string): "," | ";" {
  const header = text.split(/\r?\n/, 1)[0] ?? "";
  return (header.match(/;/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0) ? ";" : ",";
}

export class CustomerFileError extends Error {
  override readonly name = "CustomerFileError";
}

export function parseCustomerCsv(text: string): CustomerRow[] {
  const records = parse(text, {
    delimiter: detectDelimiter(text),
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
    // csv-parse's types do not model `info: true`, which wraps each record with its position.
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [header, ...rows] = records;
  if (!header) throw new CustomerFileError("the file is empty");
  const attributes = header.record.map(attributeForHeader);
  const unknown = header.record.filter((_, index) => attributes[index] === undefined);
  if (unknown.length > 0) {
    throw new CustomerFileError(
      `line 1: unknown column(s) ${unknown.map((name) => `"${name}"`).join(", ")}; known: ${Object.keys(HEADER_ALIASES).join(", ")}`,
    );
  }
  return rows.map(({ record, info }) => {
    const raw: Record<string, unknown> = {};
    record.forEach((value, index) => {
      const attribute = attributes[index];
      // An apostrophe before a formula character is how exports keep Excel from running
      // a cell as a formula (cli/customer-views.ts): it is not part of the value.
      if (attribute !== undefined && value !== "") raw[attribute] = value.replace(/^'(?=[=+\-@\t\r])/, "");
    });
    return { line: info.lines, raw };
  });
}

export function parseCustomerJson(text: string): CustomerRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CustomerFileError(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const list = Array.isArray(data) ? data : (data as { customers?: unknown })?.customers;
  if (!Array.isArray(list))
    throw new CustomerFileError("JSON must be an array of customers (or { customers: [...] })");
  return list.map((element, index) => {
    if (typeof element !== "object" || element === null || Array.isArray(element)) {
      return { line: index + 1, raw: {} };
    }
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(element)) raw[attributeForHeader(key) ?? key] = value;
    return { line: index + 1, raw };
  });
}

export async function readCustomerFile(path: string): Promise<CustomerRow[]> {
  const text = decodeText(await readFile(path));
  return extname(path).toLowerCase() === ".json" || /^\s*[[{]/.test(text)
    ? parseCustomerJson(text)
    : parseCustomerCsv(text);
}

export type CheckedRow = CustomerRow & { result: CustomerParseResult };

/**
 * Validates every row with the same rules a run applies (`origin: "file"`: the group and
 * report types are normalised, as they are written), plus one id per file: the first row of
 * an id keeps it, every later row with that id is refused, also when the first one is
 * itself invalid (which of two rows is meant cannot be guessed, and a guess could mail one
 * company's report to the other's addresses). `options` as for parseCustomerItem.
 */
export function checkCustomerRows(
  rows: readonly CustomerRow[],
  options: ParseCustomerOptions = {},
): CheckedRow[] {
  const firstLineOfId = new Map<number, number>();
  return rows.map((row) => {
    const result = parseCustomerItem(row.raw, { ...options, origin: "file" });
    const customerId = result.ok ? result.customer.customerId : result.customerId;
    if (customerId === undefined) return { ...row, result };
    const earlier = firstLineOfId.get(customerId);
    if (earlier === undefined) {
      firstLineOfId.set(customerId, row.line);
      return { ...row, result };
    }
    const duplicate = `duplicate customerId ${customerId} (also on line ${earlier}; the first row of an id is the one used)`;
    const failure: CustomerParseResult = {
      ok: false,
      customerId,
      reason: result.ok ? duplicate : `${duplicate}; ${result.reason}`,
    };
    const cvr = result.ok ? result.customer.cvr : result.cvr;
    if (cvr !== undefined) failure.cvr = cvr;
    return { ...row, result: failure };
  });
}

/** The table item (document form: Sets become string sets) for a valid customer. */
export function customerToItem(customer: Customer): Record<string, unknown> {
  return {
    customerId: customer.customerId,
    cvr: customer.cvr,
    name: customer.name,
    emails: new Set(customer.emails),
    reportTypes: new Set(customer.reportTypes),
    group: customer.group,
    enabled: customer.enabled,
    language: customer.language,
    ...(customer.format === undefined ? {} : { format: customer.format }),
    ...Object.fromEntries(
      Object.entries(customer.emailsByType).map(([type, addresses]) => [
        emailsAttributeOf(type as ReportType),
        new Set(addresses),
      ]),
    ),
    ...(customer.cc.length === 0 ? {} : { cc: new Set(customer.cc) }),
    ...(customer.bcc.length === 0 ? {} : { bcc: new Set(customer.bcc) }),
  };
}
