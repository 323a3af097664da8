/**
 * `npm start -- --serve`: after the run, keep the local pipeline up on fixed ports so
 * people and tools can use it: the SES mail viewer, the DynamoDB endpoint for the AWS CLI,
 * the webhook URL. Schedules fire when EventBridge Scheduler would fire them
 * (./local-scheduler.ts: business-day rules and daylight saving time included); the poller
 * runs on its rate; `npm run fire -- SCHEDULE` fires one now.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import type { SubmitResult } from "#lambdas/submit-batches/run-result.ts";
import type { FiredBy } from "#lambdas/submit-batches/submit-run.ts";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { ENV } from "#shared/env-names.ts";
import { DEMO_FIRM } from "../aws/demo-firm.ts";
import { LOCAL_SETTINGS } from "./local-config.ts";
import { startLocalScheduler } from "./local-scheduler.ts";
import type { LocalPipeline } from "./runner.ts";

/** The fixed ports of `--serve` (documented in README.md). */
export const SERVE_PORTS = {
  dynamodb: 8000,
  sqs: 9324,
  ses: 8005,
  secretsManager: 8010,
  /** The one port of all four services with LOCAL_AWS_BACKEND=moto. */
  moto: 5000,
  lasso: 4010,
  webhook: 8080,
  control: 8090,
} as const;

export const ENDPOINTS_FILE = ".local/endpoints.json";

type Fire = (schedule: ScheduleConfig, at: Date, firedBy?: FiredBy) => Promise<unknown>;

/** submit-batches' answer as one line, in the words `lasso-reports run` uses. */
function firedLine(result: unknown): string {
  const answer = (typeof result === "object" && result !== null ? result : {}) as Partial<SubmitResult>;
  const parts = [
    answer.outcome ?? "no answer",
    answer.batchesSubmittedNow === undefined ? undefined : `batches submitted ${answer.batchesSubmittedNow}`,
    answer.skipped === undefined || answer.skipped.length === 0
      ? undefined
      : `rows skipped ${answer.skipped.length}`,
  ];
  return `${parts.filter((part) => part !== undefined).join(", ")} (see \`lasso-reports --local status\`)`;
}

/** Fires a schedule and says what happened; a failure is reported, not thrown (cron and control both call it). */
function firer(pipeline: LocalPipeline, say: (line: string) => void): Fire {
  return async (schedule, at, firedBy) => {
    say(`firing ${schedule.name} for ${at.toISOString()}`);
    try {
      const result = await pipeline.fire(schedule, at, firedBy);
      say(`  ${schedule.name}: ${firedLine(result)}`);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      say(`  ${schedule.name} failed: ${message}`);
      return { error: message };
    }
  };
}

/** `POST /schedules/{name}/fire` on the control port (what `npm run fire` calls). */
async function startControlServer(schedules: readonly ScheduleConfig[], fire: Fire): Promise<Server> {
  const control = createServer((req, res) => {
    const match = /^\/schedules\/([^/]+)\/fire$/.exec(req.url ?? "");
    const schedule = match ? schedules.find((s) => s.name === decodeURIComponent(match[1] ?? "")) : undefined;
    if (req.method !== "POST" || !schedule) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: "POST /schedules/{name}/fire", schedules: schedules.map((s) => s.name) }),
      );
      return;
    }
    // Asked for now: fired as an operator's run, whatever the day.
    void fire(schedule, new Date(), "operator").then((result) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => control.listen(SERVE_PORTS.control, "127.0.0.1", resolve));
  return control;
}

/** The endpoints file's content: where everything listens, for people, tools and `lasso-reports --local`. */
function servedEndpoints(pipeline: LocalPipeline, schedules: readonly ScheduleConfig[]) {
  const { stack } = pipeline;
  return {
    region: stack.aws.env.AWS_REGION,
    dynamodb: stack.aws.endpoints.dynamodb,
    sqs: stack.aws.endpoints.sqs,
    ses: stack.aws.endpoints.ses,
    sesMailViewer: stack.aws.sentMailsPage,
    secretsManager: stack.aws.endpoints.secretsManager,
    lasso: stack.sim.baseUrl,
    lassoApiKey: stack.sim.apiKey,
    webhookUrl: pipeline.webhook.url,
    webhookHeaderName: stack.webhookHeaderName,
    webhookBasicUser: stack.functionEnv[ENV.webhookBasicUser],
    webhookSecret: stack.webhookSecret,
    customersTable: stack.resources.names.customersTable,
    stateTable: stack.resources.names.stateTable,
    reportReadyQueueUrl: stack.resources.reportReadyQueueUrl,
    reportReadyDlqUrl: stack.resources.reportReadyDlqUrl,
    control: `http://127.0.0.1:${SERVE_PORTS.control}`,
    schedules: schedules.map((s) => s.name),
    // For `lasso-reports --local` (cli/endpoints.ts): plan and run need the schedules themselves.
    scheduleConfigs: schedules,
    chunkSize: LOCAL_SETTINGS.chunkSize,
    firmName: DEMO_FIRM.firm.name,
  };
}

export async function serveLocalPipeline(
  pipeline: LocalPipeline,
  schedules: readonly ScheduleConfig[],
  say: (line: string) => void,
): Promise<void> {
  const fire = firer(pipeline, say);
  // The config's schedules; the firer reports its own failures, so firings do not wait on each other.
  const scheduler = await startLocalScheduler({
    schedules: () => schedules,
    onFire: (schedule, at) => void fire(schedule, at),
    onError: (error) => say(`  schedules: ${error instanceof Error ? error.message : String(error)}`),
  });
  const stopPolling = pipeline.startPolling(LOCAL_SETTINGS.pollIntervalMs);
  const control = await startControlServer(schedules, fire);

  const endpoints = servedEndpoints(pipeline, schedules);
  await mkdir(dirname(ENDPOINTS_FILE), { recursive: true });
  await writeFile(ENDPOINTS_FILE, `${JSON.stringify(endpoints, null, 2)}\n`);

  say("");
  say(`Serving (endpoints in ${ENDPOINTS_FILE}); Ctrl-C stops.`);
  say(`  Sent mails:   ${endpoints.sesMailViewer}`);
  say(
    `  DynamoDB:     aws dynamodb scan --endpoint-url ${endpoints.dynamodb} --table-name ${endpoints.customersTable}`,
  );
  say(`  Webhook:      ${endpoints.webhookUrl} (header ${endpoints.webhookHeaderName})`);
  say(`  Fire now:     npm run fire -- ${schedules[0]?.name ?? "SCHEDULE"}`);
  for (const { schedule, at } of scheduler.upcoming()) say(`  next ${schedule}: ${at.toISOString()}`);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  scheduler.stop();
  await new Promise<void>((resolve) => control.close(() => resolve()));
  await stopPolling();
  await pipeline.stop();
}
