/** The DynamoDB document client settings every function uses for the state table. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Optional fields left out of a record are not written as nulls. */
export const stateDocumentClient = (dynamo: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
