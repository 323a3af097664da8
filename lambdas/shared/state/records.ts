/**
 * The shapes of the state table's records (docs/state-model.md). Stores validate what they
 * read with these types' expectations; every record has recordType, createdAt, updatedAt
 * and expiresAt (TTL, epoch seconds).
 */
import type { BatchStatus, ItemStatus, ReportType } from "../lasso/enums.ts";
import type { ReportReadyMessage, ReportReadySource } from "../report-ready.ts";

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

/**
 * A submitted batch's manifest, `BATCH#<id>` / `MANIFEST` beside its batch record: written
 * once, before the record, and never changed. An item of its own so that the reads every
 * poll makes of the record (and of the open index, which projects whole records) cost one
 * unit, not the manifest's up to 1,000 entries; the delivery and the poller read it once
 * per batch per container (state/batches.ts).
 */
export interface BatchManifestRecord extends Omit<RecordBase, "expiresAt"> {
  recordType: "batchManifest";
  lassoBatchId: string;
  manifest: ManifestEntry[];
  /**
   * None while the batch is open (each poll extends the record's TTL, and a listener batch
   * may listen longer than the retention); the closing record's plus a week, set as the
   * batch closes (TTL deletes in any order: the record must not outlive its manifest).
   */
  expiresAt?: number;
}

export interface BatchRecord extends RecordBase {
  recordType: "batch";
  lassoBatchId: string;
  /** The run (and schedule) that submitted it; absent for batches found in Lasso otherwise. */
  runPk?: string;
  /**
   * When a webhook for a batch made elsewhere (the Lasso portal) made us adopt it, after
   * Lasso confirmed it: such a batch has no manifest, and its reports are routed by the
   * customer table (deliver-report/doorbell.ts).
   */
  adoptedAt?: string;
  schedule?: string;
  chunkIndex?: number;
  name: string;
  reportType: ReportType;
  isListener: boolean;
  /** How many customers its manifest lists (0 for an adopted batch, which has none). */
  customerCount: number;
  /** Last status Lasso reported. */
  status: BatchStatus;
  batchSize?: number;
  completionPercentage?: number;
  /** When Lasso's completion last moved (or the batch was submitted). */
  lastProgressAt: string;
  lastPolledAt?: string;
  /** completionPercentage at the last time every item page was read. */
  itemsReadAtCompletion?: number;
  /** Where the next read of the items resumes (docs/polling.md, "Reading incrementally"). */
  itemsCursor?: ItemsCursor;
  /** Present ("OPEN") while the poller must reconcile the batch: the sparse index key. */
  openPartition?: string;
  closedAt?: string;
  closeReason?: string;
  version: number;
  // Written by poll-batches (lambdas/poll-batches, docs/polling.md):
  /** Lasso's scheduledTime as it reported it. */
  scheduledTime?: string;
  /** When the last status change was seen. */
  statusChangedAt?: string;
  /** When a final status (Finished*, ListeningStopped) was first seen. */
  finishedSeenAt?: string;
  /** A poll reading the items holds the batch until then (a crashed poll's lease lapses). */
  pollLeaseUntil?: string;
  /** When a webhook's ring last read the batch (at most one such read per ring interval). */
  ringReadAt?: string;
  /** Distinct finished reports by item status, at the last complete read of the items. */
  itemCounts?: Partial<Record<ItemStatus, number>>;
  /** Failed reports, for operators (they never reach customers); at most 100 listed. */
  failedItems?: FailedItemNote[];
  /** Conditions that need a human, by kind; kept (with clearedAt) after they clear. */
  alerts?: Partial<Record<BatchAlertKind, BatchAlert>>;
  /** When Lasso first answered 404 for the batch, and how many polls in a row it did. */
  unknownSince?: string;
  unknownPolls?: number;
  /** The last poll's error for this batch (absent after a clean poll). */
  lastPollError?: string;
  lastPollErrorAt?: string;
  /**
   * The close a complete closing read decided, waiting only for the reports still held for
   * their ring (reconcile/held.ts): the batch then closes with this reason once none is
   * held, without asking Lasso again.
   */
  closeWhenSettled?: string;
  /**
   * The earliest `seenAt` that may still be in the batch's held set (state/held-reports.ts),
   * null when nothing is held: a poll reads the set only once that hold can be over, or
   * when the batch may close (reconcile/held.ts holdsToSettle). A ring that delivers its
   * report leaves it as it is: it may be earlier than needed, never later.
   */
  heldFrom?: string | null;
  /** When a poll last read (settled) the held set; absent until the first: the set is read. */
  heldSettledAt?: string;
  /** How many reports the last settle left held (ReportsHeldForRing between settles). */
  heldCount?: number;
}

