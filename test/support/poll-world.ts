/**
 * A poller's world for integration tests: the Lasso simulator over HTTP (webhooks off), a
 * state table and report-ready queue on the emulators, and helpers that submit batches,
 * poll, and drain the queue (test/integration/poll-*.test.ts).
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeAll, expect } from "vitest";
import { type PollOptions, type PollSummary, pollOpenBatches } from "#lambdas/poll-batches/poll.ts";
import { provisionLocalResources } from "#local/aws/provision.ts";
import {
  type LassoSimulator,
  type LassoSimulatorOptions,
  startLassoSimulator,
} from "#local/lasso-sim/index.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import { formatScheduledTime, type LassoBatch } from "#shared/lasso/schemas.ts";
import type { PollPorts } from "#shared/reconcile/ports.ts";
import { parseReportReadyMessage, type ReportReadyMessage, reportIdentity } from "#shared/report-ready.ts";
import type { ReportReadyQueue } from "#shared/report-ready-queue.ts";
import { silentLog } from "#shared/runtime/log.ts";
import { getBatchRecord, type NewBatchRecord, putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey, OPEN_BATCH_PARTITION, reportKey } from "#shared/state/keys.ts";
import type { BatchRecord, ReportRecord } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { useLocalAws } from "./local-aws.ts";

let dynamo: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let sqs: SQSClient;
const sims: LassoSimulator[] = [];

/** The emulators for a test file, and the simulators its worlds start closed after each test. */
export function usePollWorlds(): void {
  const localAws = useLocalAws();
  beforeAll(() => {
    dynamo = new DynamoDBClient({});
    doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
    sqs = new SQSClient({});
    expect(localAws.current.endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((sim) => sim.close()));
  });
}

