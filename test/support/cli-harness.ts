/**
 * Drives `lasso-reports` as a subprocess (node cli/bin.js, through tsx, as `npx
 * lasso-reports` does) against a local pipeline started in the test process: the test
 * writes the pipeline's endpoints file and passes `--endpoints FILE`. The subprocess gets
 * no AWS_* variables from the test process: everything it reaches, it finds in that file.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { localEndpointsOf } from "#cli/endpoints.ts";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import type { LocalStack } from "#local/aws/local-stack.ts";
import { itemFromSchedule } from "#shared/schedule-item.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(REPO, "cli", "bin.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  dir: string;
  endpointsFile: string;
  /** Runs `lasso-reports --endpoints FILE ...args`, with `input` on stdin. */
  cli(args: readonly string[], input?: string): Promise<CliRun>;
  /** Runs with `--json` and parses stdout (fails the test with stderr when it is not JSON). */
  json<T>(args: readonly string[]): Promise<{ code: number | null; data: T; stderr: string }>;
  cleanup(): Promise<void>;
}

/** Environment for the subprocess: the test's own, minus anything that points the SDK somewhere. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("AWS_") && !name.startsWith("VITEST") && value !== undefined) env[name] = value;
  }
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  return env;
}

/** Runs `command args` in `cwd` with `input` on stdin (closed after it) and the env above. */
function runProcess(command: string, args: readonly string[], cwd: string, input: string): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], { cwd, env: childEnv() });
    child.stdin.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Runs the CLI; `input` is what the operator types (stdin is closed after it: EOF answers no). */
export function runBin(args: readonly string[], cwd = REPO, input = ""): Promise<CliRun> {
  return runProcess(process.execPath, [BIN, ...args], cwd, input);
}

/** Runs a repository script through tsx, as `npm run` does (e.g. local/pipeline/fire.ts), in `cwd`. */
export function runScript(script: string, args: readonly string[], cwd = REPO): Promise<CliRun> {
  return runProcess(join(REPO, "node_modules", ".bin", "tsx"), [join(REPO, script), ...args], cwd, "");
}

export async function cliHarness(
  stack: LocalStack,
  options: { webhookUrl: string; schedules: readonly ScheduleConfig[]; chunkSize?: number },
): Promise<CliHarness> {
  // The CLI reads a local target's schedules from its schedules table, as `--serve` keeps them.
  const doc = DynamoDBDocumentClient.from(stack.dynamo);
  for (const schedule of options.schedules) {
    await doc.send(
      new PutCommand({ TableName: stack.resources.names.schedulesTable, Item: itemFromSchedule(schedule) }),
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "lasso-reports-cli-"));
  const endpointsFile = join(dir, "endpoints.json");
  const endpoints = localEndpointsOf({
    region: stack.aws.env.AWS_REGION ?? "eu-central-1",
    aws: stack.aws.endpoints,
    lasso: { baseUrl: stack.sim.baseUrl, apiKey: stack.sim.apiKey },
    webhook: { url: options.webhookUrl, headerName: stack.webhookHeaderName, secret: stack.webhookSecret },
    tables: stack.resources.names,
    queues: {
      reportReadyQueueUrl: stack.resources.reportReadyQueueUrl,
      reportReadyDlqUrl: stack.resources.reportReadyDlqUrl,
    },
    schedules: options.schedules,
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  });
  await writeFile(endpointsFile, JSON.stringify(endpoints, null, 2));
  const cli = (args: readonly string[], input?: string) =>
    runBin(["--endpoints", endpointsFile, ...args], REPO, input);
  return {
    dir,
    endpointsFile,
    cli,
    json: async <T>(args: readonly string[]) => {
      const run = await cli(["--json", "--quiet", ...args]);
      let data: T;
      try {
        data = JSON.parse(run.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n--- stderr:\n${run.stderr}`);
      }
      return { code: run.code, data, stderr: run.stderr };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Waits until `check` returns a value (not undefined), polling; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 100));
  }
}
