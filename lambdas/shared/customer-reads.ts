/**
 * The customers table's reads: one customer by id, the customers of a cvr (`byCvr`), the
 * raw items of a group as a run judges them (`byGroup`, and the rows stored unnormalised),
 * and a full scan for listings. Rows come back parsed (customers.ts) or raw, for the
 * selection to judge.
 */
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, paginateScan } from "@aws-sdk/lib-dynamodb";
import {
  type CustomerParseResult,
  meantGroup,
  type ParseCustomerOptions,
  parseCustomerItem,
} from "./customers.ts";
import { normaliseCvr } from "./cvr.ts";
import type { CustomersIndexName } from "./tables.ts";

const BY_GROUP: CustomersIndexName = "byGroup";
const BY_CVR: CustomersIndexName = "byCvr";

/**
 * One customer by id (strongly consistent), parsed; undefined when there is no such item.
 * A broken row comes back as `{ ok: false, reason }` so the caller can say why it cannot use it.
 */
export async function getCustomer(
  doc: DynamoDBDocumentClient,
  tableName: string,
  customerId: number,
  options: ParseCustomerOptions = {},
): Promise<CustomerParseResult | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: { customerId }, ConsistentRead: true }),
  );
  return Item === undefined ? undefined : parseCustomerItem(Item, options);
}

/**
 * Every customer with this CVR (the `byCvr` index; several customers may share a company),
 * parsed. Index reads are eventually consistent: a row edited a moment ago may still show
 * its old values.
 */
export async function findCustomersByCvr(
  doc: DynamoDBDocumentClient,
  tableName: string,
  cvr: string,
  options: ParseCustomerOptions = {},
): Promise<CustomerParseResult[]> {
  const out: CustomerParseResult[] = [];
  const pages = paginateQuery(
    { client: doc },
    {
      TableName: tableName,
      IndexName: BY_CVR,
      KeyConditionExpression: "#cvr = :cvr",
      ExpressionAttributeNames: { "#cvr": "cvr" },
      ExpressionAttributeValues: { ":cvr": normaliseCvr(cvr) },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) out.push(parseCustomerItem(item, options));
  }
  return out;
}

/**
 * The raw items of one group, page by page, through the `byGroup` index (only that
 * group's items are read, whatever the table's size). The group must match exactly: it is
 * the index key.
 */
export async function* queryCustomersOfGroup(
  doc: DynamoDBDocumentClient,
  tableName: string,
  group: string,
): AsyncGenerator<Record<string, unknown>[], void, void> {
  const pages = paginateQuery(
    { client: doc },
    {
      TableName: tableName,
      IndexName: BY_GROUP,
      KeyConditionExpression: "#group = :group",
      ExpressionAttributeNames: { "#group": "group" },
      ExpressionAttributeValues: { ":group": group },
    },
  );
  for await (const page of pages) yield page.Items ?? [];
}

/**
 * The raw items a run of `group` judges, page by page: first the group's items through the
 * `byGroup` index, then the items the index cannot find although they are meant for this
 * group: a stored group with surrounding spaces ("default "), or the attribute spelled
 * another way ("Group"). Those are found by one filtered scan of the table (DynamoDB has no
 * index lookup for "equal after trimming"); the parser skips them with the reason, so a
 * hand-edit mistake is a visible skipped row instead of a silent drop. The scan reads the
 * whole table once per run (customer tables are small: 10 000 rows of 500 bytes are about
 * 1 250 read units); see docs/customers.md, "Groups and the table's indexes".
 *
 * Of the scan, only the items whose {@link meantGroup} is `group` are yielded (a group
 * "default-nord" contains "default" but is another group).
 */
export async function* readCustomersOfGroup(
  doc: DynamoDBDocumentClient,
  tableName: string,
  group: string,
): AsyncGenerator<Record<string, unknown>[], void, void> {
  yield* queryCustomersOfGroup(doc, tableName, group);
  const strays = paginateScan(
    { client: doc },
    {
      TableName: tableName,
      FilterExpression: "attribute_not_exists(#group) OR (contains(#group, :group) AND #group <> :group)",
      ExpressionAttributeNames: { "#group": "group" },
      ExpressionAttributeValues: { ":group": group },
    },
  );
  for await (const page of strays) {
    const meant = (page.Items ?? []).filter((item) => meantGroup(item) === group);
    if (meant.length > 0) yield meant;
  }
}

/** Every raw item of the table, page by page (a full scan: for listings and exports). */
export async function* scanCustomers(
  doc: DynamoDBDocumentClient,
  tableName: string,
): AsyncGenerator<Record<string, unknown>[], void, void> {
  for await (const page of paginateScan({ client: doc }, { TableName: tableName })) yield page.Items ?? [];
}
