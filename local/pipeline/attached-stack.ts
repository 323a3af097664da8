/**
 * A local stack that runs in another process, for the functions to run in a process of
 * their own: on Lambda they do not share a CPU or a heap with the services they call, and
 * in one Node process the emulators' work and data are counted as the pipeline's. The
 * stack's process starts the stack as usual (startRunnerStack) and calls
 * `runInFunctionsProcess`, which forks functions-process.ts and serves the stack's sent
 * mails over the IPC channel; the functions' process attaches to the stack by its
 * description (`attachStack`) and runs the runner there. Used by bench/pipeline.bench.ts
 * and test/e2e/local-run-split.test.ts; `npm start` runs in one process.
 */
import { type ChildProcess, fork } from "node:child_process";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { ScheduleConfig } from "#lib/config/schema.ts";
import { markCaller, RUNNER_CALLER } from "../aws/dynamo-capacity.ts";
import type { LocalStack } from "../aws/local-stack.ts";
import type { LocalResources } from "../aws/provision.ts";
import type { SentMailStore, StoredMail } from "../aws/sent-mails.ts";
import type { RunnerStack, RunOutcome } from "./runner.ts";

/** What another process needs to reach a stack: the environment its functions get, and its names. */
export interface StackDescription {
  /** The emulators' endpoints and dummy credentials, and the function environment. */
  env: Record<string, string>;
  resources: LocalResources;
}

export const describeStack = (stack: LocalStack): StackDescription => ({
  env: { ...stack.aws.env, ...stack.functionEnv },
  resources: stack.resources,
});

/** What a functions process is asked to run. */
export interface FunctionsRun {
  stack: StackDescription;
  /** When the run started in the stack's process (its start included), for the run's time. */
  startedAt: number;
  customers: readonly Record<string, unknown>[];
  schedules: readonly ScheduleConfig[];
  pollIntervalMs: number;
  timeoutMs: number;
}

/** What a functions process reports when its run is over. */
export interface FunctionsResult {
  summary: RunOutcome["summary"];
  problems: string[];
  /** Queue messages deliver-report handled, and receives that ended without a delete. */
  messages: number;
  returned: number;
  /** The functions process's peak RSS and CPU. */
  rssMb: number;
  cpuMs: number;
  /** When the pipeline was up, before the schedules fired, and when the run was over (ms since the epoch). */
  firingAt: number;
  endedAt: number;
}

type SentMailsRequest = { sentMails: "read" | "clear"; id: number };
type SentMailsAnswer = { sentMailsAnswer: number; mails?: StoredMail[]; error?: string };

const isRequest = (message: unknown): message is SentMailsRequest =>
  typeof message === "object" && message !== null && "sentMails" in message && "id" in message;
const isAnswer = (message: unknown): message is SentMailsAnswer =>
  typeof message === "object" && message !== null && "sentMailsAnswer" in message;

/** Answers `child`'s requests for the stack's sent mails (the store stays in this process). */
function serveSentMails(child: ChildProcess, store: SentMailStore): void {
  child.on("message", (message: unknown) => {
    if (!isRequest(message)) return;
    const answer = (reply: Omit<SentMailsAnswer, "sentMailsAnswer">) =>
      child.send({ sentMailsAnswer: message.id, ...reply } satisfies SentMailsAnswer);
    const done = message.sentMails === "read" ? store.read() : store.clear().then(() => []);
    done.then(
      (mails) => answer({ mails }),
      (error: unknown) => answer({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/** The stack's sent mails, asked of the parent process (which runs `serveSentMails`). */
function sentMailsOfParent(): SentMailStore {
  let next = 0;
  const ask = (sentMails: SentMailsRequest["sentMails"]): Promise<StoredMail[]> =>
    new Promise((resolve, reject) => {
      const id = next++;
      const onMessage = (message: unknown) => {
        if (!isAnswer(message) || message.sentMailsAnswer !== id) return;
        process.off("message", onMessage);
        if (message.error !== undefined) reject(new Error(`sent mails: ${message.error}`));
        else resolve(message.mails ?? []);
      };
      process.on("message", onMessage);
      if (process.send === undefined) reject(new Error("no IPC channel to the stack's process"));
      else process.send({ sentMails, id } satisfies SentMailsRequest);
    });
  return {
    read: () => ask("read"),
    clear: async () => {
      await ask("clear");
    },
  };
}

/**
 * The stack described, for this process (started with an IPC channel to the stack's):
 * points `process.env` at it, as startLocalStack does in its own process, so the handlers
 * imported afterwards use it. The clients are this process's; the runner's own DynamoDB
 * reads are counted as the runner's, as in one process.
 */
export function attachStack(description: StackDescription): RunnerStack {
  Object.assign(process.env, description.env);
  const dynamo = new DynamoDBClient({});
  markCaller(dynamo, RUNNER_CALLER);
  const sqs = new SQSClient({});
  return {
    dynamo,
    sqs,
    resources: description.resources,
    aws: { sentMails: sentMailsOfParent() },
    setFunctionEnv: (values) => {
      Object.assign(process.env, values);
    },
    stop: async () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}

/**
 * Runs the runner and the production functions in a fresh process on `stack` (which stays
 * in this one); resolves with what that process reports when the run is over.
 */
export function runInFunctionsProcess(
  stack: LocalStack,
  run: Omit<FunctionsRun, "stack">,
): Promise<FunctionsResult> {
  // TypeScript through tsx's loader, which a process started by tsx has already (a test
  // runner's has not); structured clone keeps the customers' sets of addresses (JSON would
  // make them `{}`).
  const withTsx = process.execArgv.some((arg) => arg.includes("tsx"));
  const child = fork(new URL("./functions-process.ts", import.meta.url).pathname, [], {
    execArgv: withTsx ? process.execArgv : [...process.execArgv, "--import", "tsx"],
    serialization: "advanced",
  });
  serveSentMails(child, stack.aws.sentMails);
  return new Promise<FunctionsResult>((resolve, reject) => {
    child.on("message", (message: unknown) => {
      if (typeof message === "object" && message !== null && "functions" in message)
        resolve(message.functions as FunctionsResult);
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the functions process exited (${code}) before its result`)));
    child.send({ ...run, stack: describeStack(stack) } satisfies FunctionsRun);
  });
}
