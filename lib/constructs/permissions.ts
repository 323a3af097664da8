/**
 * Exact permissions: each function is given the actions its code calls, on the resources
 * it calls them on, and on each index it queries by name (no `index/*`).
 */
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";

export type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:BatchGetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:Query"
  | "dynamodb:Scan";

/** Item actions on the table; `dynamodb:Query` on each named index. */
export function grantTable(
  grantee: iam.IGrantable,
  table: dynamodb.ITable,
  actions: readonly TableAction[],
  queriedIndexes: readonly string[] = [],
): void {
  if (actions.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }),
    );
  }
  if (queriedIndexes.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: queriedIndexes.map((index) => `${table.tableArn}/index/${index}`),
      }),
    );
  }
}

/**
 * The Lasso call budget's one item (runtime/lasso-budget.ts): read and conditionally
 * updated, by its key only.
 */
export function grantBudgetItem(grantee: iam.IGrantable, table: dynamodb.ITable, key: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
      resources: [table.tableArn],
      conditions: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [key] } },
    }),
  );
}

/** GetSecretValue only: Powertools' SecretsProvider calls nothing else. */
export function grantSecretValue(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
  );
}

/** The queue's depth (GetQueueAttributes) only: the poller holds reports for their rings while it is busy. */
export function grantQueueDepth(grantee: iam.IGrantable, queue: sqs.IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["sqs:GetQueueAttributes"], resources: [queue.queueArn] }),
  );
}

/** SendMessage covers SendMessageBatch; SSE-SQS needs no KMS permission. */
export function grantSend(grantee: iam.IGrantable, queue: sqs.IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue.queueArn] }),
  );
}
