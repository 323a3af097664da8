/**
 * The Lasso client every function uses, built once per warm container and again when it
 * must be: the API key is read (from the cached secret) on every use, so a rotated key is
 * picked up once the cache's max age has passed, and a key Lasso rejects (401/403) drops
 * the client, so the next use reads the key afresh. A key that cannot be read fails that
 * use only; the next one tries again.
 */
import { LassoClient, type LassoClientOptions } from "../lasso/client.ts";
import { LassoApiError } from "../lasso/errors.ts";

export interface LassoClients<C> {
  /** The client for the key as it is now. */
  current(): Promise<C>;
  /** One use of the client; a rejected key drops it. */
  call<T>(use: (client: C) => Promise<T>): Promise<T>;
}

const rejectsKey = (error: unknown): boolean =>
  error instanceof LassoApiError && (error.status === 401 || error.status === 403);

/** Clients made by `build` for the key `apiKey()` gives (tests pass a fake `build`). */
export function lassoClients<C>(
  apiKey: () => Promise<string>,
  build: (apiKey: string) => C,
): LassoClients<C> {
  let held: { key: string; client: C } | undefined;
  const current = async (): Promise<C> => {
    const key = await apiKey();
    if (held?.key !== key) held = { key, client: build(key) };
    return held.client;
  };
  return {
    current,
    async call(use) {
      const client = await current();
      try {
        return await use(client);
      } catch (error) {
        if (rejectsKey(error) && held?.client === client) held = undefined;
        throw error;
      }
    },
  };
}

/** Real Lasso clients with these options for the current key. */
export function realLassoClients(
  apiKey: () => Promise<string>,
  options: Omit<LassoClientOptions, "apiKey">,
): LassoClients<LassoClient> {
  return lassoClients(apiKey, (key) => new LassoClient({ ...options, apiKey: key }));
}
