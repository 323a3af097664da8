/**
 * Hand-off of finished reports to the report-ready queue, once per report identity
 * (docs/polling.md). Used by every read of Lasso's item list (the poller's, a ring's).
 *
 * 1. read the report records (consistent reads): reports already handed on, or with a
 *    delivery on record (a ring delivered them in place), are not sent again;
 * 2. in a batch Lasso rings a webhook for (`holdMs` > 0), a report is first only *seen*:
 *    Lasso's facts are written on its record (`seenAt`, `ready`) and its own ring delivers
 *    it from them, without a queue message of its own (deliver-report/doorbell.ts). It is
 *    held for `holdMs` after it was first seen; still without a delivery then (the webhook
 *    was lost), it is sent like any other;
 * 3. send the rest (trySendReportReady, 10 per call);
 * 4. for each message SQS accepted, write `handedOnAt` on `REPORT#<identity>` with the
 *    condition that it is absent.
 *
 * The marker is written after SQS accepted the message, never before: a crash between the
 * two re-sends the report at the next poll (one duplicate message, which the delivery's
 * claim on the same record absorbs), whereas the other order could lose it. Two senders
 * racing on one report (the poller and a webhook) can likewise both send; the conditional
 * write tells the loser (`raced`).
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import type { ReportReadyMessage } from "../report-ready.ts";
import { type RejectedMessage, type ReportReadyQueue, trySendReportReady } from "../report-ready-queue.ts";
import { reportKey } from "./keys.ts";
import type { ReportRecord } from "./records.ts";
import {
  batchGetConsistent,
  expiresAt,
  isConditionalCheckFailed,
  putIfAbsent,
  type StateTable,
} from "./state-table.ts";

export interface HandOffEntry {
  /** reportIdentity(...) of the report. */
  identity: string;
  /** The report type that went into the identity (the message's may be absent). */
  reportType: ReportType;
  message: ReportReadyMessage;
}

export interface HandOffResult {
  /** Sent now and marked: this call handed them on. */
  handedOn: HandOffEntry[];
  /** Already marked before this call: not sent. */
  alreadyHandedOn: HandOffEntry[];
  /** Sent, but another sender marked them first: one duplicate message, absorbed by the delivery. */
  raced: HandOffEntry[];
  /** Sent, but the marker could not be written: they will be sent again (see the module doc). */
  unmarked: { entry: HandOffEntry; reason: string }[];
  /** Not accepted by SQS (or invalid): not marked, so the next poll tries again. */
  notHandedOn: { entry: HandOffEntry; rejection: RejectedMessage }[];
  /** Seen, and held for their own ring (step 2), with when they were first seen. */
  held: (HandOffEntry & { seenAt: string })[];
}

/** What a read needs to know of a report's record to hand it on or hold it. */
export interface HandOffState {
  /** Handed on, or a delivery on record that is not an expired claim. */
  done: boolean;
  /** When a read first saw it finished (and wrote Lasso's facts on the record). */
  seenAt?: string;
}

/** Marker writes in flight at once. */
const MARK_PARALLELISM = 10;
/** Longest Lasso text kept on a report record. */
const MAX_LASSO_MESSAGE = 1000;

/**
 * Each identity's hand-off state (of those given that have a record). Consistent reads.
 * An expired claim is not a delivery: its attempt crashed or gave up.
 */
export async function handOffStates(
  table: StateTable,
  identities: readonly string[],
  now: Date,
): Promise<Map<string, HandOffState>> {
  const found = new Map<string, HandOffState>();
  const prefix = reportKey("").pk;
  const nowIso = now.toISOString();
  const items = await batchGetConsistent(
    table,
    [...new Set(identities)].map((identity) => reportKey(identity)),
    {
      expression: "#pk, #handedOnAt, #status, #until, #seenAt",
      names: {
        "#pk": "pk",
        "#handedOnAt": "handedOnAt",
        "#status": "deliveryStatus",
        "#until": "claimUntil",
        "#seenAt": "seenAt",
      },
    },
  );
  for (const item of items) {
    if (typeof item.pk !== "string") continue;
    const status = item.deliveryStatus;
    const expiredClaim =
      status === "claimed" && (typeof item.claimUntil !== "string" || item.claimUntil < nowIso);
    const state: HandOffState = {
      done: typeof item.handedOnAt === "string" || (typeof status === "string" && !expiredClaim),
    };
    if (typeof item.seenAt === "string") state.seenAt = item.seenAt;
    found.set(item.pk.slice(prefix.length), state);
  }
  return found;
}

