/**
 * Local AWS: starts what stands in for AWS on one machine and tells the AWS SDK v3 where
 * it is through the standard `AWS_ENDPOINT_URL_<SERVICE>` variables, so production code
 * runs unchanged. Two backends (`LOCAL_AWS_BACKEND`, docs/architecture.md):
 * - `node` (the default, nothing but npm packages):
 *   - DynamoDB: dynalite (in memory);
 *   - SQS: local-aws-sqs (with two fixes of ours, patches/: see docs/architecture.md);
 *   - SES v2: aws-ses-v2-local (its web page lists sent mails; `GET /store` returns them);
 *   - Secrets Manager: our own minimal emulator (local/aws/secrets-emulator.ts);
 *   - S3 (the evidence archive): s3rver (@20minutes/s3rver), on a temporary directory;
 *   - EventBridge Scheduler (the report schedules' state): ours (local/aws/scheduler-emulator.ts);
 * - `moto`: all six from one moto server (local/aws/moto.ts), which needs Python's moto.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { CreateEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import dynalite from "dynalite";
import { meterReadCapacity, type ReadCapacityMeter } from "./dynamo-capacity.ts";
import { startMotoServer } from "./moto.ts";
import { startS3Emulator } from "./s3-emulator.ts";
import { createSchedulerEmulator } from "./scheduler-emulator.ts";
import { createSecretsEmulator } from "./secrets-emulator.ts";
import { motoSentMails, type SentMailStore, sesEmulatorSentMails } from "./sent-mails.ts";

// local-aws-sqs and aws-ses-v2-local are CommonJS with an `exports.default`; require keeps
// their typed shape identical under Node, tsx and vitest.
const require = createRequire(import.meta.url);
const sqsEmulator = require("local-aws-sqs") as typeof import("local-aws-sqs");
const sesEmulator = require("aws-ses-v2-local") as typeof import("aws-ses-v2-local");

export const LOCAL_REGION = "eu-central-1";
export const LOCAL_HOST = "127.0.0.1";
/** Dummy credentials: the emulators accept them (s3rver once they are registered). */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

export const LOCAL_AWS_BACKENDS = ["node", "moto"] as const;
export type LocalAwsBackend = (typeof LOCAL_AWS_BACKENDS)[number];

/** `LOCAL_AWS_BACKEND`: `node` when unset; anything else but `moto` is refused. */
export function localAwsBackend(env: NodeJS.ProcessEnv = process.env): LocalAwsBackend {
  const value = env.LOCAL_AWS_BACKEND?.trim() || "node";
  const backend = LOCAL_AWS_BACKENDS.find((candidate) => candidate === value);
  if (backend === undefined) {
    throw new Error(`LOCAL_AWS_BACKEND must be one of ${LOCAL_AWS_BACKENDS.join(", ")}, got "${value}"`);
  }
  return backend;
}

export interface LocalAwsPorts {
  dynamodb?: number;
  sqs?: number;
  ses?: number;
  secretsManager?: number;
  s3?: number;
  scheduler?: number;
  /** The one port of the moto backend. */
  moto?: number;
}

export interface LocalAwsEndpoints {
  dynamodb: string;
  sqs: string;
  ses: string;
  secretsManager: string;
  s3: string;
  scheduler: string;
}

export interface LocalAws {
  backend: LocalAwsBackend;
  endpoints: LocalAwsEndpoints;
  /** The environment that points AWS SDK v3 clients at the emulators, with dummy credentials. */
  env: Record<string, string>;
  /** What SES accepted. */
  sentMails: SentMailStore;
  /** Where a person sees the sent mails in a browser. */
  sentMailsPage: string;
  /**
   * Verifies a sender's domain, as docs/deploy.md tells operators to do in SES: moto, like
   * SES, refuses mail from an unverified sender (aws-ses-v2-local accepts any).
   */
  verifySender(address: string): Promise<void>;
  /**
   * Starts counting the DynamoDB read units served (dynamo-capacity.ts); only the node
   * backend, whose DynamoDB runs in this process, can.
   */
  meterDynamoReads?: () => ReadCapacityMeter;
  stop(): Promise<void>;
}

