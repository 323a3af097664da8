/**
 * The shapes of the state table's records (docs/state-model.md). Stores validate what they
 * read with these types' expectations; every record has recordType, createdAt, updatedAt
 * and expiresAt (TTL, epoch seconds).
 */
import type { BatchStatus, ItemStatus, ReportType } from "../lasso/enums.ts";
import type { ReportReadySource } from "../report-ready.ts";

export interface RecordBase {
  pk: string;
  sk: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: number;
}

/** Which customer went into a batch: the manifest routes its reports. */
export interface ManifestEntry {
  customerId: number;
  cvr: string;
}

export interface BatchRecord extends RecordBase {
  recordType: "batch";
  lassoBatchId: string;
  /** The run (and schedule) that submitted it; absent for batches found in Lasso otherwise. */
  runPk?: string;
  schedule?: string;
  chunkIndex?: number;
  name: string;
  reportType: ReportType;
  isListener: boolean;
  manifest: ManifestEntry[];
  /** Last status Lasso reported. */
  status: BatchStatus;
  batchSize?: number;
  completionPercentage?: number;
  /** When Lasso's completion last moved (or the batch was submitted). */
  lastProgressAt: string;
  lastPolledAt?: string;
  /** completionPercentage at the last time every item page was read. */
  itemsReadAtCompletion?: number;
  /** Present ("OPEN") while the poller must reconcile the batch: the sparse index key. */
  openPartition?: string;
  closedAt?: string;
  closeReason?: string;
  version: number;
}

export const DELIVERY_STATUSES = ["claimed", "delivered", "failed", "unroutable", "bounced"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface ReportRecord extends RecordBase {
  recordType: "report";
  identity: string;
  lassoBatchId: string;
  cvr: string;
  reportType: ReportType;
  reportId?: string;
  itemStatus: ItemStatus;
  fileName?: string;
  /** Poller: when the report was put on the report-ready queue (once). */
  handedOnAt?: string;
  deliveryStatus?: DeliveryStatus;
  /** A claim older than this may be taken over (a crashed delivery). */
  claimUntil?: string;
  customerId?: number;
  recipients?: string[];
  sesMessageId?: string;
  deliveredAt?: string;
  source?: ReportReadySource;
  /** Why it failed, is unroutable, or was sent as a link instead of an attachment. */
  reason?: string;
}