/**
 * Writes Lasso's facts of a finished report on its record (`ready`, with `seenAt`) unless a
 * read wrote them before: the report's own ring delivers from them. Returns the `seenAt`
 * on record (this call's, or the earlier read's).
 */
export async function markSeen(table: StateTable, entry: HandOffEntry, now: Date): Promise<string> {
  const at = now.toISOString();
  const { message } = entry;
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(entry.identity),
        UpdateExpression:
          "SET #seenAt = :at, #ready = :ready, #recordType = if_not_exists(#recordType, :report), " +
          "#identity = if_not_exists(#identity, :identity), #batch = if_not_exists(#batch, :batch), " +
          "#cvr = if_not_exists(#cvr, :cvr), #reportType = if_not_exists(#reportType, :reportType), " +
          "#itemStatus = if_not_exists(#itemStatus, :itemStatus), #createdAt = if_not_exists(#createdAt, :at), " +
          "#updatedAt = :at, #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
        ConditionExpression: "attribute_not_exists(#seenAt)",
        ExpressionAttributeNames: {
          "#seenAt": "seenAt",
          "#ready": "ready",
          "#recordType": "recordType",
          "#identity": "identity",
          "#batch": "lassoBatchId",
          "#cvr": "cvr",
          "#reportType": "reportType",
          "#itemStatus": "itemStatus",
          "#createdAt": "createdAt",
          "#updatedAt": "updatedAt",
          "#expiresAt": "expiresAt",
        },
        ExpressionAttributeValues: {
          ":at": at,
          ":ready": message,
          ":report": "report",
          ":identity": entry.identity,
          ":batch": message.batchId,
          ":cvr": message.cvr,
          ":reportType": entry.reportType,
          ":itemStatus": message.itemStatus,
          ":expiresAt": expiresAt(table, now),
        },
      }),
    );
    return at;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return (await handOffStates(table, [entry.identity], now)).get(entry.identity)?.seenAt ?? at;
  }
}

/**
 * Writes `handedOnAt` on the report's record unless it is there already; true when this
 * call wrote it. Usually the record does not exist yet and is created whole (conditional
 * put); when another writer created it first (the delivery, the webhook path), only the
 * hand-off fields are added (conditional update), so what they wrote is kept.
 */
