/**
 * The synthesized stacks, property by property: what each function is and may do, the
 * tables, queues, schedules, SES wiring, the Function URL, alarms and outputs. The app is
 * synthesized once (bundling every function) and cdk-nag runs during that synthesis.
 */

import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { readDeliverReportSettings } from "#lambdas/deliver-report/config.ts";
import { readPollBatchesConfig } from "#lambdas/poll-batches/config.ts";
import { readReceiveWebhookConfig } from "#lambdas/receive-webhook/config.ts";
import { readRecordSesEventConfig } from "#lambdas/record-ses-event/config.ts";
import { loadSubmitConfig } from "#lambdas/submit-batches/config.ts";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { parseDeployConfig } from "#lib/config/schema.ts";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";
import { DELIVERY_FAILED_REASONS } from "#lib/metrics.ts";
import { ENV } from "#shared/env-names.ts";
import { LASSO_BUDGET_KEY } from "#shared/lasso/call-budget.ts";
import { parseMailProfile } from "#shared/mail/profile.ts";
import { METRICS_NAMESPACE } from "#shared/runtime/metrics.ts";
import { CUSTOMERS_TABLE, LASSO_BUDGET_TABLE, STATE_TABLE } from "#shared/tables.ts";
import { actionsCalledBy } from "./code-actions.ts";
import { resourcesOf, type SynthesizedApp, synthesize } from "./synth.ts";

let app: SynthesizedApp;
let synthMs = 0;

beforeAll(() => {
  const started = performance.now();
  app = synthesize(deployConfig);
  synthMs = performance.now() - started;
}, 120_000);

const config = parseDeployConfig(deployConfig);
const id = (construct: IConstruct): string => app.logicalId(construct);
const arn = (construct: IConstruct): string => `\${${id(construct)}.Arn}`;
const ref = (construct: IConstruct): string => `\${${id(construct)}}`;
/** The evidence archive's fixed name (lib/constructs/evidence-archive.ts), as rendered. */
const ARCHIVE_BUCKET = `${config.stackName.toLowerCase()}-evidence-\${AWS::AccountId}-\${AWS::Region}`;
const sesArn = (resource: string): string =>
  `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:${resource}`;

function functionProps(fn: IConstruct): Record<string, unknown> {
  const resource = app.statelessTemplate.toJSON().Resources[id(fn)];
  expect(resource?.Type).toBe("AWS::Lambda::Function");
  return resource.Properties;
}

/** The Lasso budget's one item, by its key only: read and conditionally updated (runtime/lasso-budget.ts). */
const budgetItemGrants = (): string[] => {
  const onlyItsKey = ` if ${JSON.stringify({ "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [LASSO_BUDGET_KEY] } })}`;
  const table = arn(app.stateful.lassoBudgetTable);
  return [`dynamodb:GetItem ${table}${onlyItsKey}`, `dynamodb:UpdateItem ${table}${onlyItsKey}`];
};

/** Every Allow of the function's role as "action resource[ if condition]", sorted; Denies fail. */
function permissionsOf(fn: IConstruct & { role?: IConstruct | undefined }): string[] {
  if (!fn.role) throw new Error("function has no role");
  const roleId = id(fn.role);
  const role = app.statelessTemplate.toJSON().Resources[roleId];
  expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  expect(role.Properties.Policies).toBeUndefined();
  const grants: string[] = [];
  for (const policy of Object.values(resourcesOf(app.statelessTemplate, "AWS::IAM::Policy"))) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((r) => r.Ref === roleId)) continue;
    const document = policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
    for (const statement of document.Statement) {
      expect(statement.Effect).toBe("Allow");
      const condition = statement.Condition === undefined ? "" : ` if ${JSON.stringify(statement.Condition)}`;
      const actions = [statement.Action].flat() as string[];
      const resources = [statement.Resource].flat();
      for (const action of actions)
        for (const resource of resources) grants.push(`${action} ${app.render(resource)}${condition}`);
    }
  }
  return grants.sort();
}

function envOf(fn: IConstruct): Record<string, string> {
  const variables = (functionProps(fn).Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, app.render(value)]));
}

const powertoolsEnv = (service: string) => ({
  POWERTOOLS_SERVICE_NAME: service,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_LOG_LEVEL: "INFO",
  NODE_OPTIONS: "--enable-source-maps",
});

