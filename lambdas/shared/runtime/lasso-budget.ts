/**
 * The Lasso call budget shared by every container of every function (call-budget.ts has
 * the arithmetic): one DynamoDB item holding the sliding window's counts, changed only by
 * conditional writes on its version, so concurrent takers never spend a token twice. A
 * container leases a few tokens per write (as many as its callers wait for, at most the
 * window's `leaseSize`: 5 at 500 a minute) and drops what it has not used within the
 * lease's lifetime, so DynamoDB sees one write per one to five Lasso calls and Lasso never
 * more than its limit in any window.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { MissingConfigError, optionalEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import {
  type BudgetShape,
  budgetShape,
  freshWindow,
  LASSO_BUDGET_KEY,
  LASSO_DEFAULT_CALLS_PER_MINUTE,
  LassoBudgetExhausted,
  type LassoCallBudget,
  MIN_CALLS_PER_MINUTE,
  takeTokens,
  UNLIMITED_LASSO_BUDGET,
  type WindowState,
  windowFromBucket,
} from "#shared/lasso/call-budget.ts";

/** Where the window lives: one item, read and written conditionally. */
export interface BudgetStore {
  /** The window as stored (strongly consistent), undefined before the first take. */
  read(): Promise<WindowState | undefined>;
  /**
   * Writes `next` if the stored version is still `expected` (undefined: no item yet), and
   * counts the `granted` tokens; false when another taker won.
   */
  write(next: WindowState, expected: number | undefined, granted: number): Promise<boolean>;
}

export interface SharedBudgetOptions {
  store: BudgetStore;
  shape: BudgetShape;
  /** How long one take may wait for a token by default (a take may ask for less or more). */
  maxWaitMs: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** What a container's budget did, for logs and benchmarks. */
export interface BudgetStats {
  takes: number;
  /** Conditional writes that took tokens. */
  leases: number;
  /** Writes lost to another taker (then the item is read again). */
  conflicts: number;
  /** Leased tokens dropped unused at the end of their lifetime. */
  dropped: number;
  /** Time takers spent waiting for a token. */
  waitedMs: number;
  /** Takes that gave up (the caller then treats it as a 429). */
  exhausted: number;
}

/** A container's side of the shared window: its leased tokens and one write at a time. */
export class SharedLassoBudget implements LassoCallBudget {
  readonly stats: BudgetStats = { takes: 0, leases: 0, conflicts: 0, dropped: 0, waitedMs: 0, exhausted: 0 };
  readonly #options: SharedBudgetOptions;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  /** The window as this container last wrote or read it; undefined: read it first. */
  #known: WindowState | undefined;
  #knownIsStored = false;
  #leased = 0;
  #leaseExpiresAt = 0;
  #leasing: Promise<number> | undefined;
  /** Takers of this container waiting for a token now. */
  #waiting = 0;

