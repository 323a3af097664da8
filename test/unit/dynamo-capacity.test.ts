import { describe, expect, test } from "vitest";
import { askingForCapacity, readUnitsOf } from "#local/aws/dynamo-capacity.ts";

describe("read units from DynamoDB's answers", () => {
  test("one ConsumedCapacity (GetItem, Query, Scan) or one per table (BatchGetItem)", () => {
    expect(readUnitsOf({ Item: {}, ConsumedCapacity: { TableName: "t", CapacityUnits: 1.5 } })).toBe(1.5);
    expect(
      readUnitsOf({
        ConsumedCapacity: [
          { TableName: "a", CapacityUnits: 2 },
          { TableName: "b", CapacityUnits: 0.5 },
        ],
      }),
    ).toBe(2.5);
  });

  test("an answer without it (an error) counts nothing", () => {
    expect(readUnitsOf({ __type: "ResourceNotFoundException" })).toBe(0);
    expect(readUnitsOf(null)).toBe(0);
  });
});

describe("asking for the consumed capacity", () => {
  test("a request that did not ask is made to ask for the total", () => {
    expect(JSON.parse(askingForCapacity('{"TableName":"t","Key":{}}'))).toEqual({
      TableName: "t",
      Key: {},
      ReturnConsumedCapacity: "TOTAL",
    });
    expect(JSON.parse(askingForCapacity('{"TableName":"t","ReturnConsumedCapacity":"NONE"}'))).toEqual({
      TableName: "t",
      ReturnConsumedCapacity: "TOTAL",
    });
  });

  test("a request that asked already is left as it is", () => {
    const body = '{"TableName":"t","ReturnConsumedCapacity":"INDEXES"}';
    expect(askingForCapacity(body)).toBe(body);
  });
});
