/**
 * The local pipeline for integration tests and benchmarks: local AWS (dynalite, SQS, SES,
 * Secrets Manager) with the stack's tables and queues provisioned, the Lasso simulator,
 * the two secrets, and the environment every function's `config.ts` reads. Helpers seed
 * customers, in document form or as raw DynamoDB JSON (what hand edits produce).
 *
 * - `startPipeline(options)`: plain async start/stop (benchmarks, scripts);
 * - `usePipeline(options)`: the same inside a vitest file (beforeAll/afterAll).
 *
 * Both point `process.env` at the emulators and set the function environment, so SDK
 * clients and handler modules imported afterwards (`await import(...)`) use them.
 */
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import type { SubmitPorts } from "#lambdas/submit-batches/ports.ts";
import type { LocalAws } from "#local/aws/local-aws.ts";
import { DEFAULT_WEBHOOK_HEADER, startLocalStack } from "#local/aws/local-stack.ts";
import type { LocalResources } from "#local/aws/provision.ts";
import type { LassoSimulator, LassoSimulatorOptions } from "#local/lasso-sim/types.ts";
import { readCustomersOfGroup } from "#shared/customer-reads.ts";
import { putCustomerItems } from "#shared/customer-store.ts";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import { ENV } from "#shared/env-names.ts";
import { LassoClient, type LassoClientOptions } from "#shared/lasso/client.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { DEFAULT_WEBHOOK_BASIC_USER, webhookAuthConfig } from "#shared/webhook-credentials.ts";

export interface PipelineOptions {
  /** Simulator options; default `{ reportDelayMs: 5, webhooksEnabled: false }` merged under these. */
  sim?: LassoSimulatorOptions;
  /** Given to Lasso as notificationWebhookUrl (default: a closed local port). */
  webhookUrl?: string;
  webhookHeaderName?: string;
  /** Resource name prefix (default "lasso-reports"). */
  prefix?: string;
  /** CHUNK_SIZE in the function environment (default 1000). */
  chunkSize?: number;
  /** Extra function environment (overrides the defaults). */
  env?: Record<string, string>;
  /** The report-ready queue's settings (default: visibility 30 s, 5 receives). */
  queue?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number };
}

export interface Pipeline {
  aws: LocalAws;
  sim: LassoSimulator;
  resources: LocalResources;
  dynamo: DynamoDBClient;
  /** Document client for the state table (removeUndefinedValues). */
  doc: DynamoDBDocumentClient;
  /** Document client for the customers table (CUSTOMERS_TRANSLATE_CONFIG, as the functions use). */
  customersDoc: DynamoDBDocumentClient;
  sqs: SQSClient;
  secrets: SecretsManagerClient;
  state: StateTable;
  customersTable: string;
  lassoApiKeySecretId: string;
  webhookSecretId: string;
  /** The webhook secret's value (what Lasso must send in `webhookHeaderName`). */
  webhookSecret: string;
  webhookHeaderName: string;
  webhookUrl: string;
  /** The function environment (table names, queue URL, secret ids, Lasso URL, ...). */
  functionEnv: Record<string, string>;
  /** A Lasso client against the simulator (fast retries by default). */
  lassoClient(options?: Partial<LassoClientOptions>): LassoClient;
  /** Ports for submit-batches' use cases wired to this pipeline (override any). */
  submitPorts(overrides?: Partial<SubmitPorts>): SubmitPorts;
  /** Writes customer items in document form (Sets for SS), 25 per BatchWriteItem. */
  putCustomers(items: readonly Record<string, unknown>[]): Promise<void>;
  /** Writes customer items as raw DynamoDB JSON, exactly as a hand edit would store them. */
  putRawCustomers(items: readonly Record<string, AttributeValue>[]): Promise<void>;
  stop(): Promise<void>;
}

const validCvrs: string[] = [];
let nextBase = 2_000_000;
const CVR_WEIGHTS = [2, 7, 6, 5, 4, 3, 2] as const;

/**
 * The n-th (0-based) valid CVR of a fixed ascending sequence (8 digits from 20000000,
 * modulus-11 check passed): distinct n give distinct CVRs.
 */
export function testCvr(n: number): string {
  while (validCvrs.length <= n) {
    const digits = String(nextBase++);
    let sum = 0;
    for (let i = 0; i < 7; i++) sum += Number(digits[i]) * (CVR_WEIGHTS[i] ?? 0);
    const check = (11 - (sum % 11)) % 11;
    if (check < 10) validCvrs.push(`${digits}${check}`);
  }
  return validCvrs[n] as string;
}

