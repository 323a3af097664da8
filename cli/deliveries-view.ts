/**
 * `deliveries`: what a customer received. Two sources in the state table
 * (docs/state-model.md):
 * - the delivery history (`CUSTOMER#<id>` / `DELIVERY#…`): every mail handed to SES, its
 *   own record per send (a resend adds one), with each recipient's outcome as SES reported
 *   it and where the archive keeps the exact message;
 * - the report records (`reportsByCustomer` index): each report's latest state, which also
 *   covers what was never mailed (waiting, failed, unroutable) and mails sent before the
 *   history was kept.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { paginateQuery } from "@aws-sdk/lib-dynamodb";
import { findCustomersByCvr } from "#shared/customer-reads.ts";
import { normaliseCvr } from "#shared/cvr.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import {
  type ArchiveLocation,
  type DeliveryKind,
  type DeliveryRecord,
  type DeliveryState,
  latestOutcomes,
  listCustomerDeliveries,
} from "#shared/state/delivery-history.ts";
import type { ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import type { StateIndexName } from "#shared/tables.ts";
import { CliFailure } from "./errors.ts";
import { inPeriod, type Period } from "./period.ts";
import { type ReportView, reportView } from "./state-views.ts";

/** The state table's index of a customer's reports (typed: a typo is a compile error). */
export const REPORTS_BY_CUSTOMER: StateIndexName = "reportsByCustomer";

/** A customer's report records, newest first, up to `limit` of those `keep` accepts. */
export async function reportsOfCustomer(
  state: StateTable,
  customerId: number,
  limit: number,
  keep: (record: ReportRecord) => boolean = () => true,
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
      if (item.recordType === "report" && keep(item as ReportRecord)) out.push(item as ReportRecord);
    }
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

/** One recipient of a send and the last thing SES said about it. */
export interface RecipientOutcome {
  address: string;
  /** SES's event type (Delivery, DeliveryDelay, Bounce, Complaint, Reject); absent: nothing yet. */
  outcome?: string;
  at?: string;
  detail?: string;
}

/** One send from the delivery history. */
export interface DeliveryView {
  deliveryId: string;
  customerId: number;
  customerName: string;
  kind: DeliveryKind;
  state: DeliveryState;
  reportType: ReportType;
  cvr: string;
  companyName: string;
  lassoBatchId: string;
  identity: string;
  source: string;
  recipients: RecipientOutcome[];
  archivedAt: string;
  sentAt?: string;
  sesMessageId?: string;
  rejectedReason?: string;
  /** When SES reported the last recipient delivered (all recipients delivered), else absent. */
  deliveredAt?: string;
  pdfSha256: string;
  messageSha256: string;
  fileName: string;
  archive: ArchiveLocation;
}

export function deliveryView(record: DeliveryRecord): DeliveryView {
  const recipients = [...latestOutcomes(record)].map(
    ([address, event]): RecipientOutcome => ({
      address,
      ...(event === undefined
        ? {}
        : {
            outcome: event.event,
            at: event.at,
            ...(event.detail === undefined ? {} : { detail: event.detail }),
          }),
    }),
  );
  const allDelivered = recipients.length > 0 && recipients.every((r) => r.outcome === "Delivery");
  const deliveredAt = allDelivered
    ? recipients
        .map((r) => r.at ?? "")
        .sort()
        .at(-1)
    : undefined;
  return {
    deliveryId: record.deliveryId,
    customerId: record.customerId,
    customerName: record.customerName,
    kind: record.kind,
    state: record.state,
    reportType: record.reportType,
    cvr: record.cvr,
    companyName: record.companyName,
    lassoBatchId: record.lassoBatchId,
    identity: record.identity,
    source: record.source,
    recipients,
    archivedAt: record.archivedAt,
    ...(record.sentAt === undefined ? {} : { sentAt: record.sentAt }),
    ...(record.sesMessageId === undefined ? {} : { sesMessageId: record.sesMessageId }),
    ...(record.rejectedReason === undefined ? {} : { rejectedReason: record.rejectedReason }),
    ...(deliveredAt === undefined ? {} : { deliveredAt }),
    pdfSha256: record.pdfSha256,
    messageSha256: record.messageSha256,
    fileName: record.fileName,
    archive: record.archive,
  };
}