/**
 * The last page a complete read of a batch's items reached, on which every report was
 * handed on: the next read starts there (re-reading it picks up items appended to it).
 */
export interface ItemsCursor {
  /** The cToken that fetched that page; absent when it was the first page. */
  cToken?: string;
  /**
   * Its first item (Lasso's item id, else the cvr): another item first there now means the
   * list moved under the token, and the read starts over at page 1.
   */
  firstItem: string;
  /** Distinct finished items on the pages before it, in all and by status. */
  itemsBefore: number;
  countsBefore: Record<ItemStatus, number>;
}

export const BATCH_ALERT_KINDS = [
  "BatchFinishedWithErrors",
  "ReportFailed",
  "BatchStalled",
  "BatchUnknownToLasso",
  "BatchIncomplete",
  "ReportsNotHandedOn",
] as const;
export type BatchAlertKind = (typeof BATCH_ALERT_KINDS)[number];

export interface BatchAlert {
  since: string;
  lastSeenAt: string;
  detail: string;
  count?: number;
  clearedAt?: string;
}

export interface FailedItemNote {
  cvr: string;
  reportId?: string;
  internalCustomerId?: number;
  fileName?: string;
  /** Lasso's reason. */
  message?: string;
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
  /** Which path handed it on first (poll or webhook). */
  handedOnSource?: ReportReadySource;
  /**
   * When a read of Lasso's item list first saw it finished, in a batch Lasso rings webhooks
   * for; `ready` holds what that read found: the report's own ring delivers from it
   * (state/report-handoff.ts).
   */
  seenAt?: string;
  ready?: ReportReadyMessage;
  /** Lasso's text for a Failed or Warning report (the reason), for operators. */
  lassoMessage?: string;
  deliveryStatus?: DeliveryStatus;
  /** A claim older than this may be taken over (a crashed delivery). */
  claimUntil?: string;
  customerId?: number;
  recipients?: string[];
  sesMessageId?: string;
  /** The latest delivery's history record (state/delivery-history.ts): `CUSTOMER#<customerId>` / `DELIVERY#<deliveryId>`. */
  deliveryId?: string;
  deliveredAt?: string;
  source?: ReportReadySource;
  /** Why it failed, is unroutable, or was sent as a link instead of an attachment. */
  reason?: string;
  /** Who holds the current claim (a random id per delivery attempt). */
  claimToken?: string;
  /** How many times a delivery claimed the report. */
  deliveryAttempts?: number;
  /** The last retryable error of a delivery attempt (the claim was released). */
  lastError?: string;
  /** How the PDF went out: attached, or as a link (too large for SES). */
  pdfDelivery?: "attachment" | "link";
  /** When a delivery outcome (delivered, failed, unroutable) was recorded. */
  outcomeAt?: string;
  /** The last operator re-send that claimed the report (the resend message's seenAt). */
  resendKey?: string;
  /** How many times the report arrived again after it was claimed (skipped, not mailed). */
  duplicatesSkipped?: number;
}

/**
 * A webhook our records and Lasso's API did not confirm (state/unverified.ts): mailed to
 * nobody, counted, alarmed. Kept for operators: which batch, company and type it named,
 * why it was not believed, how often it came.
 */
export interface UnverifiedRecord extends RecordBase {
  recordType: "unverified";
  lassoBatchId: string;
  cvr?: string;
  reportType?: ReportType;
  internalCustomerId?: number;
  reason: string;
  /** The verdict on the whole batch (sk BATCH): not known to Lasso, or not ours to adopt. */
  batchVerdict?: boolean;
  /** The host of the webhook's pdf link (the link itself is a capability: not kept). */
  pdfHost?: string;
  firstSeenAt: string;
  lastSeenAt: string;
  /** How many webhooks came with this claim. */
  hints: number;
}
