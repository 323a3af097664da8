/**
 * Splitting a run's customers into Lasso batches, and what each batch is called.
 */

import { createHash } from "node:crypto";
import { RUN_TOKEN_PREFIX } from "#shared/batch-token.ts";
import type { Customer } from "#shared/customers.ts";
import { formatScheduledTime } from "#shared/lasso/schemas.ts";
import type { ChunkManifestEntry } from "#shared/state/chunks.ts";

/**
 * A chunk's manifest is stored in one DynamoDB item (at most 400 KB): chunks are closed
 * early when their manifest would pass this estimate, whatever the configured size.
 */
export const MAX_MANIFEST_BYTES = 300_000;

export interface ChunkingOptions {
  /** Most items per batch. */
  chunkSize: number;
  maxManifestBytes?: number;
}

export function manifestEntry(customer: Customer): ChunkManifestEntry {
  const entry: ChunkManifestEntry = { customerId: customer.customerId, cvr: customer.cvr };
  if (customer.format !== undefined) entry.format = customer.format;
  return entry;
}

/** Approximate stored size of a manifest entry (attribute names count in DynamoDB). */
const entryBytes = (customer: Customer): number =>
  40 + String(customer.customerId).length + (customer.format === undefined ? 0 : 8 + customer.format.length);

/**
 * Chunks of at most `chunkSize` customers, in the given order. Two customers with the same
 * CVR never share a chunk: Lasso's reports in a batch are told apart by company, so the
 * second would be indistinguishable from the first (it goes into a later chunk instead).
 */
export function chunkCustomers<T extends Customer>(customers: readonly T[], options: ChunkingOptions): T[][] {
  if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) {
    throw new RangeError(`chunkSize must be a positive integer, got ${options.chunkSize}`);
  }
  const maxBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  const chunks: { items: T[]; cvrs: Set<string>; bytes: number }[] = [];
  let firstOpen = 0;
  for (const customer of customers) {
    const bytes = entryBytes(customer);
    let index = firstOpen;
    for (; index < chunks.length; index++) {
      const chunk = chunks[index];
      if (chunk === undefined) break;
      const full = chunk.items.length >= options.chunkSize || chunk.bytes + bytes > maxBytes;
      if (full && index === firstOpen) firstOpen++;
      else if (!full && !chunk.cvrs.has(customer.cvr)) break;
    }
    let target = chunks[index];
    if (target === undefined) {
      target = { items: [], cvrs: new Set(), bytes: 0 };
      chunks.push(target);
    }
    target.items.push(customer);
    target.cvrs.add(customer.cvr);
    target.bytes += bytes;
  }
  return chunks.map((chunk) => chunk.items);
}

/**
 * The token that goes into a chunk's batch name: stable for (schedule, scheduled time,
 * chunk), so any later invocation finds the batch a lost answer created.
 */
export function chunkToken(schedule: string, scheduledTime: string, chunkIndex: number, scope = ""): string {
  // A run of some customers only has a scope: its tokens never equal a whole run's of the same second.
  const input = `${schedule}\n${scheduledTime}\n${chunkIndex}${scope === "" ? "" : `\n${scope}`}`;
  const hash = createHash("sha256").update(input).digest("hex");
  return `${RUN_TOKEN_PREFIX}${hash.slice(0, 16)}`;
}

/** "YYYY-MM-DD" of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(instant);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/**
 * The batch name: the schedule's template with `{schedule}`, `{date}` (the firing's date in
 * the schedule's time zone), `{part}` and `{parts}` filled in, then ` [<token>]`.
 */
export function batchName(
  template: string,
  values: { schedule: string; scheduledTime: Date; timeZone: string; part: number; parts: number },
  token: string,
): string {
  const filled = template
    .replaceAll("{schedule}", values.schedule)
    .replaceAll("{date}", localDate(values.scheduledTime, values.timeZone))
    .replaceAll("{part}", String(values.part))
    .replaceAll("{parts}", String(values.parts));
  return `${filled.trim()} [${token}]`;
}

/** Lasso's `scheduledTime` for a delayed schedule: the firing time plus the delay, in UTC. */
export function lassoScheduledTime(
  scheduledTime: Date,
  delayMinutes: number | undefined,
): string | undefined {
  if (delayMinutes === undefined || delayMinutes === 0) return undefined;
  return formatScheduledTime(new Date(scheduledTime.getTime() + delayMinutes * 60_000));
}
