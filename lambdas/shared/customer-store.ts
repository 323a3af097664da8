/**
 * Writes customer items to the customers table (25 per BatchWriteItem, unprocessed items
 * retried with backoff). Used by the CLI's import and by local mode's seeding. Also reads
 * the stored items an import compares with, and updates one item in place. The table's
 * write half, beside its read half (customers.ts).
 */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import pRetry from "p-retry";

const BATCH_WRITE_LIMIT = 25;

export class UnprocessedItemsError extends Error {
  override readonly name = "UnprocessedItemsError";
}

export async function putCustomerItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
  onProgress?: (written: number) => void,
): Promise<void> {
  let written = 0;
  for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
    let pending = items.slice(start, start + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } }));
    await pRetry(
      async () => {
        const answer = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        const unprocessed = answer.UnprocessedItems?.[tableName] ?? [];
        pending = unprocessed as typeof pending;
        if (pending.length > 0) throw new UnprocessedItemsError(`${pending.length} items left unprocessed`);
      },
      { retries: 8, minTimeout: 50, maxTimeout: 2000, randomize: true },
    );
    written += Math.min(BATCH_WRITE_LIMIT, items.length - start);
    onProgress?.(written);
  }
}

const BATCH_GET_LIMIT = 100;

/**
 * The stored items of these customer ids (100 per BatchGetItem, unprocessed keys retried),
 * by id; ids without an item are absent. Strongly consistent: an import compares with
 * what is really there.
 */
export async function getCustomerItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  customerIds: readonly number[],
  onProgress?: (read: number) => void,
): Promise<Map<number, Record<string, unknown>>> {
  const found = new Map<number, Record<string, unknown>>();
  let read = 0;
  for (let start = 0; start < customerIds.length; start += BATCH_GET_LIMIT) {
    const ids = customerIds.slice(start, start + BATCH_GET_LIMIT);
    let keys: Record<string, unknown>[] = ids.map((customerId) => ({ customerId }));
    await pRetry(
      async () => {
        const answer = await doc.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[tableName] ?? []) {
          const id = Number(item.customerId);
          if (Number.isSafeInteger(id)) found.set(id, item);
        }
        keys = answer.UnprocessedKeys?.[tableName]?.Keys ?? [];
        if (keys.length > 0) throw new UnprocessedItemsError(`${keys.length} keys left unprocessed`);
      },
      { retries: 8, minTimeout: 50, maxTimeout: 2000, randomize: true },
    );
    read += ids.length;
    onProgress?.(read);
  }
  return found;
}

/**
 * Sets the given attributes of one customer item and removes `remove` (other spellings of
 * the same attributes), leaving every other attribute as it is: notes people keep on a row
 * survive an import.
 */
export async function updateCustomerItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  remove: readonly string[] = [],
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  let index = 0;
  for (const [name, value] of Object.entries(item)) {
    if (name === "customerId" || value === undefined) continue;
    names[`#a${index}`] = name;
    values[`:a${index}`] = value;
    sets.push(`#a${index} = :a${index}`);
    index++;
  }
  const removals = remove.map((name) => {
    names[`#a${index}`] = name;
    return `#a${index++}`;
  });
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: { customerId: item.customerId },
      UpdateExpression: `SET ${sets.join(", ")}${removals.length > 0 ? ` REMOVE ${removals.join(", ")}` : ""}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/**
 * Deletes these customers (25 per BatchWriteItem, unprocessed requests retried). Deleting
 * an id that has no item is no error (DynamoDB's delete is idempotent).
 */
export async function deleteCustomerItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  customerIds: readonly number[],
  onProgress?: (deleted: number) => void,
): Promise<void> {
  let deleted = 0;
  for (let start = 0; start < customerIds.length; start += BATCH_WRITE_LIMIT) {
    const ids = customerIds.slice(start, start + BATCH_WRITE_LIMIT);
    let pending = ids.map((customerId) => ({ DeleteRequest: { Key: { customerId } } }));
    await pRetry(
      async () => {
        const answer = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (answer.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        if (pending.length > 0) throw new UnprocessedItemsError(`${pending.length} deletes left unprocessed`);
      },
      { retries: 8, minTimeout: 50, maxTimeout: 2000, randomize: true },
    );
    deleted += ids.length;
    onProgress?.(deleted);
  }
}
