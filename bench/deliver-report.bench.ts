/**
 * Delivery throughput: N finished reports (the simulator's real PDFs) on the report-ready
 * queue, delivered by deliver-report through the local SQS event source into
 * aws-ses-v2-local, with the production wiring (claim, routing, PDF fetch over HTTP, MIME,
 * SES v2, record). The baseline (batch size 1, one invocation at a time) runs in the same
 * process on the same kind of data, so the ratio is what batching and concurrency buy.
 * SES calls get an added round-trip latency (default 20 ms; SES is farther away than
 * loopback). Every run checks that exactly N mails arrived.
 *
 *   npx tsx bench/deliver-report.bench.ts [--reports 200] [--batch-size 5] [--concurrency 4] [--ses-latency-ms 20]
 */

import { parseArgs } from "node:util";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { readDeliverReportSettings } from "#lambdas/deliver-report/config.ts";
import { buildDeliverReportWiring, createDeliverReportHandler } from "#lambdas/deliver-report/lambda.ts";
import { demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { startLocalAws } from "#local/aws/local-aws.ts";
import { provisionLocalResources } from "#local/aws/provision.ts";
import { startLassoSimulator } from "#local/lasso-sim/index.ts";
import { startSqsEventSource } from "#local/pipeline/sqs-event-source.ts";
import { CUSTOMERS_TRANSLATE_CONFIG } from "#shared/customers.ts";
import { hasValidCvrChecksum } from "#shared/cvr.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { sendReportReady } from "#shared/report-ready-queue.ts";
import { RecordingCounter } from "#shared/runtime/metrics.ts";
import { putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey } from "#shared/state/keys.ts";

const { values } = parseArgs({
  options: {
    reports: { type: "string", default: "200" },
    "batch-size": { type: "string", default: "5" },
    concurrency: { type: "string", default: "4" },
    "ses-latency-ms": { type: "string", default: "20" },
  },
});
const REPORTS = Number(values.reports);
const BATCH_SIZE = Number(values["batch-size"]);
const CONCURRENCY = Number(values.concurrency);
const SES_LATENCY_MS = Number(values["ses-latency-ms"]);

const localAws = await startLocalAws();
Object.assign(process.env, localAws.env);
const sim = await startLassoSimulator({
  reportDelayMs: 0,
  initializingMs: 1,
  webhooksEnabled: false,
  rateLimitPerMinute: 0,
});
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({});
const s3 = new S3Client({});
const resources = await provisionLocalResources({ dynamo, sqs, s3 }, { prefix: "bench" });
const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
const customersDoc = DynamoDBDocumentClient.from(dynamo, CUSTOMERS_TRANSLATE_CONFIG);
const lasso = new LassoClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey });

// N customers with valid CVRs.
const cvrs: string[] = [];
for (let n = 30_000_000; cvrs.length < REPORTS; n++) if (hasValidCvrChecksum(String(n))) cvrs.push(String(n));
for (let start = 0; start < cvrs.length; start += 25) {
  await doc.send(
    new BatchWriteCommand({
      RequestItems: {
        [resources.names.customersTable]: cvrs.slice(start, start + 25).map((cvr, i) => ({
          PutRequest: {
            Item: {
              customerId: start + i + 1,
              cvr,
              name: `Kunde ${start + i + 1} ApS`,
              emails: new Set([`kunde${start + i + 1}@example.dk`]),
              reportTypes: new Set(["Revision"]),
              group: "bench",
            },
          },
        })),
      },
    }),
  );
}

const settings = readDeliverReportSettings({
  REPORT_READY_QUEUE_URL: resources.reportReadyQueueUrl,
  STATE_TABLE_NAME: resources.names.stateTable,
  CUSTOMERS_TABLE_NAME: resources.names.customersTable,
  MAIL_SENDER: "rapporter@revisor.example.dk",
  MAIL_PROFILE: demoMailProfileJson({ sender: "rapporter@revisor.example.dk" }),
  PDF_ALLOWED_HOSTS: new URL(sim.baseUrl).host,
  PDF_ALLOW_HTTP: "true",
  LASSO_BASE_URL: sim.baseUrl,
  LASSO_API_KEY_SECRET_ID: "unused",
  ARCHIVE_BUCKET: resources.names.archiveBucket,
});
await localAws.verifySender(settings.mail.sender);
const ses = new SESv2Client({});
const wiring = buildDeliverReportWiring(settings, {
  stateDoc: doc,
  customersDoc,
  ses,
  s3,
  lassoApiKey: async () => sim.apiKey,
  sqs,
});
const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const handler = createDeliverReportHandler({
  ...wiring,
  sendMail: async (mail) => {
    await new Promise((resolve) => setTimeout(resolve, SES_LATENCY_MS));
    return wiring.sendMail(mail);
  },
  logger: new Logger({ serviceName: "deliver-report", logLevel: "SILENT" }),
  metrics: new Metrics({ namespace: "Bench", logger: quiet }),
  counter: new RecordingCounter(),
});

