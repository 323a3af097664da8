/**
 * Fault injection. Two kinds:
 * - deterministic rules (`injectFault`): the next N calls of a route fail or hang;
 * - seeded random faults (`FaultOptions`), all off by default.
 *
 * Determinism: API faults draw from one seeded stream, in call order. Report outcomes and
 * webhook faults do not draw from a shared stream: each is derived from (seed, batch ordinal,
 * item index, report ordinal), so concurrent timers cannot change who gets which fault.
 */

import { ITEM_STATUSES, type ItemStatus } from "#shared/lasso/enums.ts";
import { derivedRandom, mulberry32 } from "./prng.ts";
import type { FaultOptions, FaultRule, RouteName } from "./types.ts";

export type ApiFault = { kind: "status"; status: 500 | 503 } | { kind: "delay"; delayMs: number };

export interface ReportKey {
  /** Position of the batch in creation order (0-based). */
  batchOrdinal: number;
  /** Position of the item in the batch's request. */
  itemIndex: number;
  /** 0 for the first report of the item, 1.. for later ones (listener batches). */
  reportOrdinal: number;
}

export interface WebhookPlan {
  drop: boolean;
  /** Extra copies to send. */
  duplicates: number;
  /** Extra delay before sending (webhookReorder). */
  extraDelayMs: number;
}

const rate = (value: number | undefined): number => Math.min(1, Math.max(0, value ?? 0));

export function validateFaultRule(value: unknown): FaultRule | string {
  if (typeof value !== "object" || value === null) return "A fault rule must be an object";
  const rule = value as Record<string, unknown>;
  const routes = ["createBatch", "listBatches", "getBatch", "listItems", "download", "webhookTest", "pdf"];
  if (typeof rule.route !== "string" || !routes.includes(rule.route))
    return `route must be one of ${routes.join(", ")}`;
  const route = rule.route as RouteName;
  const times = rule.times ?? 1;
  if (typeof times !== "number" || !Number.isInteger(times) || times < 1)
    return "times must be a positive integer";
  const mode = rule.mode;
  if (mode !== undefined && mode !== "before" && mode !== "afterAccept")
    return 'mode must be "before" or "afterAccept"';
  if (rule.kind === "timeout") {
    if (typeof rule.delayMs !== "number" || rule.delayMs < 0) return "delayMs must be a non-negative number";
    return { route, kind: "timeout", delayMs: rule.delayMs, times, ...(mode === undefined ? {} : { mode }) };
  }
  if (rule.kind !== undefined && rule.kind !== "status") return 'kind must be "status" or "timeout"';
  if (rule.status !== 500 && rule.status !== 503 && rule.status !== 429)
    return "status must be 500, 503 or 429";
  return { route, kind: "status", status: rule.status, times, ...(mode === undefined ? {} : { mode }) };
}

export class FaultEngine {
  readonly seed: number;
  private readonly apiRandom: () => number;
  private readonly rules: { rule: FaultRule; remaining: number }[] = [];

  constructor(
    private readonly options: FaultOptions = {},
    private readonly reorderMaxDelayMs = 100,
  ) {
    this.seed = options.seed ?? 1;
    this.apiRandom = mulberry32(this.seed);
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.times });
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  /** The first pending rule for the route, consuming one of its `times`. */
  takeRule(route: RouteName): FaultRule | undefined {
    const index = this.rules.findIndex((r) => r.rule.route === route && r.remaining > 0);
    const entry = this.rules[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.rules.splice(index, 1);
    return entry.rule;
  }

  /** The random fault, if any, for the next API call. Draws the same numbers for every call. */
  apiFault(): ApiFault | undefined {
    const errorRate = rate(this.options.apiErrorRate);
    const delayRate = rate(this.options.apiDelayRate);
    if (errorRate === 0 && delayRate === 0) return undefined;
    const r = this.apiRandom();
    const which = this.apiRandom();
    if (r < errorRate) return { kind: "status", status: which < 0.5 ? 500 : 503 };
    if (r < errorRate + delayRate) return { kind: "delay", delayMs: this.options.apiDelayMs ?? 10_000 };
    return undefined;
  }

  /** The outcome of a report for a known company. */
  reportOutcome(key: ReportKey, cvr: string): ItemStatus {
    const forced = this.options.forceItemStatus?.[cvr];
    if (forced !== undefined) return forced;
    const failed = rate(this.options.itemFailedRate);
    const warning = rate(this.options.itemWarningRate);
    if (failed === 0 && warning === 0) return ITEM_STATUSES[0];
    const r = derivedRandom(this.seed, "report", key.batchOrdinal, key.itemIndex, key.reportOrdinal)();
    if (r < failed) return "Failed";
    if (r < failed + warning) return "Warning";
    return "Completed";
  }

  webhookPlan(key: ReportKey): WebhookPlan {
    const random = derivedRandom(this.seed, "webhook", key.batchOrdinal, key.itemIndex, key.reportOrdinal);
    const drop = random() < rate(this.options.webhookDropRate);
    const duplicate = random() < rate(this.options.webhookDuplicateRate);
    const delay = random();
    return {
      drop,
      duplicates: duplicate ? Math.max(1, Math.floor(this.options.webhookDuplicateCount ?? 1)) : 0,
      extraDelayMs: this.options.webhookReorder
        ? Math.round(delay * (this.options.webhookReorderMaxDelayMs ?? this.reorderMaxDelayMs))
        : 0,
    };
  }
}

/** Moderate fault rates for `--chaos`. */
export function chaosFaults(seed: number): FaultOptions {
  return {
    seed,
    apiErrorRate: 0.05,
    apiDelayRate: 0.02,
    itemWarningRate: 0.1,
    itemFailedRate: 0.05,
    webhookDuplicateRate: 0.1,
    webhookDuplicateCount: 1,
    webhookDropRate: 0.1,
    webhookReorder: true,
  };
}
