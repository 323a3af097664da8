/**
 * Enumerations of the Lasso X Reporting API (docs/lasso-api.md#enumerations). The API gives enums as
 * names or as numbers; these tables are the one place that maps between the two.
 */

export const REPORT_TYPES = ["Revision", "Finans", "ReelleEjere", "RevisionUdvidet"] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** The provider's numbering: Revision (0), Finans (1), ReelleEjere (2), RevisionUdvidet (3). */
export const REPORT_TYPE_NUMBERS: Readonly<Record<ReportType, number>> = {
  Revision: 0,
  Finans: 1,
  ReelleEjere: 2,
  RevisionUdvidet: 3,
};

/** Report types that can run as listener batches ("listenable reports such as ReelleEjere"). */
export const LISTENABLE_REPORT_TYPES: ReadonlySet<ReportType> = new Set<ReportType>(["ReelleEjere"]);

export const BATCH_STATUSES = [
  "Scheduled",
  "Initializing",
  "Executing",
  "Finished",
  "FinishedWithWarning",
  "FinishedWithErrors",
  "Listening",
  "ListeningStopped",
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Statuses after which a non-listener batch produces no more reports. */
export const FINISHED_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set<BatchStatus>([
  "Finished",
  "FinishedWithWarning",
  "FinishedWithErrors",
  "ListeningStopped",
]);

export const ITEM_STATUSES = ["Completed", "Warning", "Failed"] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/** The provider's numbering: Completed (0), Warning (1), Failed (2). */
export const ITEM_STATUS_NUMBERS: Readonly<Record<ItemStatus, number>> = {
  Completed: 0,
  Warning: 1,
  Failed: 2,
};

export const WEBHOOK_AUTH_METHODS = ["Header", "BasicAuth", "Kerberos"] as const;
export type WebhookAuthMethod = (typeof WEBHOOK_AUTH_METHODS)[number];

/**
 * Resolves an enum value given by name (any letter case) or by number (also as a numeric
 * string) to its canonical name; undefined when it is neither.
 */
export function enumName<T extends string>(
  names: readonly T[],
  numbers: Readonly<Record<T, number>> | undefined,
  value: unknown,
): T | undefined {
  if (typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value.trim()))) {
    if (numbers === undefined) return undefined;
    const n = Number(value);
    return names.find((name) => numbers[name] === n);
  }
  if (typeof value !== "string") return undefined;
  const lower = value.trim().toLowerCase();
  return names.find((name) => name.toLowerCase() === lower);
}

export const reportTypeName = (value: unknown): ReportType | undefined =>
  enumName(REPORT_TYPES, REPORT_TYPE_NUMBERS, value);
export const itemStatusName = (value: unknown): ItemStatus | undefined =>
  enumName(ITEM_STATUSES, ITEM_STATUS_NUMBERS, value);
export const batchStatusName = (value: unknown): BatchStatus | undefined =>
  enumName(BATCH_STATUSES, undefined, value);
