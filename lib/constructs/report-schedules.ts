/**
 * The report schedules as data (docs/schedules.md, "Schedules as data"): the stack's
 * EventBridge Scheduler group, the role its schedules invoke submit-batches with, and
 * sync-schedules, fed by the schedules table's stream, which creates, updates, pauses and
 * deletes the group's schedules as operators edit the items. Its grants name that group
 * and that role only. The deploy config's schedules seed the table: each is written only
 * while no item of its name exists, so a later deploy never overwrites an operator's edit.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { ENV } from "#shared/env-names.ts";
import { itemFromSchedule } from "#shared/schedule-item.ts";
import type { DeployConfig } from "../config/schema.ts";
import { acknowledge } from "../nag.ts";
import { grantTable } from "./permissions.ts";
import { ReportFunction } from "./report-function.ts";

export interface ReportSchedulesProps {
  config: DeployConfig;
  schedulesTable: dynamodb.ITable;
  stateEnv: Record<string, string>;
  stateTable: dynamodb.ITable;
  submitFunction: lambda.IFunction;
  /** Firings the scheduler could not hand to submit-batches. */
  scheduledRunsDlq: sqs.IQueue;
  /** Stream batches sync-schedules gave up on. */
  syncDlq: sqs.IQueue;
  logRetention: logs.RetentionDays;
}

/** The schedule group's name: one per stack, so the sync's grants cover this stack only. */
export const scheduleGroupName = (stackName: string): string => `${stackName}-reports`;

export class ReportSchedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly invokeRole: iam.Role;
  readonly syncFunction: ReportFunction;

  constructor(scope: Construct, id: string, props: ReportSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.group = new scheduler.ScheduleGroup(this, "Group", {
      scheduleGroupName: scheduleGroupName(props.config.stackName),
    });

    // What every report schedule runs as: invoke submit-batches, dead-letter a firing.
    this.invokeRole = new iam.Role(this, "InvokeRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description: "EventBridge Scheduler's report schedules: invoke submit-batches only",
    });
    this.invokeRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [props.submitFunction.functionArn],
      }),
    );
    this.invokeRole.addToPolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [props.scheduledRunsDlq.queueArn] }),
    );

    this.syncFunction = new ReportFunction(stack, "SyncSchedules", {
      folder: "sync-schedules",
      description: "Applies the schedules table to EventBridge Scheduler (create, update, pause, delete)",
      timeout: Duration.minutes(1),
      environment: {
        ...props.stateEnv,
        [ENV.schedulesTable]: props.schedulesTable.tableName,
        [ENV.scheduleGroup]: this.group.scheduleGroupName,
        [ENV.schedulerRoleArn]: this.invokeRole.roleArn,
        [ENV.submitFunctionArn]: props.submitFunction.functionArn,
        [ENV.scheduledRunsDlqArn]: props.scheduledRunsDlq.queueArn,
      },
      logRetention: props.logRetention,
    });
    const fn = this.syncFunction;
    // The item as it is now (the stream carries keys only); its sync record.
    grantTable(fn, props.schedulesTable, ["dynamodb:GetItem"]);
    grantTable(fn, props.stateTable, ["dynamodb:PutItem"]);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          "scheduler:GetSchedule",
          "scheduler:CreateSchedule",
          "scheduler:UpdateSchedule",
          "scheduler:DeleteSchedule",
        ],
        resources: [
          stack.formatArn({
            service: "scheduler",
            resource: "schedule",
            resourceName: `${this.group.scheduleGroupName}/*`,
          }),
        ],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [this.invokeRole.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      }),
    );
    const role = fn.role as iam.IRole;
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.group.scheduleGroupName}/*]`,
      "sync-schedules manages the report schedules of this stack's own schedule group only; their names are operators' data, so the group is the narrowest resource.",
    );
    fn.addEventSource(
      new DynamoEventSource(props.schedulesTable, {
        // Every change since the table's stream began: the deploy's seeding included.
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 10,
        retryAttempts: 5,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(props.syncDlq),
      }),
    );
    acknowledge(
      role,
      "AwsSolutions-IAM5[Resource::*]",
      "Lambda's DynamoDB event source needs dynamodb:ListStreams, which has no resource type (grantStreamRead adds it on *); the stream itself is read by its ARN.",
    );

    this.seed(props, fn);
  }

  private seedLogGroup?: logs.LogGroup;

  /** One log group for the seeding provider's logs, with the stack's retention. */
  private seedLogs(retention: logs.RetentionDays): logs.LogGroup {
    this.seedLogGroup ??= new logs.LogGroup(this, "SeedLogs", {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return this.seedLogGroup;
  }

  /**
   * One custom resource per deploy-config schedule: PutItem only where no item of that
   * name exists (`attribute_not_exists`), on create and on update of the config's entry.
   */
  private seed(props: ReportSchedulesProps, after: Construct): void {
    const seeded: cr.AwsCustomResource[] = [];
    for (const schedule of props.config.schedules) {
      const put: cr.AwsSdkCall = {
        service: "DynamoDB",
        action: "putItem",
        parameters: {
          TableName: props.schedulesTable.tableName,
          Item: marshall(itemFromSchedule(schedule)),
          ConditionExpression: "attribute_not_exists(#name)",
          ExpressionAttributeNames: { "#name": "name" },
        },
        physicalResourceId: cr.PhysicalResourceId.of(`seed-${schedule.name}`),
        // An item of that name exists: it is the operator's, left as it is.
        ignoreErrorCodesMatching: "ConditionalCheckFailedException",
      };
      const resource = new cr.AwsCustomResource(this, `Seed-${schedule.name}`, {
        onCreate: put,
        onUpdate: put,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ["dynamodb:PutItem"],
            resources: [props.schedulesTable.tableArn],
          }),
        ]),
        installLatestAwsSdk: false,
        logGroup: this.seedLogs(props.logRetention),
      });
      resource.node.addDependency(after);
      seeded.push(resource);
    }
    if (seeded.length > 0) acknowledgeSeedProvider(Stack.of(this));
  }
}

/** DynamoDB's typed attribute values for the custom resource's PutItem. */
function marshall(item: Record<string, unknown>): Record<string, unknown> {
  const typed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value === "string") typed[name] = { S: value };
    else if (typeof value === "number") typed[name] = { N: String(value) };
    else if (typeof value === "boolean") typed[name] = { BOOL: value };
  }
  return typed;
}

/** The custom resources' one provider function (CDK's singleton), seen by cdk-nag. */
function acknowledgeSeedProvider(stack: Stack): void {
  const provider = stack.node.tryFindChild(
    `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
  );
  const providerRole = provider?.node.tryFindChild("ServiceRole");
  if (provider === undefined || providerRole === undefined) return;
  acknowledge(
    providerRole,
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "CDK's AwsCustomResource provider logs through AWSLambdaBasicExecutionRole; its only other permission is PutItem on the schedules table, at deploy time.",
  );
}
