/**
 * The schedules table as the CLI edits it (docs/schedules.md, "Schedules as data"): read
 * every item or one, write one after validating it with the deploy config's schema (the
 * CLI is the first line of defence; sync-schedules checks again, for hand edits), delete
 * one; and what sync-schedules last did with each (its record in the state table), which
 * the CLI waits for after a write so the operator sees the outcome.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
} from "@aws-sdk/lib-dynamodb";
import { type DecodedSchedule, type ScheduleItem, scheduleFromItem } from "#shared/schedule-item.ts";
import { getScheduleSync, type ScheduleSyncRecord } from "#shared/state/schedule-sync.ts";
import { isConditionalCheckFailed, type StateTable } from "#shared/state/state-table.ts";
import { CliFailure } from "./errors.ts";

export interface ScheduleStore {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export async function readScheduleItems(store: ScheduleStore): Promise<ScheduleItem[]> {
  const items: ScheduleItem[] = [];
  for await (const page of paginateScan(
    { client: store.doc },
    { TableName: store.tableName, ConsistentRead: true },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export async function getScheduleItem(store: ScheduleStore, name: string): Promise<ScheduleItem | undefined> {
  const { Item } = await store.doc.send(
    new GetCommand({ TableName: store.tableName, Key: { name }, ConsistentRead: true }),
  );
  return Item;
}

/** What a write must find: no item (add), the item as read (set), or anything (import). */
export type WriteCondition = "absent" | "present" | "any";

/**
 * Validates and writes one item. Refused (nothing written): an item the schema refuses,
 * or the condition not met (added meanwhile, deleted meanwhile).
 */
export async function writeScheduleItem(
  store: ScheduleStore,
  item: ScheduleItem,
  condition: WriteCondition,
): Promise<DecodedSchedule & { ok: true }> {
  const decoded = scheduleFromItem(item);
  if (!decoded.ok)
    throw new CliFailure(`schedule ${decoded.name ?? "(no name)"} not written: ${decoded.reason}`);
  try {
    await store.doc.send(
      new PutCommand({
        TableName: store.tableName,
        Item: item,
        ...(condition === "any"
          ? {}
          : {
              ConditionExpression:
                condition === "absent" ? "attribute_not_exists(#name)" : "attribute_exists(#name)",
              ExpressionAttributeNames: { "#name": "name" },
            }),
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    throw new CliFailure(
      condition === "absent"
        ? `schedule ${decoded.schedule.name} exists already (change it with \`schedules set\`)`
        : `schedule ${decoded.schedule.name} does not exist (add it with \`schedules add\`)`,
    );
  }
  return decoded;
}

/** True when an item was deleted. */
export async function deleteScheduleItem(store: ScheduleStore, name: string): Promise<boolean> {
  const { Attributes } = await store.doc.send(
    new DeleteCommand({ TableName: store.tableName, Key: { name }, ReturnValues: "ALL_OLD" }),
  );
  return Attributes !== undefined;
}

/**
 * The sync's record once it is newer than `since` (the CLI's write), or undefined after
 * `timeoutMs`: the stream hands a change on within seconds on AWS and in local mode.
 */
export async function waitForSync(
  state: StateTable,
  name: string,
  since: Date,
  timeoutMs: number,
): Promise<ScheduleSyncRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await getScheduleSync(state, name);
    if (record !== undefined && record.syncedAt >= since.toISOString()) return record;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One schedule as the CLI shows it: the item, its validity, the sync's last word. */
export interface ScheduleView {
  name: string;
  item: ScheduleItem;
  /** The schema's refusal of the stored item, if it refuses it. */
  problem?: string;
  sync?: ScheduleSyncRecord;
}

export async function scheduleViews(store: ScheduleStore, state: StateTable): Promise<ScheduleView[]> {
  const items = await readScheduleItems(store);
  return Promise.all(items.map((item) => scheduleView(item, state)));
}

export async function scheduleView(item: ScheduleItem, state: StateTable): Promise<ScheduleView> {
  const name = String(item.name);
  const decoded = scheduleFromItem(item);
  const sync = await getScheduleSync(state, name);
  return {
    name,
    item,
    ...(decoded.ok ? {} : { problem: decoded.reason }),
    ...(sync === undefined ? {} : { sync }),
  };
}

/** "cron(0 6 1 * ? *)" or "business day 1 at 07:00". */
export function whenText(item: ScheduleItem): string {
  if (item.cron !== undefined) return String(item.cron);
  if (item.businessDay !== undefined) {
    const day =
      item.businessDay === "every" ? "every business day" : `business day ${String(item.businessDay)}`;
    return `${day} at ${String(item.at ?? "?")}`;
  }
  return "";
}

/** The sync's last word in one line: "created", "refused: reason (still runs: ...)". */
export function syncText(sync: ScheduleSyncRecord | undefined): string {
  if (sync === undefined) return "not synced yet";
  const running =
    sync.running === undefined
      ? "nothing runs"
      : `runs ${sync.running.expression} ${sync.running.timeZone} ${sync.running.state}`;
  return sync.outcome === "refused"
    ? `refused: ${sync.reason ?? ""} (${running})`
    : `${sync.outcome} (${running})`;
}
