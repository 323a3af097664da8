/**
 * What sync-schedules last did with a schedule item, one record per schedule in the
 * state table (machine-written, so the sync never writes into the table people edit and
 * its stream cannot loop). `lasso-reports schedules list|show` reads it: an item the sync
 * refused shows its reason here, next to what EventBridge Scheduler still runs.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { scheduleSyncKey } from "./keys.ts";
import { getRecord, type StateTable } from "./state-table.ts";

export const SCHEDULE_SYNC_OUTCOMES = ["created", "updated", "unchanged", "deleted", "refused"] as const;
export type ScheduleSyncOutcome = (typeof SCHEDULE_SYNC_OUTCOMES)[number];

/** The schedule as EventBridge Scheduler runs it (after the sync, or left as it was when refused). */
export interface RunningScheduleSummary {
  expression: string;
  timeZone: string;
  state: string;
}

export interface ScheduleSyncRecord {
  pk: string;
  sk: string;
  recordType: "scheduleSync";
  name: string;
  outcome: ScheduleSyncOutcome;
  /** Why the item was refused (refused only): the schema's or Scheduler's words. */
  reason?: string;
  /** What runs now; absent when nothing does (deleted, or refused before it ever ran). */
  running?: RunningScheduleSummary;
  syncedAt: string;
}

export async function putScheduleSync(
  table: StateTable,
  record: Omit<ScheduleSyncRecord, "pk" | "sk" | "recordType">,
): Promise<void> {
  // No TTL: the last word on a schedule is kept while the schedule is (one small record each).
  await table.doc.send(
    new PutCommand({
      TableName: table.tableName,
      Item: { ...scheduleSyncKey(record.name), recordType: "scheduleSync", ...record },
    }),
  );
}

export const getScheduleSync = (table: StateTable, name: string): Promise<ScheduleSyncRecord | undefined> =>
  getRecord<ScheduleSyncRecord>(table, scheduleSyncKey(name), "scheduleSync");
