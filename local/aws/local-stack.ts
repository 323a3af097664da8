/**
 * The local stack: everything a deployment has, on one machine, before any function
 * runs: local AWS (DynamoDB, SQS, SES, Secrets Manager) with the stack's tables and
 * queues and a verified sender, the Lasso simulator, the two secrets, and the function
 * environment that every function's `config.ts` reads. Used by the local runner (`npm start`), the integration
 * and end-to-end tests, and the benchmarks.
 *
 * It points `process.env` at the emulators and sets the function environment, so SDK
 * clients and handler modules imported afterwards (`await import(...)`) use them: the
 * handlers do not know they run locally.
 */
import { randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ENV } from "#shared/env-names.ts";
import { MIN_CALLS_PER_MINUTE } from "#shared/lasso/call-budget.ts";
import { DEFAULT_WEBHOOK_BASIC_USER } from "#shared/webhook-credentials.ts";
import { startLassoSimulator } from "../lasso-sim/index.ts";
import type { LassoSimulator, LassoSimulatorOptions } from "../lasso-sim/types.ts";
import { DEMO_SENDER, demoMailProfileJson } from "./demo-firm.ts";
import { markCaller, RUNNER_CALLER } from "./dynamo-capacity.ts";
import { LOCAL_REGION, type LocalAws, type LocalAwsPorts, startLocalAws } from "./local-aws.ts";
import { type LocalResources, provisionLocalResources } from "./provision.ts";

export const DEFAULT_WEBHOOK_HEADER = "x-lasso-reports-secret";

export interface LocalStackOptions {
  /** Fixed ports for `--serve`; ephemeral when absent. */
  awsPorts?: LocalAwsPorts;
  simPort?: number;
  sim?: LassoSimulatorOptions;
  /** Resource name prefix (default "lasso-reports"). */
  prefix?: string;
  webhookHeaderName?: string;
  /** The webhook secret's value (default: random). */
  webhookSecret?: string;
  /** Queue settings, as the stack derives them from the deploy config. */
  queue?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number };
  /** Function environment over the defaults (e.g. CHUNK_SIZE). */
  env?: Record<string, string>;
}

export interface LocalStack {
  aws: LocalAws;
  sim: LassoSimulator;
  resources: LocalResources;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  secrets: SecretsManagerClient;
  s3: S3Client;
  scheduler: SchedulerClient;
  lassoApiKeySecretId: string;
  webhookSecretId: string;
  /** What Lasso must send in `webhookHeaderName`. */
  webhookSecret: string;
  webhookHeaderName: string;
  /** The function environment (table names, queue URL, secret ids, Lasso URL, ...). */
  functionEnv: Record<string, string>;
  /** Sets more of the function environment (e.g. WEBHOOK_URL once the webhook is served). */
  setFunctionEnv(values: Record<string, string>): void;
  stop(): Promise<void>;
}

