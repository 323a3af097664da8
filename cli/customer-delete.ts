/**
 * `customers delete ID…`: removes customers from the table. The stored rows are read first
 * (strongly consistent) so the confirmation names what goes; ids without a row are reported.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { deleteCustomerItems, getCustomerItems } from "#shared/customer-store.ts";

export interface DeletedCustomer {
  customerId: number;
  cvr?: string;
  name?: string;
}

export interface DeleteReport {
  /** Deleted (or, when refused, the ones that would have been). */
  deleted: DeletedCustomer[];
  /** Ids that have no customer. */
  notFound: number[];
  /** True when the table was written. */
  written: boolean;
  refused?: string;
}

export async function deleteCustomers(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  ids: readonly number[],
  confirm: (found: readonly DeletedCustomer[]) => Promise<boolean>,
): Promise<DeleteReport> {
  const unique = [...new Set(ids)];
  const stored = await getCustomerItems(customers.doc, customers.tableName, unique);
  const report: DeleteReport = { deleted: [], notFound: [], written: false };
  for (const customerId of unique) {
    const item = stored.get(customerId);
    if (item === undefined) {
      report.notFound.push(customerId);
      continue;
    }
    const row: DeletedCustomer = { customerId };
    if (typeof item.cvr === "string") row.cvr = item.cvr;
    if (typeof item.name === "string") row.name = item.name;
    report.deleted.push(row);
  }
  if (report.deleted.length === 0) return report;
  if (!(await confirm(report.deleted))) {
    report.refused = "not confirmed (give --yes in scripts): nothing deleted";
    return report;
  }
  await deleteCustomerItems(
    customers.doc,
    customers.tableName,
    report.deleted.map((row) => row.customerId),
  );
  report.written = true;
  return report;
}
