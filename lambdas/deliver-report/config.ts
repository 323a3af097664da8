/** deliver-report's configuration, read once at cold start (names: env-names.ts). */

import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as z from "zod/mini";
import { LANGUAGES, type Language } from "#shared/customers.ts";
import { boolEnv, intEnv, listEnv, MissingConfigError, optionalEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import { SES_MAX_MESSAGE_BYTES } from "#shared/mail/compose.ts";
import { LOGO_CID, type MailLogo, type MailProfile, parseMailProfile } from "#shared/mail/profile.ts";
import { DEFAULT_MAX_PDF_BYTES, maxPdfBytesFor } from "#shared/pdf-budget.ts";
import type { DoorbellConfig } from "./doorbell.ts";

export interface DeliverReportSettings {
  /** The report-ready queue this function consumes (to defer timed retries). */
  queueUrl: string;
  stateTable: string;
  stateRetentionDays: number;
  customersTable: string;
  mail: {
    /** The bare address: SES's FromEmailAddress (the profile's `from` carries the display name). */
    sender: string;
    profile: MailProfile;
    logo?: MailLogo;
    defaultLanguage: Language;
    configurationSet?: string;
    maxMessageBytes: number;
  };
  pdf: {
    allowedHosts: string[];
    /** Local mode only. */
    allowHttp: boolean;
    maxBytes: number;
    connectTimeoutMs: number;
    totalTimeoutMs: number;
  };
  lasso: {
    baseUrl: string;
    apiKeySecretId: string;
    timeoutMs?: number;
  };
  /** Webhooks as doorbells (doorbell.ts). */
  doorbell: DoorbellConfig;
  /** The write-once evidence archive (evidence.ts). */
  archive: { bucket: string; retentionDays: number };
}

const email = z.email();

function emailEnv(name: string, value: string): string {
  if (!email.safeParse(value).success)
    throw new MissingConfigError(`environment variable ${name} must be an e-mail address`);
  return value;
}

/**
 * MAX_PDF_BYTES, clamped at cold start to what the function's memory holds for a whole
 * batch of parallel deliveries (pdf-budget.ts). Synth refuses a config that does not fit,
 * so this only bites when the function's memory or environment was changed by hand; it
 * then says so once (a process warning, in the function's log). Off Lambda (local mode,
 * tests) there is no memory to fit.
 */
function pdfMaxBytes(env: NodeJS.ProcessEnv): number {
  const configured = intEnv(ENV.maxPdfBytes, { default: DEFAULT_MAX_PDF_BYTES, min: 1024 }, env);
  if (optionalEnv(ENV.lambdaMemorySize, env) === undefined) return configured;
  const memoryMb = intEnv(ENV.lambdaMemorySize, { min: 128 }, env);
  // Without the stack's batch size, SQS's largest: the cap then fits any batch.
  const parallel = intEnv(ENV.deliveryBatchSize, { default: 10, min: 1, max: 10 }, env);
  const fitting = maxPdfBytesFor(memoryMb, parallel);
  if (configured <= fitting) return configured;
  process.emitWarning(
    `${ENV.maxPdfBytes} ${configured} does not fit ${memoryMb} MB with ${parallel} parallel deliveries: PDFs are capped at ${fitting} bytes`,
    { code: "MAX_PDF_BYTES_CLAMPED" },
  );
  return fitting;
}

function mailProfile(env: NodeJS.ProcessEnv): MailProfile {
  try {
    return parseMailProfile(requireEnv(ENV.mailProfile, env));
  } catch (error) {
    throw new MissingConfigError(`environment variable ${ENV.mailProfile}: ${(error as Error).message}`);
  }
}

/** The logo shipped in the bundle (a relative name is found beside the function's code). */
function readLogo(logo: NonNullable<MailProfile["logo"]>): MailLogo {
  const file = path.resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), logo.file);
  try {
    return { bytes: readFileSync(file), contentType: logo.contentType, alt: logo.alt, cid: LOGO_CID };
  } catch (error) {
    throw new MissingConfigError(
      `the logo ${file} of ${ENV.mailProfile} cannot be read: ${(error as Error).message}`,
    );
  }
}

