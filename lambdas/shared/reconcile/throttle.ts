/**
 * The poll's Lasso calls go through here, so that Lasso's rate limit (500 requests a minute
 * per key, shared with submission and PDF downloads) is honoured by the poll as a whole:
 *
 * - at most `concurrency` calls at once; a free slot goes to the batch the poll started
 *   first, so the reads already under way finish (a batch closes only after a complete
 *   read within one poll: reads spread thin over many batches would never finish);
 * - a 429 that the client's own retries did not get past pauses every call until Lasso's
 *   `retry-after` and drops to one call at a time, then the call is made again; when the
 *   wait does not fit before the deadline, the poll stops and the rest waits for the next
 *   poll.
 */
import { isRateLimited } from "#shared/lasso/errors.ts";
import type { Deadline } from "#shared/runtime/time.ts";
import type { LassoReader } from "./ports.ts";

/** Thrown to a caller when the poll must stop (its deadline, or a pause it cannot afford). */
export class PollStopped extends Error {
  override readonly name = "PollStopped";
  readonly reason: "rateLimited" | "deadline";

  constructor(reason: "rateLimited" | "deadline", detail: string) {
    super(detail);
    this.reason = reason;
  }
}

export interface ThrottleOptions {
  concurrency: number;
  deadline: Deadline;
  reserveMs: number;
  /** Real waiting (tests may shorten it). */
  sleep: (ms: number) => Promise<void>;
  /** Pause after a 429 without `retry-after`. */
  defaultPauseMs?: number;
  /** Pauses a call may sit through before it gives up (a provider answering 429 forever). */
  maxPausesPerCall?: number;
}

interface Waiter {
  priority: number;
  wake: () => void;
}

export class LassoThrottle {
  readonly #reader: LassoReader;
  readonly #options: ThrottleOptions;
  #capacity: number;
  #inFlight = 0;
  #pausedUntil = 0;
  #waiters: Waiter[] = [];
  #stopped: PollStopped | undefined;
  #pause: Promise<void> | undefined;
  /** 429s that reached the poll (after the client's own retries). */
  rateLimitHits = 0;
  /** Time spent paused for Lasso's rate limit, in ms. */
  pausedMs = 0;

  constructor(reader: LassoReader, options: ThrottleOptions) {
    this.#reader = reader;
    this.#options = options;
    this.#capacity = Math.max(1, options.concurrency);
  }

  get stopped(): PollStopped | undefined {
    return this.#stopped;
  }

  /** Runs one Lasso call for the batch with this priority (lower goes first). */
  async call<T>(priority: number, use: (reader: LassoReader) => Promise<T>): Promise<T> {
    const maxPauses = this.#options.maxPausesPerCall ?? 5;
    for (let pauses = 0; ; pauses++) {
      await this.#acquire(priority);
      try {
        return await use(this.#reader);
      } catch (error) {
        if (!isRateLimited(error) || pauses >= maxPauses) throw error;
        this.rateLimitHits++;
        this.#capacity = 1;
        const pause = error.retryAfterMs ?? this.#options.defaultPauseMs ?? 5_000;
        this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + pause);
      } finally {
        this.#release();
      }
    }
  }

  async #acquire(priority: number): Promise<void> {
    for (;;) {
      if (this.#stopped) throw this.#stopped;
      const wait = this.#pausedUntil - Date.now();
      if (wait > 0) {
        if (wait > this.#options.deadline.remainingMs() - this.#options.reserveMs) {
          this.#stopped = new PollStopped(
            "rateLimited",
            `Lasso's rate limit asks for a ${wait} ms pause, more than this poll has left`,
          );
          this.#wakeAll();
          throw this.#stopped;
        }
        // One timer for the pause; it wakes every waiter best first when it ends.
        this.#pause ??= this.#startPause(wait);
        await this.#enqueue(priority);
        continue;
      }
      const best = this.#waiters[0];
      if (this.#inFlight < this.#capacity && (best === undefined || best.priority >= priority)) {
        this.#inFlight++;
        return;
      }
      await this.#enqueue(priority);
    }
  }

  #startPause(wait: number): Promise<void> {
    const before = Date.now();
    return this.#options.sleep(wait).then(() => {
      this.pausedMs += Date.now() - before;
      this.#pause = undefined;
      this.#wakeAll();
    });
  }

  #enqueue(priority: number): Promise<void> {
    return new Promise<void>((wake) => {
      const at = this.#waiters.findIndex((w) => w.priority > priority);
      this.#waiters.splice(at === -1 ? this.#waiters.length : at, 0, { priority, wake });
    });
  }

  /** Lets every waiter check again, best first (they are few: at most the concurrency). */
  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.wake();
  }

  #release(): void {
    this.#inFlight--;
    // During a pause the pause timer wakes the waiters.
    if (this.#pause === undefined) this.#wakeAll();
  }
}