  constructor(options: SharedBudgetOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  async take(options: { maxWaitMs?: number } = {}): Promise<void> {
    this.stats.takes++;
    this.#waiting++;
    try {
      await this.#takeOne(options.maxWaitMs ?? this.#options.maxWaitMs);
    } finally {
      this.#waiting--;
    }
  }

  async #takeOne(maxWaitMs: number): Promise<void> {
    let waited = 0;
    for (;;) {
      if (this.#useLeased()) return;
      // One lease write at a time per container; whoever waits shares its tokens.
      this.#leasing ??= this.#lease().finally(() => {
        this.#leasing = undefined;
      });
      const waitMs = await this.#leasing;
      if (this.#useLeased()) return;
      if (waitMs === 0) continue;
      // Spread the containers that wait for the same slot to expire over half a slot.
      const pause = Math.ceil(waitMs + this.#random() * (0.5 * this.#options.shape.slotMs));
      if (waited + pause > maxWaitMs) {
        this.stats.exhausted++;
        throw new LassoBudgetExhausted(Math.max(waitMs, 1));
      }
      await this.#sleep(pause);
      waited += pause;
      this.stats.waitedMs += pause;
    }
  }

  #useLeased(): boolean {
    if (this.#leased > 0 && this.#clock() >= this.#leaseExpiresAt) {
      this.stats.dropped += this.#leased;
      this.#leased = 0;
    }
    if (this.#leased <= 0) return false;
    this.#leased--;
    return true;
  }

  /** Takes a lease; resolves 0 when tokens were added to this container's, else the wait until one is expected. */
  async #lease(): Promise<number> {
    const { store, shape } = this.#options;
    // Callers that arrive in the same turn (a batch's parallel deliveries) count as waiting.
    await Promise.resolve();
    for (;;) {
      if (this.#known === undefined) {
        const stored = await store.read();
        this.#knownIsStored = stored !== undefined;
        this.#known = stored ?? freshWindow(this.#clock());
      }
      const now = this.#clock();
      // What is waiting now, no more: a token leased and dropped unused counts in the window
      // for a whole reach, and a minute later the run is missing it (one spare per lease
      // for the call that usually follows dropped 0.045 tokens per call). While tokens are
      // scarce, wait until there is one for each waiting caller: one write for all of them
      // rather than one per token, at the cost of a fraction of a second.
      const waiting = Math.max(1, Math.min(shape.leaseSize, this.#waiting));
      const result = takeTokens(this.#known, shape, now, waiting, waiting);
      if (!result.ok) {
        // What we know may be old: read afresh before the next try.
        this.#known = undefined;
        return result.waitMs;
      }
      const written = await store.write(
        result.next,
        this.#knownIsStored ? this.#known.version : undefined,
        result.granted,
      );
      if (!written) {
        this.stats.conflicts++;
        this.#known = undefined;
        continue;
      }
      this.stats.leases++;
      this.#known = result.next;
      this.#knownIsStored = true;
      // Usable from when the refill was counted: `now` is before the write took effect.
      // A token outlives its lease by no more than the lifetime: none is carried over.
      this.stats.dropped += this.#leased;
      this.#leased = result.granted;
      this.#leaseExpiresAt = now + shape.leaseLifetimeMs;
      return 0;
    }
  }
}

/** The window as one item of the budget table, `pk` {@link LASSO_BUDGET_KEY}. */
export function dynamoBudgetStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  shape: BudgetShape,
  key = LASSO_BUDGET_KEY,
): BudgetStore {
  return {
    async read() {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tableName, Key: { pk: key }, ConsistentRead: true }),
      );
      if (Item === undefined) return undefined;
      const { base, counts, at, version } = Item as Record<string, unknown>;
      if (typeof at !== "number" || typeof version !== "number") return undefined;
      if (typeof base === "number" && Array.isArray(counts) && counts.every((n) => typeof n === "number"))
        return { base, counts: counts as number[], at, version };
      // The token bucket's item (before the window): what it granted lately is unknown.
      return windowFromBucket(shape, at, version);
    },
    async write(next, expected, granted) {
      try {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: key },
            // `taken` counts every token handed out: against Lasso's count of calls, what was
            // dropped. `tokens` 0 leaves a container still on the token bucket (a deploy
            // under way) only what its refill since this write gives it, not a full bucket.
            UpdateExpression:
              "SET #base = :base, #counts = :counts, #at = :at, #version = :version, #tokens = :zero ADD #taken :granted",
            ConditionExpression:
              expected === undefined ? "attribute_not_exists(#version)" : "#version = :expected",
            ExpressionAttributeNames: {
              "#base": "base",
              "#counts": "counts",
              "#tokens": "tokens",
              "#at": "at",
              "#version": "version",
              "#taken": "taken",
            },
            ExpressionAttributeValues: {
              ":base": next.base,
              ":counts": next.counts,
              ":zero": 0,
              ":at": next.at,
              ":version": next.version,
              ":granted": granted,
              ...(expected === undefined ? {} : { ":expected": expected }),
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        // moto and dynalite name it without the SDK's class.
        if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
        throw error;
      }
    },
  };
}

/** The budget's settings from a function's environment, read once at cold start. */
export interface LassoBudgetConfig {
  /** Calls a minute; 0: no budget (a Lasso without a limit, local `--lasso-rate 0`). */
  callsPerMinute: number;
  tableName: string | undefined;
}

export function readLassoBudgetConfig(env: NodeJS.ProcessEnv = process.env): LassoBudgetConfig {
  const raw = optionalEnv(ENV.lassoCallsPerMinute, env);
  const callsPerMinute = raw === undefined ? LASSO_DEFAULT_CALLS_PER_MINUTE : Number(raw);
  if (!Number.isInteger(callsPerMinute) || (callsPerMinute !== 0 && callsPerMinute < MIN_CALLS_PER_MINUTE)) {
    throw new MissingConfigError(
      `environment variable ${ENV.lassoCallsPerMinute} must be 0 or a whole number of at least ${MIN_CALLS_PER_MINUTE}, got "${raw}"`,
    );
  }
  return {
    callsPerMinute,
    tableName: callsPerMinute === 0 ? undefined : requireEnv(ENV.lassoBudgetTable, env),
  };
}

/** The shared budget for this configuration (unlimited when the limit is 0). */
export function lassoCallBudget(
  config: LassoBudgetConfig,
  doc: DynamoDBDocumentClient,
  maxWaitMs: number,
): LassoCallBudget {
  if (config.callsPerMinute === 0 || config.tableName === undefined) return UNLIMITED_LASSO_BUDGET;
  const shape = budgetShape(config.callsPerMinute);
  return new SharedLassoBudget({
    store: dynamoBudgetStore(doc, config.tableName, shape),
    shape,
    maxWaitMs,
  });
}