describe("synthesis", () => {
  it("synthesizes with zero unacknowledged cdk-nag findings (and reports how long it took)", () => {
    const assembly = app.app.synth();
    const report = JSON.parse(
      readFileSync(path.join(assembly.directory, "validation-report.json"), "utf8"),
    ) as {
      pluginReports: { pluginName: string; violations?: unknown[] }[];
    };
    const violations = report.pluginReports.flatMap((plugin) => plugin.violations ?? []);
    expect(violations).toEqual([]);
    console.info(`infra: app synthesized (bundling all functions, cdk-nag) in ${Math.round(synthMs)} ms`);
  });

  it("tags every taggable resource but dashboards (some regions' schema refuses them)", () => {
    const resources = Object.values(app.statelessTemplate.toJSON().Resources) as {
      Type: string;
      Properties?: { Tags?: unknown };
    }[];
    const dashboards = resources.filter((resource) => resource.Type === "AWS::CloudWatch::Dashboard");
    expect(dashboards.length).toBeGreaterThan(0);
    for (const dashboard of dashboards) expect(dashboard.Properties?.Tags).toBeUndefined();
    const queues = resources.filter((resource) => resource.Type === "AWS::SQS::Queue");
    expect(queues.length).toBeGreaterThan(0);
    for (const queue of queues) {
      expect(queue.Properties?.Tags).toContainEqual({ Key: "application", Value: config.stackName });
    }
  });

  it("every acknowledgement carries a specific reason", () => {
    const acknowledgements = app.app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === "aws:cdk:acknowledged-rules");
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const entry of acknowledgements) {
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        expect(rule).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+/);
        expect(reason.length, rule).toBeGreaterThan(40);
      }
    }
  });
});

