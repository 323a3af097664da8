/**
 * `deliveries`: what a customer received, newest first, through the state table's
 * `reportsByCustomer` index (docs/state-model.md).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { findCustomersByCvr } from "#shared/customer-reads.ts";
import { normaliseCvr } from "#shared/cvr.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { StateIndexName } from "#shared/tables.ts";
import { CliFailure } from "./errors.ts";
import { type ReportView, reportView } from "./state-views.ts";

/** The state table's index of a customer's reports (typed: a typo is a compile error). */
export const REPORTS_BY_CUSTOMER: StateIndexName = "reportsByCustomer";

export async function reportsOfCustomer(
  state: StateTable,
  customerId: number,
  limit: number,
): Promise<ReportRecord[]> {
  const out: ReportRecord[] = [];
  const pages = paginateQuery(
    { client: state.doc, pageSize: Math.min(limit, 100) },
    {
      TableName: state.tableName,
      IndexName: REPORTS_BY_CUSTOMER,
      KeyConditionExpression: "customerId = :id",
      ExpressionAttributeValues: { ":id": customerId },
      ScanIndexForward: false,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (item.recordType === "report") out.push(item as ReportRecord);
    }
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

export interface DeliveriesReport {
  customerIds: number[];
  cvr?: string;
  reports: ReportView[];
}

export async function readDeliveries(
  state: StateTable,
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  who: { customerId?: number; cvr?: string },
  limit: number,
  now: Date,
): Promise<DeliveriesReport> {
  let customerIds: number[];
  let cvr: string | undefined;
  if (who.customerId !== undefined) customerIds = [who.customerId];
  else if (who.cvr !== undefined) {
    cvr = normaliseCvr(who.cvr);
    const found = await findCustomersByCvr(customers.doc, customers.tableName, cvr);
    customerIds = [
      ...new Set(
        found.flatMap((r) =>
          r.ok ? [r.customer.customerId] : r.customerId === undefined ? [] : [r.customerId],
        ),
      ),
    ];
    if (customerIds.length === 0) throw new CliFailure(`no customer with cvr ${cvr}`);
  } else throw new CliFailure("give --customer ID or --cvr CVR");
  const records = (await Promise.all(customerIds.map((id) => reportsOfCustomer(state, id, limit)))).flat();
  const reports = records
    .sort((a, b) => (b.deliveredAt ?? b.updatedAt).localeCompare(a.deliveredAt ?? a.updatedAt))
    .slice(0, limit)
    .map((record) => reportView(record, now));
  return { customerIds, ...(cvr === undefined ? {} : { cvr }), reports };
}
