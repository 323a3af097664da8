/**
 * What reconciling a batch needs from the outside, as parameters: the handlers pass the
 * real adapters, tests pass real clients against the emulators (or, for error paths no
 * emulator can produce, small fakes).
 */
import type { LassoClient } from "#shared/lasso/client.ts";
import type { ReportReadyQueue } from "#shared/report-ready-queue.ts";
import type { Log } from "#shared/runtime/log.ts";
import type { Clock } from "#shared/runtime/time.ts";
import type { RoutingFactsReader } from "#shared/state/batch-facts-cache.ts";
import { getBatchRoutingFacts } from "#shared/state/batches.ts";
import type { ManifestEntry } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";

/** The two Lasso reads the poller makes (a LassoClient satisfies it). */
export type LassoReader = Pick<LassoClient, "getBatch" | "listItems">;

export interface PollPorts {
  table: StateTable;
  queue: ReportReadyQueue;
  lasso: LassoReader;
  clock: Clock;
  log: Log;
  /** Real waiting, for pauses Lasso's rate limit asks for (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * A recorded batch's fixed facts with its manifest, read once per container
   * (cachedRoutingFacts); without it every read of a batch's items reads the manifest.
   */
  routingFacts?: RoutingFactsReader;
}

/** Who went into the batch (empty for an adopted one): who an item without a customer id is. */
export async function manifestOf(ports: PollPorts, lassoBatchId: string): Promise<readonly ManifestEntry[]> {
  return (await (ports.routingFacts ?? getBatchRoutingFacts)(ports.table, lassoBatchId))?.manifest ?? [];
}