describe("functions", () => {
  const fns = () =>
    [
      ["submit-batches", app.stateless.submitBatches],
      ["poll-batches", app.stateless.pollBatches],
      ["receive-webhook", app.stateless.receiveWebhook],
      ["deliver-report", app.stateless.deliverReport],
      ["record-ses-event", app.stateless.recordSesEvent],
      ["sync-schedules", app.stateless.syncSchedules],
    ] as const;

  it("each runs its own bundled handler on Node.js 24, ARM64, with its own log group", () => {
    for (const [folder, fn] of fns()) {
      const props = functionProps(fn);
      expect(props, folder).toMatchObject({
        Handler: "index.handler",
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        LoggingConfig: { LogGroup: { Ref: id(fn.logGroup) } },
      });
      const logGroup = app.statelessTemplate.toJSON().Resources[id(fn.logGroup)];
      expect(logGroup.Properties.RetentionInDays, folder).toBe(config.retention.logDays);
    }
  });

  it("bundles each entry as ESM with the createRequire banner, minified, with source maps", () => {
    const assemblyDir = app.app.synth().directory;
    const hashes = new Set<string>();
    for (const [folder, fn] of fns()) {
      const { S3Key } = functionProps(fn).Code as { S3Key: string };
      const hash = S3Key.replace(/\.zip$/, "");
      hashes.add(hash);
      const assetDir = path.join(assemblyDir, `asset.${hash}`);
      const code = readFileSync(path.join(assetDir, "index.mjs"), "utf8");
      expect(
        code.startsWith("import { createRequire as __lassoCreateRequire } from 'node:module';"),
        folder,
      ).toBe(true);
      expect(code, folder).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(readFileSync(path.join(assetDir, "index.mjs.map"), "utf8").length, folder).toBeGreaterThan(0);
      // Minified: long lines (the only line breaks left are inside template strings, and
      // deliver-report carries the compiled mail templates, full of them). Unminified code
      // averages well under 100 characters a line.
      expect(code.length / code.split("\n").length, folder).toBeGreaterThan(1000);
      // Its own handler, not a neighbour's: the service name is bundled in.
      expect(code, folder).toContain(`"${folder}"`);
    }
    expect(hashes.size).toBe(fns().length);
  });

  it("receive-webhook: its Function URL (auth NONE: the header secret is the authentication)", () => {
    const fn = app.stateless.receiveWebhook;
    app.statelessTemplate.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: { "Fn::GetAtt": [id(fn), "Arn"] },
    });
    expect(app.render(app.statelessTemplate.toJSON().Outputs.WebhookUrl.Value)).toBe(
      `\${${id(app.stateless.webhookUrl)}.FunctionUrl}`,
    );
    expect(envOf(fn)).toEqual({
      [ENV.webhookSecretId]: ref(app.stateful.webhookSecret),
      [ENV.webhookHeaderName]: config.webhook.headerName,
      [ENV.webhookBasicUser]: config.webhook.basicUser,
      [ENV.reportReadyQueueUrl]: ref(app.stateful.reportReadyQueue),
      ...powertoolsEnv("receive-webhook"),
    });
    expect(permissionsOf(fn)).toEqual(
      [
        `logs:CreateLogStream ${arn(fn.logGroup)}`,
        `logs:PutLogEvents ${arn(fn.logGroup)}`,
        `secretsmanager:GetSecretValue ${ref(app.stateful.webhookSecret)}`,
        `sqs:SendMessage ${arn(app.stateful.reportReadyQueue)}`,
      ].sort(),
    );
  });

  it("submit-batches: customers by group, the state table, both secrets, the webhook URL", () => {
    const fn = app.stateless.submitBatches;
    expect(envOf(fn)).toEqual({
      [ENV.customersTable]: ref(app.stateful.customersTable),
      [ENV.stateTable]: ref(app.stateful.stateTable),
      [ENV.stateRetentionDays]: String(config.retention.stateDays),
      [ENV.lassoBaseUrl]: config.lasso.baseUrl,
      [ENV.lassoApiKeySecretId]: ref(app.stateful.lassoApiKeySecret),
      [ENV.lassoRequestTimeoutMs]: String(config.lasso.requestTimeoutMs),
      [ENV.lassoCallsPerMinute]: String(config.lasso.callsPerMinute),
      [ENV.lassoBudgetTable]: ref(app.stateful.lassoBudgetTable),
      [ENV.webhookSecretId]: ref(app.stateful.webhookSecret),
      [ENV.webhookHeaderName]: config.webhook.headerName,
      [ENV.webhookBasicUser]: config.webhook.basicUser,
      [ENV.webhookUrl]: `\${${id(app.stateless.webhookUrl)}.FunctionUrl}`,
      [ENV.chunkSize]: String(config.submission.chunkSize),
      [ENV.defaultLanguage]: config.mail.defaultLanguage,
      ...powertoolsEnv("submit-batches"),
    });
    const state = arn(app.stateful.stateTable);
    expect(permissionsOf(fn)).toEqual(
      [
        `logs:CreateLogStream ${arn(fn.logGroup)}`,
        `logs:PutLogEvents ${arn(fn.logGroup)}`,
        `dynamodb:Query ${arn(app.stateful.customersTable)}/index/byGroup`,
        `dynamodb:Scan ${arn(app.stateful.customersTable)}`,
        `dynamodb:GetItem ${state}`,
        `dynamodb:PutItem ${state}`,
        `dynamodb:UpdateItem ${state}`,
        `dynamodb:Query ${state}`,
        `dynamodb:BatchGetItem ${state}`,
        `secretsmanager:GetSecretValue ${ref(app.stateful.lassoApiKeySecret)}`,
        ...budgetItemGrants(),
        `secretsmanager:GetSecretValue ${ref(app.stateful.webhookSecret)}`,
        // Lambda puts a run that failed every retry on the scheduled-runs DLQ with this role.
        `sqs:GetQueueAttributes ${arn(app.stateless.scheduledRunsDlq)}`,
        `sqs:GetQueueUrl ${arn(app.stateless.scheduledRunsDlq)}`,
        `sqs:SendMessage ${arn(app.stateless.scheduledRunsDlq)}`,
      ].sort(),
    );
    app.statelessTemplate.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: id(fn) },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [id(app.stateless.scheduledRunsDlq), "Arn"] } },
      },
    });
  });

  it("poll-batches: the open-batches index, the state table, the queue, the Lasso key", () => {
    const fn = app.stateless.pollBatches;
    expect(envOf(fn)).toEqual({
      [ENV.stateTable]: ref(app.stateful.stateTable),
      [ENV.stateRetentionDays]: String(config.retention.stateDays),
      [ENV.lassoBaseUrl]: config.lasso.baseUrl,
      [ENV.lassoApiKeySecretId]: ref(app.stateful.lassoApiKeySecret),
      [ENV.lassoRequestTimeoutMs]: String(config.lasso.requestTimeoutMs),
      [ENV.lassoCallsPerMinute]: String(config.lasso.callsPerMinute),
      [ENV.lassoBudgetTable]: ref(app.stateful.lassoBudgetTable),
      [ENV.reportReadyQueueUrl]: ref(app.stateful.reportReadyQueue),
      [ENV.stalledAfterMinutes]: String(config.poll.stalledAfterMinutes),
      ...powertoolsEnv("poll-batches"),
    });
    const state = arn(app.stateful.stateTable);
    expect(permissionsOf(fn)).toEqual(
      [
        `logs:CreateLogStream ${arn(fn.logGroup)}`,
        `logs:PutLogEvents ${arn(fn.logGroup)}`,
        `dynamodb:GetItem ${state}`,
        `dynamodb:PutItem ${state}`,
        `dynamodb:UpdateItem ${state}`,
        `dynamodb:BatchGetItem ${state}`,
        `dynamodb:DeleteItem ${state}`,
        `dynamodb:Query ${state}/index/openBatches`,
        `sqs:SendMessage ${arn(app.stateful.reportReadyQueue)}`,
        // Its depth: reports wait for their rings while it holds messages.
        `sqs:GetQueueAttributes ${arn(app.stateful.reportReadyQueue)}`,
        `secretsmanager:GetSecretValue ${ref(app.stateful.lassoApiKeySecret)}`,
        ...budgetItemGrants(),
      ].sort(),
    );
    // A poll shorter than its rate, so two polls do not pile up.
    expect(functionProps(fn).Timeout).toBeLessThanOrEqual(config.poll.rateMinutes * 60);
  });

  it("deliver-report: fed by the queue with partial batch failures; SES with the configuration set", () => {
    const fn = app.stateless.deliverReport;
    expect(envOf(fn)).toEqual({
      [ENV.stateTable]: ref(app.stateful.stateTable),
      [ENV.stateRetentionDays]: String(config.retention.stateDays),
      [ENV.customersTable]: ref(app.stateful.customersTable),
      [ENV.mailSender]: config.mail.sender,
      [ENV.mailProfile]: expect.any(String),
      [ENV.defaultLanguage]: config.mail.defaultLanguage,
      [ENV.sesConfigurationSet]: ref(app.stateless.mail.configurationSet),
      [ENV.pdfAllowedHosts]: config.pdfHosts.join(","),
      [ENV.maxPdfBytes]: String(config.delivery.maxPdfBytes),
      [ENV.deliveryBatchSize]: String(config.delivery.batchSize),
      [ENV.reportReadyQueueUrl]: ref(app.stateful.reportReadyQueue),
      [ENV.stalledAfterMinutes]: String(config.poll.stalledAfterMinutes),
      [ENV.webhookUrl]: `\${${id(app.stateless.webhookUrl)}.FunctionUrl}`,
      [ENV.ringMaxReceives]: String(Math.min(3, config.delivery.maxReceiveCount - 1)),
      [ENV.lassoBaseUrl]: config.lasso.baseUrl,
      [ENV.lassoApiKeySecretId]: ref(app.stateful.lassoApiKeySecret),
      [ENV.lassoRequestTimeoutMs]: String(config.lasso.requestTimeoutMs),
      [ENV.lassoCallsPerMinute]: String(config.lasso.callsPerMinute),
      [ENV.lassoBudgetTable]: ref(app.stateful.lassoBudgetTable),
      [ENV.archiveBucket]: ARCHIVE_BUCKET,
      [ENV.archiveRetentionDays]: String(config.archive.retentionDays),
      ...powertoolsEnv("deliver-report"),
    });
    // The firm's profile, as the function validates it at cold start; no secret in it.
    const profile = parseMailProfile(String(envOf(fn)[ENV.mailProfile]));
    expect(profile.from).toEqual({ name: config.mail.senderName, address: config.mail.sender });
    expect(profile.firm.name).toBe(config.firm.name);
    expect(profile.texts.da.footer).toBe(config.firm.da.footer);
    const state = arn(app.stateful.stateTable);
    const queue = arn(app.stateful.reportReadyQueue);
    expect(permissionsOf(fn)).toEqual(
      [
        `logs:CreateLogStream ${arn(fn.logGroup)}`,
        `logs:PutLogEvents ${arn(fn.logGroup)}`,
        `dynamodb:GetItem ${state}`,
        `dynamodb:UpdateItem ${state}`,
        // A webhook's ring reconciles its batch as the poller does (doorbell.ts).
        `dynamodb:PutItem ${state}`,
        `dynamodb:BatchGetItem ${state}`,
        `dynamodb:DeleteItem ${state}`,
        `sqs:SendMessage ${queue}`,
        `dynamodb:GetItem ${arn(app.stateful.customersTable)}`,
        `secretsmanager:GetSecretValue ${ref(app.stateful.lassoApiKeySecret)}`,
        ...budgetItemGrants(),
        `dynamodb:Query ${arn(app.stateful.customersTable)}/index/byCvr`,
        ...["ses:SendEmail", "ses:SendRawEmail"].flatMap((action) => [
          `${action} ${sesArn(`identity/${config.mail.identity}`)}`,
          `${action} ${sesArn(`identity/${config.mail.sender}`)}`,
          `${action} ${sesArn(`configuration-set/${ref(app.stateless.mail.configurationSet)}`)}`,
        ]),
        // What the SQS event source mapping needs to receive and delete on its behalf.
        `sqs:ChangeMessageVisibility ${queue}`,
        `sqs:DeleteMessage ${queue}`,
        `sqs:GetQueueAttributes ${queue}`,
        `sqs:GetQueueUrl ${queue}`,
        `sqs:ReceiveMessage ${queue}`,
        // The evidence archive: new objects under customers/ only, never a read or a delete.
        `s3:PutObject arn:\${AWS::Partition}:s3:::${ARCHIVE_BUCKET}/customers/*`,
        `kms:GenerateDataKey ${arn(app.stateful.archiveKey)}`,
      ].sort(),
    );
    app.statelessTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: id(fn) },
      BatchSize: config.delivery.batchSize,
      ScalingConfig: { MaximumConcurrency: config.delivery.maxConcurrency },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("record-ses-event: one state-table write and one read (no put, delete or query), its DLQ", () => {
    const fn = app.stateless.recordSesEvent;
    expect(envOf(fn)).toEqual({
      [ENV.stateTable]: ref(app.stateful.stateTable),
      [ENV.stateRetentionDays]: String(config.retention.stateDays),
      ...powertoolsEnv("record-ses-event"),
    });
    const dlq = arn(app.stateless.sesEventsDlq);
    expect(permissionsOf(fn)).toEqual(
      [
        `logs:CreateLogStream ${arn(fn.logGroup)}`,
        `logs:PutLogEvents ${arn(fn.logGroup)}`,
        `dynamodb:GetItem ${arn(app.stateful.stateTable)}`,
        `dynamodb:UpdateItem ${arn(app.stateful.stateTable)}`,
        `sqs:GetQueueAttributes ${dlq}`,
        `sqs:GetQueueUrl ${dlq}`,
        `sqs:SendMessage ${dlq}`,
      ].sort(),
    );
  });
});

