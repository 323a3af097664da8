/**
 * What the CLI works on: a deployed stack, or the local pipeline.
 *
 * - Deployed: the stacks `<stackName>-Stateful` and `<stackName>-Stateless` (stackName from
 *   lib/config/deploy-config.ts, or `--stack`); table, queue, function and secret names and
 *   the webhook URL come from their CloudFormation outputs; the schedules, the Lasso base
 *   URL, the webhook header name and the chunk size from the deploy config (the same file
 *   that was deployed). Credentials and region: the AWS SDK's usual chain (`--profile`,
 *   `--region`, AWS_PROFILE, ...).
 * - Local (`--local`): the endpoints file of `npm start -- --serve` (or `--endpoints FILE`),
 *   which also holds the runner's schedules and chunk size, with dummy credentials.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DeleteSuppressedDestinationCommand, NotFoundException, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { type DeployConfig, parseDeployConfig, type ScheduleConfig } from "#lib/config/schema.ts";
import { CUSTOMERS_TRANSLATE_CONFIG, type Language } from "#shared/customers.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { DEFAULT_WEBHOOK_BASIC_USER } from "#shared/webhook-credentials.ts";
import { DEFAULT_ENDPOINTS_FILE, type LocalEndpoints, readLocalEndpoints } from "./endpoints.ts";
import { CliFailure, UsageError } from "./errors.ts";
import { DEFAULT_TIME_ZONE } from "./output.ts";
import type { SesSuppressionList } from "./suppressions.ts";

export interface TargetOptions {
  local?: boolean;
  endpoints?: string;
  stack?: string;
  region?: string;
  profile?: string;
}

export interface WebhookInfo {
  url: string;
  headerName: string;
  /** The BasicAuth user (schedules with webhookAuth BasicAuth); the secret is the password. */
  basicUser: string;
  /** The webhook secret's current value (what Lasso must send in `headerName`). */
  secret: string;
}

/** How `run` fires a schedule. */
export type Submitter =
  /** Local: the CLI runs submit-batches' use case itself, against the local endpoints. */
  | { kind: "in-process"; invocationPrefix: string }
  /** Deployed: the submit-batches function, invoked asynchronously like the scheduler does. */
  | { kind: "lambda"; lambda: LambdaClient; functionName: string };

export interface Target {
  kind: "local" | "deployed";
  /** For humans: where the CLI is looking. */
  label: string;
  /** Document client for the customers table (reads hand-edited numbers safely). */
  customersDoc: DynamoDBDocumentClient;
  customersTable: string;
  state: StateTable;
  sqs: SQSClient;
  queueUrl(): Promise<string>;
  dlqUrl(): Promise<string>;
  schedules: readonly ScheduleConfig[];
  chunkSize: number;
  defaultLanguage: Language;
  /** The hosts the delivery may fetch PDFs from (the deploy config's `pdfHosts`). */
  pdfHosts: readonly string[];
  lasso(): Promise<LassoClient>;
  webhook(): Promise<WebhookInfo>;
  submitter: Submitter;
  /** The firm's name (the deploy config's firm.name; locally the demo firm's): statements name it. */
  firmName?: string;
  /** The time zone the readable output shows times in (the deploy config's operators.timeZone). */
  timeZone: string;
  /** SES's account-level suppression list (deployed only: the local SES emulator keeps none). */
  sesSuppressions?: SesSuppressionList;
  /** The SES emulator (local only): its store holds what was really sent. */
  sesEndpoint?: string;
  destroy(): void;
}

const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make();
    return value;
  };
};

const LASSO_RETRY = { retries: 6, maxTotalMs: 60_000 };