/** A finished batch of every customer, recorded, with its reports on the queue. */
async function enqueueBatch(run: string): Promise<void> {
  const token = `bench${run}${Date.now().toString(36)}`;
  const batch = await lasso.createBatch(
    {
      batchName: `Bench ${token}`,
      type: "Revision",
      format: "{cvr}-{name}",
      items: cvrs.map((cvr, i) => ({ cvr, internalCustomerId: i + 1 })),
    },
    { uniqueToken: token },
  );
  await sim.settle();
  const now = new Date().toISOString();
  await putNewBatchRecord(
    { doc, tableName: resources.names.stateTable, retentionDays: 30 },
    {
      ...batchKey(batch.id),
      recordType: "batch",
      lassoBatchId: batch.id,
      name: batch.name,
      reportType: "Revision",
      isListener: false,
      manifest: cvrs.map((cvr, i) => ({ customerId: i + 1, cvr })),
      status: "Finished",
      lastProgressAt: now,
      createdAt: now,
      updatedAt: now,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      version: 1,
    },
  );
  const items = sim.batches().find((b) => b.id === batch.id)?.items ?? [];
  const messages: ReportReadyMessage[] = items.map((item) => ({
    version: 1,
    batchId: batch.id,
    cvr: String(item.cvr),
    reportType: "Revision",
    itemStatus: item.status,
    ...(item.internalCustomerId === null ? {} : { internalCustomerId: item.internalCustomerId }),
    ...(item.pdfurl === null ? {} : { pdfUrl: item.pdfurl }),
    fileName: item.fileName,
    reportId: item.id,
    source: "poll",
    seenAt: now,
  }));
  await sendReportReady({ sqs, queueUrl: resources.reportReadyQueueUrl }, messages);
}

async function mailCount(): Promise<number> {
  return (await localAws.sentMails.read()).length;
}

async function run(label: string, batchSize: number, concurrency: number) {
  await localAws.sentMails.clear();
  await enqueueBatch(label);
  const started = performance.now();
  const source = await startSqsEventSource({
    sqs,
    queueUrl: resources.reportReadyQueueUrl,
    handler,
    batchSize,
    maxConcurrency: concurrency,
    functionTimeoutMs: 30_000,
    idlePollMs: 5,
  });
  await source.idle(600_000);
  const seconds = (performance.now() - started) / 1000;
  await source.stop();
  const mails = await mailCount();
  if (mails !== REPORTS) throw new Error(`${label}: expected ${REPORTS} mails, SES got ${mails}`);
  return { label, batchSize, concurrency, mails, seconds, mailsPerSecond: mails / seconds };
}

try {
  const baseline = await run("baseline", 1, 1);
  const configured = await run("configured", BATCH_SIZE, CONCURRENCY);
  console.log(
    `deliver-report: ${REPORTS} reports, SES latency ${SES_LATENCY_MS} ms (Node ${process.version}, ${new Date().toISOString()})`,
  );
  console.table(
    [baseline, configured].map((r) => ({
      run: r.label,
      "batch size": r.batchSize,
      concurrency: r.concurrency,
      mails: r.mails,
      seconds: r.seconds.toFixed(2),
      "mails/s": r.mailsPerSecond.toFixed(1),
    })),
  );
  console.log(
    `speed-up of batch ${BATCH_SIZE} × concurrency ${CONCURRENCY} over 1 × 1: ${(configured.mailsPerSecond / baseline.mailsPerSecond).toFixed(2)}×`,
  );
} finally {
  ses.destroy();
  dynamo.destroy();
  sqs.destroy();
  await sim.close();
  await localAws.stop();
}
