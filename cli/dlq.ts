/**
 * `dlq list | show | delete | redrive`: looking inside the report-ready dead-letter queue.
 *
 * SQS has no "peek": the messages are received with a short visibility timeout (so each
 * receive returns others), collected by message id, and then made visible again at once
 * (`ChangeMessageVisibility` 0), except those a command deletes or moves. A DLQ has no
 * redrive policy of its own, so receiving its messages loses nothing. What is shown of a
 * message never includes a PDF link (a capability that fetches the report): only its host.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { parseReportReadyMessage } from "#shared/report-ready.ts";
import { messageOf } from "./errors.ts";
import type { ProgressFactory } from "./progress.ts";

export interface DlqPorts {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
}

/** One dead letter, for people: the report it names, never its PDF link. */
export interface DeadLetter {
  messageId: string;
  /** When it was first sent to the report-ready queue. */
  sentAt?: string;
  /** Receives on the report-ready queue before it was dead-lettered (and on the DLQ since). */
  receiveCount?: number;
  batchId?: string;
  cvr?: string;
  reportType?: string;
  customerId?: number;
  source?: string;
  seenAt?: string;
  itemStatus?: string;
  /** The host of the message's PDF link, when it carries one. */
  pdfHost?: string;
  /** The body is no report-ready message: why. */
  unreadable?: string;
}

const epochIso = (value: string | undefined): string | undefined =>
  value === undefined || !/^\d+$/.test(value) ? undefined : new Date(Number(value)).toISOString();

export function deadLetter(message: Message): DeadLetter {
  const base: DeadLetter = {
    messageId: message.MessageId ?? "",
    ...(epochIso(message.Attributes?.SentTimestamp) === undefined
      ? {}
      : { sentAt: epochIso(message.Attributes?.SentTimestamp) }),
    ...(message.Attributes?.ApproximateReceiveCount === undefined
      ? {}
      : { receiveCount: Number(message.Attributes.ApproximateReceiveCount) }),
  };
  try {
    const body = parseReportReadyMessage(message.Body ?? "");
    let pdfHost: string | undefined;
    try {
      pdfHost = body.pdfUrl === undefined ? undefined : new URL(body.pdfUrl).host;
    } catch {
      pdfHost = "(not a URL)";
    }
    return {
      ...base,
      batchId: body.batchId,
      cvr: body.cvr,
      ...(body.reportType === undefined ? {} : { reportType: body.reportType }),
      ...(body.internalCustomerId === undefined ? {} : { customerId: body.internalCustomerId }),
      source: body.source,
      seenAt: body.seenAt,
      itemStatus: body.itemStatus,
      ...(pdfHost === undefined ? {} : { pdfHost }),
    };
  } catch (error) {
    return { ...base, unreadable: messageOf(error).split("\n")[0] ?? "not a report-ready message" };
  }
}

/**
 * Receives the DLQ's messages (hidden for `hideSeconds` while this runs) until a receive
 * comes back empty or `max` are held. The caller gives back what it does not delete.
 */
async function receiveAll(
  ports: DlqPorts,
  options: { max?: number; hideSeconds?: number; progress: ProgressFactory },
): Promise<Message[]> {
  const held = new Map<string, Message>();
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const bar = options.progress("reading the dead-letter queue");
  try {
    while (held.size < max) {
      const { Messages = [] } = await ports.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: ports.dlqUrl,
          MaxNumberOfMessages: Math.min(10, max - held.size),
          WaitTimeSeconds: 1,
          VisibilityTimeout: options.hideSeconds ?? 60,
          AttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      const fresh = Messages.filter(
        (message) => message.MessageId !== undefined && !held.has(message.MessageId),
      );
      if (fresh.length === 0) break;
      for (const message of fresh) held.set(message.MessageId as string, message);
      bar.tick(fresh.length);
    }
  } finally {
    bar.done();
  }
  return [...held.values()];
}

/** Runs `act` on `items` ten at a time (what one SQS batch request takes). */
async function byTens<T>(items: readonly T[], act: (part: readonly T[]) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += 10) await act(items.slice(start, start + 10));
}

