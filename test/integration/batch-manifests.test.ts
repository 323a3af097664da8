/**
 * A submitted batch's manifest is an item of its own beside its record
 * (state/batches.ts, docs/state-model.md): the reads every poll makes of the record cost
 * what the record is, whatever the batch's size, and the manifest is read once per batch
 * per container. On the emulators, with the real store functions and the poller.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, test } from "vitest";
import { cachedRoutingFacts } from "#shared/state/batch-facts-cache.ts";
import { listOpenBatches } from "#shared/state/batch-polling.ts";
import { getBatchRecord, getBatchRoutingFacts, putNewBatchRecord } from "#shared/state/batches.ts";
import { batchKey, batchManifestKey, type StateKey } from "#shared/state/keys.ts";
import { usePollWorlds, validCvrs, type World, world } from "#test/support/poll-world.ts";

usePollWorlds();

const itemAt = async (w: World, key: StateKey): Promise<Record<string, unknown> | undefined> =>
  (await w.table.doc.send(new GetCommand({ TableName: w.table.tableName, Key: key, ConsistentRead: true })))
    .Item;

/** A document client that counts the answers carrying a `manifest` attribute. */
function manifestCountingDoc(): { doc: DynamoDBDocumentClient; answers: () => number } {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  let answers = 0;
  doc.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      if (JSON.stringify(result.output).includes('"manifest"')) answers++;
      return result;
    },
    { step: "initialize", name: "countManifestAnswers" },
  );
  return { doc, answers: () => answers };
}

describe("a batch's manifest: an item of its own", () => {
  test("the record carries how many customers went in; the manifest item who, without a TTL until the batch closes", async () => {
    const w = await world({ itemsPageSize: 10 });
    const { batch, record } = await w.submit({ cvrs: validCvrs(41_000_000, 25) });

    const stored = await w.record(batch.id);
    expect(stored).not.toHaveProperty("manifest");
    expect(stored.customerCount).toBe(25);
    const manifestItem = await itemAt(w, batchManifestKey(batch.id));
    expect(manifestItem).toMatchObject({
      recordType: "batchManifest",
      lassoBatchId: batch.id,
      manifest: record.manifest,
    });
    // Each poll extends the record's TTL while the batch is open; the manifest must not lapse first.
    expect(manifestItem).not.toHaveProperty("expiresAt");
    expect(await getBatchRoutingFacts(w.table, batch.id)).toEqual({
      reportType: "Revision",
      isListener: false,
      manifest: record.manifest,
    });

    await w.sim.settle();
    await w.pollUntilClosed(batch.id);
    expect(w.received).toHaveLength(25);
    const closed = await w.record(batch.id);
    // TTL deletes in any order: the manifest outlives its closed record by a week.
    expect((await itemAt(w, batchManifestKey(batch.id)))?.expiresAt).toBe(closed.expiresAt + 7 * 86_400);
  });

  test("a batch we submitted found without its manifest fails its reads, rather than route by nothing", async () => {
    const w = await world();
    const { batch } = await w.submit({ cvrs: validCvrs(45_000_000, 3) });
    await w.table.doc.send(
      new DeleteCommand({ TableName: w.table.tableName, Key: batchManifestKey(batch.id) }),
    );
    await expect(getBatchRoutingFacts(w.table, batch.id)).rejects.toThrow(/without its manifest/);
    const routingFacts = cachedRoutingFacts();
    await expect(routingFacts(w.table, batch.id)).rejects.toThrow(/without its manifest/);
    // The failure is not kept: once the manifest is back, the same container routes by it.
    await putNewBatchRecord(w.table, {
      ...(await w.record(batch.id)),
      manifest: [{ customerId: 1, cvr: "34580820" }],
    });
    expect((await routingFacts(w.table, batch.id))?.manifest).toEqual([{ customerId: 1, cvr: "34580820" }]);
  });

  test("polls of a running batch read its manifest once per container, and never with the record", async () => {
    // Slow reports: the batch runs over many polls, each reading its record and its new items.
    const w = await world({ itemsPageSize: 10, reportDelayMs: 25 });
    const { batch } = await w.submit({ cvrs: validCvrs(42_000_000, 60) });
    const counting = manifestCountingDoc();
    const table = { ...w.table, doc: counting.doc };
    const routingFacts = cachedRoutingFacts();
    let polls = 0;
    let pagesRead = 0;
    for (; polls < 400; polls++) {
      const summary = await w.poll({}, { table, routingFacts });
      pagesRead += summary.pagesRead;
      await w.drain();
      if ((await getBatchRecord(w.table, batch.id))?.openPartition === undefined) break;
    }
    expect(polls).toBeGreaterThan(3);
    expect(pagesRead).toBeGreaterThan(3);
    expect(w.received).toHaveLength(60);
    expect(counting.answers()).toBe(1);
  });

  test("a crash between the two puts: recording the batch again keeps its manifest and writes the record", async () => {
    const w = await world();
    const { batch, record } = await w.submit({ cvrs: validCvrs(43_000_000, 5) });
    await w.table.doc.send(new DeleteCommand({ TableName: w.table.tableName, Key: batchKey(batch.id) }));
    expect(await getBatchRoutingFacts(w.table, batch.id)).toBeUndefined();

    expect(await putNewBatchRecord(w.table, record)).toBe(true);
    expect(await putNewBatchRecord(w.table, record)).toBe(false);
    expect((await getBatchRoutingFacts(w.table, batch.id))?.manifest).toEqual(record.manifest);
    expect((await w.record(batch.id)).customerCount).toBe(5);
  });

  test("a batch recorded before manifests had items of their own reads and polls as before", async () => {
    const w = await world({ itemsPageSize: 4 });
    const { batch, record } = await w.submit({ cvrs: validCvrs(44_000_000, 9) });
    // The old shape: the manifest on the record, no count, no manifest item.
    const { manifest, ...fields } = record;
    await w.table.doc.send(
      new DeleteCommand({ TableName: w.table.tableName, Key: batchManifestKey(batch.id) }),
    );
    await w.table.doc.send(new PutCommand({ TableName: w.table.tableName, Item: { ...fields, manifest } }));

    expect((await getBatchRoutingFacts(w.table, batch.id))?.manifest).toEqual(manifest);
    const stored = await w.record(batch.id);
    expect(stored.customerCount).toBe(9);
    expect(stored).not.toHaveProperty("manifest");
    const [listed] = await listOpenBatches(w.table);
    expect(listed).toMatchObject({ lassoBatchId: batch.id, customerCount: 9 });
    expect(listed).not.toHaveProperty("manifest");

    await w.sim.settle();
    await w.pollUntilClosed(batch.id);
    expect(w.received.map((message) => message.internalCustomerId).sort()).toEqual(
      manifest.map((entry) => entry.customerId).sort(),
    );
    expect(await itemAt(w, batchManifestKey(batch.id))).toBeUndefined();
  });
});
