/**
 * The local pipeline's endpoints file (`.local/endpoints.json`, written by
 * `npm start -- --serve`, local/pipeline/serve.ts): where the emulators, the Lasso simulator, the
 * webhook and the tables and queues are. `lasso-reports --local` reads it; tests write one
 * for a pipeline they start themselves (`--endpoints FILE`).
 *
 * Local only: it holds the simulator's API key and the webhook secret in clear, which is
 * fine for throw-away emulators and never the case for a deployment.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { type ScheduleConfig, scheduleSchema } from "#lib/config/schema.ts";
import { LANGUAGES } from "#shared/customers.ts";
import { isTimeZone } from "#shared/schedule.ts";
import { CliFailure } from "./errors.ts";

export const DEFAULT_ENDPOINTS_FILE = ".local/endpoints.json";

/** The deploy config's default `submission.chunkSize` (lib/config/schema.ts), the local runner's too. */
const DEFAULT_CHUNK_SIZE = 1000;

const url = z.string().regex(/^https?:\/\/\S+$/i, "must be an http(s) URL");

export const localEndpointsSchema = z.looseObject({
  region: z.string().min(1),
  dynamodb: url,
  sqs: url,
  ses: url,
  secretsManager: url.optional(),
  lasso: url,
  lassoApiKey: z.string().min(1),
  webhookUrl: url,
  webhookHeaderName: z.string().min(1),
  /** The BasicAuth user the local webhook accepts (absent: the default, as the local stack sets it). */
  webhookBasicUser: z.string().min(1).optional(),
  webhookSecret: z.string().min(1),
  customersTable: z.string().min(1),
  stateTable: z.string().min(1),
  reportReadyQueueUrl: url,
  reportReadyDlqUrl: url,
  /** The runner's control server (`POST {control}/schedules/{name}/fire`). */
  control: url.optional(),
  /** Names of the schedules the runner fires. */
  schedules: z.array(z.string()).default([]),
  /**
   * The schedules themselves, as the runner fires them: the CLI learns the local target's
   * schedules from here only (it imports nothing from local/).
   */
  scheduleConfigs: z.array(scheduleSchema, {
    error: "must list the runner's schedules (restart `npm start -- --serve`)",
  }),
  /** Customers per batch; absent: the deploy config's default, as the local runner uses. */
  chunkSize: z.number().int().min(1).default(DEFAULT_CHUNK_SIZE),
  stateRetentionDays: z.number().int().min(1).optional(),
  defaultLanguage: z.enum(LANGUAGES).optional(),
  /** The firm the local pipeline mails for (statements name it when --firm is not given). */
  firmName: z.string().min(1).optional(),
  /** The time zone the CLI's readable output shows times in (default Europe/Copenhagen). */
  timeZone: z.string().refine(isTimeZone, "must be an IANA time zone").optional(),
});

export type LocalEndpoints = z.output<typeof localEndpointsSchema>;
export type LocalEndpointsInput = z.input<typeof localEndpointsSchema>;

export async function readLocalEndpoints(path: string): Promise<LocalEndpoints> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliFailure(
      code === "ENOENT"
        ? `no endpoints file at ${path}: start the local pipeline with \`npm start -- --serve\` (or give --endpoints FILE)`
        : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = localEndpointsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "file"}: ${issue.message}`,
    );
    throw new CliFailure(`${path} is not a local endpoints file: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** What a local pipeline writes, given its parts (local/pipeline/serve.ts builds the same object). */
export function localEndpointsOf(parts: {
  region: string;
  aws: { dynamodb: string; sqs: string; ses: string; secretsManager: string };
  lasso: { baseUrl: string; apiKey: string };
  webhook: { url: string; headerName: string; basicUser?: string; secret: string };
  tables: { customersTable: string; stateTable: string };
  queues: { reportReadyQueueUrl: string; reportReadyDlqUrl: string };
  schedules: readonly ScheduleConfig[];
  chunkSize?: number;
  control?: string;
  firmName?: string;
}): LocalEndpointsInput {
  return {
    region: parts.region,
    dynamodb: parts.aws.dynamodb,
    sqs: parts.aws.sqs,
    ses: parts.aws.ses,
    secretsManager: parts.aws.secretsManager,
    lasso: parts.lasso.baseUrl,
    lassoApiKey: parts.lasso.apiKey,
    webhookUrl: parts.webhook.url,
    webhookHeaderName: parts.webhook.headerName,
    ...(parts.webhook.basicUser === undefined ? {} : { webhookBasicUser: parts.webhook.basicUser }),
    webhookSecret: parts.webhook.secret,
    customersTable: parts.tables.customersTable,
    stateTable: parts.tables.stateTable,
    reportReadyQueueUrl: parts.queues.reportReadyQueueUrl,
    reportReadyDlqUrl: parts.queues.reportReadyDlqUrl,
    ...(parts.control === undefined ? {} : { control: parts.control }),
    schedules: parts.schedules.map((schedule) => schedule.name),
    scheduleConfigs: [...parts.schedules],
    ...(parts.chunkSize === undefined ? {} : { chunkSize: parts.chunkSize }),
    ...(parts.firmName === undefined ? {} : { firmName: parts.firmName }),
  };
}