/** Makes held messages visible again at once (what a look leaves as it found it). */
async function release(ports: DlqPorts, messages: readonly Message[]): Promise<void> {
  await byTens(messages, async (part) => {
    const entries = part.flatMap((message, index) =>
      message.ReceiptHandle === undefined
        ? []
        : [{ Id: String(index), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }],
    );
    if (entries.length > 0) {
      await ports.sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: ports.dlqUrl, Entries: entries }),
      );
    }
  });
}

/** Every dead letter (at most `max`), left in the queue as it was. */
export async function listDeadLetters(
  ports: DlqPorts,
  options: { max?: number; progress: ProgressFactory },
): Promise<DeadLetter[]> {
  const messages = await receiveAll(ports, options);
  await release(ports, messages);
  return messages.map(deadLetter).sort((a, b) => (a.sentAt ?? "").localeCompare(b.sentAt ?? ""));
}

/** What became of each message a command was asked to delete or move. */
export interface DlqActionOutcome {
  /** Deleted (delete) or on the report-ready queue and gone from the DLQ (redrive). */
  done: string[];
  /** Asked for, but not in the dead-letter queue. */
  notFound: string[];
  /** Sent to the queue but not deleted from the DLQ, or refused by the queue: still there. */
  failed: { messageId: string; kind: "refused" | "not-deleted"; reason: string }[];
}

async function deleteFromDlq(
  ports: DlqPorts,
  messages: readonly Message[],
  outcome: DlqActionOutcome,
): Promise<void> {
  await byTens(messages, async (part) => {
    const answer = await ports.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: ports.dlqUrl,
        Entries: part.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? "",
        })),
      }),
    );
    for (const entry of answer.Successful ?? []) outcome.done.push(part[Number(entry.Id)]?.MessageId ?? "");
    for (const entry of answer.Failed ?? []) {
      const messageId = part[Number(entry.Id)]?.MessageId ?? "";
      outcome.failed.push({ messageId, kind: "not-deleted", reason: entry.Message ?? "not deleted" });
    }
  });
}

/**
 * Moves messages back to the report-ready queue: each sent as it is (body and attributes),
 * and deleted from the DLQ only once the queue accepted it. A crash in between leaves it in
 * both: harmless, the delivery's claim skips a report already delivered.
 */
export async function moveToQueue(
  ports: DlqPorts,
  messages: readonly Message[],
  outcome: DlqActionOutcome,
): Promise<void> {
  await byTens(messages, async (part) => {
    const sent = await ports.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ports.queueUrl,
        Entries: part.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? "",
          ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
            ? { MessageAttributes: message.MessageAttributes }
            : {}),
        })),
      }),
    );
    for (const entry of sent.Failed ?? []) {
      const messageId = part[Number(entry.Id)]?.MessageId ?? "";
      const reason = `refused by the queue: ${entry.Message ?? entry.Code ?? "?"}`;
      outcome.failed.push({ messageId, kind: "refused", reason });
    }
    const accepted = (sent.Successful ?? []).flatMap((entry) => {
      const message = part[Number(entry.Id)];
      return message === undefined ? [] : [message];
    });
    await deleteFromDlq(ports, accepted, outcome);
  });
}

/**
 * Deletes (`delete`) or moves back (`redrive`) the dead letters named by `messageIds`, or
 * every one when none is named (redrive only); the others are left as they were.
 */
export async function actOnDeadLetters(
  ports: DlqPorts,
  action: "delete" | "redrive",
  messageIds: readonly string[],
  options: { progress: ProgressFactory },
): Promise<DlqActionOutcome> {
  const messages = await receiveAll(ports, { ...options, hideSeconds: 300 });
  const wanted = new Set(messageIds);
  const chosen =
    wanted.size === 0 ? messages : messages.filter((message) => wanted.has(message.MessageId ?? ""));
  const others = messages.filter((message) => !chosen.includes(message));
  const outcome: DlqActionOutcome = {
    done: [],
    notFound: [...wanted].filter((id) => !messages.some((message) => message.MessageId === id)),
    failed: [],
  };
  try {
    if (action === "delete") await deleteFromDlq(ports, chosen, outcome);
    else await moveToQueue(ports, chosen, outcome);
  } finally {
    await release(ports, others);
  }
  return outcome;
}
