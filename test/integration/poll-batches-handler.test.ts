/**
 * The deployed poll-batches handler, wired from its environment exactly as Lambda runs it:
 * config read at import, the API key fetched from Secrets Manager on first use (not at
 * import), metrics out as EMF, against the emulators and the Lasso simulator.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { provisionLocalResources } from "#local/aws/provision.ts";
import { type LassoSimulator, startLassoSimulator } from "#local/lasso-sim/index.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";
import { ENV } from "#shared/env-names.ts";
import { LASSO_BUDGET_KEY } from "#shared/lasso/call-budget.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { parseReportReadyMessage } from "#shared/report-ready.ts";
import { getBatchRecord, putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey, OPEN_BATCH_PARTITION } from "#shared/state/keys.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { useLocalAws } from "#test/support/local-aws.ts";

const localAws = useLocalAws();
let sim: LassoSimulator;
const secretId = `lasso-api-key-${randomUUID()}`;
const saved = new Map<string, string | undefined>();

function setEnv(name: string, value: string): void {
  if (!saved.has(name)) saved.set(name, process.env[name]);
  process.env[name] = value;
}

function context(remainingMs: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "poll-batches",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-central-1:000000000000:function:poll-batches",
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/poll-batches",
    logStreamName: "local",
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Runs `fn`, collecting the JSON lines written to stdout (EMF metrics, structured logs). */
async function capturingStdout<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split("\n")) {
      if (line.trim().startsWith("{")) {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      }
    }
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = original;
  }
}

function emfValue(lines: readonly Record<string, unknown>[], name: string): unknown {
  const emf = lines.find((line) => typeof line._aws === "object" && name in line);
  return emf?.[name];
}

describe("poll-batches handler", () => {
  let table: StateTable;
  let queueUrl: string;
  let budgetTable: string;

  beforeAll(async () => {
    sim = await startLassoSimulator({ reportDelayMs: 2, webhooksEnabled: false, itemsPageSize: 4 });
    const dynamo = new DynamoDBClient({});
    const sqs = new SQSClient({});
    const resources = await provisionLocalResources({ dynamo, sqs }, { prefix: "poll-handler" });
    table = {
      doc: DynamoDBDocumentClient.from(dynamo),
      tableName: resources.names.stateTable,
      retentionDays: 30,
    };
    queueUrl = resources.reportReadyQueueUrl;
    expect(localAws.current.endpoints.secretsManager).toBeTruthy();
    setEnv(ENV.stateTable, resources.names.stateTable);
    setEnv(ENV.reportReadyQueueUrl, queueUrl);
    setEnv(ENV.lassoBaseUrl, sim.baseUrl);
    setEnv(ENV.lassoApiKeySecretId, secretId);
    setEnv(ENV.lassoRequestTimeoutMs, "5000");
    setEnv(ENV.stalledAfterMinutes, "60");
    setEnv(ENV.stateRetentionDays, "30");
    setEnv(ENV.pollConcurrency, "2");
    // As the stack sets them: the poller spends the shared Lasso budget (Lasso's default limit).
    budgetTable = resources.names.lassoBudgetTable;
    setEnv(ENV.lassoBudgetTable, budgetTable);
    setEnv("POWERTOOLS_METRICS_NAMESPACE", "LassoReports");
  });

  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await sim?.close();
  });

  test("imports without the secret, then polls: every report on the queue, metrics emitted", async () => {
    // Importing reads the config only: the secret does not exist yet.
    const { handler } = await import("#lambdas/poll-batches/handler.ts");
    await new SecretsManagerClient({}).send(
      new CreateSecretCommand({ Name: secretId, SecretString: sim.apiKey }),
    );

    const lasso = new LassoClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey });
    const cvrs: string[] = [];
    for (let n = 41_000_000; cvrs.length < 10; n++) if (hasValidCvrChecksum(String(n))) cvrs.push(String(n));
    const token = `h${randomUUID().slice(0, 10)}`;
    const batch = await lasso.createBatch(
      {
        batchName: `handler ${token}`,
        type: "Finans",
        format: "{cvr}-{type}",
        items: cvrs.map((cvr) => ({ cvr })),
      },
      { uniqueToken: token },
    );
    const now = new Date().toISOString();
    await putNewBatchRecord(table, {
      ...batchKey(batch.id),
      recordType: "batch",
      lassoBatchId: batch.id,
      name: batch.name,
      reportType: "Finans",
      isListener: false,
      manifest: cvrs.map((cvr, i) => ({ customerId: 500 + i, cvr })),
      status: batch.status,
      lastProgressAt: now,
      openPartition: OPEN_BATCH_PARTITION,
      version: 1,
      createdAt: now,
      updatedAt: now,
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
    await sim.settle();

    const { result, lines } = await capturingStdout(() => handler({}, context(60_000)));
    expect(result).toMatchObject({ openBatches: 1, closed: 1, reportsHandedOn: 10, errors: 0 });
    expect(emfValue(lines, "ReportsHandedOn")).toBe(10);
    expect(emfValue(lines, "BatchesClosed")).toBe(1);
    expect(emfValue(lines, "ReportFailed")).toBe(0);
    const emf = lines.find((line) => "ReportsHandedOn" in line) as {
      _aws: { CloudWatchMetrics: { Namespace: string }[] };
    };
    expect(emf._aws.CloudWatchMetrics[0]?.Namespace).toBe("LassoReports");
    expect(lines.find((line) => "ReportsHandedOn" in line)?.service).toBe("poll-batches");
    expect(JSON.stringify(lines)).not.toContain(sim.apiKey);

    const messages = [];
    for (;;) {
      const answer = await new SQSClient({}).send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 600,
        }),
      );
      if ((answer.Messages ?? []).length === 0) break;
      messages.push(...(answer.Messages ?? []).map((m) => parseReportReadyMessage(m.Body ?? "")));
    }
    expect(messages.map((m) => m.cvr).sort()).toEqual([...cvrs].sort());
    expect(messages.every((m) => m.reportType === "Finans" && m.internalCustomerId !== undefined)).toBe(true);
    expect((await getBatchRecord(table, batch.id))?.openPartition).toBeUndefined();
    // Its Lasso calls (the batch, three pages of items) took tokens of the shared budget.
    const { Item: budget } = await table.doc.send(
      new GetCommand({ TableName: budgetTable, Key: { pk: LASSO_BUDGET_KEY } }),
    );
    expect(budget?.taken).toBeGreaterThanOrEqual(4);

    // A second invocation of the warm container: nothing open, nothing sent.
    const again = await handler({}, context(60_000));
    expect(again).toMatchObject({ openBatches: 0, reportsHandedOn: 0 });
  });
});
