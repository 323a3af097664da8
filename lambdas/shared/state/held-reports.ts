/**
 * The reports of one batch held for their own ring (docs/polling.md, "Held for its ring"):
 * one record per batch, `BATCH#<id>` / `HELD`, with a string set of report identities.
 *
 * A read of Lasso's list adds the reports it holds (ADD: idempotent, commutative, so reads
 * and settles never race on a version); settling a batch's holds (reconcile/held.ts) reads
 * the set, sends what waited long enough and removes what is done (DELETE). So the items
 * cursor can move on past a held report: what is held is found here, in DynamoDB, never by
 * reading Lasso's pages again.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { reportReadyMessageSchema } from "../report-ready.ts";
import { heldReportsKey, reportKey } from "./keys.ts";
import type { HandOffEntry } from "./report-handoff.ts";
import { batchGetConsistent, expiresAt, isConditionalCheckFailed, type StateTable } from "./state-table.ts";

/** Adds identities to the batch's held set (creating the record). */
export async function addHeld(
  table: StateTable,
  lassoBatchId: string,
  identities: readonly string[],
  now: Date,
): Promise<void> {
  if (identities.length === 0) return;
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: heldReportsKey(lassoBatchId),
      UpdateExpression:
        "ADD #ids :ids SET #type = :type, #batch = :batch, #updated = :now, #expires = :expires",
      ExpressionAttributeNames: {
        "#ids": "identities",
        "#type": "recordType",
        "#batch": "lassoBatchId",
        "#updated": "updatedAt",
        "#expires": "expiresAt",
      },
      ExpressionAttributeValues: {
        ":ids": new Set(identities),
        ":type": "heldReports",
        ":batch": lassoBatchId,
        ":now": now.toISOString(),
        ":expires": expiresAt(table, now),
      },
    }),
  );
}

/** Removes identities from the batch's held set (an empty set removes the attribute). */
export async function removeHeld(
  table: StateTable,
  lassoBatchId: string,
  identities: readonly string[],
  now: Date,
): Promise<void> {
  if (identities.length === 0) return;
  await table.doc
    .send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: heldReportsKey(lassoBatchId),
        UpdateExpression: "DELETE #ids :ids SET #updated = :now",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: { "#ids": "identities", "#updated": "updatedAt" },
        ExpressionAttributeValues: { ":ids": new Set(identities), ":now": now.toISOString() },
      }),
    )
    .catch((error: unknown) => {
      // Nothing held for this batch: nothing to remove.
      if (!isConditionalCheckFailed(error)) throw error;
    });
}

/** The batch's held identities (consistent read), sorted. */
export async function readHeld(table: StateTable, lassoBatchId: string): Promise<string[]> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: heldReportsKey(lassoBatchId),
      ConsistentRead: true,
      ProjectionExpression: "#ids",
      ExpressionAttributeNames: { "#ids": "identities" },
    }),
  );
  const ids: unknown = Item?.identities;
  return ids instanceof Set ? [...ids].filter((id): id is string => typeof id === "string").sort() : [];
}

/**
 * The hand-off entries of held reports, from the facts the read that held them wrote on
 * their records (`ready`). A report without readable facts is left out (and stays held).
 */
export async function heldEntries(table: StateTable, identities: readonly string[]): Promise<HandOffEntry[]> {
  const items = await batchGetConsistent(
    table,
    identities.map((identity) => reportKey(identity)),
    { expression: "#identity, #ready", names: { "#identity": "identity", "#ready": "ready" } },
  );
  return items.flatMap((item): HandOffEntry[] => {
    const ready = reportReadyMessageSchema.safeParse(item.ready);
    if (typeof item.identity !== "string" || !ready.success || ready.data.reportType === undefined) return [];
    return [{ identity: item.identity, reportType: ready.data.reportType, message: ready.data }];
  });
}
