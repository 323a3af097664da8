/**
 * Public types of the Lasso simulator and the JSON shapes it answers with.
 *
 * Enum representation on the wire (the real API mixes them, and our client accepts both):
 * - batch `status`: name ("Executing")      - batch `type`: number (0..3)
 * - item `status`: name ("Completed")       - item `printType`: number (0..3)
 * - webhook `status`: name                  - webhook `reportType`: name ("Revision"),
 *   webhook `printType`: number
 */

import type { BatchStatus, ItemStatus, ReportType, WebhookAuthMethod } from "#shared/lasso/enums.ts";
import type { RateStats } from "./ratelimit.ts";

export interface FaultOptions {
  /** Seed of every random choice below (default 1). Same seed + same calls = same outcome. */
  seed?: number;
  /** Share (0..1) of API calls answered 500 or 503 before anything happens. */
  apiErrorRate?: number;
  /** Share (0..1) of API calls whose answer is delayed by apiDelayMs (the call itself happens). */
  apiDelayRate?: number;
  /** Delay for apiDelayRate, meant to exceed the client's timeout (default 10000). */
  apiDelayMs?: number;
  /** Share (0..1) of reports ending Warning. */
  itemWarningRate?: number;
  /** Share (0..1) of reports ending Failed (besides unknown companies, which always fail). */
  itemFailedRate?: number;
  /** Share (0..1) of webhook deliveries sent more than once. */
  webhookDuplicateRate?: number;
  /** Extra copies sent for a duplicated delivery (default 1). */
  webhookDuplicateCount?: number;
  /** Share (0..1) of webhook deliveries silently never sent. */
  webhookDropRate?: number;
  /** Delay each delivery by a random extra time so they can arrive out of order. */
  webhookReorder?: boolean;
  /** Upper bound of the webhookReorder extra delay (default 4 × reportDelayMs + 50). */
  webhookReorderMaxDelayMs?: number;
  /** Forced outcome per cvr (8 digits), e.g. { "34580820": "Warning" }. */
  forceItemStatus?: Record<string, "Warning" | "Failed">;
}

export interface LassoSimulatorOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default "sim-api-key". */
  apiKey?: string;
  /** Base URL used in pdfurl links (default: the server's own base URL). */
  publicBaseUrl?: string;
  /** Time to produce one report (default 20). */
  reportDelayMs?: number;
  /** Time a batch stays Initializing (default max(1, reportDelayMs / 2)). */
  initializingMs?: number;
  /** Items per page of GET /batches/{id}/items (default 50). */
  itemsPageSize?: number;
  /** Requests per window and API key (default 500; 0 disables the limit). */
  rateLimitPerMinute?: number;
  /** Rate-limit window length (default 60000). */
  rateLimitWindowMs?: number;
  /** Multiplies the provider's retry schedule 5 min, 30 min, 2 h, 6 h, 12 h (default 0.001). */
  webhookRetryScale?: number;
  /** Timeout of one webhook request (default 5000). */
  webhookTimeoutMs?: number;
  /** How long a webhook URL may fail before it is disabled; default 24 h × webhookRetryScale. */
  webhookDisableAfterMs?: number;
  /** Default true; off = no deliveries at all (polling only). */
  webhooksEnabled?: boolean;
  /** Whether Failed reports have a PDF (an error notice); default true. */
  failedReportsHavePdf?: boolean;
  /** Clock for timestamps and scheduledTime (timers still run on real time). */
  now?: () => Date;
  faults?: FaultOptions;
  /** Called with one line per handled request (the CLI prints them with --verbose). */
  log?: (line: string) => void;
}

export type RouteName =
  | "createBatch"
  | "listBatches"
  | "getBatch"
  | "listItems"
  | "download"
  | "webhookTest"
  | "pdf";

export const ROUTE_NAMES: readonly RouteName[] = [
  "createBatch",
  "listBatches",
  "getBatch",
  "listItems",
  "download",
  "webhookTest",
  "pdf",
];

/**
 * A deterministic fault for the next `times` calls of `route`.
 * - status rule, mode "before" (default): answer `status` and do nothing.
 * - status rule, mode "afterAccept": do the work (createBatch: the batch IS created), then
 *   answer `status` anyway: the ambiguous POST.
 * - timeout rule: hold the answer for `delayMs`. Mode "afterAccept" (default) does the work
 *   first; mode "before" waits first and then does the work only if the client is still there.
 */
