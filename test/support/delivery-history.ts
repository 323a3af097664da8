/**
 * Delivery history records for tests (lambdas/shared/state/delivery-history.ts): built
 * and written through the store's own functions, as deliver-report writes them (archived,
 * then sent), so a test reads back what production would have left.
 */
import { createHash } from "node:crypto";
import {
  archivedDeliveryRecord,
  archiveLocation,
  type DeliveryRecord,
  markDeliverySent,
  type NewDelivery,
  newDeliveryId,
  putArchivedDelivery,
} from "#shared/state/delivery-history.ts";
import type { StateTable } from "#shared/state/state-table.ts";

export const ARCHIVE_BUCKET = "lasso-reports-archive-test";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A delivery as deliver-report would make it at `at`; `overrides` replace its fields. */
export function newDelivery(at: Date, overrides: Partial<NewDelivery> = {}): NewDelivery {
  const customerId = overrides.customerId ?? 1002;
  const deliveryId = overrides.deliveryId ?? newDeliveryId(at);
  const cvr = overrides.cvr ?? "34580820";
  return {
    deliveryId,
    kind: "first",
    identity: `b-1#${cvr}#Revision`,
    lassoBatchId: "b-1",
    reportType: "Revision",
    cvr,
    companyName: "Kunde ApS",
    customerId,
    customerName: "Kunde ApS",
    recipients: ["kunde@example.dk"],
    source: "poll",
    fileName: `${cvr}-Revision.pdf`,
    pdfDelivery: "attachment",
    messageSha256: sha256(`message ${deliveryId}`),
    messageBytes: 4096,
    pdfSha256: sha256(`pdf ${deliveryId}`),
    pdfBytes: 2048,
    archive: archiveLocation(ARCHIVE_BUCKET, customerId, deliveryId),
    ...overrides,
  };
}

/**
 * Writes a delivery record as deliver-report does: archived at `at`, then (unless
 * `sesMessageId` is null) sent a second later with that SES message id.
 */
export async function seedDelivery(
  table: StateTable,
  at: Date,
  options: { overrides?: Partial<NewDelivery>; sesMessageId?: string | null; retentionDays?: number } = {},
): Promise<DeliveryRecord> {
  const record = archivedDeliveryRecord(
    newDelivery(at, options.overrides),
    at,
    options.retentionDays ?? 1826,
  );
  if (!(await putArchivedDelivery(table, record))) throw new Error(`delivery ${record.deliveryId} exists`);
  if (options.sesMessageId === null) return record;
  const sesMessageId = options.sesMessageId ?? `ses-${record.deliveryId}`;
  const sentAt = new Date(at.getTime() + 1000);
  if (!(await markDeliverySent(table, record, { sesMessageId, at: sentAt }))) {
    throw new Error(`delivery ${record.deliveryId} not archived`);
  }
  return { ...record, state: "sent", sesMessageId, sentAt: sentAt.toISOString() };
}