/** The repository root (where `.local/` lives when the CLI runs from elsewhere). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function findSchedule(target: Pick<Target, "schedules" | "label">, name: string): ScheduleConfig {
  const schedule = target.schedules.find((candidate) => candidate.name === name);
  if (schedule === undefined) {
    const known = target.schedules.map((candidate) => candidate.name).join(", ") || "none";
    throw new UsageError(`no schedule "${name}" in ${target.label} (known: ${known})`);
  }
  return schedule;
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  if (options.local || options.endpoints !== undefined) {
    if (options.stack !== undefined) throw new UsageError("--stack and --local cannot be used together");
    return openLocal(options.endpoints);
  }
  return openDeployed(options);
}

function endpointsPath(given: string | undefined): string {
  if (given !== undefined) return resolve(given);
  const here = resolve(DEFAULT_ENDPOINTS_FILE);
  if (existsSync(here)) return here;
  const inRepo = resolve(REPO_ROOT, DEFAULT_ENDPOINTS_FILE);
  return existsSync(inRepo) ? inRepo : here;
}

async function openLocal(given: string | undefined): Promise<Target> {
  const path = endpointsPath(given);
  const endpoints: LocalEndpoints = await readLocalEndpoints(path);
  const base = {
    region: endpoints.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
  const dynamo = new DynamoDBClient({ ...base, endpoint: endpoints.dynamodb } satisfies DynamoDBClientConfig);
  const sqs = new SQSClient({ ...base, endpoint: endpoints.sqs });
  return {
    kind: "local",
    label: `the local pipeline (${path})`,
    customersDoc: DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG),
    customersTable: endpoints.customersTable,
    state: {
      doc: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: endpoints.stateTable,
      retentionDays: endpoints.stateRetentionDays ?? 400,
    },
    sqs,
    queueUrl: async () => endpoints.reportReadyQueueUrl,
    dlqUrl: async () => endpoints.reportReadyDlqUrl,
    schedules: endpoints.scheduleConfigs,
    chunkSize: endpoints.chunkSize,
    defaultLanguage: endpoints.defaultLanguage ?? "da",
    ...(endpoints.firmName === undefined ? {} : { firmName: endpoints.firmName }),
    // The local stack lets the delivery fetch from the simulator only (local/aws/local-stack.ts).
    pdfHosts: [new URL(endpoints.lasso).host],
    lasso: once(
      async () =>
        new LassoClient({
          baseUrl: endpoints.lasso,
          apiKey: endpoints.lassoApiKey,
          timeoutMs: 10_000,
          retry: LASSO_RETRY,
        }),
    ),
    webhook: async () => ({
      url: endpoints.webhookUrl,
      headerName: endpoints.webhookHeaderName,
      basicUser: endpoints.webhookBasicUser ?? DEFAULT_WEBHOOK_BASIC_USER,
      secret: endpoints.webhookSecret,
    }),
    submitter: { kind: "in-process", invocationPrefix: "cli-local" },
    timeZone: endpoints.timeZone ?? DEFAULT_TIME_ZONE,
    sesEndpoint: endpoints.ses,
    destroy: () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/** The CloudFormation outputs the CLI needs, by stack. */
export const STACK_OUTPUTS = {
  stateful: [
    "CustomersTableName",
    "StateTableName",
    "ReportReadyQueueName",
    "ReportReadyDlqName",
    "LassoApiKeySecretArn",
    "WebhookSecretArn",
  ],
  stateless: ["WebhookUrl", "SubmitBatchesFunctionName"],
} as const;

type OutputName = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS][number];

/** The named outputs of one stack; a missing stack or output is a failure that says which. */
export async function stackOutputs(
  cloudFormation: Pick<CloudFormationClient, "send">,
  stackName: string,
  wanted: readonly OutputName[],
): Promise<Record<string, string>> {
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const answer = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const message = (error as Error).message;
    throw new CliFailure(
      /does not exist/i.test(message)
        ? `stack ${stackName} does not exist in this account and region (deploy it first, or give --stack / --region)`
        : `cannot read stack ${stackName}: ${message}`,
    );
  }
  const values: Record<string, string> = {};
  for (const name of wanted) {
    // The stacks declare these outputs at their top level: the key is the construct id.
    const output = outputs.find((candidate) => candidate.OutputKey === name);
    if (output?.OutputValue === undefined) {
      throw new CliFailure(`stack ${stackName} has no output ${name} (deployed from an older version?)`);
    }
    values[name] = output.OutputValue;
  }
  return values;
}

