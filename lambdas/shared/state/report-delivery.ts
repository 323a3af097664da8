/**
 * The delivery's side of the report record (`REPORT#<identity>`, docs/state-model.md):
 * claim, release, and record the outcome; each a single-item conditional write.
 *
 * - {@link claimReport} takes the report when no delivery has an outcome or a live claim
 *   on it; the record is created if the poller has not made it yet (an update creates).
 *   An operator's re-send may take a report with an outcome, once per resend key.
 * - {@link releaseClaim} gives a claim back after a retryable failure, so the queue's retry
 *   can take it again at once.
 * - {@link recordOutcome} writes delivered / failed / unroutable for the claim's holder.
 *
 * A claim lasts until the invocation's own deadline: past it the holder is gone for sure,
 * and its message (never deleted) comes back only after the visibility timeout, which SQS
 * requires to be at least the function's timeout. So a live claim of someone else means
 * "being delivered", and an expired one can be taken over.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ItemStatus, ReportType } from "../lasso/enums.ts";
import type { ReportReadySource } from "../report-ready.ts";
import { reportKey } from "./keys.ts";
import type { DeliveryStatus, ReportRecord } from "./records.ts";
import {
  conditionalWrite,
  expiresAt,
  getRecord,
  isConditionalCheckFailed,
  type StateTable,
} from "./state-table.ts";

export interface ClaimRequest {
  identity: string;
  lassoBatchId: string;
  cvr: string;
  reportType: ReportType;
  reportId?: string;
  itemStatus: ItemStatus;
  fileName?: string;
  source: ReportReadySource;
  /** Random per attempt: only its holder may release or complete the claim. */
  claimToken: string;
  /**
   * An operator's re-send: may claim a report whatever its outcome (delivered, failed,
   * unroutable), but only once per key (the resend message's own id), so a redelivered
   * resend message mails once.
   */
  resendKey?: string;
  now: Date;
  claimUntil: Date;
}

export type ClaimResult =
  | { claimed: true; attempt: number }
  | { claimed: false; record: ReportRecord | undefined };

/** Builds `SET a = :a, ...` with placeholders for every name (no reserved-word surprises). */
function setExpression(values: Record<string, unknown>, ifNotExists: readonly string[] = []) {
  const names: Record<string, string> = {};
  const exprValues: Record<string, unknown> = {};
  const parts: string[] = [];
  let i = 0;
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const n = `#s${i}`;
    const v = `:s${i}`;
    i++;
    names[n] = name;
    exprValues[v] = value;
    parts.push(ifNotExists.includes(name) ? `${n} = if_not_exists(${n}, ${v})` : `${n} = ${v}`);
  }
  return { set: parts.join(", "), names, values: exprValues };
}

export async function getReportRecord(
  table: StateTable,
  identity: string,
): Promise<ReportRecord | undefined> {
  return getRecord<ReportRecord>(table, reportKey(identity), "report");
}

/**
 * Claims the report for one delivery attempt. Not claimed when it already has an outcome
 * (delivered, failed, unroutable, bounced) or another attempt's claim is still live; the
 * record is returned then, so the caller can say which.
 */
export async function claimReport(table: StateTable, request: ClaimRequest): Promise<ClaimResult> {
  const nowIso = request.now.toISOString();
  const { set, names, values } = setExpression(
    {
      recordType: "report",
      identity: request.identity,
      lassoBatchId: request.lassoBatchId,
      cvr: request.cvr,
      reportType: request.reportType,
      reportId: request.reportId,
      itemStatus: request.itemStatus,
      fileName: request.fileName,
      createdAt: nowIso,
      expiresAt: expiresAt(table, request.now),
      updatedAt: nowIso,
      deliveryStatus: "claimed",
      claimUntil: request.claimUntil.toISOString(),
      claimToken: request.claimToken,
      source: request.source,
    },
    ["createdAt", "expiresAt"],
  );
  const liveClaim = "(#status = :claimed AND #until >= :now)";
  const condition =
    request.resendKey === undefined
      ? "attribute_not_exists(#status) OR (#status = :claimed AND #until < :now)"
      : `(attribute_not_exists(#status) OR NOT ${liveClaim}) AND (attribute_not_exists(#resendKey) OR #resendKey <> :resendKey)`;
  const resendNames: Record<string, string> =
    request.resendKey === undefined ? {} : { "#resendKey": "resendKey" };
  const resendValues: Record<string, unknown> =
    request.resendKey === undefined ? {} : { ":resendKey": request.resendKey };
  try {
    const result = await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(request.identity),
        UpdateExpression: `SET ${set} ADD #attempts :one`,
        ConditionExpression: condition,
        ExpressionAttributeNames: {
          ...names,
          ...resendNames,
          "#attempts": "deliveryAttempts",
          "#status": "deliveryStatus",
          "#until": "claimUntil",
        },
        ExpressionAttributeValues: {
          ...values,
          ...resendValues,
          ":one": 1,
          ":claimed": "claimed",
          ":now": nowIso,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    const attempt = Number(result.Attributes?.deliveryAttempts ?? 1);
    return { claimed: true, attempt };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return { claimed: false, record: await getReportRecord(table, request.identity) };
  }
}

/**
 * Gives the claim back after a retryable failure (the message will be retried). False
 * when the claim was no longer ours (taken over after it expired).
 */
export async function releaseClaim(
  table: StateTable,
  identity: string,
  claimToken: string,
  now: Date,
  lastError: string,
): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(identity),
        UpdateExpression: "SET #updated = :now, #lastError = :error REMOVE #status, #until, #token",
        ConditionExpression: "#token = :token AND #status = :claimed",
        ExpressionAttributeNames: {
          "#updated": "updatedAt",
          "#lastError": "lastError",
          "#status": "deliveryStatus",
          "#until": "claimUntil",
          "#token": "claimToken",
        },
        ExpressionAttributeValues: {
          ":now": now.toISOString(),
          ":error": lastError.slice(0, 1000),
          ":token": claimToken,
          ":claimed": "claimed",
        },
      }),
    ),
  );
}