/** Valid CVRs (modulus 11), deterministic. */
export function validCvrs(start: number, count: number): string[] {
  const out: string[] = [];
  for (let n = start; out.length < count; n++) if (hasValidCvrChecksum(String(n))) out.push(String(n));
  return out;
}
/** CVRs of the right form that fail the check digit: the simulator ends them Failed ("unknown company"). */
export function unknownCvrs(start: number, count: number): string[] {
  const out: string[] = [];
  for (let n = start; out.length < count; n++) if (!hasValidCvrChecksum(String(n))) out.push(String(n));
  return out;
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface World {
  sim: LassoSimulator;
  lasso: LassoClient;
  table: StateTable;
  queue: ReportReadyQueue;
  ports: (overrides?: Partial<PollPorts>) => PollPorts;
  poll: (options?: Partial<PollOptions>, overrides?: Partial<PollPorts>) => Promise<PollSummary>;
  /** Every message received so far (each deleted from the queue, validated with the schema). */
  received: ReportReadyMessage[];
  drain: () => Promise<ReportReadyMessage[]>;
  submit: (spec: SubmitSpec) => Promise<{ batch: LassoBatch; record: NewBatchRecord }>;
  record: (id: string) => Promise<BatchRecord>;
  pollUntilClosed: (id: string, options?: Partial<PollOptions>, maxPolls?: number) => Promise<PollSummary[]>;
  /** Lines the simulator logged (one per request). */
  requests: string[];
}

export interface SubmitSpec {
  cvrs: string[];
  type?: ReportType;
  scheduledTime?: Date;
  listener?: boolean;
}

let worldCount = 0;

export async function world(
  simOptions: LassoSimulatorOptions = {},
  onRequest?: (line: string) => void,
): Promise<World> {
  const requests: string[] = [];
  const sim = await startLassoSimulator({
    reportDelayMs: 2,
    initializingMs: 1,
    webhooksEnabled: false,
    rateLimitPerMinute: 0,
    ...simOptions,
    log: (line) => {
      requests.push(line);
      onRequest?.(line);
    },
  });
  sims.push(sim);
  const resources = await provisionLocalResources({ dynamo, sqs }, { prefix: `poll${++worldCount}` });
  const table: StateTable = { doc, tableName: resources.names.stateTable, retentionDays: 30 };
  const queue: ReportReadyQueue = { sqs, queueUrl: resources.reportReadyQueueUrl };
  const lasso = new LassoClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.apiKey,
    timeoutMs: 5000,
    retry: { retries: 3, minDelayMs: 5, maxDelayMs: 50, maxTotalMs: 15_000 },
    // Waits are counted as asked (retry-after 1 s) but pass quickly.
    sleep: (ms) => delay(Math.min(ms, 20)),
  });
  const ports = (overrides: Partial<PollPorts> = {}): PollPorts => ({
    table,
    queue,
    lasso,
    clock: () => new Date(),
    log: silentLog,
    ...overrides,
  });
  const poll = (
    options: Partial<PollOptions> = {},
    overrides: Partial<PollPorts> = {},
  ): Promise<PollSummary> =>
    pollOpenBatches(ports(overrides), {
      deadline: { remainingMs: () => 60_000 },
      concurrency: 4,
      reserveMs: 0,
      stalledAfterMs: 60 * 60_000,
      webhookGraceMs: 0,
      ...options,
    });
  const received: ReportReadyMessage[] = [];
  const drain = async (): Promise<ReportReadyMessage[]> => {
    const got: ReportReadyMessage[] = [];
    for (;;) {
      const answer = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 600,
        }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) got.push(parseReportReadyMessage(message.Body ?? ""));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    received.push(...got);
    return got;
  };
  const submit = async (spec: SubmitSpec): Promise<{ batch: LassoBatch; record: NewBatchRecord }> => {
    const token = `t${randomUUID().slice(0, 12)}`;
    const type = spec.type ?? "Revision";
    const batch = await lasso.createBatch(
      {
        batchName: `poll test ${token}`,
        type,
        format: "{cvr}-{name}-{type}",
        errorAppend: "#error",
        // A webhook URL is given, but the simulator's webhooks are off: polling is all there is.
        notificationWebhookUrl: "http://127.0.0.1:9/never",
        items: spec.cvrs.map((cvr, i) => ({ cvr, internalCustomerId: 1000 + i })),
        ...(spec.scheduledTime ? { scheduledTime: formatScheduledTime(spec.scheduledTime) } : {}),
        ...(spec.listener ? { isListener: true, triggerNow: true } : {}),
      },
      { uniqueToken: token },
    );
    const now = new Date();
    const record: NewBatchRecord = {
      ...batchKey(batch.id),
      recordType: "batch",
      lassoBatchId: batch.id,
      name: batch.name,
      reportType: type,
      isListener: spec.listener === true,
      manifest: spec.cvrs.map((cvr, i) => ({ customerId: 1000 + i, cvr })),
      status: batch.status,
      batchSize: batch.batchSize,
      lastProgressAt: now.toISOString(),
      openPartition: OPEN_BATCH_PARTITION,
      version: 1,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + 86_400,
    };
    expect(await putNewBatchRecord(table, record)).toBe(true);
    return { batch, record };
  };
  const record = async (id: string): Promise<BatchRecord> => {
    const found = await getBatchRecord(table, id);
    if (found === undefined) throw new Error(`no record for batch ${id}`);
    return found;
  };
  const pollUntilClosed = async (
    id: string,
    options: Partial<PollOptions> = {},
    maxPolls = 200,
  ): Promise<PollSummary[]> => {
    const summaries: PollSummary[] = [];
    for (let i = 0; i < maxPolls; i++) {
      summaries.push(await poll(options));
      await drain();
      if ((await record(id)).openPartition === undefined) return summaries;
      await delay(10);
    }
    throw new Error(`batch ${id} still open after ${maxPolls} polls`);
  };
  return {
    sim,
    lasso,
    table,
    queue,
    ports,
    poll,
    received,
    drain,
    submit,
    record,
    pollUntilClosed,
    requests,
  };
}

export function identityOf(message: ReportReadyMessage, isListener = false): string {
  return reportIdentity(
    {
      batchId: message.batchId,
      cvr: message.cvr,
      reportType: message.reportType ?? "Revision",
      reportId: message.reportId,
    },
    { isListener },
  );
}

/** How many messages each identity got. */
export function tally(messages: readonly ReportReadyMessage[], isListener = false): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const identity = identityOf(message, isListener);
    counts.set(identity, (counts.get(identity) ?? 0) + 1);
  }
  return counts;
}

export const totals = (summaries: readonly PollSummary[], pick: (s: PollSummary) => number): number =>
  summaries.reduce((sum, s) => sum + pick(s), 0);

export async function reportRecord(table: StateTable, identity: string): Promise<ReportRecord | undefined> {
  const { Item } = await doc.send(new GetCommand({ TableName: table.tableName, Key: reportKey(identity) }));
  return Item as ReportRecord | undefined;
}