describe("environment against the code", () => {
  // Deploy-time values stand in for CloudFormation tokens, in the form they take at runtime.
  const runtimeEnv = (fn: IConstruct): NodeJS.ProcessEnv =>
    Object.fromEntries(
      Object.entries(envOf(fn)).map(([name, value]) => {
        if (!value.includes("${")) return [name, value];
        if (name === ENV.webhookUrl) return [name, "https://abc123.lambda-url.eu-central-1.on.aws/"];
        if (name === ENV.reportReadyQueueUrl) return [name, "https://sqs.eu-central-1.amazonaws.com/1/q"];
        return [name, `resolved-${name.toLowerCase()}`];
      }),
    );

  it("each function's configuration loads from the environment the stack gives it", () => {
    expect(() => loadSubmitConfig(runtimeEnv(app.stateless.submitBatches))).not.toThrow();
    expect(() => readPollBatchesConfig(runtimeEnv(app.stateless.pollBatches))).not.toThrow();
    expect(() => readReceiveWebhookConfig(runtimeEnv(app.stateless.receiveWebhook))).not.toThrow();
    expect(() => readDeliverReportSettings(runtimeEnv(app.stateless.deliverReport))).not.toThrow();
    expect(() => readRecordSesEventConfig(runtimeEnv(app.stateless.recordSesEvent))).not.toThrow();
  });

  it("and reads the deploy config's values from it", () => {
    const deliver = readDeliverReportSettings(runtimeEnv(app.stateless.deliverReport));
    expect(deliver.pdf.allowedHosts).toEqual(config.pdfHosts);
    expect(deliver.pdf.maxBytes).toBe(config.delivery.maxPdfBytes);
    // On Lambda, with the memory the stack gives it, the cap is kept as configured.
    const memory = String(functionProps(app.stateless.deliverReport).MemorySize);
    expect(memory).toBe(String(config.delivery.memoryMb));
    const onLambda = { ...runtimeEnv(app.stateless.deliverReport), [ENV.lambdaMemorySize]: memory };
    expect(readDeliverReportSettings(onLambda).pdf.maxBytes).toBe(config.delivery.maxPdfBytes);
    expect(deliver.pdf.allowHttp).toBe(false);
    expect(deliver.mail.sender).toBe(config.mail.sender);
    expect(deliver.mail.configurationSet).toBeDefined();
    const submit = loadSubmitConfig(runtimeEnv(app.stateless.submitBatches));
    expect(submit.chunkSize).toBe(config.submission.chunkSize);
    expect(submit.webhookHeaderName).toBe(config.webhook.headerName);
    expect(submit.webhookBasicUser).toBe(config.webhook.basicUser);
    const receive = readReceiveWebhookConfig(runtimeEnv(app.stateless.receiveWebhook));
    expect(receive.basicUser).toBe(config.webhook.basicUser);
    expect(readPollBatchesConfig(runtimeEnv(app.stateless.pollBatches)).stalledAfterMinutes).toBe(
      config.poll.stalledAfterMinutes,
    );
  });
});

