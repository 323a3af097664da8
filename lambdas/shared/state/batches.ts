/**
 * Batch records (docs/state-model.md): written when a batch is submitted, reconciled by
 * the poller, read by the delivery for routing by manifest. A submitted batch's manifest
 * is an item of its own beside the record (records.ts BatchManifestRecord).
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ChunkRecord } from "./chunks.ts";
import { batchKey, batchManifestKey, OPEN_BATCH_PARTITION } from "./keys.ts";
import type { BatchManifestRecord, BatchRecord, ManifestEntry } from "./records.ts";
import {
  batchGetConsistent,
  conditionalWrite,
  expiresAt,
  getRecord,
  putIfAbsent,
  type StateTable,
} from "./state-table.ts";

/**
 * A batch to record: its record and who went into it. The store keeps the manifest in its
 * own item and only its length (`customerCount`) on the record.
 */
export type NewBatchRecord = Omit<BatchRecord, "customerCount"> & { manifest: ManifestEntry[] };

/** The record of a batch Lasso accepted for a chunk: open for the poller, with the chunk's manifest. */
export function submittedBatchRecord(
  table: StateTable,
  chunk: ChunkRecord,
  batch: {
    id: string;
    name: string;
    status: BatchRecord["status"];
    batchSize: number;
    completionPercentage: number;
  },
  now: Date,
): NewBatchRecord {
  const at = now.toISOString();
  return {
    ...batchKey(batch.id),
    recordType: "batch",
    lassoBatchId: batch.id,
    runPk: chunk.runPk,
    schedule: chunk.schedule,
    chunkIndex: chunk.chunkIndex,
    name: batch.name,
    reportType: chunk.reportType,
    isListener: chunk.isListener,
    manifest: chunk.manifest.map(({ customerId, cvr }) => ({ customerId, cvr })),
    status: batch.status,
    batchSize: batch.batchSize,
    completionPercentage: batch.completionPercentage,
    lastProgressAt: at,
    openPartition: OPEN_BATCH_PARTITION,
    version: 1,
    createdAt: at,
    updatedAt: at,
    expiresAt: expiresAt(table, now),
  };
}

/**
 * A stored batch record as this code knows it. A record written before manifests had items
 * of their own carries its manifest: its length is its `customerCount`, and the manifest
 * itself is read by getBatchRoutingFacts like any other.
 */
export function storedBatchRecord(item: Record<string, unknown>): BatchRecord {
  const { manifest, ...record } = item as unknown as BatchRecord & { manifest?: unknown };
  if (record.customerCount === undefined)
    record.customerCount = Array.isArray(manifest) ? manifest.length : 0;
  return record;
}