export function readDeliverReportSettings(env: NodeJS.ProcessEnv = process.env): DeliverReportSettings {
  const language = optionalEnv(ENV.defaultLanguage, env) ?? "da";
  if (!(LANGUAGES as readonly string[]).includes(language)) {
    throw new MissingConfigError(
      `environment variable ${ENV.defaultLanguage} must be one of ${LANGUAGES.join(", ")}`,
    );
  }
  const profile = mailProfile(env);
  const sender = emailEnv(ENV.mailSender, requireEnv(ENV.mailSender, env));
  if (sender.toLowerCase() !== profile.from.address.toLowerCase()) {
    throw new MissingConfigError(`${ENV.mailProfile}'s from address is not ${ENV.mailSender} (${sender})`);
  }
  const logo = profile.logo === undefined ? undefined : readLogo(profile.logo);
  const configurationSet = optionalEnv(ENV.sesConfigurationSet, env);
  const lassoTimeout = optionalEnv(ENV.lassoRequestTimeoutMs, env);
  const webhookUrl = optionalEnv(ENV.webhookUrl, env);
  const allowedHosts = listEnv(ENV.pdfAllowedHosts, env).map((host) => host.toLowerCase());
  if (allowedHosts.length === 0)
    throw new MissingConfigError(`environment variable ${ENV.pdfAllowedHosts} lists no host`);
  return {
    queueUrl: requireEnv(ENV.reportReadyQueueUrl, env),
    stateTable: requireEnv(ENV.stateTable, env),
    stateRetentionDays: intEnv(ENV.stateRetentionDays, { default: 400, min: 1 }, env),
    customersTable: requireEnv(ENV.customersTable, env),
    archive: {
      bucket: requireEnv(ENV.archiveBucket, env),
      retentionDays: intEnv(ENV.archiveRetentionDays, { default: 1827, min: 1, max: 36_500 }, env),
    },
    mail: {
      sender,
      profile,
      ...(logo === undefined ? {} : { logo }),
      defaultLanguage: language as Language,
      ...(configurationSet === undefined ? {} : { configurationSet }),
      maxMessageBytes: intEnv(
        ENV.maxMailBytes,
        { default: SES_MAX_MESSAGE_BYTES, min: 64 * 1024, max: SES_MAX_MESSAGE_BYTES },
        env,
      ),
    },
    pdf: {
      allowedHosts,
      allowHttp: boolEnv(ENV.pdfAllowHttp, false, env),
      maxBytes: pdfMaxBytes(env),
      connectTimeoutMs: intEnv(ENV.pdfConnectTimeoutMs, { default: 5_000, min: 100, max: 60_000 }, env),
      totalTimeoutMs: intEnv(ENV.pdfTimeoutMs, { default: 60_000, min: 1_000, max: 600_000 }, env),
    },
    doorbell: {
      ringIntervalMs: intEnv(ENV.ringIntervalMs, { default: 15_000, min: 0, max: 600_000 }, env),
      ringMaxReceives: intEnv(ENV.ringMaxReceives, { default: 3, min: 1, max: 10 }, env),
      lookUpsPerMinute: intEnv(ENV.ringLookUpsPerMinute, { default: 30, min: 1, max: 500 }, env),
      ...(webhookUrl === undefined ? {} : { webhookUrl }),
      stalledAfterMs: intEnv(ENV.stalledAfterMinutes, { default: 360, min: 1 }, env) * 60_000,
      // The longest Lasso call (the client's retry budget and one request) and the writes after it.
      reserveMs: 20_000,
    },
    lasso: {
      baseUrl: requireEnv(ENV.lassoBaseUrl, env),
      apiKeySecretId: requireEnv(ENV.lassoApiKeySecretId, env),
      ...(lassoTimeout === undefined
        ? {}
        : { timeoutMs: intEnv(ENV.lassoRequestTimeoutMs, { min: 100 }, env) }),
    },
  };
}