describe("permissions against the code", () => {
  // What the Lambda service does with the role, not the code: write the function's logs,
  // poll its event source queue, put failed async invocations on the destination DLQ.
  const PLATFORM_ACTIONS = new Set([
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    // (sqs:ChangeMessageVisibility is not only the event source's: deliver-report calls it.
    // poll-batches' own sqs:GetQueueAttributes is asserted with its grants.)
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    // S3 asks KMS for the data key of an SSE-KMS object on the writer's behalf (the archive).
    "kms:GenerateDataKey",
  ]);
  const codeGrants = (fn: IConstruct & { role?: IConstruct | undefined }): string[] => {
    const dlqs = [arn(app.stateless.scheduledRunsDlq), arn(app.stateless.sesEventsDlq)];
    const actions = permissionsOf(fn)
      .map((grant) => grant.split(" ") as [string, string])
      .filter(([action, resource]) => !PLATFORM_ACTIONS.has(action) && !dlqs.includes(resource))
      .map(([action]) => action);
    return [...new Set(actions)].sort();
  };

  it.each([
    "submit-batches",
    "poll-batches",
    "receive-webhook",
    "deliver-report",
    "record-ses-event",
  ] as const)("%s may call exactly the AWS actions its bundled code calls", async (folder) => {
    const fn = {
      "submit-batches": app.stateless.submitBatches,
      "poll-batches": app.stateless.pollBatches,
      "receive-webhook": app.stateless.receiveWebhook,
      "deliver-report": app.stateless.deliverReport,
      "record-ses-event": app.stateless.recordSesEvent,
    }[folder];
    expect(codeGrants(fn)).toEqual((await actionsCalledBy(folder)).filter((a) => !PLATFORM_ACTIONS.has(a)));
  });
});

