/**
 * The append-only delivery history (docs/evidence.md): one record per mail deliver-report
 * hands to SES, never overwritten by a later send of the same report (a resend adds its
 * own). Kept as long as the archive keeps the mail (`ARCHIVE_RETENTION_DAYS`), not the
 * operational records' retention.
 *
 * Key: `CUSTOMER#<customerId>` / `DELIVERY#<deliveryId>`, where the delivery id starts
 * with the compact UTC time it was made (`20261201T104512345Z-1a2b3c4d`), so one
 * customer's deliveries of a period are one key-range query, oldest first. The sparse
 * `deliveriesByMonth` index (`deliveryMonth` = `YYYY-MM`, sorted by `deliveryId`) answers
 * "every delivery of a month" without a scan.
 *
 * Life of a record: `archived` (the exact message and the PDF are in the archive, the mail
 * is about to go to SES) → `sent` (SES accepted it: `sesMessageId`, `sentAt`) or
 * `rejected` (SES refused it for good). An `archived` record that stays so names a mail
 * whose fate a crash hid: SES may or may not have accepted it (docs/evidence.md).
 * SES's later events per recipient (delivered, delayed, bounced, complained) are appended
 * to `recipientEvents` by record-ses-event; each event once (`sesEventIds`).
 */
import { randomBytes } from "node:crypto";
import { paginateQuery, type QueryCommandInput, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import type { ReportReadySource } from "../report-ready.ts";
import type { StateIndexName } from "../tables.ts";
import type { StateKey } from "./keys.ts";
import type { RecordBase } from "./records.ts";
import { conditionalWrite, getRecord, putIfAbsent, type StateTable } from "./state-table.ts";
import { normaliseEmailAddress } from "./suppression.ts";

/** What kind of send this was: the first delivery, an operator's resend, or a test send. */
export type DeliveryKind = "first" | "resend" | "test";

export type DeliveryState = "archived" | "sent" | "rejected";

/** Where one delivery's evidence is in the archive bucket. */
export interface ArchiveLocation {
  bucket: string;
  /** `customers/<customerId>/<YYYY>/<MM>/<deliveryId>/`: everything of this delivery. */
  prefix: string;
  /** The exact bytes handed to SES (RFC 5322). */
  messageKey: string;
  /** The PDF as Lasso served it. */
  pdfKey: string;
  /** The delivery record as JSON, as it stood before the send. */
  recordKey: string;
}

/** One SES event about one recipient of a delivered mail (record-ses-event). */
export interface RecipientEvent {
  recipient: string;
  /** SES's event type: Delivery, DeliveryDelay, Bounce, Complaint, Reject. */
  event: string;
  /** When SES says it happened (ISO 8601). */
  at: string;
  /** SES's words: the bounce's diagnostic, the delay's type, the SMTP response. */
  detail?: string;
}

export interface DeliveryRecord extends RecordBase {
  recordType: "delivery";
  deliveryId: string;
  /** `YYYY-MM` of the delivery id's time: the `deliveriesByMonth` index. */
  deliveryMonth: string;
  kind: DeliveryKind;
  state: DeliveryState;
  /** The report: its identity (report-ready.ts), batch, type, company. */
  identity: string;
  lassoBatchId: string;
  reportId?: string;
  reportType: ReportType;
  cvr: string;
  companyName: string;
  customerId: number;
  customerName: string;
  /** Who the mail went to (SES's destinations). */
  recipients: string[];
  /** How the report reached the delivery: poll, webhook, resend. */
  source: ReportReadySource;
  fileName: string;
  pdfDelivery: "attachment" | "link";
  /** SHA-256 (hex) of the exact message bytes and of the PDF. */
  messageSha256: string;
  messageBytes: number;
  pdfSha256: string;
  pdfBytes: number;
  archive: ArchiveLocation;
  archivedAt: string;
  sentAt?: string;
  sesMessageId?: string;
  /** Why SES refused it (state `rejected`). */
  rejectedReason?: string;
  recipientEvents?: RecipientEvent[];
  /** SES event ids already appended (a redelivered event changes nothing). */
  sesEventIds?: Set<string>;
}

/** The fields a delivery record is made with; the store adds key, times and state. */
export type NewDelivery = Omit<
  DeliveryRecord,
  | keyof RecordBase
  | "recordType"
  | "deliveryMonth"
  | "state"
  | "archivedAt"
  | "sentAt"
  | "sesMessageId"
  | "rejectedReason"
  | "recipientEvents"
  | "sesEventIds"
>;

export const deliveryKey = (customerId: number, deliveryId: string): StateKey => ({
  pk: `CUSTOMER#${customerId}`,
  sk: `DELIVERY#${deliveryId}`,
});

/** `2026-12-01T10:45:12.345Z` → `20261201T104512345Z`: sortable, and safe as an SES tag value. */
export const compactUtc = (at: Date): string => at.toISOString().replace(/[-:.]/g, "");

/** A new delivery id: the compact UTC time, then 8 random hex digits. */
export const newDeliveryId = (
  at: Date,
  random: () => string = () => randomBytes(4).toString("hex"),
): string => `${compactUtc(at)}-${random()}`;

const DELIVERY_ID = /^(\d{4})(\d{2})\d{2}T\d{9}Z-[0-9a-f]{8}$/;

/** `YYYY-MM` of a delivery id; throws on anything that is not one. */
export function deliveryMonthOf(deliveryId: string): string {
  const match = DELIVERY_ID.exec(deliveryId);
  if (match === null) throw new RangeError(`not a delivery id: ${deliveryId}`);
  return `${match[1]}-${match[2]}`;
}

/** Where a delivery's evidence goes in the archive bucket (one customer, then one month, is a prefix). */
export function archiveLocation(bucket: string, customerId: number, deliveryId: string): ArchiveLocation {
  const [year, month] = deliveryMonthOf(deliveryId).split("-");
  const prefix = `customers/${customerId}/${year}/${month}/${deliveryId}/`;
  return {
    bucket,
    prefix,
    messageKey: `${prefix}message.eml`,
    pdfKey: `${prefix}report.pdf`,
    recordKey: `${prefix}delivery.json`,
  };
}

/** The TTL of a delivery record: the archive's retention, not the operational one. */
export const deliveryExpiresAt = (archivedAt: Date, retentionDays: number): number =>
  Math.floor(archivedAt.getTime() / 1000) + retentionDays * 24 * 60 * 60;

/** The record as it is created (state `archived`), before any write. */
export function archivedDeliveryRecord(
  delivery: NewDelivery,
  archivedAt: Date,
  retentionDays: number,
): DeliveryRecord {
  const at = archivedAt.toISOString();
  return {
    ...deliveryKey(delivery.customerId, delivery.deliveryId),
    recordType: "delivery",
    ...delivery,
    deliveryMonth: deliveryMonthOf(delivery.deliveryId),
    state: "archived",
    archivedAt: at,
    createdAt: at,
    updatedAt: at,
    expiresAt: deliveryExpiresAt(archivedAt, retentionDays),
  };
}

/** Creates the record; false when one with its id exists already (never overwritten). */
export async function putArchivedDelivery(table: StateTable, record: DeliveryRecord): Promise<boolean> {
  return putIfAbsent(table, record);
}

/** Settles an `archived` record as `to`, setting `values`; false when it is not `archived`. */
async function settleArchived(
  table: StateTable,
  key: { customerId: number; deliveryId: string },
  to: Exclude<DeliveryState, "archived">,
  values: Record<string, string>,
): Promise<boolean> {
  const names = Object.keys(values);
  return conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: deliveryKey(key.customerId, key.deliveryId),
        UpdateExpression: `SET #state = :to, ${names.map((_, i) => `#v${i} = :v${i}`).join(", ")}`,
        ConditionExpression: "#state = :archived",
        ExpressionAttributeNames: {
          "#state": "state",
          ...Object.fromEntries(names.map((name, i) => [`#v${i}`, name])),
        },
        ExpressionAttributeValues: {
          ":to": to,
          ":archived": "archived",
          ...Object.fromEntries(names.map((name, i) => [`:v${i}`, values[name]])),
        },
      }),
    ),
  );
}

