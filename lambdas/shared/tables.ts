/**
 * The DynamoDB tables, as plain data: the CDK stack (lib/) and the local runner (local/)
 * both build their tables from these definitions, so local mode has the same names, keys
 * and indexes as a deployment.
 *
 * Tables for what people edit apart from what machines write:
 * - customers: one flat item per customer, edited by hand (see docs/customers.md);
 * - schedules: one flat item per report schedule, edited by hand or with the CLI; its
 *   stream drives sync-schedules, which applies each change to EventBridge Scheduler
 *   (see docs/schedules.md, "Schedules as data");
 * - state: machine-written runs, batches (with manifests), reports and deliveries
 *   (see docs/state-model.md).
 * And the Lasso call budget's one item, in a table of its own so that a function's right
 * to change it is a right to change nothing else (runtime/lasso-budget.ts).
 */

export type AttributeType = "S" | "N";

export interface KeyDefinition {
  name: string;
  type: AttributeType;
}

export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyDefinition;
  sortKey?: KeyDefinition;
}

export interface TableDefinition {
  /** Logical id; the physical name is given by the deployment (env var) or the local runner. */
  id: string;
  partitionKey: KeyDefinition;
  sortKey?: KeyDefinition;
  indexes: IndexDefinition[];
  timeToLiveAttribute?: string;
}

export const CUSTOMERS_TABLE = {
  id: "Customers",
  partitionKey: { name: "customerId", type: "N" },
  indexes: [
    {
      indexName: "byGroup",
      partitionKey: { name: "group", type: "S" },
      sortKey: { name: "customerId", type: "N" },
    },
    { indexName: "byCvr", partitionKey: { name: "cvr", type: "S" } },
  ],
} as const satisfies TableDefinition;

/**
 * Its own table rather than a key prefix in the customer table: that table's key is the
 * numeric customerId, and its stream would wake the schedule sync on every customer edit.
 */
export const SCHEDULES_TABLE = {
  id: "Schedules",
  partitionKey: { name: "name", type: "S" },
  indexes: [],
} as const satisfies TableDefinition;

export const STATE_TABLE = {
  id: "State",
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  indexes: [
    // Sparse: only batches still open carry `openPartition`, so the poller reads the open
    // set without touching history.
    {
      indexName: "openBatches",
      partitionKey: { name: "openPartition", type: "S" },
      sortKey: { name: "lassoBatchId", type: "S" },
    },
    // Sparse: only run records carry `runsPartition`; newest runs first for `status`.
    {
      indexName: "runsByTime",
      partitionKey: { name: "runsPartition", type: "S" },
      sortKey: { name: "createdAt", type: "S" },
    },
    // Sparse: report records that have a routed customer carry `customerId`; so do delivery
    // history records (readers filter on recordType).
    {
      indexName: "reportsByCustomer",
      partitionKey: { name: "customerId", type: "N" },
      sortKey: { name: "updatedAt", type: "S" },
    },
    // Sparse: only delivery history records carry `deliveryMonth` (YYYY-MM): a month's
    // deliveries of every customer without a scan (statements, state/delivery-history.ts).
    {
      indexName: "deliveriesByMonth",
      partitionKey: { name: "deliveryMonth", type: "S" },
      sortKey: { name: "deliveryId", type: "S" },
    },
  ],
  timeToLiveAttribute: "expiresAt",
} as const satisfies TableDefinition;

export const LASSO_BUDGET_TABLE = {
  id: "LassoBudget",
  partitionKey: { name: "pk", type: "S" },
  indexes: [],
} as const satisfies TableDefinition;

/** Index names as a type, so a typo in a query is a compile error. */
export type CustomersIndexName = (typeof CUSTOMERS_TABLE.indexes)[number]["indexName"];
export type StateIndexName = (typeof STATE_TABLE.indexes)[number]["indexName"];