describe("tables", () => {
  const keySchema = (definition: { partitionKey: { name: string }; sortKey?: { name: string } }) => [
    { AttributeName: definition.partitionKey.name, KeyType: "HASH" },
    ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: "RANGE" }] : []),
  ];

  it("customers: keys and indexes from tables.ts, on demand, PITR, encrypted, protected and retained", () => {
    const table = app.statefulTemplate.toJSON().Resources[id(app.stateful.customersTable)];
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
    expect(table.Properties).toMatchObject({
      KeySchema: keySchema(CUSTOMERS_TABLE),
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      CUSTOMERS_TABLE.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index),
        Projection: { ProjectionType: "ALL" },
      })),
    );
  });

  it("state: keys, the sparse open-batches index (and the others) from tables.ts, TTL, PITR, encrypted", () => {
    const table = app.statefulTemplate.toJSON().Resources[id(app.stateful.stateTable)];
    expect(table.Properties).toMatchObject({
      KeySchema: keySchema(STATE_TABLE),
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
    });
    const indexes = table.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[];
    expect(indexes.find((index) => index.IndexName === "openBatches")?.KeySchema).toEqual([
      { AttributeName: "openPartition", KeyType: "HASH" },
      { AttributeName: "lassoBatchId", KeyType: "RANGE" },
    ]);
    expect(indexes.map((index) => index.IndexName)).toEqual(
      STATE_TABLE.indexes.map((index) => index.indexName),
    );
  });

  it("lasso budget: one key from tables.ts, on demand, PITR, encrypted, no indexes", () => {
    const table = app.statefulTemplate.toJSON().Resources[id(app.stateful.lassoBudgetTable)];
    expect(table.Properties).toMatchObject({
      KeySchema: keySchema(LASSO_BUDGET_TABLE),
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
  });

  it("lasso budget: only the functions that call Lasso may touch it, and only its one item", () => {
    const table = arn(app.stateful.lassoBudgetTable);
    const withBudget = [app.stateless.submitBatches, app.stateless.pollBatches, app.stateless.deliverReport];
    for (const fn of withBudget) {
      const grants = permissionsOf(fn).filter((grant) => grant.includes(table));
      expect(grants).toEqual(budgetItemGrants().sort());
      expect(envOf(fn)[ENV.lassoCallsPerMinute]).toBe(String(config.lasso.callsPerMinute));
    }
    for (const fn of [app.stateless.receiveWebhook, app.stateless.recordSesEvent]) {
      expect(permissionsOf(fn).filter((grant) => grant.includes(table))).toEqual([]);
    }
  });
});

describe("queues", () => {
  it("report-ready: SSE, its DLQ after a bounded number of receives, visibility >= 6x the consumer's timeout", () => {
    const resources = app.statefulTemplate.toJSON().Resources;
    const queue = resources[id(app.stateful.reportReadyQueue)].Properties;
    const deliverTimeout = functionProps(app.stateless.deliverReport).Timeout as number;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [id(app.stateful.reportReadyDlq), "Arn"] },
      maxReceiveCount: config.delivery.maxReceiveCount,
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * deliverTimeout);
    // A long weekend (Friday evening to Tuesday morning) with delivery down loses nothing.
    expect(queue.MessageRetentionPeriod).toBeGreaterThanOrEqual(4 * 24 * 3600);
    expect(resources[id(app.stateful.reportReadyDlq)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it("every queue is encrypted and refuses requests without TLS", () => {
    for (const template of [app.statefulTemplate, app.statelessTemplate]) {
      const queues = Object.keys(resourcesOf(template, "AWS::SQS::Queue"));
      expect(queues.length).toBeGreaterThan(0);
      for (const queueId of queues) {
        expect(template.toJSON().Resources[queueId].Properties.SqsManagedSseEnabled, queueId).toBe(true);
        template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: [{ Ref: queueId }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: "Deny",
                Action: "sqs:*",
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              }),
            ]),
          },
        });
      }
    }
  });
});

describe("schedules", () => {
  it("the poll runs at the configured rate, on time, with a short retry", () => {
    const poll = app.statelessTemplate.toJSON().Resources[id(app.stateless.schedules.pollSchedule)];
    expect(poll.Properties).toMatchObject({
      ScheduleExpression: `rate(${config.poll.rateMinutes} minutes)`,
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: { "Fn::GetAtt": [id(app.stateless.pollBatches), "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [id(app.stateless.scheduledRunsDlq), "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 2 },
      },
    });
  });

  it("each schedule's role may invoke only its function and write only to the DLQ", () => {
    for (const policy of Object.values(resourcesOf(app.statelessTemplate, "AWS::IAM::Policy"))) {
      const statements = (
        policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
      ).Statement;
      const invokes = statements.filter((statement) =>
        [statement.Action].flat().includes("lambda:InvokeFunction"),
      );
      for (const statement of invokes) {
        const resources = [statement.Resource].flat().map(app.render);
        const target = [app.stateless.submitBatches, app.stateless.pollBatches].find((fn) =>
          resources.includes(arn(fn)),
        );
        expect(target, JSON.stringify(resources)).toBeDefined();
        // The poll schedule's role (CDK's grantInvoke: versions too); the report schedules'
        // role (lib/constructs/report-schedules.ts) names the unqualified function only.
        expect(resources.sort()).toEqual(
          target === app.stateless.pollBatches
            ? [arn(target as IConstruct), `${arn(target as IConstruct)}:*`].sort()
            : [arn(target as IConstruct)],
        );
      }
    }
  });
});

