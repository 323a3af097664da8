/**
 * Creates, on the local emulators, the tables, queues and archive bucket the stack defines: built from the
 * same definitions (lambdas/shared/tables.ts) so local mode matches a deployment.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, PutObjectLockConfigurationCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  ConflictException,
  CreateScheduleGroupCommand,
  type SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  CUSTOMERS_TABLE,
  LASSO_BUDGET_TABLE,
  SCHEDULES_TABLE,
  STATE_TABLE,
  type TableDefinition,
} from "#shared/tables.ts";

export interface LocalResourceNames {
  customersTable: string;
  stateTable: string;
  schedulesTable: string;
  /** The EventBridge Scheduler group of the report schedules (the stack's own). */
  scheduleGroup: string;
  lassoBudgetTable: string;
  reportReadyQueue: string;
  reportReadyDlq: string;
  archiveBucket: string;
}

export interface LocalResources {
  names: LocalResourceNames;
  reportReadyQueueUrl: string;
  reportReadyDlqUrl: string;
}

export const localResourceNames = (prefix = "lasso-reports"): LocalResourceNames => ({
  customersTable: `${prefix}-customers`,
  stateTable: `${prefix}-state`,
  schedulesTable: `${prefix}-schedules`,
  scheduleGroup: `${prefix}-reports`,
  lassoBudgetTable: `${prefix}-lasso-budget`,
  reportReadyQueue: `${prefix}-report-ready`,
  reportReadyDlq: `${prefix}-report-ready-dlq`,
  archiveBucket: `${prefix}-archive`,
});

/**
 * The evidence archive's bucket, with Object Lock as the stack makes it (COMPLIANCE, one
 * day here: local data is thrown away with the emulator). s3rver keeps no lock settings;
 * moto does, and refuses a write without an integrity checksum as S3 does.
 */
export async function createArchiveBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  }
  await s3
    .send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: "Enabled",
          Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } },
        },
      }),
    )
    .catch((error: unknown) => {
      // s3rver has no Object Lock: the deployed bucket and moto's have.
      if (!(error instanceof Error && /NotImplemented|MethodNotAllowed/.test(error.name))) throw error;
    });
}

export async function createTable(
  dynamo: DynamoDBClient,
  tableName: string,
  table: TableDefinition,
): Promise<void> {
  const attributes = new Map<string, AttributeDefinition>();
  const addAttribute = (key: { name: string; type: "S" | "N" }): void => {
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  addAttribute(table.partitionKey);
  if (table.sortKey) addAttribute(table.sortKey);
  const indexes: GlobalSecondaryIndex[] = table.indexes.map((index) => {
    addAttribute(index.partitionKey);
    if (index.sortKey) addAttribute(index.sortKey);
    return {
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: "HASH" },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: "RANGE" as const }] : []),
      ],
      Projection: { ProjectionType: "ALL" },
    };
  });
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: table.partitionKey.name, KeyType: "HASH" },
          ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: "RANGE" as const }] : []),
        ],
        AttributeDefinitions: [...attributes.values()],
        ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/** The stack's schedule group (the CDK app creates it); one that exists already is fine. */
export async function createScheduleGroup(scheduler: SchedulerClient, name: string): Promise<void> {
  try {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: name }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${queueUrl} has no ARN`);
  return arn;
}

export async function provisionLocalResources(
  /** Without `s3`, no archive bucket (for what does not deliver). */
  clients: { dynamo: DynamoDBClient; sqs: SQSClient; s3?: S3Client; scheduler?: SchedulerClient },
  options: { prefix?: string; visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<LocalResources> {
  const names = localResourceNames(options.prefix);
  await createTable(clients.dynamo, names.customersTable, CUSTOMERS_TABLE);
  await createTable(clients.dynamo, names.stateTable, STATE_TABLE);
  await createTable(clients.dynamo, names.schedulesTable, SCHEDULES_TABLE);
  if (clients.scheduler !== undefined) await createScheduleGroup(clients.scheduler, names.scheduleGroup);
  await createTable(clients.dynamo, names.lassoBudgetTable, LASSO_BUDGET_TABLE);
  if (clients.s3 !== undefined) await createArchiveBucket(clients.s3, names.archiveBucket);
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: names.reportReadyDlq }));
  if (!dlq.QueueUrl) throw new Error("the local SQS emulator returned no DLQ URL");
  const dlqArn = await queueArn(clients.sqs, dlq.QueueUrl);
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.reportReadyQueue,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  if (!queue.QueueUrl) throw new Error("the local SQS emulator returned no queue URL");
  return { names, reportReadyQueueUrl: queue.QueueUrl, reportReadyDlqUrl: dlq.QueueUrl };
}
