/**
 * What the poller's use case needs from the outside, as parameters: the handler passes the
 * real adapters, tests pass real clients against the emulators (or, for error paths no
 * emulator can produce, small fakes).
 */
import type { LassoClient } from "#shared/lasso/client.ts";
import type { ReportReadyQueue } from "#shared/report-ready-queue.ts";
import type { StateTable } from "#shared/state/state-table.ts";

/** The two Lasso reads the poller makes (a LassoClient satisfies it). */
export type LassoReader = Pick<LassoClient, "getBatch" | "listItems">;

/** Time left in this invocation: the poller starts no new work it could not finish. */
export interface Deadline {
  remainingMs(): number;
}

export type Clock = () => Date;

export interface PollLog {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface PollPorts {
  table: StateTable;
  queue: ReportReadyQueue;
  lasso: LassoReader;
  clock: Clock;
  log: PollLog;
  /** Real waiting, for pauses Lasso's rate limit asks for (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
}

export const silentLog: PollLog = { info: () => {}, warn: () => {}, error: () => {} };
