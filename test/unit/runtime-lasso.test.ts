/**
 * The Lasso client every function uses (lambdas/shared/runtime/lasso.ts): built on first
 * use, kept while the key is the same, built again when the key changes or Lasso rejected
 * it. (These tests were the poller's lazyLassoReader's; the three functions now share one.)
 */
import { describe, expect, test } from "vitest";
import { LassoApiError } from "#shared/lasso/errors.ts";
import type { LassoReader } from "#shared/reconcile/ports.ts";
import { lassoClients } from "#shared/runtime/lasso.ts";

const reader = (status?: number): LassoReader => ({
  getBatch: async (id) => {
    if (status !== undefined) throw new LassoApiError({ operation: "getBatch", request: "GET x", status });
    return { id, name: id, status: "Finished", batchSize: 1, completionPercentage: 1, isListener: false };
  },
  listItems: async () => ({ items: [] }),
});

describe("lassoClients", () => {
  test("builds the client once, on first use", async () => {
    let builds = 0;
    const lasso = lassoClients(
      async () => "key",
      () => {
        builds++;
        return reader();
      },
    );
    expect(builds).toBe(0);
    await lasso.current();
    await lasso.call((client) => client.getBatch("a"));
    await lasso.call((client) => client.listItems("a"));
    expect(builds).toBe(1);
  });

  test("a rejected key (401) or a failed key read drops the client; other errors keep it", async () => {
    let reads = 0;
    let builds = 0;
    const statuses: (number | undefined)[] = [401, 503, undefined];
    const lasso = lassoClients(
      async () => {
        reads++;
        if (reads === 1) throw new Error("secret unavailable");
        return "key";
      },
      () => {
        builds++;
        return reader(statuses.shift());
      },
    );
    await expect(lasso.current()).rejects.toThrow("secret unavailable");
    await expect(lasso.call((client) => client.getBatch("a"))).rejects.toMatchObject({ status: 401 });
    await expect(lasso.call((client) => client.getBatch("a"))).rejects.toMatchObject({ status: 503 });
    expect(builds).toBe(2);
    await expect(lasso.call((client) => client.getBatch("a"))).rejects.toMatchObject({ status: 503 });
    expect(builds).toBe(2);
  });

  test("a new key value (a rotated secret) gets a new client", async () => {
    const keys = ["old", "old", "new"];
    const built: string[] = [];
    const lasso = lassoClients(
      async () => keys.shift() ?? "new",
      (key) => {
        built.push(key);
        return reader();
      },
    );
    await lasso.current();
    await lasso.current();
    await lasso.current();
    expect(built).toEqual(["old", "new"]);
  });
});