function loadDeployConfig(): DeployConfig {
  try {
    return parseDeployConfig(deployConfig);
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
}

/** Both stacks' outputs; the CloudFormation client is only needed for this read. */
async function readDeployedOutputs(
  stackName: string,
  clientConfig: { region?: string },
): Promise<{ stateful: Record<string, string>; stateless: Record<string, string> }> {
  const cloudFormation = new CloudFormationClient(clientConfig);
  try {
    const [stateful, stateless] = await Promise.all([
      stackOutputs(cloudFormation, `${stackName}-Stateful`, STACK_OUTPUTS.stateful),
      stackOutputs(cloudFormation, `${stackName}-Stateless`, STACK_OUTPUTS.stateless),
    ]);
    return { stateful, stateless };
  } finally {
    cloudFormation.destroy();
  }
}

/** Reads a secret's string value; a failure names the secret for the operator. */
function secretReader(secrets: SecretsManagerClient): (arn: string, what: string) => Promise<string> {
  return async (arn, what) => {
    try {
      const answer = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
      if (!answer.SecretString) throw new Error("the secret has no string value");
      return answer.SecretString;
    } catch (error) {
      throw new CliFailure(`cannot read the ${what} (${arn}): ${(error as Error).message}`);
    }
  };
}

/** A queue's URL, looked up on first use only (many commands never need it). */
function queueUrlOnce(sqs: SQSClient, queueName: string): () => Promise<string> {
  return once(async () => {
    const answer = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (!answer.QueueUrl) throw new CliFailure(`queue ${queueName} has no URL`);
    return answer.QueueUrl;
  });
}

/** SES's account-level suppression list through SESv2 (an address not on it is no error). */
export function sesSuppressionList(ses: Pick<SESv2Client, "send">): SesSuppressionList {
  return {
    remove: async (address) => {
      try {
        await ses.send(new DeleteSuppressedDestinationCommand({ EmailAddress: address }));
        return true;
      } catch (error) {
        if (error instanceof NotFoundException) return false;
        throw new CliFailure(
          `SES did not take ${address} off its suppression list: ${(error as Error).message}`,
        );
      }
    },
  };
}

async function openDeployed(options: TargetOptions): Promise<Target> {
  if (options.profile !== undefined) process.env.AWS_PROFILE = options.profile;
  const config = loadDeployConfig();
  const stackName = options.stack ?? config.stackName;
  const clientConfig = options.region === undefined ? {} : { region: options.region };
  const { stateful, stateless } = await readDeployedOutputs(stackName, clientConfig);
  const output = (values: Record<string, string>, name: OutputName): string => values[name] as string;

  const dynamo = new DynamoDBClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  const secrets = new SecretsManagerClient(clientConfig);
  const lambda = new LambdaClient(clientConfig);
  const ses = new SESv2Client(clientConfig);
  const secretValue = secretReader(secrets);

  return {
    kind: "deployed",
    label: `stack ${stackName}`,
    customersDoc: DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG),
    customersTable: output(stateful, "CustomersTableName"),
    state: {
      doc: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: output(stateful, "StateTableName"),
      retentionDays: config.retention.stateDays,
    },
    sqs,
    queueUrl: queueUrlOnce(sqs, output(stateful, "ReportReadyQueueName")),
    dlqUrl: queueUrlOnce(sqs, output(stateful, "ReportReadyDlqName")),
    schedules: config.schedules,
    chunkSize: config.submission.chunkSize,
    defaultLanguage: config.mail.defaultLanguage,
    firmName: config.firm.name,
    pdfHosts: config.pdfHosts,
    lasso: once(
      async () =>
        new LassoClient({
          baseUrl: config.lasso.baseUrl,
          apiKey: await secretValue(output(stateful, "LassoApiKeySecretArn"), "Lasso API key"),
          timeoutMs: config.lasso.requestTimeoutMs,
          retry: LASSO_RETRY,
        }),
    ),
    webhook: once(async () => ({
      url: output(stateless, "WebhookUrl"),
      headerName: config.webhook.headerName,
      basicUser: config.webhook.basicUser,
      secret: await secretValue(output(stateful, "WebhookSecretArn"), "webhook secret"),
    })),
    submitter: { kind: "lambda", lambda, functionName: output(stateless, "SubmitBatchesFunctionName") },
    timeZone: config.operators.timeZone,
    sesSuppressions: sesSuppressionList(ses),
    destroy: () => {
      dynamo.destroy();
      sqs.destroy();
      secrets.destroy();
      lambda.destroy();
      ses.destroy();
    },
  };
}