/** `archived` → `sent`, with SES's message id. False when the record is not `archived`. */
export async function markDeliverySent(
  table: StateTable,
  key: { customerId: number; deliveryId: string },
  sent: { sesMessageId: string; at: Date },
): Promise<boolean> {
  const at = sent.at.toISOString();
  return settleArchived(table, key, "sent", { sesMessageId: sent.sesMessageId, sentAt: at, updatedAt: at });
}

/** `archived` → `rejected` (SES refused the message for good). */
export async function markDeliveryRejected(
  table: StateTable,
  key: { customerId: number; deliveryId: string },
  rejected: { reason: string; at: Date },
): Promise<boolean> {
  return settleArchived(table, key, "rejected", {
    rejectedReason: rejected.reason,
    updatedAt: rejected.at.toISOString(),
  });
}

/** Every delivery record a query finds, all pages, in the query's order. */
async function queryDeliveries(
  table: StateTable,
  query: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
): Promise<DeliveryRecord[]> {
  const out: DeliveryRecord[] = [];
  for await (const page of paginateQuery({ client: table.doc }, { ...query, TableName: table.tableName })) {
    for (const item of page.Items ?? []) if (item.recordType === "delivery") out.push(item as DeliveryRecord);
  }
  return out;
}

/** One customer's deliveries whose ids fall in [from, to) (UTC), oldest first. */
export async function listCustomerDeliveries(
  table: StateTable,
  customerId: number,
  period: { from?: Date; to?: Date } = {},
): Promise<DeliveryRecord[]> {
  const low = `DELIVERY#${period.from === undefined ? "" : compactUtc(period.from)}`;
  // "~" sorts after every character of a delivery id.
  const high = `DELIVERY#${period.to === undefined ? "~" : compactUtc(period.to)}`;
  const records = await queryDeliveries(table, {
    KeyConditionExpression: "pk = :pk AND sk BETWEEN :low AND :high",
    ExpressionAttributeValues: { ":pk": `CUSTOMER#${customerId}`, ":low": low, ":high": high },
    ConsistentRead: true,
  });
  return period.to === undefined ? records : records.filter((record) => record.sk < high);
}