export interface OutcomeRequest {
  identity: string;
  claimToken: string;
  status: Exclude<DeliveryStatus, "claimed" | "bounced">;
  now: Date;
  reason?: string;
  customerId?: number;
  recipients?: readonly string[];
  sesMessageId?: string;
  /** The delivery history record of the mail that went out (state/delivery-history.ts). */
  deliveryId?: string;
  source?: ReportReadySource;
  fileName?: string;
  pdfDelivery?: "attachment" | "link";
  /**
   * The operator resend this outcome settles. Written with the outcome, not the claim: a
   * resend whose attempt failed and was released must be able to claim again.
   */
  resendKey?: string;
}

export type OutcomeResult = "recorded" | "recorded-after-takeover" | "already-recorded";

/**
 * Records the outcome of our claim. When the claim is no longer ours (we overran it and
 * another attempt took over), the outcome is still written unless some attempt already
 * recorded one: a sent mail must be on record.
 */
export async function recordOutcome(table: StateTable, request: OutcomeRequest): Promise<OutcomeResult> {
  const nowIso = request.now.toISOString();
  const { set, names, values } = setExpression({
    deliveryStatus: request.status,
    updatedAt: nowIso,
    outcomeAt: nowIso,
    reason: request.reason?.slice(0, 2000),
    customerId: request.customerId,
    recipients: request.recipients === undefined ? undefined : [...request.recipients],
    sesMessageId: request.sesMessageId,
    deliveryId: request.deliveryId,
    deliveredAt: request.status === "delivered" ? nowIso : undefined,
    source: request.source,
    fileName: request.fileName,
    pdfDelivery: request.pdfDelivery,
    resendKey: request.resendKey,
  });
  const write = (condition: string, extraValues: Record<string, unknown>) =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(request.identity),
        // Lasso's facts a read kept for the ring (its pdf link a capability) are not needed now.
        UpdateExpression: `SET ${set} REMOVE #until, #token, #ready`,
        ConditionExpression: condition,
        ExpressionAttributeNames: {
          ...names,
          "#until": "claimUntil",
          "#token": "claimToken",
          "#ready": "ready",
          "#state": "deliveryStatus",
        },
        ExpressionAttributeValues: { ...values, ...extraValues },
      }),
    );
  try {
    await write("#token = :token AND #state = :claimed", {
      ":token": request.claimToken,
      ":claimed": "claimed",
    });
    return "recorded";
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  try {
    await write("attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :claimed)", {
      ":claimed": "claimed",
    });
    return "recorded-after-takeover";
  } catch (error) {
    if (isConditionalCheckFailed(error)) return "already-recorded";
    throw error;
  }
}

/**
 * Counts one more arrival of a report that was already claimed (a webhook duplicate, the
 * poller's copy, an SQS redelivery): operators see how often "once" was defended. Best
 * effort: the record exists whenever a claim was refused.
 */
export async function countDuplicateSkipped(table: StateTable, identity: string, now: Date): Promise<void> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(identity),
        UpdateExpression: "SET #updated = :now ADD #duplicates :one",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: { "#updated": "updatedAt", "#duplicates": "duplicatesSkipped" },
        ExpressionAttributeValues: { ":now": now.toISOString(), ":one": 1 },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}
