/**
 * What the local SES has accepted, in one shape whichever backend runs: aws-ses-v2-local
 * keeps its parse of each message (read here in process: the emulator always runs in this
 * process); moto keeps the raw MIME of each message, which is parsed here with the same
 * library (mailparser). The runner, the tests and the benchmarks read sent mails only
 * through this.
 */
import { createRequire } from "node:module";
import { type AddressObject, simpleParser } from "mailparser";

export interface StoredMail {
  messageId: string;
  from: string;
  replyTo: string[];
  /** One address per entry. */
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  attachments: { filename?: string; contentType: string; size: number; content: string }[];
  /**
   * When the message was accepted, as the backend keeps it: seconds since the epoch for
   * aws-ses-v2-local, milliseconds for moto (when this store first saw it).
   */
  at: number;
  /** Set when the store dropped this mail's bodies and attachment contents (`compact`). */
  compacted?: true;
}

export interface SentMailStore {
  /** Every mail accepted since the start (or the last `clear`), oldest first. */
  read(): Promise<StoredMail[]>;
  /** Forgets the mails accepted so far: `read` returns only later ones. */
  clear(): Promise<void>;
  /**
   * Drops the bodies and attachment contents of all but the newest `keep` mails; their
   * headers and attachment names and sizes stay (what the runner's end-of-run check reads).
   * The evidence archive keeps every message whole. Returns how many it dropped now. Only
   * aws-ses-v2-local's store, which is in this process, can.
   */
  compact?(keep: number): number;
}

/** "a@x, b@y" → ["a@x", "b@y"]: aws-ses-v2-local keeps a raw message's To header as one string. */
const splitAddresses = (list: readonly string[]): string[] =>
  list
    .flatMap((entry) => entry.split(","))
    .map((address) => address.trim())
    .filter((address) => address !== "");

const withOneAddressPerEntry = (mail: StoredMail): StoredMail => ({
  ...mail,
  destination: {
    to: splitAddresses(mail.destination.to),
    cc: splitAddresses(mail.destination.cc),
    bcc: splitAddresses(mail.destination.bcc),
  },
});

async function getJson<T>(url: string, what: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${what} answered ${response.status}`);
  return (await response.json()) as T;
}

type EmulatorMail = import("aws-ses-v2-local/dist/store").Email;

// CommonJS, like the emulator's entry point (local-aws.ts requires it the same way): one
// module instance, so this is the store the emulator's handlers write to.
const emulatorStore = createRequire(import.meta.url)(
  "aws-ses-v2-local/dist/store",
) as typeof import("aws-ses-v2-local/dist/store");

/** The emulator's mails whose content `compact` dropped. */
const compactedMails = new WeakSet<EmulatorMail>();

/**
 * Slims the emulator's older mails in place: about 16 KB each (the HTML and text bodies,
 * the PDF in base64) is most of what a run of 20,000 mails holds in memory.
 */
function compactEmulatorStore(keep: number): number {
  const { emails } = emulatorStore.getStoreReadonly();
  let dropped = 0;
  // Newest first, down to the first mail compacted before: each call handles only new ones.
  for (let index = emails.length - keep - 1; index >= 0; index--) {
    const mail = emails[index];
    if (mail === undefined || compactedMails.has(mail)) break;
    const slim: EmulatorMail = {
      ...mail,
      body: {},
      attachments: mail.attachments.map((attachment) => ({
        ...(attachment.filename === undefined ? {} : { filename: attachment.filename }),
        contentType: attachment.contentType,
        size: attachment.size,
        content: "",
      })),
    };
    compactedMails.add(slim);
    emails[index] = slim;
    dropped++;
  }
  return dropped;
}

/**
 * One stored mail in our shape. Its strings are the store's own (not copied): reading every
 * mail costs a few small objects per mail, where `GET /store` made the whole store one JSON
 * (every body and attachment) and parsed it again, the largest peak of a long run.
 */
function fromEmulatorMail(mail: EmulatorMail): StoredMail {
  return withOneAddressPerEntry({
    ...(compactedMails.has(mail) ? { compacted: true as const } : {}),
    messageId: mail.messageId,
    from: mail.from,
    replyTo: [...mail.replyTo],
    destination: mail.destination,
    subject: mail.subject,
    body: {
      ...(mail.body.text === undefined ? {} : { text: mail.body.text }),
      ...(mail.body.html === undefined ? {} : { html: mail.body.html }),
    },
    attachments: mail.attachments.map((attachment) => ({
      ...(attachment.filename === undefined ? {} : { filename: attachment.filename }),
      contentType: attachment.contentType,
      size: attachment.size,
      content: attachment.content,
    })),
    at: mail.at,
  });
}

/**
 * aws-ses-v2-local's store, read in process. The store is the module's, shared by every
 * emulator this process started (as its `GET /store` is).
 */
export function sesEmulatorSentMails(sesEndpoint: string): SentMailStore {
  return {
    read: async () => emulatorStore.getStoreReadonly().emails.map(fromEmulatorMail),
    clear: async () => {
      const response = await fetch(`${sesEndpoint}/clear-store`, { method: "POST" });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`SES emulator clear-store answered ${response.status}`);
    },
    compact: compactEmulatorStore,
  };
}

/** One SES message as moto's model API (`/moto-api/data.json`) shows it. */
interface MotoRawMessage {
  id: string;
  source: string;
  raw_data: string;
}

const addressTexts = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field === undefined ? [] : [field]).flatMap((group) =>
    group.value.map((address) => address.address ?? address.name),
  );

async function parseRawMessage(message: MotoRawMessage, seenAt: number): Promise<StoredMail> {
  const parsed = await simpleParser(message.raw_data);
  return {
    messageId: message.id,
    from: parsed.from?.text ?? message.source,
    replyTo: parsed.replyTo === undefined ? [] : [parsed.replyTo.text],
    destination: { to: addressTexts(parsed.to), cc: addressTexts(parsed.cc), bcc: addressTexts(parsed.bcc) },
    subject: parsed.subject ?? "(no subject)",
    body: {
      ...(parsed.text === undefined ? {} : { text: parsed.text }),
      ...(parsed.html === false ? {} : { html: parsed.html }),
    },
    attachments: parsed.attachments.map((attachment) => ({
      ...(attachment.filename === undefined ? {} : { filename: attachment.filename }),
      contentType: attachment.contentType,
      size: attachment.size,
      content: attachment.content.toString("base64"),
    })),
    at: seenAt,
  };
}

/**
 * moto's sent messages. moto keeps no acceptance time, so `at` is when this store first saw
 * the message (reads are frequent in the runner and the tests; the order is moto's).
 */
export function motoSentMails(motoUrl: string): SentMailStore {
  let skip = 0;
  const parsed = new Map<string, StoredMail>();
  const all = async (): Promise<MotoRawMessage[]> => {
    const models = await getJson<{ ses?: { RawMessage?: MotoRawMessage[] } }>(
      `${motoUrl}/moto-api/data.json`,
      "moto's model API",
    );
    return models.ses?.RawMessage ?? [];
  };
  return {
    read: async () => {
      const now = Date.now();
      const out: StoredMail[] = [];
      for (const message of (await all()).slice(skip)) {
        let mail = parsed.get(message.id);
        if (mail === undefined) {
          mail = await parseRawMessage(message, now);
          parsed.set(message.id, mail);
        }
        out.push(mail);
      }
      return out;
    },
    clear: async () => {
      skip = (await all()).length;
      parsed.clear();
    },
  };
}
