/**
 * The port every state store function takes: the document client (built once per
 * function, at cold start) and the table's name.
 */
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { StateKey } from "./keys.ts";

export interface StateTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Days before a record expires (TTL). */
  retentionDays: number;
}

/** The TTL value for a record created at `now`. */
export const expiresAt = (table: StateTable, now: Date): number =>
  Math.floor(now.getTime() / 1000) + table.retentionDays * 24 * 60 * 60;

/** True for DynamoDB's refusal of a conditional write (the normal "already done" answer). */
export const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

/** One record by key, strongly consistent; undefined when absent or of another type. */
export async function getRecord<T extends { recordType: string }>(
  table: StateTable,
  key: StateKey,
  recordType: T["recordType"],
): Promise<T | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
  );
  return Item?.recordType === recordType ? (Item as T) : undefined;
}

/** A conditional write: true when it was made, false when its condition refused it. */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
