/**
 * The seed's remaining fields (issue 19, item 6) on the local pipeline: a schedule with
 * `webhookAuth: "BasicAuth"` and a `notificationEmail` submits batches whose webhooks come
 * with BasicAuth and get through the door (their reports are mailed); `webhook test
 * --basic-auth` arrives; `webhook test --unauthenticated` (Lasso's GET variant) is refused.
 * What Lasso received and sent is read from the simulator, what was recorded from the state
 * table with the SDK, what went out from the SES emulator.
 */
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebhookTestReport } from "#cli/webhook-test.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalPipeline, startLocalPipeline } from "#local/pipeline/runner.ts";
import { unverifiedKey } from "#shared/state/keys.ts";
import { DEFAULT_WEBHOOK_BASIC_USER } from "#shared/webhook-credentials.ts";
import { type CliHarness, cliHarness, waitFor } from "#test/support/cli-harness.ts";
import { customerItem } from "#test/support/pipeline.ts";

const BASIC = scheduleSchema.parse({
  name: "basic-revision",
  cron: "cron(0 6 1 * ? *)",
  timeZone: "Europe/Copenhagen",
  reportType: "Revision",
  group: "default",
  webhookAuth: "BasicAuth",
  notificationEmail: "arkiv@revisor.example.dk",
});

let pipeline: LocalPipeline;
let harness: CliHarness;

const basicHeader = (): string =>
  `Basic ${Buffer.from(`${DEFAULT_WEBHOOK_BASIC_USER}:${pipeline.stack.webhookSecret}`).toString("base64")}`;

beforeAll(async () => {
  // Webhooks on, nothing polls: a report reaches its customer only through the webhook.
  pipeline = await startLocalPipeline({
    customers: [customerItem(0), customerItem(1)],
    sim: { reportDelayMs: 5 },
  });
  harness = await cliHarness(pipeline.stack, { webhookUrl: pipeline.webhook.url, schedules: [BASIC] });
});

afterAll(async () => {
  await harness?.cleanup();
  await pipeline?.stop();
});

describe("a schedule with webhookAuth BasicAuth and a notificationEmail", () => {
  it("submits its batch with BasicAuth and Lasso's copy address; the webhooks get in and the reports are mailed", async () => {
    const run = await harness.cli(["run", BASIC.name, "--scheduled-time", "2025-05-01T04:00:00.000Z"]);
    expect(run.code, run.stderr).toBe(0);
    const [batch] = pipeline.stack.sim.batches();
    // The simulator keeps the auth config as it read it (lower-case field names).
    expect(batch?.authConfig).toEqual({
      method: "BasicAuth",
      key: DEFAULT_WEBHOOK_BASIC_USER,
      value: pipeline.stack.webhookSecret,
    });
    expect(batch?.notificationEmail).toBe("arkiv@revisor.example.dk");

    const mails = await waitFor(
      "both reports mailed",
      async () => {
        const sent = await pipeline.mails();
        return sent.length === 2 ? sent : undefined;
      },
      30_000,
    );
    expect(mails.flatMap((mail) => mail.destination.to).sort()).toEqual([
      "kunde0@example.dk",
      "kunde1@example.dk",
    ]);
    const reportHooks = pipeline.stack.sim
      .webhookDeliveries()
      .filter((delivery) => delivery.kind === "report");
    expect(reportHooks.length).toBeGreaterThanOrEqual(2);
    for (const delivery of reportHooks) {
      expect(delivery.headers.authorization).toBe(basicHeader());
      expect(delivery.headers[pipeline.stack.webhookHeaderName]).toBeUndefined();
      expect(delivery.status).toBe(200);
    }
  });
});

describe("webhook test", () => {
  it("--basic-auth: Lasso's dummy comes with BasicAuth and arrives", async () => {
    const { code, data } = await harness.json<WebhookTestReport>([
      "webhook",
      "test",
      "--basic-auth",
      "--timeout",
      "20",
    ]);
    expect(code).toBe(0);
    expect(data).toMatchObject({ auth: "basic", arrived: true, webhookStatus: 200 });
    const test = pipeline.stack.sim
      .webhookDeliveries()
      .filter((delivery) => delivery.kind === "test")
      .at(-1);
    expect(test?.headers.authorization).toBe(basicHeader());
  });

  it("--unauthenticated: Lasso's GET variant calls without auth, the webhook answers 401, nothing is recorded", async () => {
    const run = await harness.cli(["webhook", "test", "--unauthenticated", "--timeout", "5"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("REFUSED, as it must be");
    const { data } = await harness.json<WebhookTestReport>([
      "webhook",
      "test",
      "--unauthenticated",
      "--timeout",
      "5",
    ]);
    expect(data).toMatchObject({ auth: "none", arrived: false, webhookStatus: 401 });
    const test = pipeline.stack.sim
      .webhookDeliveries()
      .filter((delivery) => delivery.kind === "test")
      .at(-1);
    expect(test?.status).toBe(401);
    expect(test?.headers.authorization).toBeUndefined();
    // The door let nothing through: no unverified record of the dummy batch.
    const { Item } = await DynamoDBDocumentClient.from(pipeline.stack.dynamo).send(
      new GetCommand({
        TableName: pipeline.stack.resources.names.stateTable,
        Key: unverifiedKey(data.batchId, { cvr: data.cvr, reportType: "Revision" }),
      }),
    );
    expect(Item).toBeUndefined();
  });
});