describe("SES", () => {
  it("a configuration set publishing deliveries, delays, bounces, complaints and rejects to the default bus", () => {
    app.statelessTemplate.hasResourceProperties("AWS::SES::ConfigurationSetEventDestination", {
      ConfigurationSetName: { Ref: id(app.stateless.mail.configurationSet) },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ["delivery", "deliveryDelay", "bounce", "complaint", "reject"],
        EventBridgeDestination: {
          EventBusArn: {
            "Fn::Join": [
              "",
              [
                "arn:",
                { Ref: "AWS::Partition" },
                ":events:",
                { Ref: "AWS::Region" },
                ":",
                { Ref: "AWS::AccountId" },
                ":event-bus/default",
              ],
            ],
          },
        },
      },
    });
    app.statelessTemplate.hasResourceProperties("AWS::SES::EmailIdentity", {
      EmailIdentity: config.mail.identity,
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: id(app.stateless.mail.configurationSet) } },
    });
  });

  it("a rule sends this configuration set's events to record-ses-event, with retries and a DLQ", () => {
    app.statelessTemplate.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.ses"],
        detail: {
          eventType: ["Delivery", "DeliveryDelay", "Bounce", "Complaint", "Reject"],
          mail: { tags: { "ses:configuration-set": [{ Ref: id(app.stateless.mail.configurationSet) }] } },
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [id(app.stateless.recordSesEvent), "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [id(app.stateless.sesEventsDlq), "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
  });
});

describe("alarms", () => {
  const alarms = () => resourcesOf(app.statelessTemplate, "AWS::CloudWatch::Alarm");
  const topicRef = () => ({ Ref: id(app.stateless.observability.alarmTopic) });
  const alarmNamed = (name: string) => {
    const found = Object.values(alarms()).find(
      (alarm) => alarm.Properties.AlarmName === `${config.stackName}-Stateless-${name}`,
    );
    if (!found) throw new Error(`no alarm ${name}`);
    return found.Properties;
  };

  it("every alarm notifies the topic when it fires and when it clears", () => {
    const all = Object.values(alarms());
    expect(all.length).toBeGreaterThan(0);
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions, String(alarm.Properties.AlarmName)).toEqual([topicRef()]);
      expect(alarm.Properties.OKActions, String(alarm.Properties.AlarmName)).toEqual([topicRef()]);
    }
  });

  it("the topic is encrypted with a rotated key and the alert e-mail is subscribed", () => {
    app.statelessTemplate.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("AlarmTopicKey"), "Arn"] },
    });
    app.statelessTemplate.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    app.statelessTemplate.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: config.alertEmail,
      TopicArn: topicRef(),
    });
  });

  it("any message in any dead-letter queue", () => {
    for (const [name, queue] of [
      ["ReportReadyDeadLetters", app.stateful.reportReadyDlq],
      ["ScheduledRunsDeadLetters", app.stateless.scheduledRunsDlq],
      ["SesEventsDeadLetters", app.stateless.sesEventsDlq],
    ] as const) {
      const alarm = alarmNamed(name);
      expect(alarm, name).toMatchObject({
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
      const dimension = (alarm.Dimensions as { Value: unknown }[])[0];
      expect(app.render(dimension?.Value)).toBe(`\${${id(queue)}.QueueName}`);
    }
  });

  it("the oldest report waiting longer than configured", () => {
    expect(alarmNamed("ReportReadyBacklog")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Threshold: config.alarms.oldestMessageAgeMinutes * 60,
    });
  });

  it("errors of every function", () => {
    for (const [name, fn] of [
      ["SubmitBatchesErrors", app.stateless.submitBatches],
      ["PollBatchesErrors", app.stateless.pollBatches],
      ["ReceiveWebhookErrors", app.stateless.receiveWebhook],
      ["DeliverReportErrors", app.stateless.deliverReport],
      ["RecordSesEventErrors", app.stateless.recordSesEvent],
    ] as const) {
      expect(alarmNamed(name), name).toMatchObject({
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: id(fn) } }],
        Threshold: 1,
      });
    }
  });

  it.each([
    ["BatchFinishedWithErrors", "poll-batches", {}, 1],
    ["ReportFailed", "poll-batches", {}, 1],
    ["BatchStalled", "poll-batches", {}, 1],
    ["BatchUnknownToLasso", "poll-batches", {}, 1],
    ["LassoUnauthorized", "poll-batches", {}, 1],
    ["ReportUnroutable", "deliver-report", {}, 1],
    ["BatchRejected", "submit-batches", {}, 1],
    ["WebhookUnauthorizedBurst", "receive-webhook", { reason: "auth" }, 10],
    ["MailBounced", "record-ses-event", {}, 1],
    ["MailComplained", "record-ses-event", {}, 1],
  ] as const)("%s: the %s metric in the pipeline's namespace", (name, service, extra, threshold) => {
    const alarm = alarmNamed(name);
    const metricName = name === "WebhookUnauthorizedBurst" ? "WebhookRefused" : name;
    expect(alarm).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Statistic: "Sum",
      Threshold: threshold,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    const dimensions = Object.fromEntries(
      (alarm.Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
    );
    expect(dimensions).toEqual({ service, ...extra });
  });

  it("DeliveryFailed: every reason deliver-report gives, added up", () => {
    const alarm = alarmNamed("DeliveryFailed");
    expect(alarm.Threshold).toBe(1);
    const queries = alarm.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: {
        Metric: { MetricName: string; Namespace: string; Dimensions: { Name: string; Value: string }[] };
      };
    }[];
    const reasons = queries
      .filter((query) => query.MetricStat)
      .map((query) => {
        expect(query.MetricStat?.Metric).toMatchObject({
          Namespace: METRICS_NAMESPACE,
          MetricName: "DeliveryFailed",
        });
        const dimensions = Object.fromEntries(
          query.MetricStat?.Metric.Dimensions.map((d) => [d.Name, d.Value]) ?? [],
        );
        expect(dimensions.service).toBe("deliver-report");
        return dimensions.reason;
      });
    expect(reasons.sort()).toEqual([...DELIVERY_FAILED_REASONS].sort());
    const sum = queries.find((query) => query.Expression);
    expect(sum?.Expression).toBe(reasons.map((_reason, index) => `FILL(r${index}, 0)`).join(" + "));
  });

  it("a poller that stopped polling", () => {
    expect(alarmNamed("PollerSilent")).toMatchObject({
      MetricName: "OpenBatches",
      Statistic: "SampleCount",
      ComparisonOperator: "LessThanThreshold",
      Threshold: 1,
      EvaluationPeriods: 3,
      TreatMissingData: "breaching",
    });
  });
});

