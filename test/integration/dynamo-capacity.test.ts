/**
 * The read-capacity meter on the node backend's DynamoDB (dynalite): units as DynamoDB
 * bills them (4 KB per strongly consistent unit, half when eventually consistent, a Query
 * summing its items before rounding), counted by caller, with the answers unchanged.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { markCaller } from "#local/aws/dynamo-capacity.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalAws, startLocalAws } from "#local/aws/local-aws.ts";

describe("DynamoDB read capacity, metered at the emulator", () => {
  let aws: LocalAws;
  let doc: DynamoDBDocumentClient;
  const client = (caller?: string): DynamoDBDocumentClient => {
    const dynamo = new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: aws.endpoints.dynamodb,
      credentials: LOCAL_CREDENTIALS,
    });
    if (caller !== undefined) markCaller(dynamo, caller);
    return DynamoDBDocumentClient.from(dynamo);
  };

  beforeAll(async () => {
    // The meter needs DynamoDB in this process: the node backend, whatever LOCAL_AWS_BACKEND says.
    aws = await startLocalAws({}, "node");
    doc = client();
    await doc.send(
      new CreateTableCommand({
        TableName: "reads",
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    // One item of about 5 KB; three of about 2 KB (6 KB together).
    await doc.send(
      new PutCommand({ TableName: "reads", Item: { pk: "big", sk: "0", blob: "x".repeat(5000) } }),
    );
    for (const sk of ["1", "2", "3"]) {
      await doc.send(
        new PutCommand({ TableName: "reads", Item: { pk: "small", sk, blob: "y".repeat(2000) } }),
      );
    }
  });
  afterAll(async () => {
    await aws?.stop();
  });

  test("GetItem: 4 KB per strongly consistent unit, half when eventually consistent; a miss costs a read", async () => {
    const meter = aws.meterDynamoReads?.();
    if (meter === undefined) throw new Error("the node backend meters reads");
    const strong = await doc.send(
      new GetCommand({ TableName: "reads", Key: { pk: "big", sk: "0" }, ConsistentRead: true }),
    );
    expect(strong.Item?.blob).toHaveLength(5000);
    expect(meter.units()).toEqual({ pipeline: { GetItem: 2 } });
    await doc.send(new GetCommand({ TableName: "reads", Key: { pk: "big", sk: "0" } }));
    expect(meter.units()).toEqual({ pipeline: { GetItem: 3 } });
    const miss = await doc.send(
      new GetCommand({ TableName: "reads", Key: { pk: "none", sk: "0" }, ConsistentRead: true }),
    );
    expect(miss.Item).toBeUndefined();
    expect(meter.units()).toEqual({ pipeline: { GetItem: 4 } });
    meter.stop();
    await doc.send(new GetCommand({ TableName: "reads", Key: { pk: "big", sk: "0" } }));
    expect(meter.units()).toEqual({ pipeline: { GetItem: 4 } });
  });

  test("a Query sums its items before rounding, even when it projects; a BatchGetItem pays per item", async () => {
    const meter = aws.meterDynamoReads?.();
    if (meter === undefined) throw new Error("the node backend meters reads");
    const query = await doc.send(
      new QueryCommand({
        TableName: "reads",
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": "small" },
        ProjectionExpression: "sk",
        ConsistentRead: true,
      }),
    );
    expect(query.Items).toEqual([{ sk: "1" }, { sk: "2" }, { sk: "3" }]);
    // 3 × ~2 KB = ~6 KB: 2 units (3 if each item were rounded up alone).
    expect(meter.units()).toEqual({ pipeline: { Query: 2 } });
    const batch = await doc.send(
      new BatchGetCommand({
        RequestItems: { reads: { Keys: ["1", "2", "3"].map((sk) => ({ pk: "small", sk })) } },
      }),
    );
    expect(batch.Responses?.reads).toHaveLength(3);
    // Each item rounds up to one unit, halved: eventually consistent.
    expect(meter.units()).toEqual({ pipeline: { Query: 2, BatchGetItem: 1.5 } });
    meter.stop();
  });

  test("a caller that names itself is counted apart; one that asked for its capacity gets it", async () => {
    const meter = aws.meterDynamoReads?.();
    if (meter === undefined) throw new Error("the node backend meters reads");
    const runner = client("runner");
    await runner.send(
      new GetCommand({ TableName: "reads", Key: { pk: "small", sk: "1" }, ConsistentRead: true }),
    );
    const asked = await doc.send(
      new GetCommand({ TableName: "reads", Key: { pk: "small", sk: "1" }, ReturnConsumedCapacity: "TOTAL" }),
    );
    expect(asked.ConsumedCapacity?.CapacityUnits).toBe(0.5);
    expect(meter.units()).toEqual({ runner: { GetItem: 1 }, pipeline: { GetItem: 0.5 } });
    meter.stop();
  });
});
