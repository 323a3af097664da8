/**
 * The port every state store function takes: the document client (built once per
 * function, at cold start) and the table's name.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

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
