/**
 * Plays the schedules table's DynamoDB stream and its Lambda event source mapping
 * locally (neither dynalite nor moto streams): every `intervalMs` it reads the table,
 * compares each item with what it last handed on, and invokes sync-schedules (the very
 * handler CDK deploys) with KEYS_ONLY stream records, as the stack's stream sends them:
 * INSERT, MODIFY, REMOVE, in sequence-number order. Records up to the handler's first
 * `batchItemFailures` entry count as delivered; that one and the later ones are sent
 * again on the next tick, as Lambda retries a stream batch from its failure.
 */
import { type AttributeValue, type DynamoDBClient, paginateScan } from "@aws-sdk/client-dynamodb";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { SyncSchedulesHandler } from "#lambdas/sync-schedules/lambda.ts";
import { lambdaContext } from "./function-url-server.ts";

export interface ScheduleStreamOptions {
  dynamo: DynamoDBClient;
  tableName: string;
  handler: SyncSchedulesHandler;
  /** How often the table is read (default 500 ms). */
  intervalMs?: number;
  region?: string;
  log?: (line: string) => void;
}

export interface ScheduleStreamTick {
  /** Records handed to the function in this tick. */
  records: number;
  /** What the function did, per schedule. */
  synced: Awaited<ReturnType<SyncSchedulesHandler>>["synced"];
}

export interface ScheduleStream {
  /** One read and hand-off now (what the timer does; tests call it to wait for a sync). */
  tick(): Promise<ScheduleStreamTick>;
  stop(): Promise<void>;
}

/** An item's content, independent of attribute order. */
const fingerprint = (item: Record<string, AttributeValue>): string =>
  JSON.stringify(
    Object.keys(item)
      .sort()
      .map((name) => [name, item[name]]),
  );

export function startScheduleStream(options: ScheduleStreamOptions): ScheduleStream {
  const region = options.region ?? "eu-central-1";
  const eventSourceARN = `arn:aws:dynamodb:${region}:000000000000:table/${options.tableName}/stream/local`;
  const delivered = new Map<string, string>();
  let sequence = 0;
  let running: Promise<ScheduleStreamTick> | undefined;

  const readTable = async (): Promise<Map<string, string>> => {
    const now = new Map<string, string>();
    for await (const page of paginateScan(
      { client: options.dynamo },
      { TableName: options.tableName, ConsistentRead: true },
    )) {
      for (const item of page.Items ?? []) {
        const name = item.name?.S;
        if (name !== undefined) now.set(name, fingerprint(item));
      }
    }
    return now;
  };

  const once = async (): Promise<ScheduleStreamTick> => {
    const now = await readTable();
    const changes: { name: string; eventName: "INSERT" | "MODIFY" | "REMOVE"; print?: string }[] = [];
    for (const [name, print] of now) {
      const before = delivered.get(name);
      if (before === undefined) changes.push({ name, eventName: "INSERT", print });
      else if (before !== print) changes.push({ name, eventName: "MODIFY", print });
    }
    for (const name of delivered.keys()) if (!now.has(name)) changes.push({ name, eventName: "REMOVE" });
    if (changes.length === 0) return { records: 0, synced: [] };

    const records: DynamoDBRecord[] = changes.map((change) => ({
      eventID: `local-${sequence + 1}`,
      eventName: change.eventName,
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: region,
      eventSourceARN,
      dynamodb: {
        Keys: { name: { S: change.name } },
        SequenceNumber: String(++sequence).padStart(21, "0"),
        SizeBytes: 32,
        StreamViewType: "KEYS_ONLY",
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      },
    }));
    const event: DynamoDBStreamEvent = { Records: records };
    const answer = await options.handler(
      event,
      lambdaContext({ functionName: "sync-schedules", timeoutMs: 60_000 }),
    );
    const failedAt = answer.batchItemFailures[0]?.itemIdentifier;
    for (const [index, change] of changes.entries()) {
      if (failedAt !== undefined && records[index]?.dynamodb?.SequenceNumber === failedAt) break;
      if (change.print === undefined) delivered.delete(change.name);
      else delivered.set(change.name, change.print);
    }
    return { records: records.length, synced: answer.synced };
  };

  const tick = (): Promise<ScheduleStreamTick> => {
    // One hand-off at a time, as one shard is processed in order.
    const next = (running ?? Promise.resolve()).catch(() => undefined).then(once);
    running = next;
    return next;
  };

  const timer = setInterval(() => {
    tick().catch((error: unknown) =>
      options.log?.(`schedule stream: ${error instanceof Error ? error.message : String(error)}`),
    );
  }, options.intervalMs ?? 500);
  timer.unref();

  return {
    tick,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
