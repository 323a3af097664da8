/**
 * Secrets from AWS Secrets Manager, cached across invocations (Powertools Parameters).
 * Never log or put a secret's value in an error.
 */

import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export interface RotatingSecret {
  /** The current value (stage AWSCURRENT). */
  current(): Promise<string>;
  /** The value before the last rotation (stage AWSPREVIOUS), if there is one. */
  previous(): Promise<string | undefined>;
}

export interface SecretOptions {
  /** How long a value is reused before Secrets Manager is asked again. */
  maxAgeSeconds?: number;
  awsSdkV3Client?: SecretsManagerClient;
}

const DEFAULT_MAX_AGE_SECONDS = 300;

function asText(value: unknown, secretId: string): string {
  if (typeof value === "string" && value !== "") return value;
  throw new Error(`secret ${secretId} has no string value`);
}

/** Reads one secret's current value, cached. */
export function cachedSecret(secretId: string, options: SecretOptions = {}): () => Promise<string> {
  const provider = new SecretsProvider(
    options.awsSdkV3Client ? { awsSdkV3Client: options.awsSdkV3Client } : {},
  );
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  return async () => asText(await provider.get(secretId, { maxAge }), secretId);
}

/**
 * A secret that can be rotated without losing requests: callers accept the current and
 * the previous value. Two providers, because Powertools caches by secret name only and
 * the two stages must not share a cache entry.
 */
export function rotatingSecret(secretId: string, options: SecretOptions = {}): RotatingSecret {
  const clientOptions = options.awsSdkV3Client ? { awsSdkV3Client: options.awsSdkV3Client } : {};
  const currentProvider = new SecretsProvider(clientOptions);
  const previousProvider = new SecretsProvider(clientOptions);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  // "No previous value" is cached too: otherwise every request with a wrong secret would
  // cost a Secrets Manager call, which anyone who can reach the endpoint could drive.
  let noPreviousUntil = 0;
  return {
    current: async () => asText(await currentProvider.get(secretId, { maxAge }), secretId),
    previous: async () => {
      if (Date.now() < noPreviousUntil) return undefined;
      try {
        const value = await previousProvider.get(secretId, {
          maxAge,
          sdkOptions: { VersionStage: "AWSPREVIOUS" },
        });
        return typeof value === "string" && value !== "" ? value : undefined;
      } catch (error) {
        // A secret never rotated has no AWSPREVIOUS stage: that is not an error.
        if (error instanceof Error && /ResourceNotFound|can't find/i.test(`${error.name} ${error.message}`)) {
          noPreviousUntil = Date.now() + maxAge * 1000;
          return undefined;
        }
        throw error;
      }
    },
  };
}