/** A valid customer item (document form) number `n`: id 1000 + n, CVR testCvr(n). */
export function customerItem(
  n: number,
  overrides: Record<string, unknown> = {},
  defaults: { group?: string; reportTypes?: readonly ReportType[] } = {},
): Record<string, unknown> {
  return {
    customerId: 1000 + n,
    cvr: testCvr(n),
    name: `Kunde ${n} ApS`,
    emails: new Set([`kunde${n}@example.dk`]),
    reportTypes: new Set(defaults.reportTypes ?? ["Revision"]),
    group: defaults.group ?? "default",
    ...overrides,
  };
}

async function writeAll(
  requests: readonly unknown[],
  send: (chunk: unknown[]) => Promise<unknown[] | undefined>,
): Promise<void> {
  const chunks: unknown[][] = [];
  for (let start = 0; start < requests.length; start += 25) chunks.push(requests.slice(start, start + 25));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      let pending: unknown[] | undefined = chunks[next++];
      for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
        if (attempt > 20) throw new Error("BatchWriteItem kept items unprocessed");
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        pending = await send(pending);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const webhookUrl = options.webhookUrl ?? "http://127.0.0.1:9/lasso-webhook";
  const stack = await startLocalStack({
    sim: { reportDelayMs: 5, webhooksEnabled: false, ...options.sim },
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    webhookHeaderName: options.webhookHeaderName ?? DEFAULT_WEBHOOK_HEADER,
    webhookSecret: "local-webhook-secret-0123456789abcdef",
    env: {
      [ENV.webhookUrl]: webhookUrl,
      [ENV.chunkSize]: String(options.chunkSize ?? 1000),
      ...options.env,
    },
  });
  try {
    const { aws, sim, resources, dynamo, sqs, secrets, functionEnv } = stack;
    const { lassoApiKeySecretId, webhookSecretId, webhookSecret, webhookHeaderName } = stack;
    const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
    const customersDoc = DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG);
    const state: StateTable = { doc, tableName: resources.names.stateTable, retentionDays: 400 };
    const customersTable = resources.names.customersTable;
    const simulator = sim;

    const lassoClient = (overrides: Partial<LassoClientOptions> = {}): LassoClient =>
      new LassoClient({
        baseUrl: simulator.baseUrl,
        apiKey: simulator.apiKey,
        timeoutMs: 5000,
        retry: { retries: 4, minDelayMs: 20, maxDelayMs: 200, maxTotalMs: 10_000 },
        ...overrides,
      });

    return {
      aws,
      sim: simulator,
      resources,
      dynamo,
      doc,
      customersDoc,
      sqs,
      secrets,
      state,
      customersTable,
      lassoApiKeySecretId,
      webhookSecretId,
      webhookSecret,
      webhookHeaderName,
      webhookUrl,
      functionEnv,
      lassoClient,
      submitPorts: (overrides = {}) => ({
        state,
        customers: { readGroup: (group) => readCustomersOfGroup(customersDoc, customersTable, group) },
        lasso: lassoClient(),
        webhook: {
          url: webhookUrl,
          auth: async (method) =>
            webhookAuthConfig(method, {
              headerName: webhookHeaderName,
              basicUser: DEFAULT_WEBHOOK_BASIC_USER,
              secret: webhookSecret,
            }),
        },
        clock: () => new Date(),
        invocationId: `test-${Math.random().toString(36).slice(2)}`,
        ...overrides,
      }),
      putCustomers: (items) => putCustomerItems(doc, customersTable, items),
      putRawCustomers: (items) =>
        writeAll(
          items.map((Item) => ({ PutRequest: { Item } })),
          async (chunk) => {
            const answer = await dynamo.send(
              new BatchWriteItemCommand({
                RequestItems: {
                  [customersTable]: chunk as { PutRequest: { Item: Record<string, AttributeValue> } }[],
                },
              }),
            );
            return answer.UnprocessedItems?.[customersTable];
          },
        ),
      stop: () => stack.stop(),
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

export interface PipelineHandle {
  readonly current: Pipeline;
}

/** Starts the pipeline before the file's tests and stops it after them. */
export function usePipeline(options: PipelineOptions = {}): PipelineHandle {
  let pipeline: Pipeline | undefined;
  beforeAll(async () => {
    pipeline = await startPipeline(options);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });
  return {
    get current(): Pipeline {
      if (!pipeline) throw new Error("the pipeline is not started yet: use it inside a test or hook");
      return pipeline;
    },
  };
}
