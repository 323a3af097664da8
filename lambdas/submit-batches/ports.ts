/**
 * The ports of the submit-batches use cases: what they need from the outside world,
 * given as parameters so that the handler, the CLI, tests and the benchmark wire them.
 */
import type { CreateBatchRequest, LassoBatch, WebhookAuthConfig } from "#shared/lasso/schemas.ts";
import type { Log } from "#shared/runtime/log.ts";
import type { Clock, Deadline } from "#shared/runtime/time.ts";
import type { ScheduleWebhookAuth } from "#shared/schedule.ts";
import type { StateTable } from "#shared/state/state-table.ts";

/** Reads the raw items of one customer group, page by page. */
export interface CustomerSource {
  readGroup(group: string): AsyncIterable<Record<string, unknown>[]>;
}

/** What submission needs of the Lasso client (LassoClient satisfies it). */
export interface LassoBatchPort {
  createBatch(request: CreateBatchRequest, options: { uniqueToken: string }): Promise<LassoBatch>;
  /**
   * The batch of an earlier, ambiguous POST. "Not there" must be believed only after a few
   * looks: Lasso may list an accepted batch seconds late (LassoClient's `patient` look-up).
   */
  findBatchByToken(token: string): Promise<LassoBatch | undefined>;
}

/** Where Lasso sends each finished report, and how it authenticates to us. */
export interface WebhookTarget {
  url: string;
  /** The auth config of `method` with the secret's current value (cached by the caller). */
  auth(method: ScheduleWebhookAuth): Promise<WebhookAuthConfig>;
}

export interface PlanPorts {
  customers: CustomerSource;
  /** Listener schedules: read (never written) to show who is already covered. */
  state?: StateTable;
}

export interface SubmitPorts {
  state: StateTable;
  customers: CustomerSource;
  lasso: LassoBatchPort;
  webhook: WebhookTarget;
  clock: Clock;
  /** Absent: no time limit (the CLI); the lease then lasts `defaultLeaseMs`. */
  deadline?: Deadline;
  log?: Log;
  /** Identifies this invocation as the holder of the run's lease (e.g. the request id). */
  invocationId: string;
}