/** The SDK's service-specific endpoint variables (AWS_ENDPOINT_URL_ + the service id). */
export function awsEnvironment(endpoints: LocalAwsEndpoints): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    // Local mode runs on the developer's Node.js; Lambda runs Node.js 22 or newer.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SESV2: endpoints.ses,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    // A loopback IP endpoint: the SDK addresses buckets path-style, as S3 emulators need.
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SCHEDULER: endpoints.scheduler,
  };
}

function urlOf(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://${LOCAL_HOST}:${port}`;
}

function listen(server: Server, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** Starts the backend on loopback; port 0 (the default) picks a free port. */
export async function startLocalAws(
  ports: LocalAwsPorts = {},
  backend: LocalAwsBackend = localAwsBackend(),
): Promise<LocalAws> {
  return backend === "moto" ? startMotoBackend(ports) : startNodeBackend(ports);
}

async function startNodeBackend(ports: LocalAwsPorts): Promise<LocalAws> {
  const servers: Server[] = [];
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    await Promise.all([...servers.map(close), ...stops.map((stop) => stop())]);
  };
  try {
    const dynamo = await listen(
      dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }),
      ports.dynamodb ?? 0,
    );
    servers.push(dynamo);
    const sqs = await sqsEmulator.createSqsServer({
      port: ports.sqs ?? 0,
      hostname: LOCAL_HOST,
      region: LOCAL_REGION,
      emulateQueueCreationLifecycle: false,
    });
    servers.push(sqs);
    const ses = await sesEmulator.default({ host: LOCAL_HOST, port: ports.ses ?? 0 });
    servers.push(ses);
    const secrets = await listen(createSecretsEmulator(LOCAL_REGION), ports.secretsManager ?? 0);
    servers.push(secrets);
    const s3 = await startS3Emulator(ports.s3 ?? 0, LOCAL_CREDENTIALS);
    stops.push(s3.stop);
    const scheduler = await listen(createSchedulerEmulator(LOCAL_REGION), ports.scheduler ?? 0);
    servers.push(scheduler);

    const endpoints: LocalAwsEndpoints = {
      dynamodb: urlOf(dynamo),
      sqs: urlOf(sqs),
      ses: urlOf(ses),
      secretsManager: urlOf(secrets),
      s3: s3.url,
      scheduler: urlOf(scheduler),
    };
    return {
      backend: "node",
      endpoints,
      env: awsEnvironment(endpoints),
      sentMails: sesEmulatorSentMails(endpoints.ses),
      sentMailsPage: `${endpoints.ses}/`,
      verifySender: async () => undefined,
      meterDynamoReads: () => meterReadCapacity(dynamo),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function startMotoBackend(ports: LocalAwsPorts): Promise<LocalAws> {
  const moto = await startMotoServer(LOCAL_HOST, ports.moto ?? 0);
  const endpoints: LocalAwsEndpoints = {
    dynamodb: moto.url,
    sqs: moto.url,
    ses: moto.url,
    secretsManager: moto.url,
    s3: moto.url,
    scheduler: moto.url,
  };
  const env = awsEnvironment(endpoints);
  const ses = new SESv2Client({
    region: LOCAL_REGION,
    endpoint: moto.url,
    credentials: LOCAL_CREDENTIALS,
  });
  const verified = new Set<string>();
  return {
    backend: "moto",
    endpoints,
    env,
    sentMails: motoSentMails(moto.url),
    sentMailsPage: `${moto.url}/moto-api/`,
    verifySender: async (address) => {
      const domain = address
        .slice(address.lastIndexOf("@") + 1)
        .replace(/>$/, "")
        .toLowerCase();
      if (verified.has(domain)) return;
      await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
      verified.add(domain);
    },
    stop: async () => {
      ses.destroy();
      await moto.stop();
    },
  };
}