export async function getBatchRecord(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRecord | undefined> {
  const item = await getRecord<BatchRecord>(table, batchKey(lassoBatchId), "batch");
  return item === undefined ? undefined : storedBatchRecord(item as unknown as Record<string, unknown>);
}

/** What the delivery routes by; fixed once the batch is recorded (submission or adoption). */
export interface BatchRoutingFacts extends Pick<BatchRecord, "reportType" | "isListener" | "adoptedAt"> {
  /** Who went into it; empty for an adopted batch. */
  manifest: ManifestEntry[];
}

/**
 * A batch's routing facts only (no poll state, alerts or failed items): its record's fixed
 * attributes and its manifest, in one strongly consistent BatchGetItem of the two items (a
 * batch recorded a moment ago must be found, or it would route as unknown). The manifest
 * is written before the record, so a record found has its manifest.
 */
export async function getBatchRoutingFacts(
  table: StateTable,
  lassoBatchId: string,
): Promise<BatchRoutingFacts | undefined> {
  const items = await batchGetConsistent(table, [batchKey(lassoBatchId), batchManifestKey(lassoBatchId)], {
    expression: "#type, #reportType, #isListener, #adoptedAt, #manifest",
    names: {
      "#type": "recordType",
      "#reportType": "reportType",
      "#isListener": "isListener",
      "#adoptedAt": "adoptedAt",
      "#manifest": "manifest",
    },
  });
  const record = items.find((item) => item.recordType === "batch") as
    | (Pick<BatchRecord, "reportType" | "isListener" | "adoptedAt"> & { manifest?: ManifestEntry[] })
    | undefined;
  if (record === undefined) return undefined;
  const stored = items.find((item) => item.recordType === "batchManifest") as
    | Pick<BatchManifestRecord, "manifest">
    | undefined;
  const { reportType, isListener, adoptedAt } = record;
  // A record written before manifests had items of their own carries its manifest.
  const manifest = stored?.manifest ?? record.manifest;
  if (manifest === undefined && adoptedAt === undefined) {
    // Submitted by us, so written after its manifest: routing it by nothing would make its
    // reports unroutable for good. Fail instead (the message is retried, then dead-lettered).
    throw new Error(`batch ${lassoBatchId} is on record without its manifest`);
  }
  return {
    reportType,
    isListener,
    manifest: manifest ?? [],
    ...(adoptedAt === undefined ? {} : { adoptedAt }),
  };
}

/** Who went into the batch (empty for an adopted batch or one not on record). */
export async function getBatchManifest(table: StateTable, lassoBatchId: string): Promise<ManifestEntry[]> {
  return (await getBatchRoutingFacts(table, lassoBatchId))?.manifest ?? [];
}

/**
 * Whether the batch is still open (the poller or a ring may still hand its reports on),
 * strongly consistent; only `openPartition` comes back, not the manifest.
 */
export async function isBatchOpen(table: StateTable, lassoBatchId: string): Promise<boolean> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: batchKey(lassoBatchId),
      ConsistentRead: true,
      ProjectionExpression: "openPartition",
    }),
  );
  return Item?.openPartition !== undefined;
}

/**
 * Records the batch once; false when its record already exists (a re-run found the same
 * batch). A submitted batch's manifest goes first, so that whoever finds the record finds
 * its manifest; a manifest already there is the same chunk's (a crash between the two
 * puts), and is kept. An adopted batch has no manifest item. The manifest expires with
 * its record once the batch closed (expireManifestWithRecord).
 */
export async function putNewBatchRecord(table: StateTable, batch: NewBatchRecord): Promise<boolean> {
  const { manifest, ...fields } = batch;
  if (batch.adoptedAt === undefined) {
    const manifestRecord: BatchManifestRecord = {
      ...batchManifestKey(batch.lassoBatchId),
      recordType: "batchManifest",
      lassoBatchId: batch.lassoBatchId,
      manifest,
      createdAt: batch.createdAt,
      updatedAt: batch.createdAt,
    };
    await putIfAbsent(table, manifestRecord);
  }
  const record: BatchRecord = { ...fields, customerCount: manifest.length };
  return putIfAbsent(table, record);
}

/**
 * TTL deletes expired items within days, in any order: a manifest outlives its record by
 * this much, so a record that is still there never finds its manifest gone.
 */
const MANIFEST_TTL_MARGIN_S = 7 * 24 * 60 * 60;

/**
 * Gives a closing batch's manifest a TTL: its record's (no longer extended once it is
 * closed) plus a margin. Nothing to do for an adopted batch, which has no manifest.
 */
export async function expireManifestWithRecord(
  table: StateTable,
  lassoBatchId: string,
  recordExpiresAt: number,
  now: Date,
): Promise<void> {
  await conditionalWrite(() =>
    table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: batchManifestKey(lassoBatchId),
        UpdateExpression: "SET #expires = :expires, #updated = :now",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: { "#expires": "expiresAt", "#updated": "updatedAt" },
        ExpressionAttributeValues: {
          ":expires": recordExpiresAt + MANIFEST_TTL_MARGIN_S,
          ":now": now.toISOString(),
        },
      }),
    ),
  );
}
