/**
 * The reports of one batch held for their own ring (docs/polling.md, "Held for its ring"):
 * one record per batch, `BATCH#<id>` / `HELD`, with a string set of `<seenAt> <identity>`
 * (when a read first saw the report, then its identity: an ISO time has no space).
 *
 * A read of Lasso's list adds the reports it holds, a ring that delivered its report
 * removes it, settling a batch's holds (reconcile/held.ts) removes what is done or sent:
 * ADD and DELETE of exact elements are idempotent and commutative, so none of them races
 * on a version. Carrying `seenAt` in the element lets a settle read only the one record to
 * know which holds are over. So the items cursor can move on past a held report: what is
 * held is found here, never by reading Lasso's pages again.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { reportReadyMessageSchema } from "../report-ready.ts";
import { heldReportsKey, reportKey } from "./keys.ts";
import type { HandOffEntry } from "./report-handoff.ts";
import { batchGetConsistent, conditionalWrite, expiresAt, type StateTable } from "./state-table.ts";

export interface HeldReport {
  identity: string;
  /** When a read first saw it (ISO): its hold runs from then. */
  seenAt: string;
}

const elementOf = (held: HeldReport): string => `${held.seenAt} ${held.identity}`;

function heldOf(element: string): HeldReport | undefined {
  const space = element.indexOf(" ");
  if (space <= 0) return undefined;
  return { seenAt: element.slice(0, space), identity: element.slice(space + 1) };
}

/** Adds reports to the batch's held set (creating the record). */
export async function addHeld(
  table: StateTable,
  lassoBatchId: string,
  held: readonly HeldReport[],
  now: Date,
): Promise<void> {
  if (held.length === 0) return;
  await table.doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: heldReportsKey(lassoBatchId),
      UpdateExpression:
        "ADD #held :held SET #type = :type, #batch = :batch, #updated = :now, #expires = :expires",
      ExpressionAttributeNames: {
        "#held": "held",
        "#type": "recordType",
        "#batch": "lassoBatchId",
        "#updated": "updatedAt",
        "#expires": "expiresAt",
      },
      ExpressionAttributeValues: {
        ...heldValues(held, now),
        ":type": "heldReports",
        ":batch": lassoBatchId,
        ":expires": expiresAt(table, now),
      },
    }),
  );
}

/** Removes reports from the batch's held set (an empty set removes the attribute). */
export async function removeHeld(
  table: StateTable,
  lassoBatchId: string,
  held: readonly HeldReport[],
  now: Date,
): Promise<void> {
  if (held.length === 0) return;
  const remove = new UpdateCommand({
    TableName: table.tableName,
    Key: heldReportsKey(lassoBatchId),
    UpdateExpression: "DELETE #held :held SET #updated = :now",
    ConditionExpression: "attribute_exists(pk)",
    ExpressionAttributeNames: { "#held": "held", "#updated": "updatedAt" },
    ExpressionAttributeValues: heldValues(held, now),
  });
  // Nothing held for this batch: nothing to remove.
  await conditionalWrite(() => table.doc.send(remove));
}

const heldValues = (held: readonly HeldReport[], now: Date) => ({
  ":held": new Set(held.map(elementOf)),
  ":now": now.toISOString(),
});

/** The earliest of some ISO times (undefined ones ignored); undefined when there is none. */
export function earliestOf(times: readonly (string | undefined)[]): string | undefined {
  let earliest: string | undefined;
  for (const time of times)
    if (time !== undefined && (earliest === undefined || time < earliest)) earliest = time;
  return earliest;
}

/** The batch's held reports (consistent read), oldest first. */
export async function readHeld(table: StateTable, lassoBatchId: string): Promise<HeldReport[]> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: heldReportsKey(lassoBatchId),
      ConsistentRead: true,
      ProjectionExpression: "#held",
      ExpressionAttributeNames: { "#held": "held" },
    }),
  );
  const elements: unknown = Item?.held;
  if (!(elements instanceof Set)) return [];
  return [...elements]
    .flatMap((element) => (typeof element === "string" ? (heldOf(element) ?? []) : []))
    .sort((a, b) => (a.seenAt < b.seenAt ? -1 : a.seenAt > b.seenAt ? 1 : 0));
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
