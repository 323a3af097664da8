/**
 * What one request costs in CPU in the local stack (the emulators and the simulator run in
 * this process, so a request's CPU is the SDK client's and the emulator's together), by
 * kind, against the physical loop's own pair per report (one PDF download from the
 * simulator and one SES send) as the baseline in the same run. With the pipeline's requests
 * per report (bench/pipeline.bench.ts prints them) this says what CPU per report the
 * pipeline's design needs in one process, whatever its code does around the requests.
 *
 *   npx tsx bench/aws-requests.bench.ts [--requests 1000] [--concurrency 20]
 *
 * Ends with one line: `aws-requests: pipeline-requests-cpu-ms-per-report X.X  physical-pair-cpu-ms Y.Y  ratio Z.ZZ`.
 */
import { parseArgs } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DEMO_SENDER } from "#local/aws/demo-firm.ts";
import { startRunnerStack } from "#local/pipeline/runner.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { sesMailer } from "#shared/mail/ses-mailer.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "20" },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

const stack = await startRunnerStack({
  customers: [],
  sim: { rateLimitPerMinute: 0, webhooksEnabled: false },
});
const doc = DynamoDBDocumentClient.from(stack.dynamo);
const table = stack.resources.names.stateTable;
const bucket = stack.resources.names.archiveBucket;
const send = sesMailer(new SESv2Client({}));

// One finished report at the simulator: its PDF link is what the physical loop fetches.
const lasso = new LassoClient({ baseUrl: stack.sim.baseUrl, apiKey: stack.sim.apiKey });
await lasso.createBatch(
  {
    batchName: "cost requestcost",
    type: "Revision",
    format: "{cvr}",
    errorAppend: "#error",
    items: [{ cvr: "10000000", internalCustomerId: 1 }],
  },
  { uniqueToken: "requestcost" },
);
let pdfUrl: string | undefined;
while (pdfUrl === undefined) {
  pdfUrl = stack.sim.batches().flatMap((batch) => batch.items.flatMap((item) => item.pdfurl ?? []))[0];
  if (pdfUrl === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
}
const pdf = Buffer.from(await (await fetch(pdfUrl)).arrayBuffer());
const link = pdfUrl;

const padding = "x".repeat(900); // a record of about 1 KB, as a report record is
await doc.send(new PutCommand({ TableName: table, Item: { pk: "COST#1", sk: "COST", padding, n: 0 } }));
const message = Buffer.alloc(20 * 1024, "a"); // about one of our mails
const raw = Buffer.from(
  [
    `From: ${DEMO_SENDER}`,
    "To: kunde@kunde.example.dk",
    "Subject: cost",
    "MIME-Version: 1.0",
    'Content-Type: application/pdf; name="r.pdf"',
    "Content-Transfer-Encoding: base64",
    "",
    pdf.toString("base64").replace(/.{76}/g, "$&\r\n"),
  ].join("\r\n"),
);

const kinds: Record<string, (i: number) => Promise<unknown>> = {
  "dynamodb GetItem (consistent, 1 KB)": () =>
    doc.send(new GetCommand({ TableName: table, Key: { pk: "COST#1", sk: "COST" }, ConsistentRead: true })),
  "dynamodb UpdateItem (conditional, 1 KB)": () =>
    doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: "COST#1", sk: "COST" },
        UpdateExpression: "SET n = n + :one",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":one": 1 },
      }),
    ),
  "dynamodb PutItem (1 KB)": (i) =>
    doc.send(new PutCommand({ TableName: table, Item: { pk: `COST#${i}`, sk: "PUT", padding } })),
  "sqs SendMessage (1 KB)": () =>
    stack.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.resources.reportReadyDlqUrl, MessageBody: padding }),
    ),
  "s3 PutObject (20 KB)": (i) =>
    stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `cost/${i}`, Body: message })),
  "lasso PDF download (physical)": () => fetch(link).then((answer) => answer.arrayBuffer()),
  "ses SendEmail raw (physical)": () =>
    send({ from: DEMO_SENDER, destination: { to: ["kunde@kunde.example.dk"] }, raw, tags: {} }),
};

/** CPU (this process: client and emulator) per request, `CONCURRENCY` at a time. */
async function measure(run: (i: number) => Promise<unknown>): Promise<{ cpuUs: number; wallUs: number }> {
  for (let i = 0; i < 50; i++) await run(i); // warm-up
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) await run(next++);
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    cpuUs: (used.user + used.system) / REQUESTS,
    wallUs: Number(process.hrtime.bigint() - started) / 1000 / REQUESTS,
  };
}

const cost: Record<string, number> = {};
for (const [kind, run] of Object.entries(kinds)) {
  const { cpuUs, wallUs } = await measure(run);
  cost[kind] = cpuUs / 1000;
  console.log(
    `  ${kind.padEnd(42)} CPU ${(cpuUs / 1000).toFixed(2)} ms per request, wall ${(wallUs / 1000).toFixed(2)} ms`,
  );
}
await stack.stop();

// The pipeline's AWS requests per report at 1,000 customers (bench/pipeline.bench.ts, 2026-12-01):
// DynamoDB 2.2 GetItem + 1.0 BatchGetItem (as a GetItem) + 5.1 UpdateItem + 1.0 PutItem; SQS
// about 2 (the ring's send; receive and delete shared by a batch of 5); S3 4 (the evidence);
// SES 1; Lasso 1 PDF.
const at = (kind: string): number => cost[kind] ?? 0;
const pipeline =
  3.2 * at("dynamodb GetItem (consistent, 1 KB)") +
  5.1 * at("dynamodb UpdateItem (conditional, 1 KB)") +
  1.0 * at("dynamodb PutItem (1 KB)") +
  2.0 * at("sqs SendMessage (1 KB)") +
  4.0 * at("s3 PutObject (20 KB)") +
  at("lasso PDF download (physical)") +
  at("ses SendEmail raw (physical)");
const physical = at("lasso PDF download (physical)") + at("ses SendEmail raw (physical)");
console.log(
  `aws-requests: pipeline-requests-cpu-ms-per-report ${pipeline.toFixed(1)}  physical-pair-cpu-ms ${physical.toFixed(1)}  ratio ${(pipeline / physical).toFixed(2)}`,
);
process.exit(0);
