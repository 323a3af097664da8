/**
 * Per-container caches of what never changes about a recorded batch: its type, listener
 * flag and manifest. The delivery and the poller read each batch's once per container, not
 * once per report or per poll (a manifest holds up to a chunk's 1,000 entries).
 */
import { type BatchRoutingFacts, getBatchRoutingFacts } from "./batches.ts";
import type { StateTable } from "./state-table.ts";

/** The facts of the batches a container has read, by batch id. Bounded: the oldest go first. */
export class BatchFactsCache<T> {
  /** Promises, so that the parallel deliveries of one batch share one read. */
  readonly #facts = new Map<string, Promise<T>>();
  constructor(readonly capacity = 256) {}

  /** The cached facts, or `load`'s; kept only when `load` says they are fixed (`keep`). */
  async get(lassoBatchId: string, load: () => Promise<{ facts: T; keep: boolean }>): Promise<T> {
    const cached = this.#facts.get(lassoBatchId);
    if (cached !== undefined) {
      // Most recently used last.
      this.#facts.delete(lassoBatchId);
      this.#facts.set(lassoBatchId, cached);
      return cached;
    }
    const loading = load();
    const facts = loading.then(({ facts }) => facts);
    this.#facts.set(lassoBatchId, facts);
    for (const oldest of this.#facts.keys()) {
      if (this.#facts.size <= this.capacity) break;
      this.#facts.delete(oldest);
    }
    const forget = () => {
      if (this.#facts.get(lassoBatchId) === facts) this.#facts.delete(lassoBatchId);
    };
    loading.then(({ keep }) => (keep ? undefined : forget()), forget);
    return facts;
  }
}

/** A batch record's routing facts (getBatchRoutingFacts, or a container's cache of them). */
export type RoutingFactsReader = (
  state: StateTable,
  lassoBatchId: string,
) => Promise<BatchRoutingFacts | undefined>;

/**
 * Routing facts read once per container for deliveries and webhook rings alike: a recorded
 * batch's facts never change (an unknown batch is asked again: it may be recorded any moment).
 */
export function cachedRoutingFacts(
  cache = new BatchFactsCache<BatchRoutingFacts | undefined>(),
): RoutingFactsReader {
  return (state, lassoBatchId) =>
    cache.get(lassoBatchId, async () => {
      const facts = await getBatchRoutingFacts(state, lassoBatchId);
      return { facts, keep: facts !== undefined };
    });
}