/** What to list: the period, and optionally one report type and one company. */
export interface DeliveryFilter {
  period: Period;
  reportType?: ReportType;
  cvr?: string;
}

const matches = (filter: DeliveryFilter, item: { reportType: ReportType; cvr: string }): boolean =>
  (filter.reportType === undefined || item.reportType === filter.reportType) &&
  (filter.cvr === undefined || item.cvr === filter.cvr);

/** One customer's sends in the period, filtered, oldest first (the history's own order). */
export async function historyOfCustomer(
  state: StateTable,
  customerId: number,
  filter: DeliveryFilter,
): Promise<DeliveryRecord[]> {
  const records = await listCustomerDeliveries(state, customerId, filter.period);
  // A test send (test-send) went to the firm, not the customer: it is no delivery.
  return records.filter((record) => record.kind !== "test" && matches(filter, record));
}

export interface DeliveriesReport {
  customerIds: number[];
  cvr?: string;
  reportType?: ReportType;
  from?: string;
  to?: string;
  /** Every send in the history (newest first), up to the limit. */
  deliveries: DeliveryView[];
  /** How many sends the history holds for the filter (more than shown when the limit cut). */
  deliveriesTotal: number;
  /** Each report's latest state (newest first), as before the history existed. */
  reports: ListedReport[];
}

/** A report's latest state, and whether the history holds a send of it. */
export type ListedReport = ReportView & { identity: string; inHistory: boolean };

/** The customers `--cvr` names (customers table, `byCvr`); none is a failure. */
async function customersWithCvr(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  cvr: string,
): Promise<number[]> {
  const found = await findCustomersByCvr(customers.doc, customers.tableName, cvr);
  const ids = [
    ...new Set(
      found.flatMap((r) =>
        r.ok ? [r.customer.customerId] : r.customerId === undefined ? [] : [r.customerId],
      ),
    ),
  ];
  if (ids.length === 0) throw new CliFailure(`no customer with cvr ${cvr}`);
  return ids;
}

export async function readDeliveries(
  state: StateTable,
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  who: { customerId?: number; cvr?: string },
  filter: Omit<DeliveryFilter, "cvr">,
  limit: number,
  now: Date,
): Promise<DeliveriesReport> {
  const cvr = who.cvr === undefined ? undefined : normaliseCvr(who.cvr);
  let customerIds: number[];
  if (who.customerId !== undefined) customerIds = [who.customerId];
  else if (cvr !== undefined) customerIds = await customersWithCvr(customers, cvr);
  else throw new CliFailure("give --customer ID or --cvr CVR");
  const full: DeliveryFilter = { ...filter, ...(cvr === undefined ? {} : { cvr }) };

  const history = (await Promise.all(customerIds.map((id) => historyOfCustomer(state, id, full))))
    .flat()
    .sort((a, b) => b.deliveryId.localeCompare(a.deliveryId));
  // Filtered while read, so the limit counts only reports that match.
  const wanted = (record: ReportRecord): boolean =>
    matches(full, record) && inPeriod(full.period, record.deliveredAt ?? record.updatedAt);
  const records = (
    await Promise.all(customerIds.map((id) => reportsOfCustomer(state, id, limit, wanted)))
  ).flat();
  const reports = records
    .sort((a, b) => (b.deliveredAt ?? b.updatedAt).localeCompare(a.deliveredAt ?? a.updatedAt))
    .slice(0, limit);
  const sent = new Set(history.map((record) => record.identity));
  return {
    customerIds,
    ...(cvr === undefined ? {} : { cvr }),
    ...(filter.reportType === undefined ? {} : { reportType: filter.reportType }),
    ...(filter.period.from === undefined ? {} : { from: filter.period.from.toISOString() }),
    ...(filter.period.to === undefined ? {} : { to: filter.period.to.toISOString() }),
    deliveries: history.slice(0, limit).map(deliveryView),
    deliveriesTotal: history.length,
    reports: reports.map((record) => ({
      ...reportView(record, now),
      identity: record.identity,
      inHistory: sent.has(record.identity),
    })),
  };
}
