/**
 * `statement`: a delivery statement an auditor can read (docs/evidence.md): for one
 * customer and a period, or for every customer and one month, each send from the delivery
 * history with its report type, company, recipients, sent and delivered times, SES message
 * id and the PDF's SHA-256. This file reads and shapes it; statement-pdf.ts and
 * statement-csv.ts render it.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { getCustomer } from "#shared/customer-reads.ts";
import {
  type DeliveryRecord,
  listCustomerDeliveries,
  listDeliveriesOfMonth,
} from "#shared/state/delivery-history.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { type DeliveryView, deliveryView } from "./deliveries-view.ts";
import { describePeriod, type Period } from "./period.ts";

export interface StatementCustomer {
  customerId: number;
  /** As the latest delivery of the statement names it (else the customers table's row). */
  customerName: string;
  /** Oldest first. */
  deliveries: DeliveryView[];
}

export interface Statement {
  firm: string;
  /** `customer`: one customer's period; `all`: every customer's month. */
  scope: "customer" | "all";
  from?: string;
  to?: string;
  /** The period as people read it (both days included, UTC). */
  periodLabel: string;
  generatedAt: string;
  customers: StatementCustomer[];
  deliveryCount: number;
}

export type StatementRequest =
  | { scope: "customer"; customerId: number; period: Period }
  | { scope: "all"; month: string; period: Period };

function byCustomer(records: readonly DeliveryRecord[]): Map<number, DeliveryRecord[]> {
  const grouped = new Map<number, DeliveryRecord[]>();
  for (const record of records)
    grouped.set(record.customerId, [...(grouped.get(record.customerId) ?? []), record]);
  return grouped;
}

async function customerNameOf(
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  customerId: number,
  records: readonly DeliveryRecord[],
): Promise<string> {
  const latest = records.at(-1)?.customerName;
  if (latest !== undefined) return latest;
  const row = await getCustomer(customers.doc, customers.tableName, customerId);
  if (row?.ok) return row.customer.name;
  return "(not in the customers table)";
}

export async function readStatement(
  state: StateTable,
  customers: { doc: DynamoDBDocumentClient; tableName: string },
  request: StatementRequest,
  firm: string,
  now: Date,
): Promise<Statement> {
  const all =
    request.scope === "customer"
      ? await listCustomerDeliveries(state, request.customerId, request.period)
      : await listDeliveriesOfMonth(state, request.month);
  // Test sends (test-send) went to the firm's own address: no delivery to the customer.
  const records = all.filter((record) => record.kind !== "test");
  const grouped = byCustomer([...records].sort((a, b) => a.deliveryId.localeCompare(b.deliveryId)));
  if (request.scope === "customer" && !grouped.has(request.customerId)) grouped.set(request.customerId, []);
  const list: StatementCustomer[] = [];
  for (const customerId of [...grouped.keys()].sort((a, b) => a - b)) {
    const own = grouped.get(customerId) ?? [];
    list.push({
      customerId,
      customerName: await customerNameOf(customers, customerId, own),
      deliveries: own.map(deliveryView),
    });
  }
  return {
    firm,
    scope: request.scope,
    ...(request.period.from === undefined ? {} : { from: request.period.from.toISOString() }),
    ...(request.period.to === undefined ? {} : { to: request.period.to.toISOString() }),
    periodLabel: describePeriod(request.period),
    generatedAt: now.toISOString(),
    customers: list,
    deliveryCount: records.length,
  };
}

/** `2026-12-15T08:00:03.000Z` → `2026-12-15 08:00:03 UTC`. */
export const readableTime = (iso: string | undefined): string =>
  iso === undefined ? "" : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** What a recipient's latest outcome says, for people. */
export function outcomeText(outcome: string | undefined): string {
  switch (outcome) {
    case undefined:
      return "no SES event yet";
    case "Delivery":
      return "delivered";
    case "DeliveryDelay":
      return "delayed (SES still trying)";
    case "Bounce":
      return "bounced";
    case "Complaint":
      return "complained (marked as spam)";
    case "Reject":
      return "rejected by SES";
    default:
      return outcome;
  }
}

/** A send's state, for people. */
export function stateText(delivery: Pick<DeliveryView, "state" | "rejectedReason">): string {
  switch (delivery.state) {
    case "sent":
      return "sent (accepted by SES)";
    case "rejected":
      return `refused by SES${delivery.rejectedReason === undefined ? "" : `: ${delivery.rejectedReason}`}`;
    case "archived":
      return "archived; SES's answer was not recorded (see docs/evidence.md)";
  }
}
