/**
 * The stateful half: what holds data and must outlive a redeploy of the functions. The
 * customer and schedule tables (people's data: deletion protection, retained on teardown;
 * the schedules table's stream drives sync-schedules), the state
 * table (machine records with TTL and the sparse indexes), the report-ready queue with its
 * dead-letter queue, the two secrets, and the write-once evidence archive. Tables are built from lambdas/shared/tables.ts,
 * the definitions local mode uses too.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  CUSTOMERS_TABLE,
  type KeyDefinition,
  LASSO_BUDGET_TABLE,
  SCHEDULES_TABLE,
  STATE_TABLE,
  type TableDefinition,
} from "#shared/tables.ts";
import type { DeployConfig } from "./config/schema.ts";
import { archiveBucketName, EvidenceArchive } from "./constructs/evidence-archive.ts";
import { acknowledge } from "./nag.ts";

/** The deliver-report function's timeout: the queue's visibility timeout is derived from it. */
export const DELIVER_TIMEOUT = Duration.minutes(2);
/** AWS's advice for Lambda consumers: visibility timeout at least 6x the function timeout. */
export const REPORT_READY_VISIBILITY = Duration.seconds(DELIVER_TIMEOUT.toSeconds() * 6);
/** Long enough for a report to wait out a long weekend with delivery broken. */
export const REPORT_READY_RETENTION = Duration.days(7);
export const DLQ_RETENTION = Duration.days(14);

export interface StatefulStackProps extends StackProps {
  config: DeployConfig;
}

const attribute = (key: KeyDefinition): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === "S" ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

function addIndexes(table: dynamodb.Table, definition: TableDefinition): void {
  for (const index of definition.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}

/** An SQS queue as every queue here must be: SSE, TLS only. */
function secureQueueProps(): Pick<sqs.QueueProps, "encryption" | "enforceSSL"> {
  return { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true };
}

export class StatefulStack extends Stack {
  readonly customersTable: dynamodb.Table;
  readonly stateTable: dynamodb.Table;
  readonly schedulesTable: dynamodb.Table;
  readonly lassoBudgetTable: dynamodb.Table;
  readonly reportReadyQueue: sqs.Queue;
  readonly reportReadyDlq: sqs.Queue;
  readonly lassoApiKeySecret: secretsmanager.Secret;
  readonly webhookSecret: secretsmanager.Secret;
  readonly archive: EvidenceArchive;
  readonly archiveKey: kms.IKey;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.customersTable = new dynamodb.Table(this, CUSTOMERS_TABLE.id, {
      partitionKey: attribute(CUSTOMERS_TABLE.partitionKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // People's data, edited by hand: never deleted by a stack operation.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    addIndexes(this.customersTable, CUSTOMERS_TABLE);

    this.schedulesTable = new dynamodb.Table(this, SCHEDULES_TABLE.id, {
      partitionKey: attribute(SCHEDULES_TABLE.partitionKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Keys only: sync-schedules reads the item as it is now, so a replay is harmless.
      stream: dynamodb.StreamViewType.KEYS_ONLY,
      // Operators' edits: never deleted by a stack operation.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateTable = new dynamodb.Table(this, STATE_TABLE.id, {
      partitionKey: attribute(STATE_TABLE.partitionKey),
      sortKey: attribute(STATE_TABLE.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: STATE_TABLE.timeToLiveAttribute,
      // The record of what was sent to whom: kept when the stack is deleted (docs/deploy.md).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    addIndexes(this.stateTable, STATE_TABLE);

    // One item: the token bucket that keeps every function under Lasso's rate limit.
    // Rebuilt by the first taker when lost, so nothing to retain.
    this.lassoBudgetTable = new dynamodb.Table(this, LASSO_BUDGET_TABLE.id, {
      partitionKey: attribute(LASSO_BUDGET_TABLE.partitionKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.reportReadyDlq = new sqs.Queue(this, "ReportReadyDlq", {
      ...secureQueueProps(),
      retentionPeriod: DLQ_RETENTION,
    });
    this.reportReadyQueue = new sqs.Queue(this, "ReportReadyQueue", {
      ...secureQueueProps(),
      visibilityTimeout: REPORT_READY_VISIBILITY,
      retentionPeriod: REPORT_READY_RETENTION,
      deadLetterQueue: { queue: this.reportReadyDlq, maxReceiveCount: config.delivery.maxReceiveCount },
    });
    acknowledge(
      this.reportReadyDlq,
      "AwsSolutions-SQS3",
      "This queue is the report-ready queue's dead-letter queue; a DLQ of a DLQ would only move the problem.",
    );

    this.lassoApiKeySecret = new secretsmanager.Secret(this, "LassoApiKey", {
      description:
        "Lasso X API key (header lasso-api-key). Set by the operator: aws secretsmanager put-secret-value (docs/deploy.md).",
      // A random placeholder, so no key is ever in the template; Lasso refuses it until replaced.
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    acknowledge(
      this.lassoApiKeySecret,
      "AwsSolutions-SMG4",
      "The Lasso API key is issued by Lasso to a person; Secrets Manager cannot rotate it. The operator replaces it by hand (docs/operations.md).",
    );

    this.webhookSecret = new secretsmanager.Secret(this, "WebhookSecret", {
      description: `Value of the ${config.webhook.headerName} header Lasso sends with every webhook call (authConfig).`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    acknowledge(
      this.webhookSecret,
      "AwsSolutions-SMG4",
      "Every open Lasso batch carries the webhook secret in its authConfig, so rotation is a planned manual step: the receiver accepts AWSCURRENT and AWSPREVIOUS while batches are resubmitted (docs/operations.md).",
    );

    this.archive = new EvidenceArchive(this, "EvidenceArchive", {
      archive: config.archive,
      bucketName: archiveBucketName(config.stackName),
    });
    this.archiveKey = this.archive.key;

    new CfnOutput(this, "CustomersTableName", {
      value: this.customersTable.tableName,
      description: "The customer table (edit by hand or with the CLI)",
    });
    new CfnOutput(this, "SchedulesTableName", {
      value: this.schedulesTable.tableName,
      description: "The report schedules (edit by hand or with `lasso-reports schedules`; docs/schedules.md)",
    });
    new CfnOutput(this, "StateTableName", { value: this.stateTable.tableName });
    new CfnOutput(this, "LassoBudgetTableName", {
      value: this.lassoBudgetTable.tableName,
      description: "The shared Lasso call budget (one item, docs/operations.md)",
    });
    new CfnOutput(this, "ReportReadyQueueName", { value: this.reportReadyQueue.queueName });
    new CfnOutput(this, "ReportReadyDlqName", { value: this.reportReadyDlq.queueName });
    new CfnOutput(this, "ArchiveBucketName", {
      value: this.archive.bucket.bucketName,
      description: "The write-once evidence archive (docs/evidence.md)",
    });
    new CfnOutput(this, "LassoApiKeySecretArn", {
      value: this.lassoApiKeySecret.secretArn,
      description: "Put the Lasso API key here (docs/deploy.md)",
    });
    new CfnOutput(this, "WebhookSecretArn", {
      value: this.webhookSecret.secretArn,
      description: "The webhook header's value (generated; read it only to test the webhook by hand)",
    });
  }
}