export const DELIVERIES_BY_MONTH: StateIndexName = "deliveriesByMonth";

/** Every delivery of one month (`YYYY-MM`, by delivery id's UTC time), oldest first. */
export async function listDeliveriesOfMonth(table: StateTable, month: string): Promise<DeliveryRecord[]> {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new RangeError(`not a month (YYYY-MM): ${month}`);
  return queryDeliveries(table, {
    IndexName: DELIVERIES_BY_MONTH,
    KeyConditionExpression: "deliveryMonth = :month",
    ExpressionAttributeValues: { ":month": month },
  });
}

/** The `recipient` of an event about the whole message (a reject whose event names no destination). */
export const ALL_RECIPIENTS = "*";

/**
 * Each recipient's latest outcome: the last event SES dated for it (or for the whole
 * message), in SES's time order; undefined for a recipient SES has said nothing about.
 */
export function latestOutcomes(
  record: Pick<DeliveryRecord, "recipients" | "recipientEvents">,
): Map<string, RecipientEvent | undefined> {
  const events = [...(record.recipientEvents ?? [])].sort((a, b) => a.at.localeCompare(b.at));
  const latest = new Map<string, RecipientEvent | undefined>();
  for (const recipient of record.recipients) {
    const own = events.filter(
      (event) => event.recipient === ALL_RECIPIENTS || event.recipient === normaliseEmailAddress(recipient),
    );
    latest.set(recipient, own.at(-1));
  }
  return latest;
}

/** What appending one SES event to a delivery record did. */
export type AppendOutcome =
  /** The events are on the record now. */
  | "appended"
  /** The record had this event already (SES or EventBridge handed it over again): nothing changed. */
  | "duplicate"
  /** No delivery record has this key (deleted, expired, or a tag we did not write). */
  | "missing";

/**
 * Appends one SES event's recipient outcomes to a delivery record, once: a single
 * conditional UpdateItem that adds `eventId` to `sesEventIds` and the events to
 * `recipientEvents` only when the record exists and does not hold that id yet. Whatever
 * state the record is in (an event may overtake `markDeliverySent`). On a refusal, one
 * consistent read tells a duplicate from a missing record.
 */
export async function appendRecipientEvents(
  table: StateTable,
  key: { customerId: number; deliveryId: string },
  event: { eventId: string; events: readonly RecipientEvent[]; at: Date },
): Promise<AppendOutcome> {
  const recordKey = deliveryKey(key.customerId, key.deliveryId);
  const written = await conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: recordKey,
        UpdateExpression:
          "SET recipientEvents = list_append(if_not_exists(recipientEvents, :none), :events), updatedAt = :at ADD sesEventIds :ids",
        ConditionExpression:
          "attribute_exists(pk) AND recordType = :delivery AND NOT contains(sesEventIds, :id)",
        ExpressionAttributeValues: {
          ":none": [],
          ":events": [...event.events],
          ":at": event.at.toISOString(),
          ":ids": new Set([event.eventId]),
          ":id": event.eventId,
          ":delivery": "delivery",
        },
      }),
    ),
  );
  if (written) return "appended";
  return (await getRecord<DeliveryRecord>(table, recordKey, "delivery")) === undefined
    ? "missing"
    : "duplicate";
}