describe("outputs", () => {
  it("names the tables, queues and secrets; gives the webhook URL", () => {
    const stateful = app.statefulTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const stateless = app.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(stateful.CustomersTableName?.Value).toEqual({ Ref: id(app.stateful.customersTable) });
    expect(stateful.StateTableName?.Value).toEqual({ Ref: id(app.stateful.stateTable) });
    expect(stateful.LassoBudgetTableName?.Value).toEqual({ Ref: id(app.stateful.lassoBudgetTable) });
    expect(stateful.ReportReadyQueueName?.Value).toEqual({
      "Fn::GetAtt": [id(app.stateful.reportReadyQueue), "QueueName"],
    });
    expect(stateful.ReportReadyDlqName?.Value).toEqual({
      "Fn::GetAtt": [id(app.stateful.reportReadyDlq), "QueueName"],
    });
    expect(stateful.LassoApiKeySecretArn?.Value).toEqual({ Ref: id(app.stateful.lassoApiKeySecret) });
    expect(stateful.WebhookSecretArn?.Value).toEqual({ Ref: id(app.stateful.webhookSecret) });
    expect(stateless.WebhookUrl?.Value).toEqual({
      "Fn::GetAtt": [id(app.stateless.webhookUrl), "FunctionUrl"],
    });
    expect(stateless.SubmitBatchesFunctionName?.Value).toEqual({ Ref: id(app.stateless.submitBatches) });
    expect(stateful.SchedulesTableName?.Value).toEqual({ Ref: id(app.stateful.schedulesTable) });
    expect(app.render(stateless.ScheduleGroupName?.Value)).toBe(`${config.stackName}-reports`);
  });
});

describe("docs/operations.md", () => {
  it("has the section every alarm description points to", () => {
    const headings = readFileSync(path.join(PROJECT_ROOT, "docs", "operations.md"), "utf8")
      .split("\n")
      .filter((line) => /^#{1,4} /.test(line))
      // GitHub's anchors: lower case, spaces to '-', punctuation dropped.
      .map((line) =>
        line
          .replace(/^#+ /, "")
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, "")
          .replace(/ /g, "-"),
      );
    const alarms = Object.values(resourcesOf(app.statelessTemplate, "AWS::CloudWatch::Alarm"));
    for (const alarm of alarms) {
      const anchor = /docs\/operations\.md#([\w-]+)/.exec(String(alarm.Properties.AlarmDescription))?.[1];
      expect(anchor, String(alarm.Properties.AlarmName)).toBeDefined();
      expect(headings, String(alarm.Properties.AlarmName)).toContain(anchor);
    }
  });
});