export async function markHandedOn(table: StateTable, entry: HandOffEntry, now: Date): Promise<boolean> {
  const { message } = entry;
  const at = now.toISOString();
  const record: Omit<ReportRecord, "handedOnAt" | "handedOnSource"> = {
    ...reportKey(entry.identity),
    recordType: "report",
    identity: entry.identity,
    lassoBatchId: message.batchId,
    cvr: message.cvr,
    reportType: entry.reportType,
    itemStatus: message.itemStatus,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(table, now),
  };
  if (message.reportId !== undefined) record.reportId = message.reportId;
  if (message.fileName !== undefined) record.fileName = message.fileName;
  if (message.errorMessage !== undefined)
    record.lassoMessage = message.errorMessage.slice(0, MAX_LASSO_MESSAGE);
  const handOff = { handedOnAt: at, handedOnSource: message.source };
  if (await putIfAbsent(table, { ...record, ...handOff })) return true;

  // The record exists: add the hand-off, and descriptive fields only where absent.
  const names: Record<string, string> = { "#handedOnAt": "handedOnAt", "#ready": "ready" };
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  let n = 0;
  const add = (field: string, value: unknown, onlyIfAbsent: boolean): void => {
    names[`#f${n}`] = field;
    values[`:v${n}`] = value;
    sets.push(onlyIfAbsent ? `#f${n} = if_not_exists(#f${n}, :v${n})` : `#f${n} = :v${n}`);
    n++;
  };
  for (const [field, value] of Object.entries(handOff)) add(field, value, false);
  add("updatedAt", at, false);
  for (const [field, value] of Object.entries(record)) {
    if (field !== "pk" && field !== "sk" && field !== "updatedAt") add(field, value, true);
  }
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: reportKey(entry.identity),
        // Lasso's facts a read kept for the ring (its pdf link a capability) go with the message.
        UpdateExpression: `SET ${sets.join(", ")} REMOVE #ready`,
        ConditionExpression: "attribute_not_exists(#handedOnAt)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Hands on every report not handed on yet (see the module doc); with `holdMs` > 0, holds
 * those seen less than that long ago for their ring. Entries with the same identity are
 * one report: the first is used. Throws only when the records cannot be read or the facts
 * of a held report cannot be written (then nothing was sent); per-report outcomes are in
 * the result.
 */
export async function handOnReports(
  ports: { table: StateTable; queue: ReportReadyQueue },
  entries: readonly HandOffEntry[],
  now: Date,
  holdMs = 0,
): Promise<HandOffResult> {
  const result: HandOffResult = {
    handedOn: [],
    alreadyHandedOn: [],
    raced: [],
    unmarked: [],
    notHandedOn: [],
    held: [],
  };
  const unique = new Map<string, HandOffEntry>();
  for (const entry of entries) if (!unique.has(entry.identity)) unique.set(entry.identity, entry);
  if (unique.size === 0) return result;

  const states = await handOffStates(ports.table, [...unique.keys()], now);
  const toSend: HandOffEntry[] = [];
  const toSee: HandOffEntry[] = [];
  for (const entry of unique.values()) {
    const state = states.get(entry.identity);
    if (state?.done === true) result.alreadyHandedOn.push(entry);
    else if (holdMs <= 0) toSend.push(entry);
    else if (state?.seenAt === undefined) toSee.push(entry);
    else if (Date.parse(state.seenAt) + holdMs > now.getTime())
      result.held.push({ ...entry, seenAt: state.seenAt });
    else toSend.push(entry);
  }
  for (let start = 0; start < toSee.length; start += MARK_PARALLELISM) {
    const slice = toSee.slice(start, start + MARK_PARALLELISM);
    const seenAt = await Promise.all(slice.map((entry) => markSeen(ports.table, entry, now)));
    slice.forEach((entry, i) => {
      // Seen by an earlier read long enough ago (a race with it): its hold is over.
      const at = seenAt[i] ?? now.toISOString();
      if (Date.parse(at) + holdMs > now.getTime()) result.held.push({ ...entry, seenAt: at });
      else toSend.push(entry);
    });
  }
  if (toSend.length === 0) return result;

  const sent = await trySendReportReady(
    ports.queue,
    toSend.map((entry) => entry.message),
  );
  for (const rejection of sent.rejected) {
    const entry = toSend[rejection.index];
    if (entry !== undefined) result.notHandedOn.push({ entry, rejection });
  }
  const accepted = sent.accepted.flatMap((a) => {
    const entry = toSend[a.index];
    return entry === undefined ? [] : [entry];
  });
  for (let start = 0; start < accepted.length; start += MARK_PARALLELISM) {
    const slice = accepted.slice(start, start + MARK_PARALLELISM);
    const outcomes = await Promise.allSettled(slice.map((entry) => markHandedOn(ports.table, entry, now)));
    outcomes.forEach((outcome, i) => {
      const entry = slice[i];
      if (entry === undefined) return;
      if (outcome.status === "rejected") {
        const error = outcome.reason;
        result.unmarked.push({
          entry,
          reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      } else if (outcome.value) result.handedOn.push(entry);
      else result.raced.push(entry);
    });
  }
  return result;
}
