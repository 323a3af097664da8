/**
 * The report schedules as data, synthesized: the schedules table and its stream, the
 * stack's schedule group, the invoke role, and sync-schedules with the least privilege
 * its path needs (Scheduler actions on the group's schedules only, iam:PassRole on the
 * invoke role only and only to Scheduler), its stream event source with a DLQ, its alarm,
 * and the seeding of the deploy config's schedules that never overwrites an item.
 */
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { readSyncSchedulesConfig } from "#lambdas/sync-schedules/config.ts";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { parseDeployConfig } from "#lib/config/schema.ts";
import { ENV } from "#shared/env-names.ts";
import { itemFromSchedule } from "#shared/schedule-item.ts";
import { schedulerExpression } from "#shared/schedule-rules.ts";
import { actionsCalledBy } from "./code-actions.ts";
import { resourcesOf, type SynthesizedApp, synthesize } from "./synth.ts";

let app: SynthesizedApp;

beforeAll(() => {
  app = synthesize(deployConfig);
}, 120_000);

const config = parseDeployConfig(deployConfig);
const GROUP = `${config.stackName}-reports`;
const id = (construct: IConstruct): string => app.logicalId(construct);
const arn = (construct: IConstruct): string => `\${${id(construct)}.Arn}`;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The statements of every inline policy attached to the role with this logical id. */
function statementsOf(roleId: string): Statement[] {
  return Object.values(resourcesOf(app.statelessTemplate, "AWS::IAM::Policy"))
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Every Allow as "action resource [condition]", sorted. */
function grantsOf(roleId: string): string[] {
  const grants: string[] = [];
  for (const statement of statementsOf(roleId)) {
    expect(statement.Effect).toBe("Allow");
    const condition = statement.Condition === undefined ? "" : ` ${JSON.stringify(statement.Condition)}`;
    for (const action of [statement.Action].flat())
      for (const resource of [statement.Resource].flat())
        grants.push(`${action} ${app.render(resource)}${condition}`);
  }
  return grants.sort();
}

const syncRoleId = () => id(app.stateless.syncSchedules.role as IConstruct);

describe("sync-schedules: least privilege", () => {
  it("may call exactly: the item, its sync record, the group's schedules, PassRole of the invoke role", () => {
    const schedulesTable = app.render({ "Fn::GetAtt": [id(app.stateful.schedulesTable), "Arn"] });
    const streamArn = app.render({ "Fn::GetAtt": [id(app.stateful.schedulesTable), "StreamArn"] });
    const groupSchedules = `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule/${GROUP}/*`;
    const grants = grantsOf(syncRoleId()).filter((grant) => !grant.startsWith("logs:"));
    expect(grants).toEqual(
      [
        `dynamodb:GetItem ${schedulesTable}`,
        `dynamodb:PutItem \${${id(app.stateful.stateTable)}.Arn}`,
        // Lambda's stream event source: ListStreams has no resource type.
        "dynamodb:ListStreams *",
        `dynamodb:DescribeStream ${streamArn}`,
        `dynamodb:GetRecords ${streamArn}`,
        `dynamodb:GetShardIterator ${streamArn}`,
        `scheduler:CreateSchedule ${groupSchedules}`,
        `scheduler:DeleteSchedule ${groupSchedules}`,
        `scheduler:GetSchedule ${groupSchedules}`,
        `scheduler:UpdateSchedule ${groupSchedules}`,
        `iam:PassRole ${arn(app.stateless.reportSchedules.invokeRole)} {"StringEquals":{"iam:PassedToService":"scheduler.amazonaws.com"}}`,
        // The stream event source's on-failure destination.
        `sqs:GetQueueAttributes ${arn(app.stateless.scheduleSyncDlq)}`,
        `sqs:GetQueueUrl ${arn(app.stateless.scheduleSyncDlq)}`,
        `sqs:SendMessage ${arn(app.stateless.scheduleSyncDlq)}`,
      ].sort(),
    );
  });

  it("its Scheduler and DynamoDB grants are what its bundled code calls", async () => {
    const called = await actionsCalledBy("sync-schedules");
    expect(called).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
      ].sort(),
    );
    const granted = new Set(statementsOf(syncRoleId()).flatMap((statement) => [statement.Action].flat()));
    for (const action of called) expect(granted.has(action), action).toBe(true);
  });

  it("its configuration loads from the environment the stack gives it, naming the group, role, target, DLQ", () => {
    const fn = app.statelessTemplate.toJSON().Resources[id(app.stateless.syncSchedules)];
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    const env = Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [name, app.render(value)]),
    );
    expect(env[ENV.scheduleGroup]).toBe(GROUP);
    expect(env[ENV.schedulerRoleArn]).toBe(arn(app.stateless.reportSchedules.invokeRole));
    expect(env[ENV.submitFunctionArn]).toBe(arn(app.stateless.submitBatches));
    expect(env[ENV.scheduledRunsDlqArn]).toBe(arn(app.stateless.scheduledRunsDlq));
    expect(env[ENV.schedulesTable]).toBe(`\${${id(app.stateful.schedulesTable)}}`);
    expect(() => readSyncSchedulesConfig(env)).not.toThrow();
  });
});