export type FaultRule =
  | {
      route: RouteName;
      kind?: "status";
      status: 500 | 503 | 429;
      times: number;
      mode?: "before" | "afterAccept";
    }
  | { route: RouteName; kind: "timeout"; delayMs: number; times: number; mode?: "before" | "afterAccept" };

export interface AuthConfig {
  method: WebhookAuthMethod;
  key: string;
  value: string;
}

/** A batch as GET /apps/reporting/batches/{id} returns it. */
export interface BatchJson {
  id: string;
  name: string;
  batchName: string;
  type: number;
  format: string;
  status: BatchStatus;
  batchSize: number;
  completionPercentage: number;
  scheduledTime: string;
  timestamp: string;
  notificationEmail: string | null;
  notificationWebHookUrl: string | null;
  errorAppend: string | null;
  isListener: boolean;
  triggerNow: boolean;
  archived: false;
  lassoOrgId: string;
  lassoUserId: string;
}

/** A finished report as GET /apps/reporting/batches/{id}/items returns it. */
export interface ItemJson {
  id: string;
  batchId: string;
  lassoId: string;
  cvr: number;
  name: string | null;
  internalCustomerId: number | null;
  status: ItemStatus;
  printType: number;
  pdfurl: string | null;
  fileName: string;
  timestamp: string;
  /** The reason for Failed items, the warning for Warning items, null for Completed. */
  errorMessage: string | null;
}

/** The body of a webhook delivery (the provider does not document it; this is our choice). */
export interface WebhookPayload {
  batchId: string;
  batchName: string;
  lassoId: string;
  cvr: number;
  companyName: string | null;
  reportType: ReportType;
  printType: number;
  status: ItemStatus;
  pdfUrl: string | null;
  fileName: string;
  internalCustomerId: number | null;
  reportId: string;
  timestamp: string;
  errorMessage: string | null;
}

export interface RequestedItem {
  cvr: string;
  format: string | null;
  internalCustomerId: number | null;
}

export interface BatchSnapshot extends BatchJson {
  authConfig: AuthConfig | null;
  requestedItems: RequestedItem[];
  /** Finished reports, in the order they finished. */
  items: ItemJson[];
  /** Reports queued or in production. */
  pendingReports: number;
}

export type WebhookOutcome = "delivered" | "failed" | "dropped" | "disabled";

/** One entry of the webhook log: an attempt, or a delivery that a fault or a disabled URL stopped. */
export interface WebhookDeliveryRecord {
  /** Sequence number of the entry. */
  seq: number;
  /** Identity of the logical delivery (the same for its retries; duplicates get their own). */
  deliveryId: string;
  kind: "report" | "test";
  /** 1 for the first attempt, 2..6 for retries. */
  attempt: number;
  /** This delivery is an injected duplicate of another. */
  duplicate: boolean;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** HTTP status the target answered; undefined when none (network error, dropped). */
  status?: number;
  error?: string;
  outcome: WebhookOutcome;
  at: string;
}

export interface LassoSimulator {
  baseUrl: string;
  apiKey: string;
  close(): Promise<void>;
  batches(): BatchSnapshot[];
  webhookDeliveries(): WebhookDeliveryRecord[];
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Produces a new report for `cvr` of a Listening batch; returns the new report's id. */
  triggerChange(batchId: string, cvr: string | number): string;
  stopListening(batchId: string): void;
  /** New pdfurl links for every report of the batch; the old ones answer 404 (expired). */
  expirePdfLinks(batchId: string): number;
  /** Every continuation token issued so far answers 400 ("cToken has expired") from now on. */
  expireContinuationTokens(): void;
  /** Starts a Scheduled batch now instead of at its scheduledTime. */
  runNow(batchId: string): void;
  setWebhooksEnabled(enabled: boolean): void;
  /** URLs disabled after failing for the (scaled) 24 h. */
  disabledWebhookUrls(): string[];
  /** The PDF of a finished report (the same bytes pdfurl serves); undefined when it has none. */
  pdfBytes(itemId: string): Promise<Uint8Array | undefined>;
  /** Resolves when no report is queued or in production and no webhook delivery is pending. */
  settle(): Promise<void>;
  /** The rate limit's counts so far: calls let through, refused (429), the most in one window. */
  rateStats(): RateStats;
}
