/**
 * Hand-off of finished reports to the report-ready queue, once per report identity
 * (docs/polling.md). Used by the poller. (The webhook enqueues what arrives without a
 * lookup, to answer fast: the delivery's claim makes its copies harmless.)
 *
 * 1. read the report records' `handedOnAt` (consistent reads): reports already handed on
 *    are not sent again;
 * 2. send the rest (trySendReportReady, 10 per call);
 * 3. for each message SQS accepted, write `handedOnAt` on `REPORT#<identity>` with the
 *    condition that it is absent.
 *
 * The marker is written after SQS accepted the message, never before: a crash between the
 * two re-sends the report at the next poll (one duplicate message, which the delivery's
 * claim on the same record absorbs), whereas the other order could lose it. Two senders
 * racing on one report (the poller and a webhook) can likewise both send; the conditional
 * write tells the loser (`raced`).
 */
import { BatchGetCommand, type BatchGetCommandOutput, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ReportType } from "../lasso/enums.ts";
import type { ReportReadyMessage } from "../report-ready.ts";
import { type RejectedMessage, type ReportReadyQueue, trySendReportReady } from "../report-ready-queue.ts";
import { reportKey } from "./keys.ts";
import type { ReportRecord } from "./records.ts";
import { expiresAt, isConditionalCheckFailed, putIfAbsent, type StateTable } from "./state-table.ts";

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
}

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
const UNPROCESSED_RETRIES = 5;
/** Marker writes in flight at once. */
const MARK_PARALLELISM = 10;
/** Longest Lasso text kept on a report record. */
const MAX_LASSO_MESSAGE = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The identities (of those given) whose report record has `handedOnAt`. Consistent reads. */
export async function handedOnIdentities(
  table: StateTable,
  identities: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(identities)];
  const prefix = reportKey("").pk;
  for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
    let keys: Record<string, unknown>[] | undefined = unique
      .slice(start, start + BATCH_GET_LIMIT)
      .map((identity) => ({ ...reportKey(identity) }));
    for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new Error(`DynamoDB left ${keys.length} report keys unprocessed after ${attempt} attempts`);
      }
      if (attempt > 0) await sleep(25 * 2 ** attempt);
      const answer: BatchGetCommandOutput = await table.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table.tableName]: {
              Keys: keys,
              ConsistentRead: true,
              ProjectionExpression: "#pk, #handedOnAt",
              ExpressionAttributeNames: { "#pk": "pk", "#handedOnAt": "handedOnAt" },
            },
          },
        }),
      );
      for (const item of answer.Responses?.[table.tableName] ?? []) {
        if (typeof item.pk === "string" && typeof item.handedOnAt === "string") {
          found.add(item.pk.slice(prefix.length));
        }
      }
      keys = answer.UnprocessedKeys?.[table.tableName]?.Keys;
    }
  }
  return found;
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
  const names: Record<string, string> = { "#handedOnAt": "handedOnAt" };
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
        UpdateExpression: `SET ${sets.join(", ")}`,
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
 * Hands on every report not handed on yet (see the module doc). Entries with the same
 * identity are one report: the first is used. Throws only when the markers cannot be read
 * at all (then nothing was sent); per-report outcomes are in the result.
 */
export async function handOnReports(
  ports: { table: StateTable; queue: ReportReadyQueue },
  entries: readonly HandOffEntry[],
  now: Date,
): Promise<HandOffResult> {
  const result: HandOffResult = {
    handedOn: [],
    alreadyHandedOn: [],
    raced: [],
    unmarked: [],
    notHandedOn: [],
  };
  const unique = new Map<string, HandOffEntry>();
  for (const entry of entries) if (!unique.has(entry.identity)) unique.set(entry.identity, entry);
  if (unique.size === 0) return result;

  const done = await handedOnIdentities(ports.table, [...unique.keys()]);
  const toSend: HandOffEntry[] = [];
  for (const entry of unique.values()) {
    if (done.has(entry.identity)) result.alreadyHandedOn.push(entry);
    else toSend.push(entry);
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
