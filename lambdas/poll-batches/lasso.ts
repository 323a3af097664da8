/**
 * The poller's Lasso client, built once per warm container on first use (the API key is
 * fetched from Secrets Manager then, not at import). A rejected key (401/403) drops the
 * client, so the next invocation fetches the key again: a rotated key is picked up
 * without a cold start (within the secret cache's max age).
 */
import { LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoReader } from "#shared/reconcile/ports.ts";

export interface LazyLassoReader extends LassoReader {
  /** Builds the client now (fetching the key); throws what building throws. */
  ready(): Promise<void>;
}

export function lazyLassoReader(build: () => Promise<LassoReader>): LazyLassoReader {
  let client: Promise<LassoReader> | undefined;
  const get = (): Promise<LassoReader> => {
    client ??= build().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
  const call = async <T>(use: (reader: LassoReader) => Promise<T>): Promise<T> => {
    const reader = await get();
    try {
      return await use(reader);
    } catch (error) {
      if (error instanceof LassoApiError && (error.status === 401 || error.status === 403))
        client = undefined;
      throw error;
    }
  };
  return {
    ready: async () => {
      await get();
    },
    getBatch: (id) => call((reader) => reader.getBatch(id)),
    listItems: (batchId, options) => call((reader) => reader.listItems(batchId, options)),
  };
}