describe("the report schedules", () => {
  it("the invoke role: assumed by Scheduler of this account; invokes submit-batches, writes the runs' DLQ", () => {
    const role = app.statelessTemplate.toJSON().Resources[id(app.stateless.reportSchedules.invokeRole)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: "sts:AssumeRole",
        Effect: "Allow",
        Principal: { Service: "scheduler.amazonaws.com" },
        Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
      },
    ]);
    expect(grantsOf(id(app.stateless.reportSchedules.invokeRole))).toEqual(
      [
        `lambda:InvokeFunction ${arn(app.stateless.submitBatches)}`,
        `sqs:SendMessage ${arn(app.stateless.scheduledRunsDlq)}`,
      ].sort(),
    );
  });

  it("no report schedule is declared in CloudFormation (one owner: the sync); the group is", () => {
    const schedules = Object.values(resourcesOf(app.statelessTemplate, "AWS::Scheduler::Schedule"));
    expect(schedules.map((schedule) => schedule.Properties.ScheduleExpression)).toEqual([
      `rate(${config.poll.rateMinutes} minutes)`,
    ]);
    const groups = Object.values(resourcesOf(app.statelessTemplate, "AWS::Scheduler::ScheduleGroup"));
    expect(groups.map((group) => group.Properties.Name)).toEqual([GROUP]);
  });

  it("the schedules table: key name, keys-only stream, PITR, protected and retained", () => {
    const table = app.statefulTemplate.toJSON().Resources[id(app.stateful.schedulesTable)];
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "name", KeyType: "HASH" }],
      StreamSpecification: { StreamViewType: "KEYS_ONLY" },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it("the stream feeds sync-schedules from its start, with partial batch failures and a DLQ", () => {
    const mappings = Object.values(
      resourcesOf(app.statelessTemplate, "AWS::Lambda::EventSourceMapping"),
    ).filter(
      (mapping) =>
        (mapping.Properties.FunctionName as { Ref?: string }).Ref === id(app.stateless.syncSchedules),
    );
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0] as (typeof mappings)[number];
    expect(mapping.Properties).toMatchObject({
      StartingPosition: "TRIM_HORIZON",
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      MaximumRetryAttempts: 5,
    });
    const destination = (mapping.Properties.DestinationConfig as { OnFailure: { Destination: unknown } })
      .OnFailure.Destination;
    expect(app.render(destination)).toBe(arn(app.stateless.scheduleSyncDlq));
  });

  it("each deploy-config schedule is seeded only where no item of its name exists", () => {
    const seeds = Object.values(resourcesOf(app.statelessTemplate, "Custom::AWS"));
    expect(seeds).toHaveLength(config.schedules.length);
    for (const [index, schedule] of config.schedules.entries()) {
      const create = JSON.parse(app.render(seeds[index]?.Properties.Create)) as {
        action: string;
        parameters: { Item: Record<string, unknown>; ConditionExpression: string };
        ignoreErrorCodesMatching: string;
      };
      expect(create.action).toBe("putItem");
      expect(create.parameters.ConditionExpression).toBe("attribute_not_exists(#name)");
      expect(create.ignoreErrorCodesMatching).toBe("ConditionalCheckFailedException");
      expect(Object.keys(create.parameters.Item).sort()).toEqual(
        Object.keys(itemFromSchedule(schedule)).sort(),
      );
      expect(create.parameters.Item.name).toEqual({ S: schedule.name });
      expect(seeds[index]?.Properties.Update).toEqual(seeds[index]?.Properties.Create);
    }
  });

  it("a business-day rule is seeded as its flat attributes (no cron): the sync gives Scheduler its candidate cron", () => {
    const index = config.schedules.findIndex((schedule) => schedule.businessDay === 1);
    expect(index, "the example config has a first-business-day schedule").toBeGreaterThanOrEqual(0);
    const seed = Object.values(resourcesOf(app.statelessTemplate, "Custom::AWS"))[index];
    const item = (
      JSON.parse(app.render(seed?.Properties.Create)) as { parameters: { Item: Record<string, unknown> } }
    ).parameters.Item;
    expect(item).toMatchObject({ businessDay: { N: "1" }, at: { S: "07:00" } });
    expect(item.cron).toBeUndefined();
    expect(schedulerExpression(config.schedules[index] as (typeof config.schedules)[number])).toBe(
      "cron(0 7 1-10 * ? *)",
    );
  });

  it("refused items and the sync's dead letters are alarmed", () => {
    const alarms = Object.values(resourcesOf(app.statelessTemplate, "AWS::CloudWatch::Alarm")).map(
      (alarm) => alarm.Properties,
    );
    const refused = alarms.find((alarm) => alarm.MetricName === "ScheduleRefused");
    expect(refused).toMatchObject({
      Namespace: "LassoReports",
      Dimensions: [{ Name: "service", Value: "sync-schedules" }],
      Threshold: 1,
    });
    expect(
      alarms.some((alarm) => String(alarm.AlarmDescription).includes("ScheduleSync dead-letter queue")),
    ).toBe(true);
  });
});