/** `process.env` changes that `restore` undoes (the first value seen per name is kept). */
function envOverlay(): { set(values: Record<string, string>): void; restore(): void } {
  const saved = new Map<string, string | undefined>();
  return {
    set: (values) => {
      for (const [name, value] of Object.entries(values)) {
        if (!saved.has(name)) saved.set(name, process.env[name]);
        process.env[name] = value;
      }
    },
    restore: () => {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}

/** The two secrets the stack creates: the Lasso API key (the simulator's) and the webhook secret. */
async function createStackSecrets(
  secrets: SecretsManagerClient,
  resources: LocalResources,
  lassoApiKey: string,
  webhookSecret: string,
): Promise<{ lassoApiKeySecretId: string; webhookSecretId: string }> {
  const lassoApiKeySecretId = `${resources.names.customersTable}-lasso-api-key`;
  const webhookSecretId = `${resources.names.customersTable}-webhook-secret`;
  await secrets.send(new CreateSecretCommand({ Name: lassoApiKeySecretId, SecretString: lassoApiKey }));
  await secrets.send(new CreateSecretCommand({ Name: webhookSecretId, SecretString: webhookSecret }));
  return { lassoApiKeySecretId, webhookSecretId };
}

/** What the stack would set on every function, pointed at the local resources. */
function localFunctionEnv(
  resources: LocalResources,
  sim: { baseUrl: string; callsPerMinute: number },
  ids: { lassoApiKeySecretId: string; webhookSecretId: string },
  webhookHeaderName: string,
  overrides: Record<string, string> | undefined,
): Record<string, string> {
  return {
    [ENV.customersTable]: resources.names.customersTable,
    [ENV.stateTable]: resources.names.stateTable,
    [ENV.schedulesTable]: resources.names.schedulesTable,
    // sync-schedules' target, as the stack sets it: local firing reads the schedules back
    // from the emulated Scheduler and runs submit-batches in process (local/pipeline/).
    [ENV.scheduleGroup]: resources.names.scheduleGroup,
    [ENV.submitFunctionArn]: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${resources.names.customersTable}-submit-batches`,
    [ENV.schedulerRoleArn]: "arn:aws:iam::000000000000:role/local-scheduler-invoke",
    [ENV.scheduledRunsDlqArn]: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${resources.names.customersTable}-scheduled-runs-dlq`,
    [ENV.reportReadyQueueUrl]: resources.reportReadyQueueUrl,
    [ENV.lassoBaseUrl]: sim.baseUrl,
    [ENV.lassoApiKeySecretId]: ids.lassoApiKeySecretId,
    [ENV.lassoRequestTimeoutMs]: "5000",
    [ENV.lassoBudgetTable]: resources.names.lassoBudgetTable,
    [ENV.lassoCallsPerMinute]: String(sim.callsPerMinute),
    [ENV.webhookSecretId]: ids.webhookSecretId,
    [ENV.webhookHeaderName]: webhookHeaderName,
    // As the stack sets it: receive-webhook accepts BasicAuth too, and a BasicAuth schedule works.
    [ENV.webhookBasicUser]: DEFAULT_WEBHOOK_BASIC_USER,
    [ENV.chunkSize]: "1000",
    [ENV.stateRetentionDays]: "400",
    [ENV.archiveBucket]: resources.names.archiveBucket,
    [ENV.stalledAfterMinutes]: "360",
    // The local poller runs every 1.5 s: a webhook may ask for a read as often.
    [ENV.ringIntervalMs]: "1000",
    // The simulator's webhooks can lag behind its item list by seconds on a busy machine:
    // a report waits 30 s for its ring (with the queue empty) before the poller sends it.
    [ENV.webhookGraceMs]: "30000",
    [ENV.defaultLanguage]: "da",
    [ENV.mailSender]: DEMO_SENDER,
    [ENV.mailProfile]: demoMailProfileJson(),
    // The simulator serves PDFs from its own http origin on loopback: allowed only here.
    [ENV.pdfAllowedHosts]: new URL(sim.baseUrl).host,
    [ENV.pdfAllowHttp]: "true",
    POWERTOOLS_METRICS_NAMESPACE: "LassoReports",
    // EMF blobs and INFO lines would drown the runner's output and the test logs.
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "ERROR",
    ...overrides,
  };
}

/**
 * The functions' Lasso budget: the simulator's limit, as a deployment's is Lasso's. A
 * limit of another window, or of a handful of calls, is a test of the 429 path: no budget.
 */
function budgetCallsPerMinute(sim: LassoSimulatorOptions | undefined): number {
  const limit = sim?.rateLimitPerMinute ?? 500;
  const windowMs = sim?.rateLimitWindowMs ?? 60_000;
  return windowMs === 60_000 && limit >= MIN_CALLS_PER_MINUTE ? limit : 0;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = envOverlay();
  const aws = await startLocalAws(options.awsPorts);
  let sim: LassoSimulator | undefined;
  const clients: { destroy(): void }[] = [];
  try {
    env.set(aws.env);
    sim = await startLassoSimulator({
      ...(options.simPort === undefined ? {} : { port: options.simPort }),
      ...options.sim,
    });
    const dynamo = new DynamoDBClient({});
    // The stack's own reads (seeding, the runner's progress and status) are counted apart
    // from the handlers' when read capacity is metered (dynamo-capacity.ts).
    markCaller(dynamo, RUNNER_CALLER);
    const sqs = new SQSClient({});
    const secrets = new SecretsManagerClient({});
    const s3 = new S3Client({});
    const scheduler = new SchedulerClient({});
    clients.push(dynamo, sqs, secrets, s3, scheduler);
    const resources = await provisionLocalResources(
      { dynamo, sqs, s3, scheduler },
      { prefix: options.prefix, ...options.queue },
    );

    const webhookSecret = options.webhookSecret ?? randomBytes(24).toString("base64url");
    const secretIds = await createStackSecrets(secrets, resources, sim.apiKey, webhookSecret);
    const webhookHeaderName = options.webhookHeaderName ?? DEFAULT_WEBHOOK_HEADER;
    const functionEnv = localFunctionEnv(
      resources,
      { baseUrl: sim.baseUrl, callsPerMinute: budgetCallsPerMinute(options.sim) },
      secretIds,
      webhookHeaderName,
      options.env,
    );
    env.set(functionEnv);
    const sender = functionEnv[ENV.mailSender];
    if (sender !== undefined) await aws.verifySender(sender);
    const simulator = sim;
    return {
      aws,
      sim: simulator,
      resources,
      dynamo,
      sqs,
      secrets,
      s3,
      scheduler,
      ...secretIds,
      webhookSecret,
      webhookHeaderName,
      functionEnv,
      setFunctionEnv: (values) => {
        Object.assign(functionEnv, values);
        env.set(values);
      },
      stop: async () => {
        for (const client of clients) client.destroy();
        await simulator.close();
        await aws.stop();
        env.restore();
      },
    };
  } catch (error) {
    for (const client of clients) client.destroy();
    await sim?.close();
    await aws.stop();
    env.restore();
    throw error;
  }
}
