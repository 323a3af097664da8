/**
 * Suppressed recipient addresses (docs/state-model.md): SES reported a permanent bounce
 * or a complaint for them, so the delivery skips them and reports the skip. Written by
 * record-ses-event, read by deliver-report, removed by an operator once the customer's
 * address is fixed (docs/operations.md). Suppressions do not expire: an address that
 * bounced stays skipped until a human says otherwise.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { suppressionKey } from "./keys.ts";
import { batchGetConsistent, getRecord, type StateTable } from "./state-table.ts";

export const SUPPRESSION_REASONS = ["bounce", "complaint"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface SuppressionRecord {
  pk: string;
  sk: string;
  recordType: "suppression";
  /** The normalised address. */
  email: string;
  /** The latest reason SES gave. */
  reason: SuppressionReason;
  /** SES's words: bounce type/subtype and diagnostic, or the complaint feedback type. */
  detail: string;
  /** The SES message id of the mail that bounced or was complained about (the latest). */
  sesMessageId: string;
  /** Our message tags on that mail (customer, batch, report type), when it had any. */
  mailTags?: Record<string, string>;
  /** When SES saw the bounce or complaint (the latest). */
  eventAt: string;
  /** SES feedback ids seen: a redelivered event changes nothing. */
  feedbackIds: Set<string>;
  createdAt: string;
  updatedAt: string;
}

export interface SuppressionEntry {
  email: string;
  reason: SuppressionReason;
  detail: string;
  sesMessageId: string;
  mailTags?: Record<string, string>;
  eventAt: string;
  /** SES's id of this bounce or complaint (or the message id when it has none). */
  feedbackId: string;
}

/**
 * The form addresses are keyed by: `Name <a@b>` reduced to `a@b`, trimmed, lower case
 * (SES, like every mailbox provider we send to, treats addresses case-insensitively).
 */
export function normaliseEmailAddress(address: string): string {
  const angled = /<([^<>]+)>\s*$/.exec(address);
  return (angled?.[1] ?? address).trim().toLowerCase();
}

/**
 * Records (or refreshes) one suppression: a single-item upsert, idempotent for a
 * redelivered event (its feedback id is already in the set).
 */
export async function recordSuppression(
  table: StateTable,
  entry: SuppressionEntry,
  now: Date,
): Promise<void> {
  const email = normaliseEmailAddress(entry.email);
  const names: Record<string, string> = {
    "#recordType": "recordType",
    "#email": "email",
    "#reason": "reason",
    "#detail": "detail",
    "#sesMessageId": "sesMessageId",
    "#eventAt": "eventAt",
    "#feedbackIds": "feedbackIds",
    "#createdAt": "createdAt",
    "#updatedAt": "updatedAt",
  };
  const values: Record<string, unknown> = {
    ":recordType": "suppression",
    ":email": email,
    ":reason": entry.reason,
    ":detail": entry.detail,
    ":sesMessageId": entry.sesMessageId,
    ":eventAt": entry.eventAt,
    ":feedbackIds": new Set([entry.feedbackId]),
    ":now": now.toISOString(),
  };
  const sets = [
    "#recordType = :recordType",
    "#email = :email",
    "#reason = :reason",
    "#detail = :detail",
    "#sesMessageId = :sesMessageId",
    "#eventAt = :eventAt",
    "#createdAt = if_not_exists(#createdAt, :now)",
    "#updatedAt = :now",
  ];
  if (entry.mailTags !== undefined && Object.keys(entry.mailTags).length > 0) {
    names["#mailTags"] = "mailTags";
    values[":mailTags"] = entry.mailTags;
    sets.push("#mailTags = :mailTags");
  }
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: suppressionKey(email),
      UpdateExpression: `SET ${sets.join(", ")} ADD #feedbackIds :feedbackIds`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** The suppression of an address, if it has one. */
export async function getSuppression(
  table: StateTable,
  email: string,
): Promise<SuppressionRecord | undefined> {
  return getRecord<SuppressionRecord>(table, suppressionKey(normaliseEmailAddress(email)), "suppression");
}

/**
 * The normalised addresses among `emails` that the delivery must skip: one read for all of
 * a mail's recipients (a BatchGetItem, strongly consistent), not one per address.
 */
export async function suppressedAmong(table: StateTable, emails: readonly string[]): Promise<Set<string>> {
  const addresses = [...new Set(emails.map(normaliseEmailAddress))];
  if (addresses.length === 0) return new Set();
  const found = await batchGetConsistent(table, addresses.map(suppressionKey), {
    expression: "#pk, #recordType",
    names: { "#pk": "pk", "#recordType": "recordType" },
  });
  // Matched by key, as asked: what a record says of itself does not decide whom it covers.
  const suppressedKeys = new Set(
    found.flatMap((item) => (item.recordType === "suppression" ? [item.pk] : [])),
  );
  return new Set(addresses.filter((address) => suppressedKeys.has(suppressionKey(address).pk)));
}
