/**
 * The port every state store function takes: the document client (built once per
 * function, at cold start) and the table's name.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from "@aws-sdk/lib-dynamodb";
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

/** BatchGetItem takes at most 100 keys; unprocessed keys are asked again this often. */
const BATCH_GET_LIMIT = 100;
const UNPROCESSED_RETRIES = 5;

/**
 * The records of `keys` (strongly consistent), only the attributes projected, in any
 * order; absent ones are left out. Unprocessed keys are asked again with a backoff.
 */
export async function batchGetConsistent(
  table: StateTable,
  keys: readonly StateKey[],
  projection: { expression: string; names: Record<string, string> },
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    let pending: Record<string, unknown>[] | undefined = keys
      .slice(start, start + BATCH_GET_LIMIT)
      .map((key) => ({ ...key }));
    for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) {
        throw new Error(`DynamoDB left ${pending.length} keys unprocessed after ${attempt} attempts`);
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      const answer: BatchGetCommandOutput = await table.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table.tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: projection.expression,
              ExpressionAttributeNames: projection.names,
            },
          },
        }),
      );
      items.push(...(answer.Responses?.[table.tableName] ?? []));
      pending = answer.UnprocessedKeys?.[table.tableName]?.Keys;
    }
  }
  return items;
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

/** A condition under which a put may replace the record already there. */
export interface ReplaceCondition {
  /** A DynamoDB condition expression over the record already there. */
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

/**
 * Creates the item when no record has its key (`attribute_not_exists(pk)`), or, given
 * `orReplace`, also when the record there meets that condition. True when written, false
 * when the condition refused it (the record was already there).
 */
export async function putIfAbsent<T extends StateKey>(
  table: StateTable,
  item: T,
  orReplace?: ReplaceCondition,
): Promise<boolean> {
  return conditionalWrite(() =>
    table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: item,
        ConditionExpression:
          orReplace === undefined
            ? "attribute_not_exists(pk)"
            : `attribute_not_exists(pk) OR (${orReplace.expression})`,
        ...(orReplace?.names === undefined ? {} : { ExpressionAttributeNames: orReplace.names }),
        ...(orReplace?.values === undefined ? {} : { ExpressionAttributeValues: orReplace.values }),
      }),
    ),
  );
}

/**
 * `#status IN (...)` over the given statuses, with its values (`:s0`, `:s1`, ...); the
 * caller names `#status`.
 */
export function statusIn(statuses: readonly string[]): {
  expression: string;
  values: Record<string, string>;
} {
  const values: Record<string, string> = {};
  statuses.forEach((status, i) => {
    values[`:s${i}`] = status;
  });
  return { expression: `#status IN (${Object.keys(values).join(", ")})`, values };
}
