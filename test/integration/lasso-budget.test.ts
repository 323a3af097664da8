/**
 * The shared Lasso call budget against DynamoDB (dynalite, or moto with
 * LOCAL_AWS_BACKEND=moto): several containers, each with its own client and its own
 * concurrent callers, take from the one item at once. However their conditional writes
 * interleave, no window of the limit's length ever sees more grants than the limit, and
 * the budget still spends most of it: the whole limit in a burst when the window is
 * empty, as Lasso's own sliding window would let through, and again as it slides.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { createTable } from "#local/aws/provision.ts";
import { budgetShape, LASSO_BUDGET_KEY, LassoBudgetExhausted } from "#shared/lasso/call-budget.ts";
import { dynamoBudgetStore, SharedLassoBudget } from "#shared/runtime/lasso-budget.ts";
import { LASSO_BUDGET_TABLE } from "#shared/tables.ts";
import { useLocalAws } from "#test/support/local-aws.ts";
import { maxInWindow } from "#test/support/windows.ts";

useLocalAws();

describe("the shared Lasso call budget on DynamoDB", () => {
  it("keeps every window of concurrent takers from four containers under the limit, and spends most of it", async () => {
    const tableName = "budget-concurrency";
    const dynamo = new DynamoDBClient({});
    await createTable(dynamo, tableName, LASSO_BUDGET_TABLE);
    // 40 calls in any 2 s: the same arithmetic as 500 a minute, over a window a test can wait for.
    const shape = budgetShape(40, 2_000);
    const grants: number[] = [];
    const containers = Array.from({ length: 4 }, () => {
      // A client per container, as separate Lambda containers have.
      const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      return new SharedLassoBudget({
        store: dynamoBudgetStore(doc, tableName, shape),
        shape,
        maxWaitMs: 30_000,
      });
    });
    // Past two reaches of a grant (3.5 s each: the window, the lease's lifetime, the margin).
    const runForMs = 8_000;
    const started = Date.now();
    await Promise.all(
      containers.flatMap((budget) =>
        // Three callers per container (a delivery batch's parallel messages, say).
        Array.from({ length: 3 }, async () => {
          while (Date.now() - started < runForMs) {
            await budget.take();
            grants.push(Date.now());
          }
        }),
      ),
    );
    const elapsed = Date.now() - started;

    expect(maxInWindow(grants, shape.windowMs)).toBeLessThanOrEqual(shape.limit);
    // The empty window spent in a burst: half the limit within a second (a token bucket
    // paced to the limit would have granted a fifth of it).
    expect(maxInWindow(grants, 1_000)).toBeGreaterThanOrEqual(shape.limit / 2);
    // Not idle either: at least 70 % of the limit for each whole reach of the run (the rest
    // are tokens a container dropped, and the machine's own delays).
    expect(grants.length).toBeGreaterThan(0.7 * shape.limit * Math.floor(elapsed / shape.reachMs));
    expect(Math.floor(elapsed / shape.reachMs)).toBeGreaterThanOrEqual(2);
    const leases = containers.reduce((sum, b) => sum + b.stats.leases, 0);
    // Fewer writes than calls: a lease carries up to `leaseSize` tokens.
    expect(leases).toBeLessThan(grants.length);

    const doc = DynamoDBDocumentClient.from(dynamo);
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: LASSO_BUDGET_KEY } }));
    // Every successful lease moved the version on by one.
    expect(Item?.version).toBe(leases);
  }, 60_000);

  it("reads an item the token bucket left as a full window: no grant until one reach has passed, then the window's form", async () => {
    const tableName = "budget-from-bucket";
    const dynamo = new DynamoDBClient({});
    await createTable(dynamo, tableName, LASSO_BUDGET_TABLE);
    const doc = DynamoDBDocumentClient.from(dynamo);
    const shape = budgetShape(40, 2_000);
    const bucketAt = Date.now();
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: LASSO_BUDGET_KEY, tokens: 5, at: bucketAt, version: 7, taken: 300 },
      }),
    );
    const budget = new SharedLassoBudget({
      store: dynamoBudgetStore(doc, tableName, shape),
      shape,
      maxWaitMs: 10_000,
    });
    const refused = await budget.take({ maxWaitMs: 100 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LassoBudgetExhausted);
    expect((refused as LassoBudgetExhausted).retryAfterMs).toBeGreaterThan(shape.reachMs - 1_000);

    await budget.take();
    expect(Date.now() - bucketAt).toBeGreaterThanOrEqual(shape.reachMs);
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: LASSO_BUDGET_KEY } }));
    // The same item, moved on by one conditional write: a container still on the bucket
    // finds it empty.
    expect(Item).toMatchObject({ version: 8, tokens: 0, counts: [1], taken: 301 });
  }, 30_000);
});
