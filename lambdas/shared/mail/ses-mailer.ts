/**
 * The mailer port and its SES v2 adapter: sends one raw MIME message with the
 * configuration set and message tags, and tells a retryable refusal (throttling, quotas,
 * a paused account, SES unavailable) from a permanent one (the message itself rejected).
 */
import { type MessageTag, type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";

export interface OutgoingMail {
  /** The bare address (FromEmailAddress): the display name is in the message's From header. */
  from: string;
  /** SES's Destination: To and Cc as in the headers, Bcc only here. */
  destination: { to: readonly string[]; cc?: readonly string[]; bcc?: readonly string[] };
  raw: Buffer;
  /** Message tags (SES event publishing): names and values are made tag-safe here. */
  tags: Readonly<Record<string, string>>;
}

export type SendMail = (mail: OutgoingMail) => Promise<{ messageId: string }>;

export class MailSendError extends Error {
  override readonly name = "MailSendError";
  readonly retryable: boolean;
  /** SES's error name, e.g. TooManyRequestsException. */
  readonly code: string;
  /** SES answered (an HTTP response): it did not take the message. False: the answer was lost. */
  readonly answered: boolean;

  constructor(
    code: string,
    message: string,
    retryable: boolean,
    options?: { cause?: unknown; answered?: boolean },
  ) {
    super(message, options);
    this.code = code;
    this.retryable = retryable;
    this.answered = options?.answered ?? true;
  }
}

/** Only these say the message itself is wrong: sending it again cannot help. */
const PERMANENT = new Set(["MessageRejected", "BadRequestException"]);

/** SES tag names and values: letters, digits, `_` and `-`, at most 256. */
export function tagSafe(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256);
  return safe === "" ? "_" : safe;
}

export function sesMailer(ses: SESv2Client, options: { configurationSet?: string } = {}): SendMail {
  return async (mail) => {
    const tags: MessageTag[] = Object.entries(mail.tags).map(([name, value]) => ({
      Name: tagSafe(name),
      Value: tagSafe(value),
    }));
    try {
      const result = await ses.send(
        new SendEmailCommand({
          FromEmailAddress: mail.from,
          Destination: {
            ToAddresses: [...mail.destination.to],
            ...(mail.destination.cc === undefined || mail.destination.cc.length === 0
              ? {}
              : { CcAddresses: [...mail.destination.cc] }),
            ...(mail.destination.bcc === undefined || mail.destination.bcc.length === 0
              ? {}
              : { BccAddresses: [...mail.destination.bcc] }),
          },
          Content: { Raw: { Data: mail.raw } },
          EmailTags: tags,
          ...(options.configurationSet === undefined
            ? {}
            : { ConfigurationSetName: options.configurationSet }),
        }),
      );
      // Accepted is accepted: a missing id must not turn a sent mail into a failure.
      return { messageId: result.MessageId ?? "(none)" };
    } catch (error) {
      if (error instanceof MailSendError) throw error;
      const code = error instanceof Error ? error.name : "Unknown";
      const message = error instanceof Error ? error.message : String(error);
      const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
        ?.httpStatusCode;
      throw new MailSendError(code, `SES refused the message: ${code}: ${message}`, !PERMANENT.has(code), {
        cause: error,
        answered: status !== undefined,
      });
    }
  };
}
